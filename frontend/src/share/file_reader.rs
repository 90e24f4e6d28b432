//! Reads a file to send in chunk-sized pieces, straight into the frames that carry them.
//!
//! Where the browser's file stream is a byte stream (Chromium, recent Firefox) it is read with a BYOB reader into
//! one chunk-sized buffer that every read hands back, so sending a file of any size makes no garbage for the
//! browser to collect. Elsewhere the file is read a [`SLICE_BYTES`] slice at a time (one new buffer per slice).

use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, ReadableStreamByobReader};

use crate::rtc::js_error;

/// The slice read at a time where the file cannot be read into a buffer of our own.
const SLICE_BYTES: f64 = (1 << 20) as f64;

enum Source {
    /// The file's byte stream, and the buffer its reads fill (handed back by each read, `None` while one is out).
    Stream {
        reader: ReadableStreamByobReader,
        buffer: Option<ArrayBuffer>,
    },
    /// Slices of the file, and the unsent rest of the last one read.
    Slices {
        file: File,
        offset: f64,
        rest: Option<Uint8Array>,
    },
}

pub struct ChunkReader {
    source: Source,
    chunk: u32,
    /// The end of the file was read.
    finished: bool,
}

impl ChunkReader {
    /// A reader of `file` in pieces of `chunk` bytes (the last may be shorter).
    pub fn new(file: &File, chunk: usize) -> Self {
        let chunk = chunk as u32;
        let source = match ReadableStreamByobReader::new(&file.stream()) {
            Ok(reader) => Source::Stream {
                reader,
                buffer: Some(ArrayBuffer::new(chunk)),
            },
            Err(_) => Source::Slices {
                file: file.clone(),
                offset: 0.0,
                rest: None,
            },
        };
        Self {
            source,
            chunk,
            finished: false,
        }
    }

    /// Copies the next piece of the file into the start of `out` (at least one chunk long); returns its length, 0
    /// at the end of the file.
    pub async fn next_into(&mut self, out: &mut [u8]) -> Result<usize, String> {
        let chunk = self.chunk;
        if self.finished {
            return Ok(0);
        }
        match &mut self.source {
            Source::Stream { reader, buffer } => {
                let mut filled = 0;
                while filled < chunk && !self.finished {
                    let lent = buffer.take().ok_or("the file's read buffer was lost")?;
                    let view =
                        Uint8Array::new_with_byte_offset_and_length(&lent, filled, chunk - filled);
                    let result = JsFuture::from(reader.read_with_array_buffer_view(&view))
                        .await
                        .map_err(|e| js_error(&e))?;
                    self.finished = js_sys::Reflect::get(&result, &"done".into())
                        .ok()
                        .and_then(|d| d.as_bool())
                        .unwrap_or(true);
                    let value = js_sys::Reflect::get(&result, &"value".into())
                        .ok()
                        .and_then(|v| v.dyn_into::<Uint8Array>().ok());
                    match value {
                        // The read moved the buffer: the view it gives back is on the same memory, ours again.
                        Some(value) => {
                            *buffer = Some(value.buffer());
                            filled += value.length();
                        }
                        None if self.finished && filled == 0 => return Ok(0),
                        None => return Err("the file's stream gave no buffer back".into()),
                    }
                }
                let buffer = buffer.as_ref().ok_or("the file's read buffer was lost")?;
                Uint8Array::new_with_byte_offset_and_length(buffer, 0, filled)
                    .copy_to(&mut out[..filled as usize]);
                Ok(filled as usize)
            }
            Source::Slices { file, offset, rest } => {
                if rest.as_ref().is_none_or(|r| r.length() == 0) {
                    if *offset >= file.size() {
                        return Ok(0);
                    }
                    let end = (*offset + SLICE_BYTES).min(file.size());
                    let slice = file
                        .slice_with_f64_and_f64(*offset, end)
                        .map_err(|e| js_error(&e))?;
                    let read = JsFuture::from(slice.array_buffer())
                        .await
                        .map_err(|e| js_error(&e))?;
                    *rest = Some(Uint8Array::new(&read));
                    *offset = end;
                }
                let Some(read) = rest.as_ref() else {
                    return Ok(0);
                };
                let len = read.length().min(chunk);
                read.subarray(0, len).copy_to(&mut out[..len as usize]);
                *rest = Some(read.subarray(len, read.length()));
                Ok(len as usize)
            }
        }
    }
}

impl Drop for ChunkReader {
    fn drop(&mut self) {
        // A transfer that stops early lets go of the file's stream.
        if let Source::Stream { reader, .. } = &self.source {
            let _ = reader.cancel();
        }
    }
}

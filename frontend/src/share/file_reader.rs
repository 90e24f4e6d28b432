//! Reads a file to send as the frames that carry it: each chunk is read straight into a frame in the browser's
//! memory, behind the transfer id's header, and never copied into the page's own (wasm) memory.
//!
//! Where the browser's file stream is a byte stream (Chromium, recent Firefox) it is read with a BYOB reader into
//! one frame-sized buffer that every read hands back, so sending a file of any size makes no garbage for the
//! browser to collect. Elsewhere the file is read a [`SLICE_BYTES`] slice at a time and each frame is a new buffer.

use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, ReadableStreamByobReader};

use super::wire;
use crate::rtc::js_error;

/// The slice read at a time where the file cannot be read into a buffer of our own.
const SLICE_BYTES: f64 = (1 << 20) as f64;

enum Source {
    /// The file's byte stream, and the frame buffer its reads fill (handed back by each read, `None` while one is
    /// out). The header stays in the buffer's first bytes across reads.
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
    header: [u8; 4],
    /// The end of the file was read.
    finished: bool,
}

const CHUNK: u32 = wire::CHUNK_BYTES as u32;

impl ChunkReader {
    /// A reader of `file` as the frames of transfer `id`.
    pub fn new(file: &File, id: u32) -> Self {
        let header = wire::chunk_header(id);
        let source = match ReadableStreamByobReader::new(&file.stream()) {
            Ok(reader) => {
                let buffer = ArrayBuffer::new(4 + CHUNK);
                Uint8Array::new(&buffer).subarray(0, 4).copy_from(&header);
                Source::Stream {
                    reader,
                    buffer: Some(buffer),
                }
            }
            Err(_) => Source::Slices {
                file: file.clone(),
                offset: 0.0,
                rest: None,
            },
        };
        Self {
            source,
            header,
            finished: false,
        }
    }

    /// The next frame (header and up to a chunk of data), `None` at the end of the file. The frame is only valid
    /// until the next call: send it (and start its digest) before reading on.
    pub async fn next_frame(&mut self) -> Result<Option<Uint8Array>, String> {
        if self.finished {
            return Ok(None);
        }
        let frame = match &mut self.source {
            Source::Stream { reader, buffer } => {
                let mut filled = 0;
                while filled < CHUNK && !self.finished {
                    let lent = buffer.take().ok_or("the file's read buffer was lost")?;
                    let view = Uint8Array::new_with_byte_offset_and_length(
                        &lent,
                        4 + filled,
                        CHUNK - filled,
                    );
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
                        // The read moved the buffer: the view it gives back is on the same memory, ours again
                        // (header included).
                        Some(value) => {
                            *buffer = Some(value.buffer());
                            filled += value.length();
                        }
                        None if self.finished && filled == 0 => return Ok(None),
                        None => return Err("the file's stream gave no buffer back".into()),
                    }
                }
                if filled == 0 {
                    return Ok(None);
                }
                let buffer = buffer.as_ref().ok_or("the file's read buffer was lost")?;
                Uint8Array::new_with_byte_offset_and_length(buffer, 0, 4 + filled)
            }
            Source::Slices { file, offset, rest } => {
                let read = match rest.take().filter(|r| r.length() > 0) {
                    Some(read) => read,
                    None => {
                        if *offset >= file.size() {
                            self.finished = true;
                            return Ok(None);
                        }
                        let end = (*offset + SLICE_BYTES).min(file.size());
                        let slice = file
                            .slice_with_f64_and_f64(*offset, end)
                            .map_err(|e| js_error(&e))?;
                        let read = JsFuture::from(slice.array_buffer())
                            .await
                            .map_err(|e| js_error(&e))?;
                        *offset = end;
                        Uint8Array::new(&read)
                    }
                };
                let len = read.length().min(CHUNK);
                let frame = Uint8Array::new_with_length(4 + len);
                frame.subarray(0, 4).copy_from(&self.header);
                frame.set(&read.subarray(0, len), 4);
                *rest = Some(read.subarray(len, read.length()));
                frame
            }
        };
        Ok(Some(frame))
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

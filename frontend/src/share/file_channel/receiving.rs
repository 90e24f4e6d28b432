//! The receiving side of the file channel: an accepted file's chunks kept as Blob parts and hashed by the browser,
//! checked in order against the sender's Done, then made a file to save.

use futures::StreamExt;
use futures::channel::mpsc;
use wasm_bindgen_futures::JsFuture;

use super::{FOLD_BYTES, FileChannel, SAVE_ONLY_TYPE, now_ms};
use crate::share::chunk_digest;
use crate::share::transfer::{Direction, TransferEffect};
use crate::share::wire::{self, FileControl};

/// Received bytes of one file: recent chunks, folded into a Blob every [`FOLD_BYTES`] so the browser (which may
/// keep large Blobs on disk) holds them rather than a growing list of buffers.
pub(super) struct IncomingParts {
    blob: Option<web_sys::Blob>,
    recent: js_sys::Array,
    recent_bytes: usize,
}

impl IncomingParts {
    pub(super) fn new() -> Self {
        Self {
            blob: None,
            recent: js_sys::Array::new(),
            recent_bytes: 0,
        }
    }

    pub(super) fn push(&mut self, chunk: js_sys::Uint8Array) {
        self.recent_bytes += chunk.length() as usize;
        self.recent.push(&chunk);
        if self.recent_bytes >= FOLD_BYTES {
            self.fold(None);
        }
    }

    pub(super) fn fold(&mut self, mime: Option<&str>) {
        let parts = js_sys::Array::new();
        if let Some(blob) = self.blob.take() {
            parts.push(&blob);
        }
        for part in self.recent.iter() {
            parts.push(&part);
        }
        let options = web_sys::BlobPropertyBag::new();
        if let Some(mime) = mime {
            options.set_type(mime);
        }
        self.blob = web_sys::Blob::new_with_blob_sequence_and_options(&parts, &options).ok();
        self.recent = js_sys::Array::new();
        self.recent_bytes = 0;
    }
}

/// A received file ready to save: its object URL, and the Blob itself, held for as long as the URL lives so the
/// page never depends on the browser keeping a collected Blob's data for an outstanding URL.
pub(super) struct Download {
    pub(super) id: u32,
    pub(super) url: String,
    _blob: web_sys::Blob,
}

/// What an incoming transfer's check takes in order: each chunk's digest, then the sender's Done.
pub(super) enum Check {
    Chunk(JsFuture),
    Done(FileControl),
}

impl FileChannel {
    /// Folds incoming `id`'s chunk digests into its transfer as they come, in order, then hands its Done to the
    /// transfer: the Done is checked against every chunk before it.
    pub(super) fn start_checking(&self, id: u32) {
        let (tx, mut rx) = mpsc::unbounded();
        self.parts.borrow_mut().checks.insert(id, tx);
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            while let Some(check) = rx.next().await {
                let effects = match check {
                    Check::Chunk(pending) => match chunk_digest::finish(pending).await {
                        Ok(digest) => {
                            this.parts.borrow_mut().transfers.chunk_digest(
                                id,
                                Direction::Incoming,
                                &digest,
                            );
                            continue;
                        }
                        Err(err) => this.cannot_check(id, &err),
                    },
                    Check::Done(done) => this
                        .parts
                        .borrow_mut()
                        .transfers
                        .handle_control(done, now_ms()),
                };
                this.run(effects);
            }
        });
    }

    /// Incoming `id` cannot be checked (the browser would not hash it): it is cancelled, and the person told why.
    pub(super) fn cannot_check(&self, id: u32, reason: &str) -> Vec<TransferEffect> {
        self.notice
            .emit(format!("A received file could not be checked: {reason}"));
        self.parts
            .borrow_mut()
            .transfers
            .cancel(id, Direction::Incoming, now_ms())
    }

    /// A chunk frame: its data stays in the browser's memory (kept for the file, and hashed by the browser); only
    /// the header is read here.
    pub(super) fn chunk(&self, frame: js_sys::Uint8Array) {
        let head = frame.subarray(0, 4.min(frame.length())).to_vec();
        let Ok(id) = wire::chunk_id(frame.length() as usize, &head) else {
            return; // not a chunk frame: nothing to attribute it to
        };
        let data = frame.subarray(4, frame.length());
        let result =
            self.parts
                .borrow_mut()
                .transfers
                .handle_chunk(id, u64::from(data.length()), now_ms());
        let effects = match result {
            Ok(()) => match chunk_digest::start(&data) {
                Ok(pending) => {
                    let mut parts = self.parts.borrow_mut();
                    if let Some(check) = parts.checks.get(&id) {
                        let _ = check.unbounded_send(Check::Chunk(pending));
                    }
                    if let Some(parts) = parts.incoming.get_mut(&id) {
                        parts.push(data);
                    }
                    drop(parts);
                    return self.progress();
                }
                Err(err) => self.cannot_check(id, &err),
            },
            Err(effects) => effects,
        };
        self.run(effects);
    }

    /// Every byte of incoming `id` arrived and checked out: make it a file to save.
    pub(super) fn complete(&self, id: u32) {
        let mut parts = self.parts.borrow_mut();
        if let Some(mut received) = parts.incoming.remove(&id) {
            // Bytes, whatever type the sender claimed: a Blob typed `text/html` would render, scripts and all, on
            // the page's own origin if opened. As octet-stream it can only be saved.
            received.fold(Some(SAVE_ONLY_TYPE));
            if let Some(blob) = received.blob
                && let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob)
            {
                parts.downloads.push(Download {
                    id,
                    url,
                    _blob: blob,
                });
            }
        }
    }
}

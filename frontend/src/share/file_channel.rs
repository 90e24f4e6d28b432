//! File sharing on the call's second negotiated data channel: it owns the channel, the transfers table (a reducer,
//! [`Transfers`]), the files this person offered, the received parts of incoming files and their download links,
//! and streams accepted files one at a time with backpressure. Cheap to clone; clones share all of it.
//!
//! The sender reads a file a chunk at a time ([`ChunkReader`]) and stops queueing while the channel holds more than
//! [`SEND_HIGH_WATER`]; the receiver folds chunks into a Blob every [`FOLD_BYTES`], so neither side holds a whole
//! file in its own memory.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use futures::StreamExt;
use futures::channel::mpsc;
use web_sys::RtcPeerConnection;
use yew::Callback;

use super::file_reader::ChunkReader;
use super::transfer::{Direction, TransferEffect, Transfers};
use super::wire;
use crate::rtc::channel::{ChannelEvents, DataChannel};
use crate::rtc::js_error;

const FOLD_BYTES: usize = 16 << 20;
const SEND_HIGH_WATER: u32 = 8 << 20;
/// Progress re-renders at most this often; state changes always re-render.
const PROGRESS_PUBLISH_MS: u64 = 150;

/// The type every received file gets.
const SAVE_ONLY_TYPE: &str = "application/octet-stream";

/// Received bytes of one file: recent chunks, folded into a Blob every [`FOLD_BYTES`] so the browser (which may
/// keep large Blobs on disk) holds them rather than a growing list of buffers.
struct IncomingParts {
    blob: Option<web_sys::Blob>,
    recent: js_sys::Array,
    recent_bytes: usize,
}

impl IncomingParts {
    fn new() -> Self {
        Self {
            blob: None,
            recent: js_sys::Array::new(),
            recent_bytes: 0,
        }
    }

    fn push(&mut self, chunk: js_sys::Uint8Array) {
        self.recent_bytes += chunk.length() as usize;
        self.recent.push(&chunk);
        if self.recent_bytes >= FOLD_BYTES {
            self.fold(None);
        }
    }

    fn fold(&mut self, mime: Option<&str>) {
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
struct Download {
    id: u32,
    url: String,
    _blob: web_sys::Blob,
}

#[derive(Default)]
struct Parts {
    channel: Option<DataChannel>,
    transfers: Transfers,
    /// Received files, by incoming transfer id.
    downloads: Vec<Download>,
    /// Files this person offered, by outgoing id, until sent or dropped.
    outgoing: HashMap<u32, web_sys::File>,
    incoming: HashMap<u32, IncomingParts>,
    /// Accepted outgoing transfers, streamed one at a time in this order.
    send_queue: VecDeque<u32>,
    sending: bool,
    /// Woken when the channel's buffer drains; taken by the sending loop while it runs.
    drained: Option<mpsc::UnboundedReceiver<()>>,
    last_progress: u64,
    /// The last received chunk, copied out of the channel's message to be hashed.
    scratch: Vec<u8>,
}

#[derive(Clone)]
pub struct FileChannel {
    parts: Rc<RefCell<Parts>>,
    changed: Callback<()>,
    notice: Callback<String>,
}

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

impl FileChannel {
    pub fn new(changed: Callback<()>, notice: Callback<String>) -> Self {
        Self {
            parts: Rc::default(),
            changed,
            notice,
        }
    }

    pub fn transfers(&self) -> Transfers {
        self.parts.borrow().transfers.clone()
    }

    pub fn downloads(&self) -> Vec<(u32, String)> {
        let parts = self.parts.borrow();
        parts
            .downloads
            .iter()
            .map(|d| (d.id, d.url.clone()))
            .collect()
    }

    /// Makes the call's file channel on `pc` (negotiated: the peer makes the same one).
    pub fn open(&self, pc: &RtcPeerConnection) {
        let (drained_tx, drained_rx) = mpsc::unbounded();
        let (text, binary) = (self.clone(), self.clone());
        let events = ChannelEvents {
            text: Callback::from(move |frame: String| text.control(&frame)),
            binary: Callback::from(move |frame| binary.chunk(frame)),
            drained: Callback::from(move |()| {
                let _ = drained_tx.unbounded_send(());
            }),
        };
        let channel = DataChannel::open(pc, "files", wire::FILE_CHANNEL_ID, events);
        let mut parts = self.parts.borrow_mut();
        parts.channel = Some(channel);
        parts.drained = Some(drained_rx);
    }

    /// A new call: no transfers, no downloads (their object URLs are released).
    pub fn reset(&self) {
        let mut parts = self.parts.borrow_mut();
        for download in parts.downloads.drain(..) {
            let _ = web_sys::Url::revoke_object_url(&download.url);
        }
        parts.transfers = Transfers::default();
        drop(parts);
        self.changed.emit(());
    }

    /// The call ended: every transfer still moving is cancelled and the channel closes. Finished downloads stay
    /// until the next call.
    pub fn close(&self) {
        let channel = {
            let mut parts = self.parts.borrow_mut();
            parts.outgoing.clear();
            parts.incoming.clear();
            parts.send_queue.clear();
            let now = now_ms();
            let moving: Vec<_> = parts
                .transfers
                .list
                .iter()
                .filter(|t| !t.state.finished())
                .map(|t| (t.id, t.direction))
                .collect();
            for (id, direction) in moving {
                parts.transfers.cancel(id, direction, now);
            }
            parts.channel.take()
        };
        drop(channel);
        self.changed.emit(());
    }

    /// This person offers files to the peer.
    pub fn offer(&self, files: Vec<web_sys::File>) {
        let effects = {
            let mut parts = self.parts.borrow_mut();
            if !parts.channel.as_ref().is_some_and(DataChannel::is_open) {
                drop(parts);
                return self
                    .notice
                    .emit("Files can be sent once the call is connected.".into());
            }
            let mut effects = Vec::new();
            for file in files {
                let (id, effect) =
                    parts
                        .transfers
                        .offer(file.name(), file.size() as u64, file.type_());
                parts.outgoing.insert(id, file);
                effects.push(effect);
            }
            effects
        };
        self.run(effects);
    }

    /// This person accepts or declines an incoming file.
    pub fn answer(&self, id: u32, accept: bool) {
        let effects = {
            let mut parts = self.parts.borrow_mut();
            if accept {
                parts.incoming.insert(id, IncomingParts::new());
            }
            parts.transfers.answer(id, accept, now_ms())
        };
        self.run(effects);
    }

    pub fn cancel(&self, id: u32, direction: Direction) {
        let effects = self
            .parts
            .borrow_mut()
            .transfers
            .cancel(id, direction, now_ms());
        self.run(effects);
    }

    fn control(&self, text: &str) {
        let effects = match wire::decode_control(text) {
            Ok(control) => self
                .parts
                .borrow_mut()
                .transfers
                .handle_control(control, now_ms()),
            Err(err) => {
                self.notice
                    .emit(format!("An unreadable file message was dropped: {err}"));
                vec![]
            }
        };
        self.run(effects);
    }

    fn chunk(&self, frame: js_sys::Uint8Array) {
        if frame.length() as usize > wire::CHUNK_BYTES + 4 {
            return; // larger than any chunk: not one, and not copied
        }
        // Copied into one buffer kept for every chunk (to hash it), not into a new one each time.
        let mut bytes = std::mem::take(&mut self.parts.borrow_mut().scratch);
        bytes.resize(frame.length() as usize, 0);
        frame.copy_to(&mut bytes);
        let result = match wire::decode_chunk(&bytes) {
            Ok((id, data)) => Some((
                id,
                self.parts
                    .borrow_mut()
                    .transfers
                    .handle_chunk(id, data, now_ms()),
            )),
            Err(_) => None, // a chunk frame that is not one: nothing to attribute it to
        };
        self.parts.borrow_mut().scratch = bytes;
        let Some((id, result)) = result else { return };
        match result {
            Ok(()) => {
                if let Some(parts) = self.parts.borrow_mut().incoming.get_mut(&id) {
                    parts.push(frame.subarray(4, frame.length()));
                }
                self.progress();
            }
            Err(effects) => self.run(effects),
        }
    }

    fn run(&self, effects: Vec<TransferEffect>) {
        for effect in effects {
            match effect {
                TransferEffect::Send(control) => {
                    if let Some(channel) = &self.parts.borrow().channel {
                        let _ = channel.send_text(&wire::encode(&control));
                    }
                }
                TransferEffect::StartSending(id) => {
                    self.parts.borrow_mut().send_queue.push_back(id);
                    self.start_sending();
                }
                TransferEffect::Drop(id) => {
                    let mut parts = self.parts.borrow_mut();
                    parts.outgoing.remove(&id);
                    parts.incoming.remove(&id);
                }
                TransferEffect::Complete(id) => self.complete(id),
            }
        }
        self.changed.emit(());
    }

    /// Every byte of incoming `id` arrived and checked out: make it a file to save.
    fn complete(&self, id: u32) {
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

    /// Re-renders for progress at most every [`PROGRESS_PUBLISH_MS`].
    fn progress(&self) {
        let now = now_ms();
        let due = {
            let mut parts = self.parts.borrow_mut();
            let due = now.saturating_sub(parts.last_progress) >= PROGRESS_PUBLISH_MS;
            if due {
                parts.last_progress = now;
            }
            due
        };
        if due {
            self.changed.emit(());
        }
    }

    /// Streams queued outgoing files, one at a time.
    fn start_sending(&self) {
        {
            let mut parts = self.parts.borrow_mut();
            if parts.sending {
                return;
            }
            parts.sending = true;
        }
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                let next = {
                    let mut parts = this.parts.borrow_mut();
                    let next = parts.send_queue.pop_front();
                    if next.is_none() {
                        parts.sending = false;
                    }
                    next
                };
                let Some(id) = next else { return };
                if let Err(err) = this.send_file(id).await {
                    let effects =
                        this.parts
                            .borrow_mut()
                            .transfers
                            .cancel(id, Direction::Outgoing, now_ms());
                    this.notice.emit(format!("Sending a file failed: {err}"));
                    this.run(effects);
                }
            }
        });
    }

    async fn send_file(&self, id: u32) -> Result<(), String> {
        let (file, channel, mut drained) = {
            let mut parts = self.parts.borrow_mut();
            let file = parts.outgoing.get(&id).cloned().ok_or("the file is gone")?;
            let channel = parts
                .channel
                .as_ref()
                .map(DataChannel::raw)
                .ok_or("no file channel")?;
            (file, channel, parts.drained.take())
        };
        let mut reader = ChunkReader::new(&file, wire::CHUNK_BYTES);
        let mut frame = wire::chunk_frame(id);
        let result = async {
            loop {
                if !self.parts.borrow().transfers.still_sending(id) {
                    return Ok(()); // cancelled by either side, or the call ended
                }
                while channel.buffered_amount() > SEND_HIGH_WATER {
                    match drained.as_mut() {
                        Some(rx) => {
                            rx.next().await;
                        }
                        None => {
                            gloo_timers::future::sleep(std::time::Duration::from_millis(5)).await
                        }
                    }
                }
                let len = reader.next_into(&mut frame[4..]).await?;
                if len == 0 {
                    break;
                }
                let frame = &frame[..4 + len];
                channel
                    .send_with_u8_array(frame)
                    .map_err(|e| js_error(&e))?;
                {
                    let mut parts = self.parts.borrow_mut();
                    parts.transfers.hash_outgoing(id, &frame[4..]);
                    parts.transfers.sent(id, len as u64);
                }
                self.progress();
            }
            let done = self
                .parts
                .borrow_mut()
                .transfers
                .finish_outgoing(id, now_ms());
            self.parts.borrow_mut().outgoing.remove(&id);
            self.run(done.into_iter().collect());
            Ok(())
        }
        .await;
        self.parts.borrow_mut().drained = drained;
        result
    }
}

//! File sharing on the call's second negotiated data channel: it owns the channel, the transfers table (a reducer,
//! [`Transfers`]), the files this person offered, the received parts of incoming files and their download links,
//! and streams accepted files one at a time with backpressure. Cheap to clone; clones share all of it.
//!
//! [`sending`]: the sender reads a file a chunk at a time straight into its frames and stops queueing while the
//! channel holds more than [`SEND_HIGH_WATER`]. [`receiving`]: the receiver folds chunks into a Blob every
//! [`FOLD_BYTES`], so neither side holds a whole file in its own memory. Both have each chunk hashed by the
//! browser, off the page's main thread (`share::chunk_digest`).

mod receiving;
mod sending;

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use futures::channel::mpsc;
use web_sys::RtcPeerConnection;
use yew::Callback;

use self::receiving::{Check, Download, IncomingParts};
use super::transfer::{Direction, TransferEffect, Transfers};
use super::wire::{self, FileControl};
use crate::rtc::channel::{ChannelEvents, DataChannel};

const FOLD_BYTES: usize = 16 << 20;
const SEND_HIGH_WATER: u32 = 8 << 20;
/// Progress re-renders at most this often; state changes always re-render.
const PROGRESS_PUBLISH_MS: u64 = 150;

/// The type every received file gets.
const SAVE_ONLY_TYPE: &str = "application/octet-stream";

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
    /// Accepted incoming transfers: their chunks' digests under way and then their Done, checked in order.
    checks: HashMap<u32, mpsc::UnboundedSender<Check>>,
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
            parts.checks.clear();
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
        if accept {
            self.start_checking(id);
        }
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
            Ok(done @ FileControl::Done { id, .. })
                if self.parts.borrow().checks.contains_key(&id) =>
            {
                // Checked after the digests of the chunks that came before it.
                if let Some(check) = self.parts.borrow().checks.get(&id) {
                    let _ = check.unbounded_send(Check::Done(done));
                }
                vec![]
            }
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
                    parts.checks.remove(&id);
                }
                TransferEffect::Complete(id) => {
                    self.parts.borrow_mut().checks.remove(&id);
                    self.complete(id);
                }
            }
        }
        self.changed.emit(());
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
}

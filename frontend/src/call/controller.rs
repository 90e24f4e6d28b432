//! The browser shell around the [`CallMachine`]: it feeds the machine, carries out its effects in order with the
//! browser's media and WebRTC objects, and publishes a [`CallView`] for the components to render.
//!
//! Effects run one at a time on a single worker future, so an answer is always set before the candidates that
//! follow it. No `RefCell` borrow is held across an `await`: browser callbacks (a new ICE candidate, a remote
//! track) may arrive while an effect is in flight, and they feed the machine like any other input.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::{Rc, Weak};

use gloo_timers::callback::{Interval, Timeout};
use hearsay_shared::call::{CallId, Signal};
use web_sys::MediaStream;
use yew::Callback;

use super::machine::{CallInfo, CallMachine, Effect, Intent, Peer, Phase, Role, RtcEvent};
use crate::rtc::channel::{ChannelEvents, DataChannel};
use crate::rtc::{self, CallStats, LocalMedia, PeerConnection, PeerEvents, Ringer, ScreenShare};
use crate::share::chat::{ChatAction, ChatLog};
use crate::share::transfer::{Direction, TransferEffect, Transfers};
use crate::share::{safety, wire};

/// What the components show of the call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallView {
    pub phase: Phase,
    pub call: Option<CallInfo>,
    /// The last thing worth telling the person (a fallback, a failure reason).
    pub notice: Option<String>,
    pub local: Option<MediaStream>,
    pub remote: Option<MediaStream>,
    pub stats: Option<CallStats>,
    /// This call's chat.
    pub chat: ChatLog,
    /// The code both people can compare (see [`safety`]); known once both descriptions are.
    pub safety_code: Option<String>,
    /// This call's file transfers, both ways.
    pub transfers: Transfers,
    /// Object URLs of received files, by incoming transfer id.
    pub downloads: Vec<(u32, String)>,
}

impl Default for CallView {
    fn default() -> Self {
        Self {
            phase: Phase::Idle,
            call: None,
            notice: None,
            local: None,
            remote: None,
            stats: None,
            chat: ChatLog::default(),
            safety_code: None,
            transfers: Transfers::default(),
            downloads: Vec::new(),
        }
    }
}

/// Cheap to clone; every clone drives the same call.
#[derive(Clone)]
pub struct CallController {
    inner: Rc<RefCell<Inner>>,
}

impl PartialEq for CallController {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

struct Inner {
    machine: CallMachine,
    queue: VecDeque<Effect>,
    working: bool,
    peer: Option<PeerConnection>,
    local: Option<LocalMedia>,
    screen: Option<ScreenShare>,
    chat: Option<DataChannel>,
    files: Option<DataChannel>,
    /// Files this person offered, by outgoing id, until sent or dropped.
    outgoing: HashMap<u32, web_sys::File>,
    /// Received parts of incoming transfers.
    incoming: HashMap<u32, IncomingParts>,
    /// Accepted outgoing transfers, streamed one at a time in this order.
    send_queue: VecDeque<u32>,
    sending: bool,
    /// Woken when the file channel's buffer drains; taken by the sending loop while it runs.
    drained: Option<futures::channel::mpsc::UnboundedReceiver<()>>,
    last_progress_publish: u64,
    ringer: Option<Ringer>,
    /// This user's identity key, for the safety code.
    own_key: Option<String>,
    local_fingerprint: Option<String>,
    remote_fingerprint: Option<String>,
    timer: Option<Timeout>,
    stats_timer: Option<Interval>,
    /// The view being built: effects and browser callbacks write media, stats and notices here.
    view: CallView,
    /// The view the components last got; a new one is published only when they differ.
    published: CallView,
    send: Callback<(String, Signal)>,
    publish: Callback<CallView>,
    relay_only: bool,
}

/// Received bytes of one file: recent chunks, folded into a Blob every [`FOLD_BYTES`] so the browser (which may keep
/// large Blobs on disk) holds them rather than a growing list of buffers.
struct IncomingParts {
    blob: Option<web_sys::Blob>,
    recent: js_sys::Array,
    recent_bytes: usize,
}

const FOLD_BYTES: usize = 16 << 20;
/// The sender reads the file this much at a time and stops queueing while the channel holds more than
/// [`SEND_HIGH_WATER`] bytes.
const READ_BYTES: f64 = (1 << 20) as f64;
const SEND_HIGH_WATER: u32 = 8 << 20;
/// Progress re-renders at most this often; state changes always re-render.
const PROGRESS_PUBLISH_MS: u64 = 150;

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

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

impl CallController {
    /// `send` delivers a signal to a key through the node; `publish` receives every new view.
    pub fn new(
        send: Callback<(String, Signal)>,
        publish: Callback<CallView>,
        relay_only: bool,
    ) -> Self {
        Self {
            inner: Rc::new(RefCell::new(Inner {
                machine: CallMachine::default(),
                queue: VecDeque::new(),
                working: false,
                peer: None,
                local: None,
                screen: None,
                chat: None,
                files: None,
                outgoing: HashMap::new(),
                incoming: HashMap::new(),
                send_queue: VecDeque::new(),
                sending: false,
                drained: None,
                last_progress_publish: 0,
                ringer: None,
                own_key: None,
                local_fingerprint: None,
                remote_fingerprint: None,
                timer: None,
                stats_timer: None,
                view: CallView::default(),
                published: CallView::default(),
                send,
                publish,
                relay_only,
            })),
        }
    }

    pub fn set_own_key(&self, key: String) {
        self.inner.borrow_mut().own_key = Some(key);
        self.update_safety_code();
        self.refresh();
    }

    /// Sends a chat message to the peer; fails when the chat channel is not open (yet).
    pub fn send_chat(&self, text: String) -> Result<(), String> {
        let text = text.trim().to_owned();
        if text.is_empty() {
            return Ok(());
        }
        if text.len() > wire::MAX_CHAT_BYTES {
            return Err(format!(
                "messages are limited to {} bytes",
                wire::MAX_CHAT_BYTES
            ));
        }
        let at = now_ms();
        {
            let mut i = self.inner.borrow_mut();
            let channel = i
                .chat
                .as_ref()
                .filter(|c| c.is_open())
                .ok_or("the chat is not connected yet")?;
            channel.send_text(&wire::encode(&wire::ChatFrame {
                text: text.clone(),
                sent_at: at,
            }))?;
            i.view.chat.apply(ChatAction::Sent { text, at });
        }
        self.refresh();
        Ok(())
    }

    /// This person offers files to the peer.
    pub fn offer_files(&self, files: Vec<web_sys::File>) -> Result<(), String> {
        let effects = {
            let mut i = self.inner.borrow_mut();
            if !i.files.as_ref().is_some_and(DataChannel::is_open) {
                return Err("files can be sent once the call is connected".into());
            }
            let mut effects = Vec::new();
            for file in files {
                let (id, effect) =
                    i.view
                        .transfers
                        .offer(file.name(), file.size() as u64, file.type_());
                i.outgoing.insert(id, file);
                effects.push(effect);
            }
            effects
        };
        self.run_transfer_effects(effects);
        Ok(())
    }

    /// This person accepts or declines an incoming file.
    pub fn answer_file(&self, id: u32, accept: bool) {
        let effects = {
            let mut i = self.inner.borrow_mut();
            if accept {
                i.incoming.insert(id, IncomingParts::new());
            }
            i.view.transfers.answer(id, accept, now_ms())
        };
        self.run_transfer_effects(effects);
    }

    pub fn cancel_file(&self, id: u32, direction: Direction) {
        let effects = self
            .inner
            .borrow_mut()
            .view
            .transfers
            .cancel(id, direction, now_ms());
        self.run_transfer_effects(effects);
    }

    fn file_control(&self, text: String) {
        let effects = match wire::decode_control(&text) {
            Ok(control) => self
                .inner
                .borrow_mut()
                .view
                .transfers
                .handle_control(control, now_ms()),
            Err(err) => {
                self.set_notice(format!("An unreadable file message was dropped: {err}"));
                vec![]
            }
        };
        self.run_transfer_effects(effects);
    }

    fn file_chunk(&self, frame: js_sys::Uint8Array) {
        let bytes = frame.to_vec();
        let Ok((id, data)) = wire::decode_chunk(&bytes) else {
            return; // a chunk frame that is not one: nothing to attribute it to
        };
        let result = self
            .inner
            .borrow_mut()
            .view
            .transfers
            .handle_chunk(id, data, now_ms());
        match result {
            Ok(()) => {
                let mut i = self.inner.borrow_mut();
                if let Some(parts) = i.incoming.get_mut(&id) {
                    parts.push(frame.subarray(4, frame.length()));
                }
                drop(i);
                self.refresh_progress();
            }
            Err(effects) => self.run_transfer_effects(effects),
        }
    }

    fn run_transfer_effects(&self, effects: Vec<TransferEffect>) {
        for effect in effects {
            match effect {
                TransferEffect::Send(control) => {
                    let i = self.inner.borrow();
                    if let Some(channel) = &i.files {
                        let _ = channel.send_text(&wire::encode(&control));
                    }
                }
                TransferEffect::StartSending(id) => {
                    self.inner.borrow_mut().send_queue.push_back(id);
                    self.start_sending();
                }
                TransferEffect::Drop(id) => {
                    let mut i = self.inner.borrow_mut();
                    i.outgoing.remove(&id);
                    i.incoming.remove(&id);
                }
                TransferEffect::Complete(id) => {
                    let mut i = self.inner.borrow_mut();
                    let mime = i
                        .view
                        .transfers
                        .get(id, Direction::Incoming)
                        .map(|t| t.mime.clone())
                        .unwrap_or_default();
                    if let Some(mut parts) = i.incoming.remove(&id) {
                        parts.fold(Some(&mime));
                        let url = parts
                            .blob
                            .as_ref()
                            .and_then(|b| web_sys::Url::create_object_url_with_blob(b).ok());
                        if let Some(url) = url {
                            i.view.downloads.push((id, url));
                        }
                    }
                }
            }
        }
        self.refresh();
    }

    /// Re-renders for progress at most every [`PROGRESS_PUBLISH_MS`].
    fn refresh_progress(&self) {
        let now = now_ms();
        let due = {
            let mut i = self.inner.borrow_mut();
            let due = now.saturating_sub(i.last_progress_publish) >= PROGRESS_PUBLISH_MS;
            if due {
                i.last_progress_publish = now;
            }
            due
        };
        if due {
            self.refresh();
        }
    }

    /// Streams queued outgoing files, one at a time, with backpressure from the channel's buffer.
    fn start_sending(&self) {
        {
            let mut i = self.inner.borrow_mut();
            if i.sending {
                return;
            }
            i.sending = true;
        }
        let weak = self.weak();
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                let Some(ctrl) = CallController::from_weak(&weak) else {
                    return;
                };
                let next = {
                    let mut i = ctrl.inner.borrow_mut();
                    let next = i.send_queue.pop_front();
                    if next.is_none() {
                        i.sending = false;
                    }
                    next
                };
                let Some(id) = next else { return };
                if let Err(err) = ctrl.send_file(id).await {
                    let effects = ctrl.inner.borrow_mut().view.transfers.cancel(
                        id,
                        Direction::Outgoing,
                        now_ms(),
                    );
                    ctrl.set_notice(format!("Sending a file failed: {err}"));
                    ctrl.run_transfer_effects(effects);
                }
            }
        });
    }

    async fn send_file(&self, id: u32) -> Result<(), String> {
        use futures::StreamExt;
        let (file, channel, mut drained) = {
            let mut i = self.inner.borrow_mut();
            let file = i.outgoing.get(&id).cloned().ok_or("the file is gone")?;
            let channel = i
                .files
                .as_ref()
                .map(DataChannel::raw)
                .ok_or("no file channel")?;
            (file, channel, i.drained.take())
        };
        let size = file.size();
        let mut offset = 0.0;
        let result = async {
            while offset < size {
                if !self.inner.borrow().view.transfers.still_sending(id) {
                    return Ok(()); // cancelled by either side
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
                let end = (offset + READ_BYTES).min(size);
                let slice = file
                    .slice_with_f64_and_f64(offset, end)
                    .map_err(|e| rtc::js_error(&e))?;
                let buffer = wasm_bindgen_futures::JsFuture::from(slice.array_buffer())
                    .await
                    .map_err(|e| rtc::js_error(&e))?;
                let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
                for chunk in bytes.chunks(wire::CHUNK_BYTES) {
                    channel
                        .send_with_u8_array(&wire::encode_chunk(id, chunk))
                        .map_err(|e| rtc::js_error(&e))?;
                    let mut i = self.inner.borrow_mut();
                    i.view.transfers.hash_outgoing(id, chunk);
                    i.view.transfers.sent(id, chunk.len() as u64);
                }
                offset = end;
                self.refresh_progress();
            }
            let done = self
                .inner
                .borrow_mut()
                .view
                .transfers
                .finish_outgoing(id, now_ms());
            self.inner.borrow_mut().outgoing.remove(&id);
            self.run_transfer_effects(done.into_iter().collect());
            Ok(())
        }
        .await;
        self.inner.borrow_mut().drained = drained;
        result
    }

    pub fn set_chat_open(&self, open: bool) {
        self.inner
            .borrow_mut()
            .view
            .chat
            .apply(ChatAction::SetOpen(open));
        self.refresh();
    }

    fn chat_received(&self, text: String) {
        match wire::decode_chat(&text) {
            Ok(frame) => self
                .inner
                .borrow_mut()
                .view
                .chat
                .apply(ChatAction::Received {
                    text: frame.text,
                    at: now_ms(),
                }),
            Err(err) => self.set_notice(format!("An unreadable chat message was dropped: {err}")),
        }
        self.refresh();
    }

    fn update_safety_code(&self) {
        let mut i = self.inner.borrow_mut();
        let peer_key = i.machine.call().map(|c| c.peer.key.clone());
        let code = match (
            &i.own_key,
            peer_key,
            &i.local_fingerprint,
            &i.remote_fingerprint,
        ) {
            (Some(own), Some(peer), Some(local), Some(remote)) => {
                Some(safety::safety_code((own, local), (&peer, remote)))
            }
            _ => None,
        };
        i.view.safety_code = code;
    }

    /// The STUN and TURN servers the node chose for this page (sent again whenever they change).
    pub fn set_ice_servers(&self, servers: Vec<hearsay_shared::ice::IceServer>) {
        self.inner.borrow_mut().machine.set_ice_servers(servers);
        self.pump();
    }

    pub fn intent(&self, intent: Intent) {
        self.inner
            .borrow_mut()
            .machine
            .handle_intent(now_ms(), intent);
        self.pump();
    }

    pub fn signal(&self, from: Peer, signal: Signal) {
        self.inner
            .borrow_mut()
            .machine
            .handle_signal(now_ms(), from, signal);
        self.pump();
    }

    pub fn undeliverable(&self, to: &str, call: CallId) {
        self.inner
            .borrow_mut()
            .machine
            .handle_undeliverable(to, call);
        self.pump();
    }

    fn rtc(&self, event: RtcEvent) {
        self.inner.borrow_mut().machine.handle_rtc(now_ms(), event);
        self.pump();
    }

    fn timeout(&self) {
        self.inner.borrow_mut().machine.handle_timeout(now_ms());
        self.pump();
    }

    fn weak(&self) -> Weak<RefCell<Inner>> {
        Rc::downgrade(&self.inner)
    }

    fn from_weak(weak: &Weak<RefCell<Inner>>) -> Option<Self> {
        weak.upgrade().map(|inner| Self { inner })
    }

    /// Moves new effects to the queue, starts the worker if idle, re-arms the timer, publishes the view.
    fn pump(&self) {
        let start_worker = {
            let mut i = self.inner.borrow_mut();
            while let Some(effect) = i.machine.poll_effect() {
                i.queue.push_back(effect);
            }
            let start = !i.working && !i.queue.is_empty();
            if start {
                i.working = true;
            }
            start
        };
        if start_worker {
            let weak = self.weak();
            wasm_bindgen_futures::spawn_local(async move {
                while let Some(ctrl) = Self::from_weak(&weak) {
                    let next = {
                        let mut i = ctrl.inner.borrow_mut();
                        while let Some(effect) = i.machine.poll_effect() {
                            i.queue.push_back(effect);
                        }
                        let next = i.queue.pop_front();
                        if next.is_none() {
                            i.working = false;
                        }
                        next
                    };
                    match next {
                        Some(effect) => ctrl.execute(effect).await,
                        None => break,
                    }
                    ctrl.refresh();
                }
            });
        }
        self.rearm_timer();
        self.refresh();
    }

    fn rearm_timer(&self) {
        let deadline = self.inner.borrow().machine.poll_timeout();
        let timer = deadline.map(|at| {
            let weak = self.weak();
            let delay = at.saturating_sub(now_ms()).min(u64::from(u32::MAX)) as u32;
            Timeout::new(delay, move || {
                if let Some(ctrl) = Self::from_weak(&weak) {
                    ctrl.timeout();
                }
            })
        });
        self.inner.borrow_mut().timer = timer;
    }

    /// Publishes the view if it changed, and runs the stats poller only while in a call.
    fn refresh(&self) {
        let (view, publish) = {
            let mut i = self.inner.borrow_mut();
            let phase = i.machine.phase();
            let starting = matches!(phase, Phase::RingingOut | Phase::RingingIn)
                && !matches!(i.view.phase, Phase::RingingOut | Phase::RingingIn);
            if starting {
                i.view.chat.apply(ChatAction::Reset);
                for (_, url) in i.view.downloads.drain(..) {
                    let _ = web_sys::Url::revoke_object_url(&url);
                }
                i.view.transfers = Transfers::default();
                i.view.safety_code = None;
                i.view.notice = None;
                i.local_fingerprint = None;
                i.remote_fingerprint = None;
            }
            i.view.phase = phase;
            i.view.call = i.machine.call().cloned();
            let view = i.view.clone();
            let in_call = matches!(view.phase, Phase::Connecting | Phase::InCall);
            if in_call && i.stats_timer.is_none() {
                let weak = self.weak();
                i.stats_timer = Some(Interval::new(1_000, move || {
                    if let Some(ctrl) = Self::from_weak(&weak) {
                        ctrl.poll_stats();
                    }
                }));
            } else if !in_call {
                i.stats_timer = None;
            }
            if view == i.published {
                return;
            }
            i.published = view.clone();
            (view, i.publish.clone())
        };
        publish.emit(view);
    }

    fn poll_stats(&self) {
        let Some(pc) = self.inner.borrow().peer.as_ref().map(PeerConnection::raw) else {
            return;
        };
        let weak = self.weak();
        wasm_bindgen_futures::spawn_local(async move {
            let stats = rtc::collect_stats(&pc).await;
            if let Some(ctrl) = Self::from_weak(&weak) {
                ctrl.inner.borrow_mut().view.stats = stats;
                ctrl.refresh();
            }
        });
    }

    fn set_notice(&self, notice: String) {
        self.inner.borrow_mut().view.notice = Some(notice);
    }

    /// Shows a notice in the call view.
    pub fn notice(&self, notice: String) {
        self.set_notice(notice);
        self.refresh();
    }

    async fn execute(&self, effect: Effect) {
        match effect {
            Effect::Send { to, signal } => {
                let send = self.inner.borrow().send.clone();
                send.emit((to, signal));
            }
            Effect::AcquireMedia(media) => match rtc::acquire(media).await {
                Ok(local) => {
                    {
                        let mut i = self.inner.borrow_mut();
                        i.view.local = local.as_ref().map(|l| l.stream.clone());
                        i.local = local;
                    }
                    self.rtc(RtcEvent::MediaReady { sending: media });
                }
                Err(reason) => self.rtc(RtcEvent::MediaUnavailable {
                    wanted: media,
                    reason,
                }),
            },
            Effect::OpenPeer { ice_servers } => {
                let weak = self.weak();
                let on = move |f: fn(&CallController, RtcEvent), weak: Weak<RefCell<Inner>>| {
                    move |event: RtcEvent| {
                        if let Some(ctrl) = CallController::from_weak(&weak) {
                            f(&ctrl, event);
                        }
                    }
                };
                let events = PeerEvents {
                    candidate: Callback::from({
                        let send = on(CallController::rtc, weak.clone());
                        move |c| send(RtcEvent::LocalCandidate(c))
                    }),
                    connected: Callback::from({
                        let send = on(CallController::rtc, weak.clone());
                        move |()| send(RtcEvent::Connected)
                    }),
                    failed: Callback::from({
                        let send = on(CallController::rtc, weak.clone());
                        move |reason| send(RtcEvent::Failed(reason))
                    }),
                    remote_stream: Callback::from({
                        let weak = weak.clone();
                        move |stream: MediaStream| {
                            if let Some(ctrl) = CallController::from_weak(&weak) {
                                ctrl.inner.borrow_mut().view.remote = Some(stream);
                                ctrl.refresh();
                            }
                        }
                    }),
                };
                let relay_only = self.inner.borrow().relay_only;
                let weak = self.weak();
                match PeerConnection::open(ice_servers, relay_only, events) {
                    Ok(peer) => {
                        let mut i = self.inner.borrow_mut();
                        let chat_events = ChannelEvents {
                            text: Callback::from({
                                let weak = weak.clone();
                                move |text| {
                                    if let Some(ctrl) = CallController::from_weak(&weak) {
                                        ctrl.chat_received(text);
                                    }
                                }
                            }),
                            binary: Callback::noop(),
                            drained: Callback::noop(),
                        };
                        // Made before the offer, so the offer has a data section; negotiated, so the callee makes
                        // the same channel instead of waiting for it.
                        let chat = DataChannel::open(
                            &peer.raw(),
                            "chat",
                            wire::CHAT_CHANNEL_ID,
                            chat_events,
                        );
                        i.chat = Some(chat);
                        let (drained_tx, drained_rx) = futures::channel::mpsc::unbounded();
                        let file_events = ChannelEvents {
                            text: Callback::from({
                                let weak = weak.clone();
                                move |text| {
                                    if let Some(ctrl) = CallController::from_weak(&weak) {
                                        ctrl.file_control(text);
                                    }
                                }
                            }),
                            binary: Callback::from({
                                let weak = weak.clone();
                                move |frame| {
                                    if let Some(ctrl) = CallController::from_weak(&weak) {
                                        ctrl.file_chunk(frame);
                                    }
                                }
                            }),
                            drained: Callback::from(move |()| {
                                let _ = drained_tx.unbounded_send(());
                            }),
                        };
                        let files = DataChannel::open(
                            &peer.raw(),
                            "files",
                            wire::FILE_CHANNEL_ID,
                            file_events,
                        );
                        i.files = Some(files);
                        i.drained = Some(drained_rx);
                        // The callee attaches its tracks to the transceivers the offer creates (see AnswerOffer).
                        if i.machine.call().is_some_and(|c| c.role == Role::Caller) {
                            peer.attach_caller(i.local.as_ref().map(|l| &l.stream));
                        }
                        i.view.remote = Some(peer.remote_stream());
                        i.peer = Some(peer);
                    }
                    Err(err) => self.rtc(RtcEvent::Failed(format!(
                        "could not open a connection: {err}"
                    ))),
                }
            }
            Effect::CreateOffer => {
                let Some(pc) = self.raw_peer() else { return };
                match rtc::peer::create_offer(&pc).await {
                    Ok(sdp) => {
                        self.inner.borrow_mut().local_fingerprint = safety::dtls_fingerprint(&sdp);
                        self.update_safety_code();
                        self.rtc(RtcEvent::LocalOffer(sdp))
                    }
                    Err(err) => {
                        self.rtc(RtcEvent::Failed(format!("could not make an offer: {err}")))
                    }
                }
            }
            Effect::AnswerOffer { offer, candidates } => {
                let Some(pc) = self.raw_peer() else { return };
                let local = self.inner.borrow().local.as_ref().map(|l| l.stream.clone());
                self.inner.borrow_mut().remote_fingerprint = safety::dtls_fingerprint(&offer);
                match rtc::peer::answer_offer(&pc, &offer, &candidates, local.as_ref()).await {
                    Ok(sdp) => {
                        self.inner.borrow_mut().local_fingerprint = safety::dtls_fingerprint(&sdp);
                        self.update_safety_code();
                        self.rtc(RtcEvent::LocalAnswer(sdp))
                    }
                    Err(err) => self.rtc(RtcEvent::Failed(format!("could not answer: {err}"))),
                }
            }
            Effect::UpdateIceServers(servers) => {
                if let Some(peer) = self.inner.borrow_mut().peer.as_mut() {
                    peer.set_ice_servers(servers);
                }
            }
            Effect::ApplyAnswer { answer, candidates } => {
                self.inner.borrow_mut().remote_fingerprint = safety::dtls_fingerprint(&answer);
                self.update_safety_code();
                let Some(pc) = self.raw_peer() else { return };
                if let Err(err) = rtc::peer::apply_answer(&pc, &answer, &candidates).await {
                    self.rtc(RtcEvent::Failed(format!("could not use the answer: {err}")));
                }
            }
            Effect::AddCandidate(candidate) => {
                let Some(pc) = self.raw_peer() else { return };
                // One bad candidate does not doom the call: the others may still connect.
                let _ = rtc::peer::add_candidate(&pc, &candidate).await;
            }
            Effect::SetMic(on) => {
                if let Some(local) = &self.inner.borrow().local {
                    local.set_enabled(true, on);
                }
            }
            Effect::SetCamera(on) => {
                if let Some(local) = &self.inner.borrow().local {
                    local.set_enabled(false, on);
                }
            }
            Effect::SetScreen(true) => {
                let Some(pc) = self.raw_peer() else { return };
                let weak = self.weak();
                let on_ended = move || {
                    if let Some(ctrl) = CallController::from_weak(&weak) {
                        ctrl.rtc(RtcEvent::ScreenEnded);
                    }
                };
                let shared = match rtc::share_screen(on_ended).await {
                    Ok(screen) => rtc::peer::replace_video(&pc, Some(&screen.track))
                        .await
                        .map(|()| screen),
                    Err(err) => Err(err),
                };
                match shared {
                    Ok(screen) => {
                        {
                            let mut i = self.inner.borrow_mut();
                            i.view.local = Some(screen.stream.clone());
                            i.screen = Some(screen);
                        }
                        self.rtc(RtcEvent::ScreenStarted);
                    }
                    Err(err) => self.rtc(RtcEvent::ScreenUnavailable(err)),
                }
            }
            Effect::SetScreen(false) => {
                let (screen, camera) = {
                    let mut i = self.inner.borrow_mut();
                    let camera = i.local.as_ref().map(|l| l.stream.clone());
                    i.view.local = camera.clone();
                    (i.screen.take(), camera)
                };
                drop(screen);
                if let Some(pc) = self.raw_peer() {
                    let track = camera
                        .as_ref()
                        .and_then(|s| rtc::peer::first_track(s, "video"));
                    if let Err(err) = rtc::peer::replace_video(&pc, track.as_ref()).await {
                        self.set_notice(format!("Could not switch back to the camera: {err}"));
                    }
                }
            }
            Effect::Ring(on) => {
                let caller = self
                    .inner
                    .borrow()
                    .machine
                    .call()
                    .map(|c| c.peer.name.clone());
                let ringer = if on {
                    caller.map(|name| Ringer::start(&name))
                } else {
                    None
                };
                self.inner.borrow_mut().ringer = ringer;
            }
            Effect::Close => {
                let (chat, peer, local, screen, ringer) = {
                    let mut i = self.inner.borrow_mut();
                    i.view.local = None;
                    i.view.remote = None;
                    i.view.stats = None;
                    i.outgoing.clear();
                    i.incoming.clear();
                    i.send_queue.clear();
                    let now = now_ms();
                    let moving: Vec<_> = i
                        .view
                        .transfers
                        .list
                        .iter()
                        .filter(|t| !t.state.finished())
                        .map(|t| (t.id, t.direction))
                        .collect();
                    for (id, direction) in moving {
                        i.view.transfers.cancel(id, direction, now);
                    }
                    let files = i.files.take();
                    drop(files);
                    (
                        i.chat.take(),
                        i.peer.take(),
                        i.local.take(),
                        i.screen.take(),
                        i.ringer.take(),
                    )
                };
                // Dropped outside the borrow, channels before their connection: their Drop impls unhook closures
                // and stop tracks.
                drop(chat);
                drop((peer, local, screen, ringer));
            }
            Effect::Notice(notice) => self.set_notice(notice),
        }
    }

    fn raw_peer(&self) -> Option<web_sys::RtcPeerConnection> {
        self.inner.borrow().peer.as_ref().map(PeerConnection::raw)
    }
}

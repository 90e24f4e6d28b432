//! The shell that runs calls in the page: it feeds the [`CallMachine`] (the person's actions, the node's messages,
//! the browser's events, time), carries out the machine's effects in order with the executors — [`PeerExecutor`]
//! for the connection and media, [`ChatChannel`] and [`FileChannel`] for what a call carries, the [`SignalBook`]
//! for signals through the node — and publishes a [`CallView`] whenever what a person would see changed.
//!
//! Effects run one at a time on one worker future, in the order [`EffectQueue`] keeps (the camera opens beside
//! them: `AcquireMedia` only starts it; signals to the other side do not wait for them). Components never reach in
//! here: they dispatch [`CallAction`]s.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_timers::callback::{Interval, Timeout};
use hearsay_shared::call::Signal;
use hearsay_shared::gossip::PublicKey;
use hearsay_shared::page::{ClientMsg, ServerMsg, UserDirectory};
use yew::Callback;

use super::effect_queue::EffectQueue;
use super::machine::CallMachine;
use super::peer_executor::PeerExecutor;
use super::signaling::{SignalBook, received_signal};
use super::types::{Effect, Intent, RtcEvent};
use super::view::CallView;
use crate::rtc;
use crate::share::chat::ChatAction;
use crate::share::chat_channel::ChatChannel;
use crate::share::file_channel::FileChannel;
use crate::share::transfer::Direction;

/// What a person does in a call, as the components report it.
#[derive(Debug, Clone, PartialEq)]
pub enum CallAction {
    Intent(Intent),
    SendChat(String),
    SetChatOpen(bool),
    OfferFiles(Vec<web_sys::File>),
    AnswerFile { id: u32, accept: bool },
    CancelFile { id: u32, direction: Direction },
}

/// How often the call's stats (frames, packets, the candidate pair) are read.
const STATS_EVERY_MS: u32 = 1_000;

#[derive(Default)]
struct State {
    machine: CallMachine,
    queue: EffectQueue,
    working: bool,
    book: SignalBook,
    users: UserDirectory,
    /// The node's count of network changes, from its last `Network` message.
    network_changes: Option<u32>,
    notice: Option<String>,
    stats: Option<rtc::CallStats>,
    timer: Option<Timeout>,
    stats_timer: Option<Interval>,
    published: Option<CallView>,
}

struct Shared {
    state: RefCell<State>,
    peer: PeerExecutor,
    chat: ChatChannel,
    files: FileChannel,
    send: Callback<ClientMsg>,
    publish: Callback<CallView>,
    /// Answer every incoming call at once: the node's `--testing-auto-accept`, told in its hello.
    auto_accept: Cell<bool>,
}

/// Cheap to clone; every clone runs the same calls.
#[derive(Clone)]
pub struct CallRuntime {
    shared: Rc<Shared>,
}

impl PartialEq for CallRuntime {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.shared, &other.shared)
    }
}

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// A callback that reaches the runtime while it lives (executors hold these, never the runtime itself).
fn weak_callback<T: 'static>(weak: &Weak<Shared>, f: fn(&CallRuntime, T)) -> Callback<T> {
    let weak = weak.clone();
    Callback::from(move |value: T| {
        if let Some(shared) = weak.upgrade() {
            f(&CallRuntime { shared }, value);
        }
    })
}

impl CallRuntime {
    /// `send` carries messages to the node; `publish` receives every new view.
    pub fn new(send: Callback<ClientMsg>, publish: Callback<CallView>) -> Self {
        let shared = Rc::new_cyclic(|weak: &Weak<Shared>| {
            let changed = weak_callback(weak, |rt, ()| rt.refresh());
            let notice = weak_callback(weak, |rt, text| rt.notice(text));
            Shared {
                state: RefCell::default(),
                peer: PeerExecutor::new(weak_callback(weak, CallRuntime::rtc), changed.clone()),
                chat: ChatChannel::new(changed.clone(), notice.clone()),
                files: FileChannel::new(changed, notice),
                send,
                publish,
                auto_accept: Cell::new(false),
            }
        });
        Self { shared }
    }

    /// What the person did.
    pub fn dispatch(&self, action: CallAction) {
        let s = &self.shared;
        match action {
            CallAction::Intent(intent) => {
                s.state.borrow_mut().machine.handle_intent(now_ms(), intent);
                self.pump();
            }
            CallAction::SendChat(text) => s.chat.send(&text),
            CallAction::SetChatOpen(open) => s.chat.apply(ChatAction::SetOpen(open)),
            CallAction::OfferFiles(files) => s.files.offer(files),
            CallAction::AnswerFile { id, accept } => s.files.answer(id, accept),
            CallAction::CancelFile { id, direction } => s.files.cancel(id, direction),
        }
    }

    /// A message from the node: call signals, their delivery reports, the ICE servers, this user's key, the users
    /// list (to name callers). Everything else is not the call's business.
    pub fn node_message(&self, msg: &ServerMsg) {
        let now = now_ms();
        let mut state = self.shared.state.borrow_mut();
        match msg {
            ServerMsg::PrivateReceived {
                from,
                from_name,
                payload,
                ..
            } => {
                let Some((peer, signal)) =
                    received_signal(*from, from_name.clone(), payload, state.users.get(from))
                else {
                    return;
                };
                let invited = match &signal {
                    hearsay_shared::call::Signal::Invite { media, .. } => Some(*media),
                    _ => None,
                };
                state.machine.handle_signal(now, peer, signal);
                if let Some(media) = invited.filter(|_| self.shared.auto_accept.get()) {
                    state.machine.handle_intent(now, Intent::Accept { media });
                }
            }
            ServerMsg::PrivateAccepted {
                request,
                message_id,
            } => {
                let live = state.machine.call().map(|c| c.id);
                state.book.accepted(*request, *message_id, live);
                return;
            }
            ServerMsg::PrivateDelivered { message_id } => {
                state.book.delivered(*message_id);
                return;
            }
            ServerMsg::PrivateFailed { message_id } => {
                if let Some((to, call)) = state.book.failed(*message_id) {
                    state.machine.handle_undeliverable(to, call);
                }
            }
            // The node's choice, for this page only: nothing of it goes to the other side of a call.
            ServerMsg::IceServers(ice) => state.machine.set_ice_servers(ice.servers.clone()),
            ServerMsg::GossipInfo(info) => state.machine.set_own_key(info.key),
            // The node's testing modes; nothing in the page's URL can switch them.
            ServerMsg::Hello(identity) => {
                self.shared.auto_accept.set(identity.testing.auto_accept);
                self.shared.peer.set_relay_only(identity.testing.relay_only);
                return;
            }
            ServerMsg::Network(view) => {
                let before = state.network_changes.replace(view.network_changes);
                if before.is_none_or(|n| n >= view.network_changes) {
                    return; // the first view of this connection, or no new change
                }
                state.machine.handle_network_change(now);
            }
            ServerMsg::Users {
                reset,
                upsert,
                remove,
            } => {
                state.users.apply(*reset, upsert, remove);
                return;
            }
            _ => return,
        }
        drop(state);
        self.pump();
    }

    fn rtc(&self, event: RtcEvent) {
        self.shared
            .state
            .borrow_mut()
            .machine
            .handle_rtc(now_ms(), event);
        self.pump();
    }

    fn timeout(&self) {
        self.shared
            .state
            .borrow_mut()
            .machine
            .handle_timeout(now_ms());
        self.pump();
    }

    fn notice(&self, text: String) {
        self.shared.state.borrow_mut().notice = Some(text);
        self.refresh();
    }

    /// Takes the machine's new effects into the [`EffectQueue`], and sends the signals it gives back at once.
    fn take_effects(&self) {
        let signals: Vec<_> = {
            let mut state = self.shared.state.borrow_mut();
            let mut signals = Vec::new();
            while let Some(effect) = state.machine.poll_effect() {
                signals.extend(state.queue.take(effect));
            }
            signals
        };
        for (to, signal) in signals {
            self.send_signal(to, signal);
        }
    }

    fn send_signal(&self, to: PublicKey, signal: Signal) {
        let msg = {
            let mut state = self.shared.state.borrow_mut();
            let live = state.machine.call().map(|c| c.id);
            state.book.outgoing(to, &signal, live)
        };
        self.shared.send.emit(msg);
    }

    /// Takes new effects, starts the worker if idle, re-arms the timer, publishes the view.
    fn pump(&self) {
        self.take_effects();
        let start_worker = {
            let mut state = self.shared.state.borrow_mut();
            let start = !state.working && !state.queue.is_empty();
            state.working |= start;
            start
        };
        if start_worker {
            let weak = Rc::downgrade(&self.shared);
            wasm_bindgen_futures::spawn_local(async move {
                while let Some(shared) = weak.upgrade() {
                    let runtime = CallRuntime { shared };
                    runtime.take_effects();
                    let next = {
                        let mut state = runtime.shared.state.borrow_mut();
                        let next = state.queue.pop();
                        state.working = next.is_some();
                        next
                    };
                    let Some(effect) = next else { break };
                    runtime.execute(effect).await;
                    runtime.refresh();
                }
            });
        }
        self.rearm_timer();
        self.refresh();
    }

    fn rearm_timer(&self) {
        let deadline = self.shared.state.borrow().machine.poll_timeout();
        let timer = deadline.map(|at| {
            let weak = Rc::downgrade(&self.shared);
            let delay = at.saturating_sub(now_ms()).min(u64::from(u32::MAX)) as u32;
            Timeout::new(delay, move || {
                if let Some(shared) = weak.upgrade() {
                    CallRuntime { shared }.timeout();
                }
            })
        });
        self.shared.state.borrow_mut().timer = timer;
    }

    /// Carries out one effect.
    async fn execute(&self, effect: Effect) {
        let s = &self.shared;
        match effect {
            // Never queued: the effect queue hands signals back to be sent at once.
            Effect::Send { to, signal } => self.send_signal(to, signal),
            Effect::StartSession => {
                s.chat.reset();
                s.files.reset();
                let mut state = s.state.borrow_mut();
                state.notice = None;
                state.stats = None;
            }
            Effect::AcquireMedia(media) => s.peer.acquire(media),
            Effect::OpenPeer { ice_servers } => match s.peer.open(ice_servers) {
                Ok(pc) => {
                    // Made before the first offer, so it has a data section; negotiated, so the callee makes the
                    // same channels instead of waiting for them.
                    s.chat.open(&pc);
                    s.files.open(&pc);
                    self.start_stats();
                }
                Err(err) => self.rtc(RtcEvent::Failed(err)),
            },
            Effect::AttachMedia => s.peer.attach().await,
            Effect::CreateOffer { ice_restart } => s.peer.create_offer(ice_restart).await,
            Effect::AnswerOffer {
                offer,
                candidates,
                rollback,
            } => s.peer.answer(offer, candidates, rollback).await,
            Effect::ApplyAnswer { answer, candidates } => {
                s.peer.apply_answer(answer, candidates).await
            }
            Effect::AddCandidate(candidate) => s.peer.add_candidate(candidate).await,
            Effect::UpdateIceServers(servers) => s.peer.update_ice_servers(servers),
            Effect::SetMic(on) => s.peer.set_enabled(true, on),
            Effect::SetCamera(on) => s.peer.set_enabled(false, on),
            Effect::SetScreen(on) => s.peer.set_screen(on).await,
            Effect::Ring(on) => {
                let caller = s.state.borrow().machine.call().map(|c| c.peer.name.clone());
                s.peer.ring(caller.filter(|_| on));
            }
            Effect::EndSession => {
                // Channels before their connection.
                s.files.close();
                s.chat.close();
                s.peer.close();
                let mut state = s.state.borrow_mut();
                state.stats_timer = None;
                state.stats = None;
            }
            Effect::Notice(text) => s.state.borrow_mut().notice = Some(text),
        }
    }

    fn start_stats(&self) {
        let weak = Rc::downgrade(&self.shared);
        let timer = Interval::new(STATS_EVERY_MS, move || {
            let Some(shared) = weak.upgrade() else { return };
            let Some(pc) = shared.peer.raw() else { return };
            let weak = Rc::downgrade(&shared);
            wasm_bindgen_futures::spawn_local(async move {
                let stats = rtc::collect_stats(&pc).await;
                if let Some(shared) = weak.upgrade() {
                    shared.state.borrow_mut().stats = stats;
                    CallRuntime { shared }.refresh();
                }
            });
        });
        self.shared.state.borrow_mut().stats_timer = Some(timer);
    }

    /// Publishes the view if it changed.
    fn refresh(&self) {
        let s = &self.shared;
        let view = {
            let state = s.state.borrow();
            CallView {
                phase: state.machine.phase(),
                call: state.machine.call().cloned(),
                waiting: state.machine.waiting().to_vec(),
                notice: state.notice.clone(),
                local: s.peer.local_stream(),
                remote: s.peer.remote_stream(),
                stats: state.stats.clone(),
                chat: s.chat.log(),
                transfers: s.files.transfers(),
                downloads: s.files.downloads(),
            }
        };
        let view = if view.has_connection() {
            view
        } else {
            CallView {
                stats: None,
                local: None,
                remote: None,
                ..view
            }
        };
        {
            let mut state = s.state.borrow_mut();
            if state.published.as_ref() == Some(&view) {
                return;
            }
            state.published = Some(view.clone());
        }
        s.publish.emit(view);
    }
}

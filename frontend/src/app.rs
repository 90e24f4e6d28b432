//! The root component: owns the page state, the link to the node and the call controller, and lays out the page.
//!
//! Call signaling rides the node's private messages: a [`Signal`] goes out as the JSON payload of
//! `SendPrivate`, and a `PrivateReceived` whose payload parses as a [`Signal`] goes to the call controller with the
//! sender's key, which the node verified. A `PrivateFailed` for a signal tells the controller it was undeliverable.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use hearsay_shared::call::{CallId, CallMedia, Signal};
use hearsay_shared::gossip::PublicKey;
use hearsay_shared::page::{ClientMsg, ServerMsg, UserView};
use yew::prelude::*;

use crate::call::controller::CallController;
use crate::call::machine::{Intent, Peer, Phase};
use crate::components::{CallStage, IncomingCall, LinkIndicator, SidePanel};
use crate::node_link::{self, NodeLink, NodeSender};
use crate::state::{Action, PageState};

/// Page switches read from the URL's query, for tests and benchmarks: `?relay-only` forces calls through TURN,
/// `?auto-accept` answers incoming calls at once.
fn query_has(flag: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .is_some_and(|q| q.trim_start_matches('?').split('&').any(|p| p == flag))
}

/// Signals in flight: which (user, call) a SendPrivate request and then its message id belong to.
#[derive(Default)]
struct SignalBook {
    next_request: u32,
    by_request: HashMap<u32, (String, CallId)>,
    by_message: HashMap<String, (String, CallId)>,
    /// The latest users list, to name and fingerprint a caller.
    users: Vec<UserView>,
}

/// Most signals remembered for delivery reports; older entries are forgotten first.
const MAX_TRACKED_SIGNALS: usize = 512;

struct Services {
    calls: CallController,
    outbox: RefCell<Option<node_link::Outbox>>,
    sender: NodeSender,
    book: Rc<RefCell<SignalBook>>,
}

/// Who sent a signal, as far as this page knows: the node vouches for the key; name and fingerprint come from the
/// users list (or the key itself for a sender not listed yet).
fn peer_for(key: &str, name: Option<String>, users: &[UserView]) -> Peer {
    let listed = users.iter().find(|u| u.key == key);
    let fingerprint = listed.map(|u| u.fingerprint.clone()).unwrap_or_else(|| {
        PublicKey::from_hex(key).map_or_else(|| key.chars().take(16).collect(), |k| k.fingerprint())
    });
    Peer {
        key: key.to_owned(),
        name: name
            .or_else(|| listed.map(|u| u.name.clone()))
            .unwrap_or_else(|| "unknown".into()),
        fingerprint,
    }
}

fn route(
    msg: ServerMsg,
    calls: &CallController,
    book: &RefCell<SignalBook>,
    auto_accept: bool,
) -> Option<ServerMsg> {
    match msg {
        ServerMsg::PrivateReceived {
            from,
            from_name,
            payload,
            ..
        } => {
            // Private messages that are not call signals are not for the call controller.
            let Ok(signal) = serde_json::from_str::<Signal>(&payload) else {
                return None;
            };
            let invited_with = match &signal {
                Signal::Invite { media, .. } => Some(*media),
                _ => None,
            };
            let peer = peer_for(&from, from_name, &book.borrow().users);
            calls.signal(peer, signal);
            if let Some(media) = invited_with
                && auto_accept
            {
                calls.intent(Intent::Accept { media });
            }
            None
        }
        ServerMsg::PrivateAccepted {
            request,
            message_id,
        } => {
            let mut book = book.borrow_mut();
            if let Some(entry) = book.by_request.remove(&request) {
                if book.by_message.len() >= MAX_TRACKED_SIGNALS {
                    book.by_message.clear();
                }
                book.by_message.insert(message_id, entry);
            }
            None
        }
        ServerMsg::PrivateDelivered { message_id } => {
            book.borrow_mut().by_message.remove(&message_id);
            None
        }
        ServerMsg::PrivateFailed { message_id } => {
            let entry = book.borrow_mut().by_message.remove(&message_id);
            if let Some((to, call)) = entry {
                calls.undeliverable(&to, call);
            }
            None
        }
        ServerMsg::IceServers(ice) => {
            // The node's choice, for this page only: nothing of it goes to the other side of a call.
            calls.set_ice_servers(ice.servers);
            None
        }
        ServerMsg::GossipInfo(info) => {
            calls.set_own_key(info.key.clone());
            Some(ServerMsg::GossipInfo(info))
        }
        ServerMsg::Users { users } => {
            book.borrow_mut().users = users.clone();
            Some(ServerMsg::Users { users })
        }
        other => Some(other),
    }
}

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(PageState::default);
    let services = {
        let dispatcher = state.dispatcher();
        use_memo((), move |_| {
            let (sender, outbox) = node_link::channel();
            let book = Rc::new(RefCell::new(SignalBook::default()));
            let send = {
                let (sender, book) = (sender.clone(), book.clone());
                Callback::from(move |(to, signal): (String, Signal)| {
                    let request = {
                        let mut book = book.borrow_mut();
                        book.next_request = book.next_request.wrapping_add(1);
                        let request = book.next_request;
                        if book.by_request.len() >= MAX_TRACKED_SIGNALS {
                            book.by_request.clear();
                        }
                        book.by_request.insert(request, (to.clone(), signal.call()));
                        request
                    };
                    // Plain data with string keys: serialization cannot fail.
                    let payload = serde_json::to_string(&signal).expect("signals serialize");
                    sender.send(ClientMsg::SendPrivate {
                        request,
                        to,
                        payload,
                    });
                })
            };
            let publish =
                Callback::from(move |view| dispatcher.dispatch(Action::Call(Box::new(view))));
            Services {
                calls: CallController::new(send, publish, query_has("relay-only")),
                outbox: RefCell::new(Some(outbox)),
                sender,
                book,
            }
        })
    };
    {
        let dispatcher = state.dispatcher();
        let services: Rc<Services> = services.clone();
        use_effect_with((), move |_| {
            let calls = services.calls.clone();
            let book = services.book.clone();
            let auto_accept = query_has("auto-accept");
            let on_message = {
                let dispatcher = dispatcher.clone();
                Callback::from(move |msg: ServerMsg| {
                    if let Some(msg) = route(msg, &calls, &book, auto_accept) {
                        dispatcher.dispatch(Action::Received(msg));
                    }
                })
            };
            let outbox = services.outbox.borrow_mut().take();
            let link = outbox.map(|outbox| {
                NodeLink::start(
                    Callback::from(move |action| dispatcher.dispatch(action)),
                    on_message,
                    outbox,
                )
            });
            move || drop(link)
        });
    }
    let calls = services.calls.clone();
    let on_intent = Callback::from(move |intent: Intent| calls.intent(intent));
    let on_call = {
        let calls = services.calls.clone();
        Callback::from(move |(user, media): (UserView, CallMedia)| {
            let call = CallId((js_sys::Math::random() * 9_007_199_254_740_991.0) as u64);
            let peer = Peer {
                key: user.key,
                name: user.name,
                fingerprint: user.fingerprint,
            };
            calls.intent(Intent::Call { peer, media, call });
        })
    };
    let on_add_peer = {
        let sender = services.sender.clone();
        Callback::from(move |addr: String| sender.send(ClientMsg::AddPeer { addr }))
    };
    let on_delete_peer = {
        let sender = services.sender.clone();
        Callback::from(move |addr: String| sender.send(ClientMsg::DeletePeer { addr }))
    };
    let name = state.node.as_ref().map(|n| n.name.clone());
    let busy = !matches!(state.call.phase, Phase::Idle | Phase::Ended(_));
    html! {
        <div class="app">
            <header class="topbar">
                <span class="brand">{ "hearsay" }</span>
                <span class="me">
                    <span class="me-label">{ "You are " }</span>
                    <strong id="node-name">{ name.clone().unwrap_or_else(|| "…".into()) }</strong>
                    if let Some(g) = &state.gossip {
                        <span id="own-fingerprint" class="fingerprint" title={g.key.clone()}>{ &g.fingerprint }</span>
                    }
                </span>
                <LinkIndicator link={state.link.clone()} />
            </header>
            if let Some(err) = &state.last_error {
                <div class="notice" role="status" id="last-error">{ err }</div>
            }
            <div class="body">
                <SidePanel
                    network={state.network.clone()}
                    users={state.users.clone()}
                    peers={state.peers.clone()}
                    busy={busy}
                    on_call={on_call}
                    on_add_peer={on_add_peer}
                    on_delete_peer={on_delete_peer}
                />
                <CallStage
                    name={name}
                    version={state.node.as_ref().map(|n| n.version.clone())}
                    call={state.call.clone()}
                    on_intent={on_intent.clone()}
                    calls={services.calls.clone()}
                />
            </div>
            if state.call.phase == Phase::RingingIn {
                if let Some(call) = state.call.call.clone() {
                    <IncomingCall call={call} on_intent={on_intent} />
                }
            }
        </div>
    }
}

//! The root component: owns the page state (a reducer), the link to the node and the call runtime, and lays out the
//! page. Every message from the node goes to the page state and to the call runtime, which takes what is a call's
//! (signals, their delivery reports, ICE servers); every action in a call goes to the runtime as a [`CallAction`].

use std::cell::RefCell;
use std::rc::Rc;

use hearsay_shared::call::{CallId, CallMedia};
use hearsay_shared::page::{ClientMsg, ServerMsg, UserView};
use yew::prelude::*;

use crate::call::runtime::{CallAction, CallRuntime};
use crate::call::types::{Intent, Peer, Phase};
use crate::components::{CallStage, IncomingCall, LinkIndicator, NeedsToken, SidePanel};
use crate::node_link::{self, NodeLink, NodeSender};
use crate::state::{Action, Link, PageState};

struct Services {
    calls: CallRuntime,
    outbox: RefCell<Option<node_link::Outbox>>,
    sender: NodeSender,
}

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(PageState::default);
    let services = {
        let dispatcher = state.dispatcher();
        use_memo((), move |_| {
            let (sender, outbox) = node_link::channel();
            let send = {
                let sender = sender.clone();
                Callback::from(move |msg: ClientMsg| sender.send(msg))
            };
            let publish =
                Callback::from(move |view| dispatcher.dispatch(Action::Call(Box::new(view))));
            Services {
                calls: CallRuntime::new(send, publish),
                outbox: RefCell::new(Some(outbox)),
                sender,
            }
        })
    };
    {
        let dispatcher = state.dispatcher();
        let services: Rc<Services> = services.clone();
        use_effect_with((), move |_| {
            let calls = services.calls.clone();
            let on_message = {
                let dispatcher = dispatcher.clone();
                Callback::from(move |msg: ServerMsg| {
                    calls.node_message(&msg);
                    dispatcher.dispatch(Action::Received(msg));
                })
            };
            crate::rtc::peer::warm_up();
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
    let on_action = {
        let calls = services.calls.clone();
        Callback::from(move |action: CallAction| calls.dispatch(action))
    };
    let on_intent = on_action.reform(CallAction::Intent);
    let on_call = on_intent.reform(|(user, media): (UserView, CallMedia)| Intent::Call {
        call: CallId((js_sys::Math::random() * 9_007_199_254_740_991.0) as u64),
        peer: Peer {
            key: user.key,
            name: user.name,
            fingerprint: user.fingerprint,
        },
        media,
    });
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
                        <span id="own-fingerprint" class="fingerprint" title={g.key.to_hex()}>{ &g.fingerprint }</span>
                    }
                </span>
                <LinkIndicator link={state.link.clone()} />
            </header>
            if let Some(testing) = state.node.as_ref().map(|n| n.testing).filter(|t| t.any()) {
                <div class="notice testing" role="alert" id="testing-banner">
                    { "Testing mode — this node was started for automated tests: " }
                    if testing.auto_accept { { "it answers every call by itself. " } }
                    if testing.relay_only { { "calls go only through relays. " } }
                </div>
            }
            if state.link == Link::NeedsToken {
                <NeedsToken />
            }
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
                    on_action={on_action}
                />
            </div>
            if state.call.phase == Phase::RingingIn {
                if let Some(call) = state.call.call.clone() {
                    <IncomingCall call={call} waiting={state.call.waiting.clone()} on_intent={on_intent} />
                }
            }
        </div>
    }
}

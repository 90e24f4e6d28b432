//! The root component: owns the page state, the link to the node and the call controller, and lays out the page.

use std::cell::RefCell;
use std::rc::Rc;

use hearsay_shared::page::{ClientMsg, ServerMsg};
use yew::prelude::*;

use crate::call::controller::CallController;
use crate::call::machine::{IceConfig, Intent, Peer, Phase};
use crate::components::{CallStage, IncomingCall, LinkIndicator, SidePanel};
use crate::node_link::{self, NodeLink};
use crate::state::{Action, PageState};

/// Page switches read from the URL's query, for tests and benchmarks: `?relay-only` forces calls through TURN,
/// `?auto-accept` answers incoming calls at once.
fn query_has(flag: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .is_some_and(|q| q.trim_start_matches('?').split('&').any(|p| p == flag))
}

struct Services {
    calls: CallController,
    outbox: RefCell<Option<node_link::Outbox>>,
    sender: node_link::NodeSender,
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
                Callback::from(move |(to, signal)| {
                    sender.send(ClientMsg::SendSignal { to, signal })
                })
            };
            let publish = Callback::from(move |view| dispatcher.dispatch(Action::Call(view)));
            Services {
                calls: CallController::new(send, publish, query_has("relay-only")),
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
            let auto_accept = query_has("auto-accept");
            let on_message = {
                let dispatcher = dispatcher.clone();
                Callback::from(move |msg: ServerMsg| match msg {
                    ServerMsg::Signal { from, signal } => {
                        let invited_with = match &signal {
                            hearsay_shared::call::Signal::Invite { media, .. } => Some(*media),
                            _ => None,
                        };
                        calls.signal(
                            Peer {
                                key: from.key,
                                name: from.name,
                                fingerprint: from.fingerprint,
                            },
                            signal,
                        );
                        if let Some(media) = invited_with
                            && auto_accept
                        {
                            calls.intent(Intent::Accept { media });
                        }
                    }
                    ServerMsg::SignalUndeliverable { to, call } => calls.undeliverable(&to, call),
                    ServerMsg::IceServers(ice) => {
                        // The peer's browser may relay through this node too: lend it the TURN entries.
                        let lend = ice
                            .servers
                            .iter()
                            .filter(|s| s.urls.iter().any(|u| u.starts_with("turn")))
                            .cloned()
                            .collect();
                        calls.set_ice_config(IceConfig {
                            own: ice.servers,
                            lend,
                        })
                    }
                    other => dispatcher.dispatch(Action::Received(other)),
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
    let name = state.node.as_ref().map(|n| n.name.clone());
    let _ = &services.sender;
    html! {
        <div class="app">
            <header class="topbar">
                <span class="brand">{ "hearsay" }</span>
                <span class="me">
                    <span class="me-label">{ "You are " }</span>
                    <strong id="node-name">{ name.clone().unwrap_or_else(|| "…".into()) }</strong>
                </span>
                <LinkIndicator link={state.link.clone()} />
            </header>
            if let Some(err) = &state.last_error {
                <div class="notice" role="status" id="last-error">{ err }</div>
            }
            <div class="body">
                <SidePanel />
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

//! The side panel: this node's address as seen from outside, the users it can reach (with Call buttons) and its
//! direct peers (add by host:port, delete), all kept current by the node.

use hearsay_shared::call::CallMedia;
use hearsay_shared::page::{NetworkView, PeerView, UserView};
use std::rc::Rc;

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::users::UserList;

#[derive(Properties, PartialEq)]
pub struct SidePanelProps {
    pub network: Option<NetworkView>,
    pub users: Rc<UserList>,
    pub peers: Vec<PeerView>,
    /// Whether a call is under way (Call buttons are then disabled).
    pub busy: bool,
    pub on_call: Callback<(UserView, CallMedia)>,
    pub on_add_peer: Callback<String>,
    pub on_delete_peer: Callback<String>,
}

fn heard(ms: Option<u64>) -> String {
    match ms {
        None => "never heard".into(),
        Some(ms) if ms < 2_000 => "just now".into(),
        Some(ms) if ms < 120_000 => format!("{} s ago", ms / 1000),
        Some(ms) => format!("{} min ago", ms / 60_000),
    }
}

#[function_component(SidePanel)]
pub fn side_panel(props: &SidePanelProps) -> Html {
    let input = use_node_ref();
    let add = {
        let (input, on_add) = (input.clone(), props.on_add_peer.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(el) = input.cast::<HtmlInputElement>() {
                on_add.emit(el.value());
                el.set_value("");
            }
        })
    };
    let peers = props.peers.iter().map(|p| {
        let (on_delete, addr) = (props.on_delete_peer.clone(), p.addr.clone());
        let delete = Callback::from(move |_: MouseEvent| on_delete.emit(addr.clone()));
        html! {
            <li class="peer" data-addr={p.addr.clone()} data-live={p.live.to_string()}>
                <span class={classes!("dot", if p.live { "live" } else { "silent" })} aria-hidden="true"></span>
                <span class="addr">{ &p.addr }</span>
                <span class="heard">{ heard(p.last_heard_ms) }</span>
                <button class="delete-peer" title="Delete this peer" aria-label={format!("Delete {}", p.addr)}
                    onclick={delete}>{ "✕" }</button>
            </li>
        }
    });
    html! {
        <aside class="side-panel">
            <super::NetworkPanel network={props.network.clone()} />
            <section aria-labelledby="users-heading">
                <h2 id="users-heading">{ "Users" }</h2>
                <super::UsersList users={props.users.clone()} busy={props.busy} on_call={props.on_call.clone()} />
            </section>
            <section aria-labelledby="peers-heading">
                <h2 id="peers-heading">{ "Peers" }</h2>
                if props.peers.is_empty() {
                    <p class="empty">{ "No peers yet." }</p>
                } else {
                    <ul class="peers">{ for peers }</ul>
                }
                <form class="add-peer" onsubmit={add}>
                    <input id="peer-addr" ref={input} type="text" placeholder="host:port" aria-label="Peer address"
                        autocomplete="off" spellcheck="false" />
                    <button id="add-peer" type="submit">{ "Add" }</button>
                </form>
            </section>
        </aside>
    }
}

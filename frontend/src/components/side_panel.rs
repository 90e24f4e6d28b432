//! The side panel: this node's address as seen from outside, the users it can reach (with Call buttons) and its
//! direct peers (add by host:port, delete), all kept current by the node.

use hearsay_shared::call::CallMedia;
use hearsay_shared::page::{NetworkView, PeerView, UserView};
use web_sys::HtmlInputElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct SidePanelProps {
    pub network: Option<NetworkView>,
    pub users: Vec<UserView>,
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
    // Names are anyone's choice: two users may both be "alice". Each shows its fingerprint, and a name shared with
    // another user says so.
    let mut name_counts = std::collections::HashMap::<String, usize>::new();
    for u in &props.users {
        *name_counts.entry(u.name.to_lowercase()).or_default() += 1;
    }
    let users = props.users.iter().map(|u| {
        let same_name = name_counts.get(&u.name.to_lowercase()).copied().unwrap_or(0) > 1;
        let call = |media: CallMedia| {
            let (on_call, user) = (props.on_call.clone(), u.clone());
            Callback::from(move |_: MouseEvent| on_call.emit((user.clone(), media)))
        };
        let can_call = u.reachable && !props.busy;
        html! {
            <li class={classes!("user", (!u.reachable).then_some("unreachable"), same_name.then_some("same-name"))}
                data-key={u.key.to_hex()} data-reachable={u.reachable.to_string()}>
                <div class="who">
                    <span class="name">{ &u.name }</span>
                    if same_name {
                        <span class="same-name" title="Another user has this name: tell them apart by the fingerprint">
                            { "same name as another user" }
                        </span>
                    }
                    <details class="key">
                        <summary class="fingerprint" title="Show the whole key">{ &u.fingerprint }</summary>
                        <code class="full-key">{ u.key.to_hex() }</code>
                    </details>
                    <span class="hops">{
                        match (u.reachable, u.hops) {
                            (true, Some(1)) => "direct peer".to_owned(),
                            (true, Some(h)) => format!("{h} hops"),
                            (true, None) => "reachable".to_owned(),
                            (false, _) => "unreachable".to_owned(),
                        }
                    }</span>
                </div>
                <div class="call-buttons">
                    <button class="call-video primary" disabled={!can_call} title="Video call"
                        onclick={call(CallMedia::AudioVideo)}>{ "Video" }</button>
                    <button class="call-audio" disabled={!can_call} title="Audio call"
                        onclick={call(CallMedia::AudioOnly)}>{ "Audio" }</button>
                </div>
            </li>
        }
    });
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
                if props.users.is_empty() {
                    <p class="empty">{ "No other users known yet. Add a peer below to join the network." }</p>
                } else {
                    <ul class="users">{ for users }</ul>
                }
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

//! "Your address": what a friend adds as a peer (the address this node's peers see it at), whether it is reachable
//! from outside, and which relays calls go through — so a person behind a home router knows what to hand out and
//! what they need (one reachable peer).

use hearsay_shared::page::NetworkView;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct NetworkPanelProps {
    /// `None` until the node has said.
    pub network: Option<NetworkView>,
}

#[function_component(NetworkPanel)]
pub fn network_panel(props: &NetworkPanelProps) -> Html {
    let view = props.network.clone().unwrap_or_default();
    let (state, advice) = match view.reachable {
        None => (
            "unknown",
            "Reachable from outside: not known yet (a peer checks once you have one).",
        ),
        Some(true) => (
            "yes",
            "Reachable from outside: yes. Friends can add this address as a peer.",
        ),
        Some(false) => (
            "no",
            "Reachable from outside: no (behind a router). Friends cannot add you; you add a reachable node as \
             your peer, and calls relay through reachable nodes when they must.",
        ),
    };
    html! {
        <section aria-labelledby="address-heading" id="own-address" data-reachable={state}>
            <h2 id="address-heading">{ "Your address" }</h2>
            if view.addrs.is_empty() {
                <p class="empty">{ "Not known yet: once you have a peer, it tells this node how it sees it." }</p>
            } else {
                <ul class="own-addrs">
                    { for view.addrs.iter().map(|a| html! { <li class="own-addr">{ a }</li> }) }
                </ul>
            }
            <p class="reachability">{ advice }</p>
            <p class="relays" data-count={view.relays.len().to_string()}>
                { "Calls relay through: " }
                if view.relays.is_empty() {
                    <span class="muted">{ "none known yet" }</span>
                }
                { for view.relays.iter().map(|r| html! {
                    <span class="relay" data-own={r.own.to_string()} title={r.addr.clone()}>
                        { if r.own { format!("this node ({})", r.addr) } else { format!("{} ({})", r.name, r.addr) } }
                    </span>
                }) }
            </p>
        </section>
    }
}

//! What the page shows when its node refuses it for want of the token: how to get the link that carries it.

use yew::prelude::*;

#[function_component(NeedsToken)]
pub fn needs_token() -> Html {
    html! {
        <div class="notice needs-token" role="alert" id="needs-token">
            <strong>{ "This page is locked: open it from your node's link." }</strong>
            <p>
                { "Only you may drive your node, so it lets in only pages opened from the link it printed when it \
                   started (the line " }
                <code>{ "hearsay: page at https://…/login?token=…" }</code>
                { "). The link changes each time the node starts. To see it again, run " }
                <code>{ "hearsay url" }</code>
                { " (in the repository: " }<code>{ "cargo run -p hearsay-node -- url" }</code>{ ") and open it here." }
            </p>
        </div>
    }
}

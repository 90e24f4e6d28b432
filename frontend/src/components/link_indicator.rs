//! The dot and word that say whether the page can reach its node.

use yew::prelude::*;

use crate::state::Link;

#[derive(Properties, PartialEq)]
pub struct LinkIndicatorProps {
    pub link: Link,
}

#[function_component(LinkIndicator)]
pub fn link_indicator(props: &LinkIndicatorProps) -> Html {
    let label = props.link.label();
    let detail = match &props.link {
        Link::Connected => "to your node".to_owned(),
        Link::Connecting { attempt: 0 } => "to your node…".to_owned(),
        Link::Connecting { .. } => "reconnecting…".to_owned(),
        Link::Disconnected { retry_in_ms, .. } => {
            format!("retrying in {:.1} s", f64::from(*retry_in_ms) / 1000.0)
        }
        Link::NeedsToken => "the node wants its link".to_owned(),
    };
    html! {
        <span id="link-status" class={classes!("link", label)} data-state={label} role="status" aria-live="polite">
            <span class="dot" aria-hidden="true"></span>
            <span class="link-label">{ label }</span>
            <span class="link-detail">{ detail }</span>
        </span>
    }
}

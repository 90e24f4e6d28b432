//! The root component: owns the page state and the link to the node, and lays out the page.

use yew::prelude::*;

use crate::components::{CallStage, LinkIndicator, SidePanel};
use crate::node_link::NodeLink;
use crate::state::PageState;

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(PageState::default);
    {
        let dispatcher = state.dispatcher();
        use_effect_with((), move |_| {
            let link = NodeLink::start(Callback::from(move |action| dispatcher.dispatch(action)));
            move || drop(link)
        });
    }
    let name = state.node.as_ref().map(|n| n.name.clone());
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
                <CallStage name={name} version={state.node.as_ref().map(|n| n.version.clone())} />
            </div>
        </div>
    }
}

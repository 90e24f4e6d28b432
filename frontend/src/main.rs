//! The hearsay page: a Yew app that talks to its own node over a WebSocket.
//!
//! Shape: [`state`] holds the page state as a pure reducer (tested natively with `cargo test`); [`node_link`] is
//! the service that owns the WebSocket and feeds the reducer; [`components`] render the state, one per file.
//! Build it with `trunk build --release` (or `cargo xtask run`); the node embeds the result.
#![forbid(unsafe_code)]

mod app;
mod call;
mod components;
mod node_link;
mod rtc;
mod share;
mod state;
mod users;

fn main() {
    yew::Renderer::<app::App>::new().render();
}

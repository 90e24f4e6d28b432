//! Calls. The call is a state machine that owns every rule of a call's life ([`machine`], with its vocabulary in
//! [`types`], offer/answer and ICE restarts in [`negotiation`], deadlines in [`timers`]); the browser shell carries
//! out its effects ([`runtime`] runs it in the order [`effect_queue`] keeps, [`peer_executor`] drives the connection and media, [`signaling`] keeps
//! track of signals through the node, [`view`] is what the components show). Chat and files are in `share`.

pub mod effect_queue;
pub mod machine;
pub mod negotiation;
pub mod peer_executor;
pub mod runtime;
pub mod signaling;
pub mod timers;
pub mod types;
pub mod view;

#[cfg(test)]
mod tests;

//! The node's STUN server and client (RFC 5389/8489 Binding over UDP), on `stun_codec`.
//!
//! - [`responder`]: the pure request → response function ([`BindingResponder::answer`]).
//! - [`server`]: the thin tokio loop around it ([`server::serve`]).
//! - [`client`]: asks a STUN server for this node's reflexive address ([`client::reflexive_address`]).
//! - [`wire`]: the attribute set and the allocation-free framing check shared with the TURN gate.

pub mod client;
pub mod responder;
pub mod server;
pub mod wire;

pub use responder::BindingResponder;

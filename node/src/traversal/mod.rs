//! NAT traversal: how this node is seen from outside, and the STUN/TURN relays its page's calls use.
//!
//! Two homes behind NAT routers cannot call each other with only their own nodes' STUN and TURN: those sit behind
//! the same NATs. So a node finds out whether its own servers are reachable from outside (a dial-back through its
//! direct peers, [`reachability`]), announces STUN and TURN in its route rumors only when they are, and when its
//! own are not, borrows a reachable node's: it asks for TURN credentials scoped to its key by a signed private
//! message ([`relays`] on the asking side, [`lending`] on the relay's), checks that the relay answers, and hands
//! those servers to its page. Nothing the other side of a call says changes which servers a page uses.
//!
//! - [`machine`]: the sans-IO state machine ([`Traversal`]); its doc shows the drive loop.
//! - [`reachability`], [`relays`], [`lending`]: its parts, each a plain state machine or function.
//! - [`shell`]: the tokio task that runs it beside the gossip task.
//!
//! The messages between nodes are `hearsay_shared::node_msg`.

pub mod lending;
pub mod machine;
pub mod reachability;
pub mod relays;
pub mod shell;

pub use lending::RelayFor;
pub use machine::{IceChoice, Now, Output, Settings, Traversal};
pub use shell::Published;

#[cfg(test)]
mod tests;

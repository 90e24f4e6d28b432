//! The gossip overlay: how hearsay nodes find each other and carry private messages with no server.
//!
//! - [`engine`]: the sans-IO state machine ([`Gossip`]); its doc shows the drive loop and how it holds up against
//!   hostile senders.
//! - [`identity`]: the node's Ed25519 key and signature checking.
//! - [`routes`]: the next-hop table (DSDV with expiry) and status pages; [`origins`]: the numbers its entries are
//!   kept under, one numbering per process.
//! - [`peers`]: direct peers, deletion that sticks, silence.
//! - [`outbox`] / [`reassembly`]: private messages in flight (acks, retries) and arriving (fragments, duplicates).
//! - `sim`: a deterministic many-node simulator with a virtual clock, for tests and the benchmark (behind the
//!   `sim` feature, which the node's own tests and the benchmark turn on; the `hearsay` binary leaves it out).
//! - [`shell`]: the tokio task that gives the engine a UDP socket, a clock and the page's commands;
//!   [`tcp_links`]: gossip over TCP for networks that block UDP.
//!
//! The wire format lives in `hearsay_shared::gossip`.

pub mod engine;
pub mod identity;
pub mod origins;
pub mod outbox;
pub mod peers;
pub mod reassembly;
pub mod routes;
pub mod shell;
#[cfg(any(test, feature = "sim"))]
pub mod sim;
pub mod tcp_links;

pub use engine::{
    Command, CommandError, Config, Event, Gossip, Limits, Output, PeerInfo, Stats, Timing, UserInfo,
};
pub use identity::{Ed25519Check, Identity, SignatureCheck};

//! The node's TURN server (RFC 5766/8656 over UDP) on the `turn` crate, with what the crate leaves to its user:
//!
//! - [`credentials`]: TURN REST credentials from a per-node secret (coturn's `use-auth-secret`), static users.
//! - [`peer_policy`]: which peers may be relayed to (no open relay into private networks).
//! - [`gate`]: a `Conn` wrapper in front of the crate enforcing the peer policy (403), allocation quotas (486)
//!   and framing; its core is a plain state machine.
//! - [`nonces`]: the gate answers nonce-less requests itself with a nonce the crate holds, so the crate's nonce
//!   map stays small and a flood from one source does not starve others.
//! - [`relay_ports`]: relay sockets from `--relay-ports`.
//! - [`tcp`]: TURN over TCP (`turn:…?transport=tcp`) for networks that block UDP: a framing `Conn` for the crate.
//! - [`server`]: wiring it all into the crate's server ([`TurnServer::start`]).
//! - [`ice_servers`]: the `iceServers` list (own STUN + own TURN with fresh credentials) for pages.
//!
//! The `turn` crate is referred to as `::turn` throughout, since this module shares its name.

pub mod credentials;
pub mod gate;
pub mod ice_servers;
pub mod nonces;
pub mod peer_policy;
pub mod relay_ports;
pub mod server;
pub mod tcp;

pub use server::{TurnServer, TurnSettings};

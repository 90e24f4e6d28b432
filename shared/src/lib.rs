//! Typed messages shared by the hearsay page (WASM) and the hearsay node.
//!
//! This crate holds data and codecs only: no sockets, no async runtime, no clock. It builds for the host and for
//! `wasm32-unknown-unknown`, so the page and the node agree on every byte by construction.
//!
//! - [`call`]: call signaling between two pages (offer, answer, candidates, hang-up…), carried over gossip.
//! - [`page`]: the page ↔ node protocol spoken over the node's `/ws` WebSocket, as JSON in a versioned
//!   [`page::Envelope`]. Decode incoming text with [`page::decode_client`] / [`page::decode_server`]; both bound the
//!   size before parsing and return a [`page::DecodeError`] instead of panicking.
//! - [`ice`]: ICE server lists (`RTCIceServer`) a node hands to pages: its STUN and TURN with fresh credentials.
//! - [`gossip`]: the node ↔ node gossip datagrams (route rumors, status, private messages) in compact binary
//!   (postcard) behind a version byte. [`gossip::decode`] bounds the size first and never panics.
//! - [`startup`]: the lines a node prints when it starts and the files in its data dir, for scripts and tests.
//! - [`text`]: display names and file names others chose, checked or made safe to show.
//! - [`node_msg`]: what one node asks of another inside a private message (dial-back probes, TURN credentials),
//!   answered by the node itself and never shown to a page.
#![forbid(unsafe_code)]

pub mod call;
pub mod gossip;
pub mod ice;
pub mod node_msg;
pub mod page;
pub mod startup;
pub mod text;

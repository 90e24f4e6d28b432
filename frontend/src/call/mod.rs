//! Calls: the negotiation state machine ([`machine`]) and the browser shell that carries out its effects
//! ([`controller`]).

pub mod controller;
pub mod machine;
#[cfg(test)]
mod tests;

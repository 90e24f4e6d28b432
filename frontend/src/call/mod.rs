//! Calls: the negotiation state machine ([`machine`]); the browser shell that carries out its effects follows.

pub mod machine;
#[cfg(test)]
mod tests;

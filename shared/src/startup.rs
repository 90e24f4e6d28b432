//! What a node tells scripts and tests: the lines it prints on stdout when it starts (each a prefix followed by an
//! address, a key or a URL, the page's URL last), and the files it keeps in its data dir. The node prints them and
//! the test harness and `cargo xtask` read them, all from these constants.

/// `hearsay: stun at <addr>`: the STUN server's bound UDP address.
pub const STUN_ADDR_PREFIX: &str = "hearsay: stun at ";
/// `hearsay: turn at <addr>`: the TURN server's bound UDP address.
pub const TURN_ADDR_PREFIX: &str = "hearsay: turn at ";
/// `hearsay: turn/tcp at <addr>`: the TURN server's bound TCP address.
pub const TURN_TCP_ADDR_PREFIX: &str = "hearsay: turn/tcp at ";
/// `hearsay: gossip at <addr>`: the gossip socket's bound address (e.g. `0.0.0.0:5000`).
pub const GOSSIP_ADDR_PREFIX: &str = "hearsay: gossip at ";
/// `hearsay: key <64 hex digits>`: the node's public key, how other users address it.
pub const KEY_PREFIX: &str = "hearsay: key ";
/// `hearsay: page at https://…/login?token=…`: the page's URL with this start's token; printed last, once everything
/// listens.
pub const PAGE_URL_PREFIX: &str = "hearsay: page at ";
/// `hearsay: seen from outside at <addrs> (reachable from outside: yes|no|not known yet)`: printed whenever how
/// peers see the node changes.
pub const SEEN_PREFIX: &str = "hearsay: seen from outside at ";

/// The page's self-signed certificate (PEM), in the data dir.
pub const WEB_CERT_FILE: &str = "web-cert.pem";
/// Its private key (PEM).
pub const WEB_KEY_FILE: &str = "web-key.pem";
/// The page's URL with this start's token (mode 0600), for `hearsay url` and scripts; replaced at every start.
pub const PAGE_URL_FILE: &str = "page-url";
/// What a logged-in browser's cookie holds (mode 0600); kept across restarts so open pages reconnect by themselves.
/// Delete it to log every browser out.
pub const PAGE_SESSION_KEY_FILE: &str = "page-session-key";
/// The TURN REST secret (coturn's `static-auth-secret`).
pub const TURN_SECRET_FILE: &str = "turn-secret";

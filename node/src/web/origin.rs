//! Which web origins may open the page's WebSocket.
//!
//! The WebSocket controls the node (calls, peers, private messages), and browsers let any website open a WebSocket
//! to any address, so a page from elsewhere must not get one: a browser always sends `Origin` on a WebSocket
//! upgrade, and only the node's own page (served from its own HTTPS address) or an origin the user allowed with
//! `--allow-origin` (e.g. `trunk serve` during development) is let in. A request without `Origin` comes from a
//! program, not from a website, and is let in.

use std::collections::HashSet;

/// The origins allowed to open the WebSocket.
#[derive(Debug, Clone)]
pub struct AllowedOrigins {
    origins: HashSet<String>,
}

fn normalize(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

impl AllowedOrigins {
    /// The node's own page at `https://<loopback>:<web_port>` plus `extra` (as given by `--allow-origin`).
    pub fn new(web_port: u16, extra: &[String]) -> Self {
        let own = ["127.0.0.1", "localhost", "[::1]"]
            .into_iter()
            .map(|host| format!("https://{host}:{web_port}"));
        Self {
            origins: own.chain(extra.iter().map(|o| normalize(o))).collect(),
        }
    }

    /// Whether a WebSocket upgrade with this `Origin` header is let in.
    pub fn allows(&self, origin: Option<&str>) -> bool {
        origin.is_none_or(|o| self.origins.contains(&normalize(o)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_own_page_and_allowed_origins_get_in() {
        let allowed = AllowedOrigins::new(8443, &["http://127.0.0.1:8080/".into()]);
        assert!(allowed.allows(Some("https://127.0.0.1:8443")));
        assert!(allowed.allows(Some("https://LOCALHOST:8443")));
        assert!(
            allowed.allows(Some("http://127.0.0.1:8080")),
            "allowed with --allow-origin"
        );
        assert!(allowed.allows(None), "programs send no Origin");
        assert!(!allowed.allows(Some("https://evil.example")));
        assert!(
            !allowed.allows(Some("https://127.0.0.1:9443")),
            "another port is another origin"
        );
        assert!(
            !allowed.allows(Some("http://127.0.0.1:8443")),
            "another scheme is another origin"
        );
        assert!(!allowed.allows(Some("null")));
    }
}

//! Who may drive the node through its page's WebSocket: only the user, from the node's own page.
//!
//! The WebSocket places and answers calls signed with the user's key, reads every signal, adds and deletes peers
//! and mints TURN credentials, so three things are required of every upgrade (as Jupyter guards its localhost
//! server):
//! - **the token**: made at random on every start, printed in the page URL (`/login?token=…`, also kept in the
//!   data dir's `page-url`, mode 0600, for `hearsay url` and scripts). Opening that URL sets the session cookie —
//!   `HttpOnly`, `SameSite=Strict`, `Secure` over HTTPS, holding the data dir's session key — and redirects to the
//!   page without the token. The session key stays across restarts (as Jupyter keeps its cookie secret), so an
//!   open page reconnects to its restarted node by itself, while a login URL left in a history or a log is dead
//!   after the next start. Other local users, other programs and websites have neither;
//! - **the page's own `Origin`**: browsers always send it on WebSocket upgrades, so a website the user visits (which
//!   could otherwise ride on the cookie) is refused. Allowed: the node's own HTTPS origin as the request names it,
//!   its loopback names, and what `--allow-origin` adds (e.g. `trunk serve` during development);
//! - **a `Host` that is the node's own**: an IP address, `localhost`, or a host of an `--allow-origin` origin. A
//!   DNS name of someone else's pointing at 127.0.0.1 (DNS rebinding) is refused on every route.
//!
//! Everything refused gets a 403 with a sentence saying why, and a counted warning in the log.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

/// Where the page logs in: `GET /login?token=…` sets the cookie and redirects to `/`.
pub const LOGIN_PATH: &str = "login";
/// `GET /session` answers 204 with a valid cookie and 401 without: the page asks it when its WebSocket is refused.
pub const SESSION_PATH: &str = "session";

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The `Host` header names something other than this node (DNS rebinding, or a typo).
    ForeignHost,
    /// A WebSocket upgrade without `Origin`: not a browser page, so not the node's page.
    NoOrigin,
    /// A WebSocket upgrade from another web origin: a website the user visits.
    ForeignOrigin,
    /// No session cookie or a wrong one; or, at login, a wrong token (an old one, or a guess).
    NoToken,
}

impl Refusal {
    /// What the refused client is told.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::ForeignHost => {
                "This is a hearsay node; it answers only to its own addresses (an IP address or localhost).\n"
            }
            Refusal::NoOrigin | Refusal::ForeignOrigin => {
                "This WebSocket is for the node's own page only (see --allow-origin).\n"
            }
            Refusal::NoToken => {
                "This WebSocket needs the node's token: open the page URL the node printed when it started \
                 (`hearsay url` prints it again).\n"
            }
        }
    }
}

/// The checks, and counts of what they refused.
#[derive(Debug)]
pub struct Access {
    token: String,
    session_key: String,
    cookie_name: String,
    origins: HashSet<String>,
    hosts: HashSet<String>,
    refused: AtomicU64,
}

fn normalize(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// The host part of a `Host` header or of an origin's authority (`[::1]:8443` → `::1`, `a.b:80` → `a.b`).
fn host_part(authority: &str) -> &str {
    let authority = authority.trim();
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

impl Access {
    /// The node's page at `https://<its host>:<web_port>` plus `extra` origins (as given by `--allow-origin`);
    /// `token` logs a browser in (see [`new_token`]), `session_key` is what its cookie then holds.
    pub fn new(web_port: u16, extra: &[String], token: String, session_key: String) -> Self {
        let own = ["127.0.0.1", "localhost", "[::1]"]
            .into_iter()
            .map(|host| format!("https://{host}:{web_port}"));
        let origins: HashSet<String> = own.chain(extra.iter().map(|o| normalize(o))).collect();
        let hosts = extra
            .iter()
            .map(|o| normalize(o))
            .filter_map(|o| {
                o.split_once("://")
                    .map(|(_, rest)| host_part(rest).to_owned())
            })
            .chain(["localhost".to_owned()])
            .collect();
        Self {
            token,
            session_key,
            cookie_name: format!("hearsay-{web_port}"),
            origins,
            hosts,
            refused: AtomicU64::new(0),
        }
    }

    /// The token, for the page URL.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Whether `host` (a `Host` header) names this node. A request without one (HTTP/1.0) is refused.
    pub fn check_host(&self, host: Option<&str>) -> Result<(), Refusal> {
        let host = host.map(host_part).unwrap_or("").to_ascii_lowercase();
        let ok = host.parse::<IpAddr>().is_ok() || self.hosts.contains(&host);
        if ok {
            Ok(())
        } else {
            Err(Refusal::ForeignHost)
        }
    }

    /// Whether a WebSocket upgrade with these headers may drive the node.
    pub fn check_socket(
        &self,
        host: Option<&str>,
        origin: Option<&str>,
        cookie: Option<&str>,
    ) -> Result<(), Refusal> {
        self.check_host(host)?;
        let origin = normalize(origin.ok_or(Refusal::NoOrigin)?);
        // The page opened at one of the node's own addresses (an IP, as `check_host` allowed) is same-origin.
        let same_origin = host.is_some_and(|h| origin == format!("https://{}", normalize(h)));
        if !same_origin && !self.origins.contains(&origin) {
            return Err(Refusal::ForeignOrigin);
        }
        self.check_cookie(cookie)
    }

    /// Whether the `Cookie` header carries the session key.
    pub fn check_cookie(&self, cookie: Option<&str>) -> Result<(), Refusal> {
        let presented = cookie
            .into_iter()
            .flat_map(|c| c.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(name, _)| *name == self.cookie_name)
            .any(|(_, value)| same_secret(value, &self.session_key));
        if presented {
            Ok(())
        } else {
            Err(Refusal::NoToken)
        }
    }

    /// Whether `candidate` is this start's login token.
    pub fn is_token(&self, candidate: &str) -> bool {
        same_secret(candidate, &self.token)
    }

    /// The `Set-Cookie` value that logs a browser in, kept for a year; `secure` over HTTPS (the development HTTP
    /// server sets it without, or the browser would drop it).
    pub fn cookie(&self, secure: bool) -> String {
        format!(
            "{}={}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Strict{}",
            self.cookie_name,
            self.session_key,
            if secure { "; Secure" } else { "" }
        )
    }

    /// Logs a refusal with the running count, and returns it.
    pub fn refused(&self, what: &str, refusal: Refusal, detail: &str) -> Refusal {
        let count = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!(?refusal, detail, refused_so_far = count, "refused {what}");
        refusal
    }
}

/// Compares in time that does not depend on where the first difference is.
fn same_secret(candidate: &str, secret: &str) -> bool {
    let (a, b) = (candidate.as_bytes(), secret.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The session key from the data dir, made on first start.
pub fn load_or_create_session_key(data_dir: &std::path::Path) -> anyhow::Result<String> {
    use crate::data_dir::{self, Kind};
    let path = data_dir.join(hearsay_shared::startup::PAGE_SESSION_KEY_FILE);
    if let Some(bytes) = data_dir::read(&path, Kind::Secret)? {
        let key = String::from_utf8_lossy(&bytes).trim().to_owned();
        anyhow::ensure!(
            key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()),
            "{} is damaged; delete it (every browser will need the page URL again)",
            path.display()
        );
        return Ok(key);
    }
    let key = new_token()?;
    data_dir::write(&path, format!("{key}\n").as_bytes())?;
    Ok(key)
}

/// A fresh token: 32 random bytes from the OS, as hex.
pub fn new_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    rand::TryRngCore::try_fill_bytes(&mut rand::rngs::OsRng, &mut bytes)
        .map_err(|err| anyhow::anyhow!("the OS random number generator failed: {err}"))?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "fedcba9876543210";
    const SESSION: &str = "0123456789abcdef";

    fn access() -> Access {
        Access::new(
            8443,
            &["http://127.0.0.1:8080/".into()],
            TOKEN.into(),
            SESSION.into(),
        )
    }

    fn cookie() -> String {
        format!("other=1; hearsay-8443={SESSION}")
    }

    #[test]
    fn the_own_page_with_the_token_gets_in() {
        let a = access();
        let host = Some("127.0.0.1:8443");
        assert_eq!(
            a.check_socket(host, Some("https://127.0.0.1:8443"), Some(&cookie())),
            Ok(())
        );
        assert_eq!(
            a.check_socket(
                Some("localhost:8443"),
                Some("https://LOCALHOST:8443"),
                Some(&cookie())
            ),
            Ok(())
        );
        assert_eq!(
            a.check_socket(
                Some("127.0.0.1:8081"),
                Some("http://127.0.0.1:8080"),
                Some(&cookie())
            ),
            Ok(()),
            "allowed with --allow-origin"
        );
        assert_eq!(
            a.check_socket(
                Some("192.0.2.7:8443"),
                Some("https://192.0.2.7:8443"),
                Some(&cookie())
            ),
            Ok(()),
            "the page opened at the node's LAN address is its own page"
        );
    }

    #[test]
    fn other_origins_programs_and_tokenless_pages_are_refused() {
        let a = access();
        let host = Some("127.0.0.1:8443");
        let c = cookie();
        assert_eq!(a.check_socket(host, None, Some(&c)), Err(Refusal::NoOrigin));
        for origin in [
            "https://evil.example",
            "https://127.0.0.1:9443",
            "http://127.0.0.1:8443",
            "null",
        ] {
            assert_eq!(
                a.check_socket(host, Some(origin), Some(&c)),
                Err(Refusal::ForeignOrigin),
                "{origin}"
            );
        }
        let own = Some("https://127.0.0.1:8443");
        assert_eq!(a.check_socket(host, own, None), Err(Refusal::NoToken));
        assert_eq!(
            a.check_socket(host, own, Some("hearsay-8443=0123456789abcdeF")),
            Err(Refusal::NoToken)
        );
        assert_eq!(
            a.check_socket(host, own, Some("hearsay-9443=0123456789abcdef")),
            Err(Refusal::NoToken)
        );
        assert_eq!(
            a.check_socket(host, own, Some("hearsay-8443=0123456789abcde")),
            Err(Refusal::NoToken)
        );
        assert_eq!(
            a.check_socket(host, own, Some(&format!("hearsay-8443={TOKEN}"))),
            Err(Refusal::NoToken),
            "the login token is not the session key"
        );
        assert!(a.is_token(TOKEN) && !a.is_token(SESSION) && !a.is_token(""));
    }

    #[test]
    fn hosts_must_be_addresses_localhost_or_allowed_ones() {
        let a = access();
        for ok in [
            "127.0.0.1:8443",
            "[::1]:8443",
            "localhost:8443",
            "LOCALHOST",
            "192.0.2.7:8443",
        ] {
            assert_eq!(a.check_host(Some(ok)), Ok(()), "{ok}");
        }
        for bad in ["rebind.example:8443", "127.0.0.1.nip.io:8443", ""] {
            assert_eq!(a.check_host(Some(bad)), Err(Refusal::ForeignHost), "{bad}");
        }
        assert_eq!(a.check_host(None), Err(Refusal::ForeignHost));
        // A DNS name pointing at the node is refused on the socket too, even from its "own" origin.
        assert_eq!(
            a.check_socket(
                Some("rebind.example:8443"),
                Some("https://rebind.example:8443"),
                Some(&cookie())
            ),
            Err(Refusal::ForeignHost)
        );
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_over_https() {
        let a = access();
        assert_eq!(
            a.cookie(true),
            format!(
                "hearsay-8443={SESSION}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Strict; Secure"
            )
        );
        assert!(!a.cookie(false).contains("Secure"));
        assert_eq!(new_token().unwrap().len(), 64);
        assert_ne!(new_token().unwrap(), new_token().unwrap());
    }
}

#[cfg(all(test, unix))]
mod session_key_tests {
    #[test]
    fn the_session_key_outlives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let first = super::load_or_create_session_key(dir.path()).unwrap();
        assert_eq!(
            super::load_or_create_session_key(dir.path()).unwrap(),
            first
        );
        assert_eq!(first.len(), 64);
    }
}

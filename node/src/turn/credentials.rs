//! TURN credentials in the TURN REST style (draft-uberti-behave-turn-rest, coturn's `use-auth-secret`): the
//! username is `<expiry unix time>` or `<expiry unix time>:<label>`, the password is
//! `base64(HMAC-SHA1(secret, username))`. Anyone holding the node's secret can mint credentials; the server needs
//! no user table, only the secret. Optional static `user:password` pairs (coturn's `-u/-w`) sit beside it.
//!
//! - [`TurnSecret::load_or_create`] keeps the per-node secret in the data dir (created on first start, mode 0600).
//! - [`TurnSecret::mint`] makes fresh credentials; [`Credentials::password_for`] gives the password the server
//!   checks message integrity with, and [`Credentials::may_allocate`] whether a username may still make a new
//!   allocation: the expiry is checked on Allocate only, so an allocation made in time lives on while its client
//!   refreshes it (a call outlives short-lived credentials), but expired credentials allocate nothing new.
//! - [`Credentials`] implements the `turn` crate's `AuthHandler`, which wants the long-term key
//!   `MD5(username:realm:password)`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// The file in the data dir that holds the secret.
pub use hearsay_shared::startup::TURN_SECRET_FILE as SECRET_FILE;

/// Longest username the server looks at; longer ones are refused before any hashing.
pub const MAX_USERNAME_LEN: usize = 256;

/// The label of the credentials a node mints for its own page (see `turn::ice_servers`).
pub const OWN_PAGE_LABEL: &str = "page";

/// The node's TURN REST shared secret (a printable string, as coturn's `static-auth-secret` is).
#[derive(Clone)]
pub struct TurnSecret(String);

impl std::fmt::Debug for TurnSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TurnSecret(..)")
    }
}

/// Credentials handed to a client (the page, a caller's page, a test tool).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintedCredentials {
    pub username: String,
    pub password: String,
    /// Unix time (seconds) after which the server refuses them.
    pub expires: u64,
}

impl TurnSecret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// Reads the secret from `data_dir`, or creates one (32 random bytes, hex) on first start.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join(SECRET_FILE);
        match crate::data_dir::read(&path, crate::data_dir::Kind::Secret)? {
            Some(bytes) => {
                let secret = String::from_utf8_lossy(&bytes).trim().to_owned();
                anyhow::ensure!(
                    secret.len() >= 16,
                    "{} holds a secret shorter than 16 characters; delete it to make a new one",
                    path.display()
                );
                Ok(Self(secret))
            }
            None => {
                let bytes: [u8; 32] = rand::random();
                let secret = hex::encode(bytes);
                crate::data_dir::write(&path, format!("{secret}\n").as_bytes())?;
                Ok(Self(secret))
            }
        }
    }

    /// The secret itself, for tools that mint their own credentials (coturn's `-W`).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The REST password for `username`.
    pub fn password(&self, username: &str) -> String {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
        let mut mac = Hmac::<Sha1>::new_from_slice(self.0.as_bytes()).expect("HMAC takes any key");
        mac.update(username.as_bytes());
        BASE64.encode(mac.finalize().into_bytes())
    }

    /// Fresh credentials valid for `ttl` from `now`, labelled `label` (no `:` in it; empty for none).
    pub fn mint(&self, label: &str, now: SystemTime, ttl: Duration) -> MintedCredentials {
        let expires = unix_secs(now).saturating_add(ttl.as_secs());
        let label: String = label.chars().filter(|c| *c != ':').take(64).collect();
        let username = if label.is_empty() {
            expires.to_string()
        } else {
            format!("{expires}:{label}")
        };
        let password = self.password(&username);
        MintedCredentials {
            username,
            password,
            expires,
        }
    }
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Why a username gets no password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("username is empty or over {MAX_USERNAME_LEN} bytes")]
    BadLength,
    #[error("username is neither a static user nor <expiry>[:label]")]
    NotRest,
    #[error("credentials expired at {0}")]
    Expired(u64),
}

/// Everything the TURN server accepts: REST credentials from the secret, plus static users.
#[derive(Debug, Clone)]
pub struct Credentials {
    secret: TurnSecret,
    static_users: HashMap<String, String>,
}

impl Credentials {
    pub fn new(secret: TurnSecret, static_users: HashMap<String, String>) -> Self {
        Self {
            secret,
            static_users,
        }
    }

    pub fn secret(&self) -> &TurnSecret {
        &self.secret
    }

    /// The password the client must have used for `username` (expired or not: see [`Credentials::may_allocate`]).
    pub fn password_for(&self, username: &str) -> Result<String, CredentialError> {
        if username.is_empty() || username.len() > MAX_USERNAME_LEN {
            return Err(CredentialError::BadLength);
        }
        if let Some(password) = self.static_users.get(username) {
            return Ok(password.clone());
        }
        rest_expiry(username)?;
        Ok(self.secret.password(username))
    }

    /// Whether `username` may make a new allocation at `now`: a static user, or REST credentials not yet expired.
    pub fn may_allocate(&self, username: &str, now: SystemTime) -> Result<(), CredentialError> {
        if self.static_users.contains_key(username) {
            return Ok(());
        }
        let expiry = rest_expiry(username)?;
        if expiry < unix_secs(now) {
            return Err(CredentialError::Expired(expiry));
        }
        Ok(())
    }

    /// Whether relayed traffic of `username` counts against the bandwidth caps: everyone's but the node's own page
    /// and the operator's static users.
    pub fn is_metered(&self, username: &str) -> bool {
        if self.static_users.contains_key(username) {
            return false;
        }
        username
            .split_once(':')
            .is_none_or(|(_, label)| label != OWN_PAGE_LABEL)
    }
}

/// The expiry of a REST username `<expiry>[:label]`.
fn rest_expiry(username: &str) -> Result<u64, CredentialError> {
    if username.is_empty() || username.len() > MAX_USERNAME_LEN {
        return Err(CredentialError::BadLength);
    }
    let expiry_text = username.split_once(':').map_or(username, |(t, _)| t);
    expiry_text.parse().map_err(|_| CredentialError::NotRest)
}

impl ::turn::auth::AuthHandler for Credentials {
    fn auth_handle(
        &self,
        username: &str,
        realm: &str,
        src_addr: SocketAddr,
    ) -> Result<Vec<u8>, ::turn::Error> {
        match self.password_for(username) {
            Ok(password) => Ok(::turn::auth::generate_auth_key(username, realm, &password)),
            Err(err) => {
                tracing::debug!(%err, %src_addr, "turn: credentials refused");
                Err(::turn::Error::Other(err.to_string()))
            }
        }
    }
}

/// Parses `user:password` (the password may itself contain `:`).
pub fn parse_static_user(text: &str) -> anyhow::Result<(String, String)> {
    let (user, password) = text
        .split_once(':')
        .context("a static TURN user is written user:password")?;
    anyhow::ensure!(!user.is_empty(), "a static TURN user needs a name");
    anyhow::ensure!(
        user.parse::<u64>().is_err() && !user.contains(':'),
        "a static TURN user name must not look like a REST username (a number)"
    );
    anyhow::ensure!(
        !password.is_empty(),
        "static TURN user {user} needs a password"
    );
    Ok((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn rest_password_matches_coturns_formula() {
        // Computed independently: printf '1700000000:alice' | openssl dgst -sha1 -hmac north -binary | base64
        let secret = TurnSecret::new("north");
        assert_eq!(
            secret.password("1700000000:alice"),
            "Cd/49soE35ICqcJF/bCTn8Z4OyE="
        );
    }

    #[test]
    fn minted_credentials_pass_until_they_expire() {
        let creds = Credentials::new(TurnSecret::new("s3cret-s3cret-s3cret"), HashMap::new());
        let minted = creds
            .secret()
            .mint("page", at(1_000), Duration::from_secs(60));
        assert_eq!(minted.username, "1060:page");
        assert_eq!(minted.expires, 1060);
        assert_eq!(
            creds.password_for(&minted.username),
            Ok(minted.password.clone())
        );
        assert_eq!(creds.may_allocate(&minted.username, at(1_000)), Ok(()));
        assert_eq!(creds.may_allocate(&minted.username, at(1_060)), Ok(()));
        assert_eq!(
            creds.may_allocate(&minted.username, at(1_061)),
            Err(CredentialError::Expired(1060))
        );
        // An allocation made in time keeps its password for refreshes after the expiry.
        assert_eq!(creds.password_for(&minted.username), Ok(minted.password));
    }

    #[test]
    fn every_user_but_the_own_page_and_static_users_is_metered() {
        let creds = Credentials::new(
            TurnSecret::new("s3cret-s3cret-s3cret"),
            HashMap::from([("bob".to_owned(), "pw".to_owned())]),
        );
        assert!(!creds.is_metered("1060:page"));
        assert!(!creds.is_metered("bob"));
        assert!(creds.is_metered("1060"));
        assert!(creds.is_metered(&format!("1060:{}", "ab".repeat(32))));
    }

    #[test]
    fn bare_expiry_usernames_work_as_coturn_tools_send_them() {
        let creds = Credentials::new(TurnSecret::new("s3cret-s3cret-s3cret"), HashMap::new());
        let minted = creds.secret().mint("", at(5), Duration::from_secs(10));
        assert_eq!(minted.username, "15");
        assert!(creds.password_for("15").is_ok());
        assert!(creds.may_allocate("15", at(5)).is_ok());
    }

    #[test]
    fn junk_usernames_are_refused() {
        let creds = Credentials::new(
            TurnSecret::new("s3cret-s3cret-s3cret"),
            HashMap::from([("bob".to_owned(), "pw".to_owned())]),
        );
        assert_eq!(creds.password_for("bob"), Ok("pw".into()));
        assert_eq!(creds.may_allocate("bob", at(u64::MAX / 2)), Ok(()));
        assert_eq!(creds.password_for("mallory"), Err(CredentialError::NotRest));
        assert_eq!(creds.password_for(""), Err(CredentialError::BadLength));
        assert_eq!(
            creds.password_for(&"9".repeat(MAX_USERNAME_LEN + 1)),
            Err(CredentialError::BadLength)
        );
        assert_eq!(creds.password_for("-5:x"), Err(CredentialError::NotRest));
    }

    #[test]
    fn label_cannot_smuggle_a_second_colon() {
        let minted = TurnSecret::new("x".repeat(16)).mint("a:b", at(0), Duration::from_secs(1));
        assert_eq!(minted.username, "1:ab");
    }

    #[test]
    fn static_users_parse() {
        assert_eq!(
            parse_static_user("bob:pa:ss").unwrap(),
            ("bob".into(), "pa:ss".into())
        );
        assert!(parse_static_user("bob").is_err());
        assert!(parse_static_user("123:pw").is_err());
        assert!(parse_static_user("bob:").is_err());
    }

    #[test]
    fn secret_is_created_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = TurnSecret::load_or_create(dir.path()).unwrap();
        let again = TurnSecret::load_or_create(dir.path()).unwrap();
        assert_eq!(first.expose(), again.expose());
        assert_eq!(first.expose().len(), 64);
    }
}

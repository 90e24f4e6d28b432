//! The node's HTTPS identity: a self-signed certificate for `localhost` and `127.0.0.1`, made on first start and kept
//! in the data dir (`web-cert.pem`, `web-key.pem`) so the browser's exception for it keeps working across restarts.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

use hearsay_shared::startup::{WEB_CERT_FILE as CERT_FILE, WEB_KEY_FILE as KEY_FILE};

use crate::data_dir::{self, Kind};

/// Loads the certificate from `data_dir`, creating it first if it is not there, and returns a TLS server config.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Arc<ServerConfig>> {
    let cert_path = data_dir.join(CERT_FILE);
    let key_path = data_dir.join(KEY_FILE);
    if !cert_path.exists() || !key_path.exists() {
        create(&cert_path, &key_path)?;
        tracing::info!(cert = %cert_path.display(), "created a self-signed certificate for the page");
    }
    let cert_pem = data_dir::read(&cert_path, Kind::Public)?
        .with_context(|| format!("{} vanished", cert_path.display()))?;
    let key_pem = data_dir::read(&key_path, Kind::Secret)?
        .with_context(|| format!("{} vanished", key_path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parsing {}", cert_path.display()))?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .with_context(|| format!("parsing {}", key_path.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the certificate and key in the data dir do not match")?;
    // HTTP/1.1 only: the page's WebSocket is an HTTP/1.1 upgrade.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn create(cert_path: &Path, key_path: &Path) -> anyhow::Result<()> {
    let names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let certified =
        rcgen::generate_simple_self_signed(names).context("generating a certificate")?;
    data_dir::write(key_path, certified.signing_key.serialize_pem().as_bytes())?;
    data_dir::write(cert_path, certified.cert.pem().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        load_or_create(dir.path()).unwrap();
        let first = std::fs::read(dir.path().join(CERT_FILE)).unwrap();
        load_or_create(dir.path()).unwrap();
        assert_eq!(std::fs::read(dir.path().join(CERT_FILE)).unwrap(), first);
    }

    #[test]
    fn a_damaged_key_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        load_or_create(dir.path()).unwrap();
        std::fs::write(dir.path().join(KEY_FILE), "not a key").unwrap();
        let err = load_or_create(dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains(KEY_FILE), "{err:#}");
    }
}

//! Who this node is: its Ed25519 key pair, kept in the data dir, and how signatures are made and checked.
//!
//! [`Identity::load_or_create`] reads `gossip-key` from the data dir or makes a new key on first start.
//! [`SignatureCheck`] is how the gossip core verifies signatures; [`Ed25519Check`] is the real one. A checker must
//! behave as a pure function of (key, message, signature), which lets a simulator memoize it without changing any
//! outcome.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use hearsay_shared::gossip::{PublicKey, Signature, SignedRoute};

/// The file in the data dir that holds the 32-byte secret key seed.
pub const KEY_FILE: &str = "gossip-key";

/// This node's key pair.
#[derive(Clone)]
pub struct Identity {
    signing: SigningKey,
    public: PublicKey,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identity({})", self.public.fingerprint())
    }
}

impl Identity {
    /// The key pair made from a 32-byte secret seed (tests and the simulator derive seeds from their RNG).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(&seed);
        let public = PublicKey(signing.verifying_key().to_bytes());
        Self { signing, public }
    }

    /// Reads the key from `data_dir/gossip-key`, or makes one from the OS RNG and saves it (mode 0600 on unix).
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join(KEY_FILE);
        match crate::data_dir::read(&path, crate::data_dir::Kind::Secret)? {
            Some(bytes) => {
                let seed: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                    anyhow::anyhow!(
                        "{} holds {} bytes, not a 32-byte key; move it away to make a new identity",
                        path.display(),
                        bytes.len()
                    )
                })?;
                Ok(Self::from_seed(seed))
            }
            None => {
                let mut seed = [0u8; 32];
                rand::TryRngCore::try_fill_bytes(&mut rand::rngs::OsRng, &mut seed)
                    .context("the OS random number generator failed")?;
                crate::data_dir::write(&path, &seed)
                    .with_context(|| format!("saving the new key to {}", path.display()))?;
                Ok(Self::from_seed(seed))
            }
        }
    }

    pub fn public(&self) -> PublicKey {
        self.public
    }

    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature::from_bytes(&self.signing.sign(message).to_bytes())
    }
}

/// Verifies a signature. Must be a pure function of its arguments.
pub trait SignatureCheck: Send + Sync {
    fn verify(&self, key: &PublicKey, message: &[u8], signature: &Signature) -> bool;

    /// Checks a signed route announcement and returns the copy to keep, or `None` if its signature is bad. A node
    /// keeps the copy it decoded; the simulator's checker hands every engine the same copy of an announcement, so
    /// 10 000 engines in one process hold one decoded, verified copy between them instead of one each.
    fn admit_route(&self, signed: &Arc<SignedRoute>) -> Option<Arc<SignedRoute>> {
        let route = &signed.route;
        self.verify(&route.origin, &route.signed_bytes(), &signed.signature)
            .then(|| signed.clone())
    }
}

/// Real Ed25519 verification (strict: refuses weak keys and malleable signatures).
#[derive(Debug, Default, Clone, Copy)]
pub struct Ed25519Check;

impl SignatureCheck for Ed25519Check {
    fn verify(&self, key: &PublicKey, message: &[u8], signature: &Signature) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&key.0) else {
            return false;
        };
        let signature = ed25519_dalek::Signature::from_bytes(&signature.to_bytes());
        // `verify_strict` alone: it accepts a subset of what `verify` accepts, so checking both only doubled the cost.
        key.verify_strict(message, &signature).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_made_once_then_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = Identity::load_or_create(dir.path()).unwrap();
        let again = Identity::load_or_create(dir.path()).unwrap();
        assert_eq!(first.public(), again.public());
        let other = tempfile::tempdir().unwrap();
        assert_ne!(
            Identity::load_or_create(other.path()).unwrap().public(),
            first.public()
        );
    }

    #[test]
    fn a_damaged_key_file_is_an_error_not_a_new_identity() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(KEY_FILE), b"short").unwrap();
        assert!(Identity::load_or_create(dir.path()).is_err());
    }

    #[test]
    fn signatures_verify_only_for_the_signed_bytes_and_key() {
        let alice = Identity::from_seed([1; 32]);
        let bob = Identity::from_seed([2; 32]);
        let sig = alice.sign(b"hello");
        assert!(Ed25519Check.verify(&alice.public(), b"hello", &sig));
        assert!(!Ed25519Check.verify(&alice.public(), b"hellO", &sig));
        assert!(!Ed25519Check.verify(&bob.public(), b"hello", &sig));
        assert!(!Ed25519Check.verify(&PublicKey([0xff; 32]), b"hello", &sig));
    }
}

//! The safety code: a short number both people see during a call and can read to each other. It is derived from
//! both identity keys (which signed the signaling) and both DTLS certificate fingerprints (which secure the media),
//! so it matches on both ends only if each page talks to the other's real key *and* the media is encrypted end to
//! end with the certificates those pages made. A node on the path that swapped an SDP fingerprint would make the
//! two codes differ.

use sha2::{Digest, Sha256};

/// The first `a=fingerprint:` of an SDP, as `"sha-256 AB:CD:…"` (algorithm lower case, hex upper case).
pub fn dtls_fingerprint(sdp: &str) -> Option<String> {
    sdp.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("a=fingerprint:")?;
        let (algo, hex) = rest.split_once(' ')?;
        Some(format!(
            "{} {}",
            algo.to_ascii_lowercase(),
            hex.trim().to_ascii_uppercase()
        ))
    })
}

/// Twelve digits in three groups, the same whichever side computes it. Each side is (identity key, fingerprint).
pub fn safety_code(a: (&str, &str), b: (&str, &str)) -> String {
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    let mut hash = Sha256::new();
    hash.update(b"hearsay safety code v1");
    for part in [first.0, first.1, second.0, second.1] {
        hash.update((part.len() as u32).to_be_bytes());
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    let n = u64::from_be_bytes(head) % 1_000_000_000_000;
    let digits = format!("{n:012}");
    format!("{} {} {}", &digits[..4], &digits[4..8], &digits[8..])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\na=fingerprint:SHA-256 ab:cd:ef\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";

    #[test]
    fn fingerprint_is_read_from_the_sdp() {
        assert_eq!(dtls_fingerprint(SDP).as_deref(), Some("sha-256 AB:CD:EF"));
        assert_eq!(dtls_fingerprint("v=0\r\n"), None);
    }

    #[test]
    fn both_sides_get_the_same_code() {
        let alice = ("key-alice", "sha-256 AA");
        let bob = ("key-bob", "sha-256 BB");
        let code = safety_code(alice, bob);
        assert_eq!(code, safety_code(bob, alice));
        assert_eq!(code.len(), 14);
        assert!(code.chars().all(|c| c.is_ascii_digit() || c == ' '));
    }

    #[test]
    fn any_change_of_identity_or_certificate_changes_the_code() {
        let code = safety_code(("key-alice", "sha-256 AA"), ("key-bob", "sha-256 BB"));
        assert_ne!(
            code,
            safety_code(("key-mallory", "sha-256 AA"), ("key-bob", "sha-256 BB"))
        );
        assert_ne!(
            code,
            safety_code(("key-alice", "sha-256 AA"), ("key-bob", "sha-256 CC"))
        );
        // Moving bytes between a key and its fingerprint must not give the same code.
        assert_ne!(
            code,
            safety_code(("key-alic", "esha-256 AA"), ("key-bob", "sha-256 BB"))
        );
    }
}

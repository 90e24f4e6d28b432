//! The safety code: a number both people see during a call and can read to each other. It is derived from both
//! identity keys (which signed the signaling) and every DTLS certificate fingerprint of both descriptions (the
//! browser refuses a DTLS peer whose certificate matches none of the remote description's, so these are what it
//! enforces), so it matches on both ends only if each page talks to the other's real key *and* the media is
//! encrypted end to end with the certificates those pages made. A node on the path that swapped any fingerprint line
//! would make the two codes differ.
//!
//! 25 digits (83 bits): someone who can author signed SDP and tries certificates offline until the two codes
//! collide needs ~2^83 tries for a given call, out of reach where the old 12 digits (40 bits) took seconds on a GPU.
//! Signal's safety numbers are the anchor (60 digits, but over long-lived keys that are compared once; ours are
//! read aloud every call).

use sha2::{Digest, Sha256};

/// Every `a=fingerprint:` of an SDP (session and media level), each as `"sha-256 AB:CD:…"` (algorithm lower case,
/// hex upper case), sorted, without repeats, joined by `,`; `None` if there is none.
pub fn dtls_fingerprint(sdp: &str) -> Option<String> {
    let mut all: Vec<String> = sdp
        .lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("a=fingerprint:")?;
            let (algo, hex) = rest.split_once(' ')?;
            Some(format!(
                "{} {}",
                algo.to_ascii_lowercase(),
                hex.trim().to_ascii_uppercase()
            ))
        })
        .collect();
    all.sort();
    all.dedup();
    (!all.is_empty()).then(|| all.join(","))
}

/// Twenty-five digits in five groups, the same whichever side computes it. Each side is (identity key,
/// fingerprints).
pub fn safety_code(a: (&str, &str), b: (&str, &str)) -> String {
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    let mut hash = Sha256::new();
    hash.update(b"hearsay safety code v2");
    for part in [first.0, first.1, second.0, second.1] {
        hash.update((part.len() as u32).to_be_bytes());
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    let mut head = [0u8; 16];
    head.copy_from_slice(&digest[..16]);
    // 2^128 is ~3.4e13 times 10^25, so taking the remainder leaves no digit measurably more likely than another.
    let n = u128::from_be_bytes(head) % 10u128.pow(25);
    let digits = format!("{n:025}");
    (0..5)
        .map(|i| &digits[i * 5..i * 5 + 5])
        .collect::<Vec<_>>()
        .join(" ")
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
    fn every_fingerprint_line_counts() {
        let two = format!("{SDP}m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=fingerprint:sha-256 12:34\r\n");
        assert_eq!(
            dtls_fingerprint(&two).as_deref(),
            Some("sha-256 12:34,sha-256 AB:CD:EF")
        );
        let repeated =
            format!("{SDP}m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=fingerprint:sha-256 AB:CD:EF\r\n");
        assert_eq!(dtls_fingerprint(&repeated), dtls_fingerprint(SDP));
    }

    #[test]
    fn both_sides_get_the_same_code() {
        let alice = ("key-alice", "sha-256 AA");
        let bob = ("key-bob", "sha-256 BB");
        let code = safety_code(alice, bob);
        assert_eq!(code, safety_code(bob, alice));
        assert_eq!(code.len(), 29);
        assert_eq!(code.split(' ').count(), 5);
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

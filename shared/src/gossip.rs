//! The gossip wire format: what hearsay nodes send each other in UDP datagrams.
//!
//! A datagram is one version byte ([`WIRE_VERSION`]) followed by a [`Packet`] in postcard (compact, canonical,
//! serde-based binary). Encode with [`encode`], which refuses anything over [`MAX_DATAGRAM_BYTES`]; decode with
//! [`decode`], which checks the size first, then the version, then parses, refuses trailing bytes, and finally checks
//! every field against its bound ([`Packet::check_bounds`]). Decoding returns a [`WireError`] and never panics.
//!
//! Bounded allocation: [`decode`] refuses input over [`MAX_DATAGRAM_BYTES`] before parsing, and postcard never
//! allocates more than the input can describe (every element of a sequence takes at least one input byte, and
//! serde caps pre-allocation), so one datagram can cost at most a few kilobytes of memory.
//!
//! Packets:
//! - [`Packet::Rumors`]: signed route announcements ([`SignedRoute`]), each with the sender's hop count.
//! - [`Packet::Flood`]: the same, for users who just joined, flooded to every peer and not acknowledged.
//! - [`Packet::Status`]: (origin prefix, highest sequence number) pairs, either for an explicit list of origins (an
//!   acknowledgement of rumors) or for a whole range of key prefixes (one page of anti-entropy); at most
//!   [`MAX_STATUS_ENTRIES`] entries, so 10 000 origins take many pages, never a giant datagram.
//! - [`Packet::Private`]: a signed, routed, hop-limited message fragment or end-to-end acknowledgement, stamped with
//!   the origin's clock (signed) so a node refuses it outside a short window.
//! - [`Packet::Challenge`] / [`Packet::Response`]: an address proves it receives before a node sends it more than it
//!   received from it (as QUIC validates addresses, RFC 9000 §8): the node sends a [`Cookie`], the address echoes it.
//!
//! Signatures are computed by the node (this crate stays free of crypto so it builds anywhere) over
//! [`RouteAnnouncement::signed_bytes`] / [`PrivateBody::signed_bytes`]: a domain-separation tag followed by the
//! postcard encoding of the signed part. The hop count and hop limit change on every hop and are not signed; the
//! origin signs the hop limit it started with ([`PrivateBody::max_hops`]), so no hop can raise it.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The first byte of every datagram. Bumped on any incompatible change.
pub const WIRE_VERSION: u8 = 4;
/// Nothing larger goes on the wire: it fits every path MTU worth caring about without IP fragmentation.
pub const MAX_DATAGRAM_BYTES: usize = 1200;
/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// At most this many addresses in one route announcement.
pub const MAX_ADDRS: usize = 8;
/// At most this many services in one route announcement.
pub const MAX_SERVICES: usize = 8;
/// At most this many entries in one status datagram.
pub const MAX_STATUS_ENTRIES: usize = 56;
/// At most this many rumors in one datagram (they must also fit in [`MAX_DATAGRAM_BYTES`]).
pub const MAX_RUMORS_PER_DATAGRAM: usize = 8;
/// Largest payload of one private-message fragment.
pub const MAX_FRAGMENT_BYTES: usize = 900;
/// Most fragments in one private message.
pub const MAX_FRAGMENTS: u16 = 64;
/// Largest private message: [`MAX_FRAGMENTS`] full fragments.
pub const MAX_MESSAGE_BYTES: usize = MAX_FRAGMENT_BYTES * MAX_FRAGMENTS as usize;
/// Size of a [`Packet::Challenge`] or [`Packet::Response`] datagram: version, variant, 16-byte cookie.
pub const CHALLENGE_BYTES: usize = 18;
/// Hop limit a private message starts with. It only has to outlast a loop's first turns (duplicate suppression ends
/// a loop too), and must exceed the longest route a node holds: routes follow gossip, not shortest paths, and at
/// 1 000 simulated nodes of degree 4 the longest were 29 hops (0.7 % of routes over 10, when this was 10); random
/// graphs of 10 000 have shortest paths up to ~13. `cargo xtask bench gossip` reports the share of routes over it.
pub const DEFAULT_HOP_LIMIT: u8 = 16;

const ROUTE_TAG: &[u8] = b"hearsay gossip route v1\0";
const PRIVATE_TAG: &[u8] = b"hearsay gossip private v2\0";

/// An Ed25519 public key: who a user is. In binary formats (the gossip wire) it is its 32 bytes; in text formats
/// (the page's JSON) it is 64 lowercase hex digits, so JavaScript and people can read it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey(pub [u8; 32]);

impl Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&self.to_hex())
        } else {
            serializer.serialize_newtype_struct("PublicKey", &self.0)
        }
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
            PublicKey::from_hex(&text)
                .ok_or_else(|| serde::de::Error::custom("a user key is 64 hex digits"))
        } else {
            #[derive(Deserialize)]
            #[serde(rename = "PublicKey")]
            struct Bytes([u8; 32]);
            Ok(PublicKey(Bytes::deserialize(deserializer)?.0))
        }
    }
}

impl PublicKey {
    /// The first 8 bytes, which status messages use to name an origin compactly.
    pub fn prefix(&self) -> KeyPrefix {
        let mut p = [0u8; 8];
        p.copy_from_slice(&self.0[..8]);
        KeyPrefix(p)
    }

    /// A short form for people to tell equal names apart, e.g. `1a2b:3c4d:5e6f:7081`.
    pub fn fingerprint(&self) -> String {
        let hex = hex::encode(&self.0[..8]);
        format!(
            "{}:{}:{}:{}",
            &hex[0..4],
            &hex[4..8],
            &hex[8..12],
            &hex[12..16]
        )
    }

    /// The full key as 64 lowercase hex digits (how the page names users).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut out).ok()?;
        Some(Self(out))
    }
}

/// The full key in hex, as the page and people see it.
impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.fingerprint())
    }
}

/// The first 8 bytes of a [`PublicKey`]; ordered like the keys they come from.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct KeyPrefix(pub [u8; 8]);

impl KeyPrefix {
    pub const MIN: KeyPrefix = KeyPrefix([0; 8]);
    pub const MAX: KeyPrefix = KeyPrefix([0xff; 8]);

    pub fn as_u64(&self) -> u64 {
        u64::from_be_bytes(self.0)
    }

    pub fn from_u64(v: u64) -> Self {
        Self(v.to_be_bytes())
    }
}

/// An Ed25519 signature: 64 bytes, on the wire as they are (serde derives arrays only up to 32 by itself).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Signature(#[serde(with = "serde_big_array::BigArray")] [u8; 64]);

impl Signature {
    pub fn from_bytes(bytes: &[u8; 64]) -> Self {
        Self(*bytes)
    }

    pub fn to_bytes(&self) -> [u8; 64] {
        self.0
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}…)", hex::encode(&self.0[..4]))
    }
}

/// Something a node offers besides gossip, e.g. STUN on a port. Kinds are listed in [`service_kind`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Service {
    pub kind: u16,
    pub port: u16,
}

/// Known values of [`Service::kind`]; unknown kinds are kept and passed on.
pub mod service_kind {
    pub const STUN: u16 = 1;
    pub const TURN: u16 = 2;
}

/// A node's signed statement "I am `name`, reachable at `addrs`": the content of a route rumor.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RouteAnnouncement {
    pub origin: PublicKey,
    /// Grows with every announcement and across restarts (it starts from a clock-based epoch).
    pub seq: u64,
    pub name: String,
    pub addrs: Vec<SocketAddr>,
    pub services: Vec<Service>,
}

impl RouteAnnouncement {
    /// The bytes the origin signs: a domain tag, then the canonical postcard encoding.
    pub fn signed_bytes(&self) -> Vec<u8> {
        signed_bytes(ROUTE_TAG, self)
    }
}

/// A [`RouteAnnouncement`] with its origin's signature.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SignedRoute {
    pub route: RouteAnnouncement,
    pub signature: Signature,
}

/// A route rumor as it travels: the signed announcement plus how many hops the sender is from its origin.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Rumor {
    /// Shared, not copied: a node keeps the announcement it decoded in its table and passes the same one on.
    pub signed: Arc<SignedRoute>,
    /// Hops from the sender to the origin (0 when the origin sends it). Not signed.
    pub hops: u8,
}

/// One origin in a status: "the newest announcement I hold from the origin with this prefix has this `seq`".
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct StatusEntry {
    pub origin: KeyPrefix,
    pub seq: u64,
    /// Hops from the sender to the origin ([`NO_ROUTE`]: it has no route). Not signed. Rumors spread along a tree,
    /// so the path a rumor took is often not the shortest; the hop counts in statuses let neighbours find shorter.
    pub hops: u8,
}

/// The hop count of a status entry whose sender has no route to the origin.
pub const NO_ROUTE: u8 = u8::MAX;

/// What a status covers.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum StatusScope {
    /// Only the listed origins (the acknowledgement of a batch of rumors).
    Listed,
    /// Every origin whose prefix lies in `from..=to`: an origin in the range but not listed is one the sender lacks.
    Range { from: KeyPrefix, to: KeyPrefix },
}

/// A page of the sender's (origin, seq) vector.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Status {
    pub scope: StatusScope,
    /// Sorted by origin prefix.
    pub entries: Vec<StatusEntry>,
}

/// What a private message carries.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum PrivateContent {
    /// Fragment `index` of `count` of message `message_id`.
    Fragment {
        index: u16,
        count: u16,
        data: Vec<u8>,
    },
    /// The destination got fragment `index` of message `message_id` (sent from the destination back to the origin).
    Ack { index: u16 },
}

/// The signed part of a private message.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct PrivateBody {
    pub origin: PublicKey,
    pub destination: PublicKey,
    /// Chosen by the origin; with the origin key it names the message for acks and duplicate suppression.
    pub message_id: u64,
    /// When the origin signed it, in milliseconds since the Unix epoch by the origin's clock: nodes refuse it
    /// outside a window around their own clock, so a captured message cannot be replayed later.
    pub sent_at_ms: u64,
    /// The hop limit the origin gave it: no hop may forward it with a larger [`PrivateMessage::hop_limit`].
    pub max_hops: u8,
    pub content: PrivateContent,
}

impl PrivateBody {
    /// The bytes the origin signs: a domain tag, then the canonical postcard encoding.
    pub fn signed_bytes(&self) -> Vec<u8> {
        signed_bytes(PRIVATE_TAG, self)
    }
}

/// A private message routed hop by hop.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct PrivateMessage {
    pub body: PrivateBody,
    pub signature: Signature,
    /// Hops left; a node that would forward it with 0 left drops it. Not signed.
    pub hop_limit: u8,
}

/// A value only its maker can compute for an address (a keyed hash of it), sent in a [`Packet::Challenge`]; an
/// address that echoes it in a [`Packet::Response`] shows that it receives what is sent to it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Cookie(pub [u8; 16]);

/// Everything that travels in a gossip datagram.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Packet {
    Rumors(Vec<Rumor>),
    Status(Status),
    Private(PrivateMessage),
    /// "Echo this back": the only thing a node sends to an address that has not shown it receives.
    Challenge(Cookie),
    /// The echo of a [`Packet::Challenge`].
    Response(Cookie),
    /// "Stop pushing new rumors to me; tell me their (origin, seq) in a status instead": the receiver got a rumor it
    /// already had, so this link is not on the broadcast tree (Plumtree's PRUNE).
    Prune,
    /// "Push new rumors to me again, and send me what this status lacks": a lazily announced rumor did not arrive
    /// by its tree, so this link joins the tree (Plumtree's GRAFT). Handled as a [`Packet::Status`] otherwise.
    Graft(Status),
    /// Rumors of origins that just joined, flooded to every peer: a node gets a copy from each of its peers, so the
    /// sender does not push a lost one again and the receiver does not acknowledge them (a lazy announcement after
    /// them covers a peer that lost every copy). Otherwise handled as [`Packet::Rumors`].
    Flood(Vec<Rumor>),
}

/// Why bytes are not a valid datagram, or a packet cannot be sent.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum WireError {
    #[error("datagram of {0} bytes is over the {MAX_DATAGRAM_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("empty datagram")]
    Empty,
    #[error("wire version {0} is not supported (this node speaks {WIRE_VERSION})")]
    UnsupportedVersion(u8),
    #[error("malformed datagram: {0}")]
    Malformed(String),
    #[error("{0} trailing bytes after the packet")]
    TrailingBytes(usize),
    #[error("field out of bounds: {0}")]
    OutOfBounds(&'static str),
}

impl Packet {
    /// Checks every field against its bound; [`decode`] calls this, and [`encode`] too so a node never sends what
    /// its peers would refuse.
    pub fn check_bounds(&self) -> Result<(), WireError> {
        match self {
            Packet::Rumors(rumors) | Packet::Flood(rumors) => {
                if rumors.is_empty() || rumors.len() > MAX_RUMORS_PER_DATAGRAM {
                    return Err(WireError::OutOfBounds("rumor count"));
                }
                for rumor in rumors {
                    let route = &rumor.signed.route;
                    if route.name.chars().count() > MAX_NAME_CHARS {
                        return Err(WireError::OutOfBounds("name length"));
                    }
                    if route.addrs.len() > MAX_ADDRS {
                        return Err(WireError::OutOfBounds("address count"));
                    }
                    if route.services.len() > MAX_SERVICES {
                        return Err(WireError::OutOfBounds("service count"));
                    }
                }
            }
            Packet::Status(status) | Packet::Graft(status) => {
                if status.entries.len() > MAX_STATUS_ENTRIES {
                    return Err(WireError::OutOfBounds("status entry count"));
                }
                if let StatusScope::Range { from, to } = status.scope
                    && from > to
                {
                    return Err(WireError::OutOfBounds("status range"));
                }
            }
            Packet::Private(msg) => {
                if let PrivateContent::Fragment { index, count, data } = &msg.body.content {
                    if *count == 0 || *count > MAX_FRAGMENTS || index >= count {
                        return Err(WireError::OutOfBounds("fragment index or count"));
                    }
                    if data.len() > MAX_FRAGMENT_BYTES {
                        return Err(WireError::OutOfBounds("fragment size"));
                    }
                }
                if let PrivateContent::Ack { index } = msg.body.content
                    && index >= MAX_FRAGMENTS
                {
                    return Err(WireError::OutOfBounds("acked fragment index"));
                }
                if msg.hop_limit > msg.body.max_hops {
                    return Err(WireError::OutOfBounds("hop limit above the signed maximum"));
                }
            }
            Packet::Challenge(_) | Packet::Response(_) | Packet::Prune => {}
        }
        Ok(())
    }
}

/// Encodes a packet as one datagram, or says why it cannot be sent.
pub fn encode(packet: &Packet) -> Result<Vec<u8>, WireError> {
    packet.check_bounds()?;
    // Into a datagram-sized buffer, then one allocation of exactly the length (growing a vector as postcard writes
    // reallocated it ~9 times and left up to half of it unused, which a simulator holding thousands in flight pays).
    let mut buf = [0u8; MAX_DATAGRAM_BYTES];
    buf[0] = WIRE_VERSION;
    match postcard::to_slice(packet, &mut buf[1..]) {
        Ok(body) => {
            let len = 1 + body.len();
            Ok(buf[..len].to_vec())
        }
        Err(postcard::Error::SerializeBufferFull) => Err(WireError::TooLarge(encoded_len(packet))),
        Err(e) => Err(WireError::Malformed(e.to_string())),
    }
}

/// The encoded size of a packet, for packing datagrams up to the limit.
pub fn encoded_len(packet: &Packet) -> usize {
    // postcard's size flavor cannot fail on these plain data types; fall back to "too large" if it ever did.
    postcard::experimental::serialized_size(packet).map_or(usize::MAX, |n| n + 1)
}

/// Decodes one datagram. Never panics; see the module doc for the order of checks.
pub fn decode(bytes: &[u8]) -> Result<Packet, WireError> {
    if bytes.len() > MAX_DATAGRAM_BYTES {
        return Err(WireError::TooLarge(bytes.len()));
    }
    let (&version, rest) = bytes.split_first().ok_or(WireError::Empty)?;
    if version != WIRE_VERSION {
        return Err(WireError::UnsupportedVersion(version));
    }
    let (packet, trailing): (Packet, _) =
        postcard::take_from_bytes(rest).map_err(|e| WireError::Malformed(e.to_string()))?;
    if !trailing.is_empty() {
        return Err(WireError::TrailingBytes(trailing.len()));
    }
    packet.check_bounds()?;
    Ok(packet)
}

fn signed_bytes<T: Serialize>(tag: &[u8], value: &T) -> Vec<u8> {
    // Serializing plain data into a Vec cannot fail (no maps, no custom impls that error).
    postcard::to_extend(value, tag.to_vec()).expect("plain data always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> PublicKey {
        PublicKey([b; 32])
    }

    fn sig() -> Signature {
        Signature::from_bytes(&[0xab; 64])
    }

    fn biggest_rumor() -> Rumor {
        Rumor {
            signed: Arc::new(SignedRoute {
                route: RouteAnnouncement {
                    origin: key(0xff),
                    seq: u64::MAX,
                    name: "\u{1F600}".repeat(MAX_NAME_CHARS),
                    addrs: vec!["[ffff::ffff]:65535".parse().unwrap(); MAX_ADDRS],
                    services: vec![
                        Service {
                            kind: u16::MAX,
                            port: u16::MAX
                        };
                        MAX_SERVICES
                    ],
                },
                signature: sig(),
            }),
            hops: u8::MAX,
        }
    }

    fn samples() -> Vec<Packet> {
        vec![
            Packet::Rumors(vec![biggest_rumor()]),
            Packet::Status(Status {
                scope: StatusScope::Range {
                    from: KeyPrefix::MIN,
                    to: KeyPrefix::MAX,
                },
                entries: (0..MAX_STATUS_ENTRIES as u64)
                    .map(|i| StatusEntry {
                        origin: KeyPrefix::from_u64(u64::MAX - i),
                        seq: u64::MAX,
                        hops: NO_ROUTE,
                    })
                    .collect(),
            }),
            Packet::Private(PrivateMessage {
                body: PrivateBody {
                    origin: key(1),
                    destination: key(2),
                    message_id: u64::MAX,
                    sent_at_ms: u64::MAX,
                    max_hops: DEFAULT_HOP_LIMIT,
                    content: PrivateContent::Fragment {
                        index: MAX_FRAGMENTS - 1,
                        count: MAX_FRAGMENTS,
                        data: vec![0xff; MAX_FRAGMENT_BYTES],
                    },
                },
                signature: sig(),
                hop_limit: DEFAULT_HOP_LIMIT,
            }),
            Packet::Private(PrivateMessage {
                body: PrivateBody {
                    origin: key(1),
                    destination: key(2),
                    message_id: 7,
                    sent_at_ms: 1_700_000_000_000,
                    max_hops: 1,
                    content: PrivateContent::Ack { index: 3 },
                },
                signature: sig(),
                hop_limit: 1,
            }),
            Packet::Challenge(Cookie([0xff; 16])),
            Packet::Response(Cookie([0; 16])),
        ]
    }

    #[test]
    fn every_packet_at_its_bounds_fits_one_datagram_and_round_trips() {
        for packet in samples() {
            let bytes = encode(&packet).unwrap();
            assert!(bytes.len() <= MAX_DATAGRAM_BYTES, "{} bytes", bytes.len());
            assert_eq!(encoded_len(&packet), bytes.len());
            assert_eq!(bytes[0], WIRE_VERSION);
            assert_eq!(decode(&bytes), Ok(packet));
        }
    }

    #[test]
    fn a_few_largest_rumors_fit_in_one_datagram() {
        let one = encoded_len(&Packet::Rumors(vec![biggest_rumor()]));
        assert!(
            one < MAX_DATAGRAM_BYTES / 2,
            "a largest rumor takes {one} bytes"
        );
    }

    #[test]
    fn out_of_bounds_fields_are_refused_both_ways() {
        let mut too_many = biggest_rumor();
        Arc::make_mut(&mut too_many.signed)
            .route
            .addrs
            .push("1.2.3.4:5".parse().unwrap());
        let packet = Packet::Rumors(vec![too_many]);
        assert_eq!(
            encode(&packet),
            Err(WireError::OutOfBounds("address count"))
        );
        // Hand-build the bytes an encoder with no bound check would send: decode must refuse them too.
        let mut bytes = vec![WIRE_VERSION];
        bytes = postcard::to_extend(&packet, bytes).unwrap();
        assert_eq!(decode(&bytes), Err(WireError::OutOfBounds("address count")));

        let bad_fragment = Packet::Private(PrivateMessage {
            body: PrivateBody {
                origin: key(1),
                destination: key(2),
                message_id: 1,
                sent_at_ms: 0,
                max_hops: 3,
                content: PrivateContent::Fragment {
                    index: 2,
                    count: 2,
                    data: vec![],
                },
            },
            signature: sig(),
            hop_limit: 3,
        });
        let bytes = postcard::to_extend(&bad_fragment, vec![WIRE_VERSION]).unwrap();
        assert_eq!(
            decode(&bytes),
            Err(WireError::OutOfBounds("fragment index or count"))
        );
    }

    #[test]
    fn a_hop_limit_above_the_signed_maximum_is_refused() {
        let Packet::Private(mut msg) = samples()[2].clone() else {
            unreachable!("sample 2 is a private message")
        };
        msg.hop_limit = msg.body.max_hops + 1;
        let packet = Packet::Private(msg);
        let bytes = postcard::to_extend(&packet, vec![WIRE_VERSION]).unwrap();
        assert_eq!(
            decode(&bytes),
            Err(WireError::OutOfBounds("hop limit above the signed maximum"))
        );
        assert!(encode(&packet).is_err());
    }

    #[test]
    fn a_challenge_is_small_and_fixed_size() {
        let bytes = encode(&Packet::Challenge(Cookie([7; 16]))).unwrap();
        assert_eq!(bytes.len(), CHALLENGE_BYTES);
        assert_eq!(
            encode(&Packet::Response(Cookie([7; 16]))).unwrap().len(),
            CHALLENGE_BYTES
        );
    }

    #[test]
    fn size_version_and_trailing_bytes_are_checked() {
        assert_eq!(decode(&[]), Err(WireError::Empty));
        assert_eq!(decode(&[9, 0]), Err(WireError::UnsupportedVersion(9)));
        assert_eq!(
            decode(&vec![WIRE_VERSION; MAX_DATAGRAM_BYTES + 1]),
            Err(WireError::TooLarge(MAX_DATAGRAM_BYTES + 1))
        );
        let mut bytes = encode(&samples()[3]).unwrap();
        bytes.push(0);
        assert_eq!(decode(&bytes), Err(WireError::TrailingBytes(1)));
    }

    #[test]
    fn a_huge_claimed_length_is_an_error_not_an_allocation() {
        // Rumors, then a varint claiming u32::MAX rumors, then nothing.
        let bytes = [WIRE_VERSION, 0, 0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(matches!(decode(&bytes), Err(WireError::Malformed(_))));
    }

    #[test]
    fn truncations_and_bit_flips_never_panic() {
        for packet in samples() {
            let bytes = encode(&packet).unwrap();
            for cut in 0..bytes.len() {
                let _ = decode(&bytes[..cut]);
            }
            for i in 0..bytes.len() {
                for flip in [0x01u8, 0x10, 0x80, 0xff] {
                    let mut b = bytes.clone();
                    b[i] ^= flip;
                    let _ = decode(&b);
                }
            }
        }
    }

    #[test]
    fn signed_bytes_depend_on_every_signed_field_and_the_kind() {
        let route = biggest_rumor().signed.route.clone();
        let mut other = route.clone();
        other.seq -= 1;
        assert_ne!(route.signed_bytes(), other.signed_bytes());
        let body = PrivateBody {
            origin: key(1),
            destination: key(2),
            message_id: 1,
            sent_at_ms: 0,
            max_hops: 1,
            content: PrivateContent::Ack { index: 0 },
        };
        assert!(body.signed_bytes().starts_with(PRIVATE_TAG));
        assert!(route.signed_bytes().starts_with(ROUTE_TAG));
    }

    #[test]
    fn keys_print_and_parse_as_hex_with_a_short_fingerprint() {
        let mut k = [0u8; 32];
        k[..8].copy_from_slice(&[0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x70, 0x81]);
        let k = PublicKey(k);
        assert_eq!(k.fingerprint(), "1a2b:3c4d:5e6f:7081");
        assert_eq!(PublicKey::from_hex(&k.to_hex()), Some(k));
        assert_eq!(PublicKey::from_hex("zz"), None);
        assert_eq!(PublicKey::from_hex(&"é".repeat(32)), None);
        assert!(k.prefix() < PublicKey([0xff; 32]).prefix());
    }

    #[test]
    fn a_signature_is_its_64_bytes_on_the_wire() {
        let mut bytes = [0u8; 64];
        bytes.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
        let encoded = postcard::to_allocvec(&Signature::from_bytes(&bytes)).unwrap();
        assert_eq!(
            encoded, bytes,
            "no length, no framing: the same bytes as the two 32-byte halves before"
        );
        assert_eq!(
            postcard::from_bytes::<Signature>(&encoded)
                .unwrap()
                .to_bytes(),
            bytes
        );
    }

    #[test]
    fn keys_are_hex_in_json_and_32_bytes_on_the_wire() {
        let k = PublicKey([0xab; 32]);
        assert_eq!(
            serde_json::to_string(&k).unwrap(),
            format!("\"{}\"", "ab".repeat(32))
        );
        assert_eq!(
            serde_json::from_str::<PublicKey>(&format!("\"{}\"", "ab".repeat(32))).unwrap(),
            k
        );
        assert!(serde_json::from_str::<PublicKey>("\"abc\"").is_err());
        let bytes = postcard::to_allocvec(&k).unwrap();
        assert_eq!(bytes, [0xab; 32], "no length prefix: a fixed array");
        assert_eq!(postcard::from_bytes::<PublicKey>(&bytes).unwrap(), k);
    }
}

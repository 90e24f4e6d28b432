//! Every gossip packet within its bounds, and every page message, comes back from its encoding as it went in; and
//! the gossip decoder refuses exactly what its bounds refuse, whatever an encoder without those checks would send.

use std::net::{IpAddr, SocketAddr};

use hearsay_shared::gossip::{
    self, Cookie, KeyPrefix, MAX_ADDRS, MAX_DATAGRAM_BYTES, MAX_FRAGMENT_BYTES, MAX_FRAGMENTS,
    MAX_NAME_CHARS, MAX_RUMORS_PER_DATAGRAM, MAX_SERVICES, MAX_STATUS_ENTRIES, Packet, PrivateBody,
    PrivateContent, PrivateMessage, PublicKey, RouteAnnouncement, Rumor, Service, Signature,
    SignedRoute, Status, StatusEntry, StatusScope, WIRE_VERSION, WireError,
};
use hearsay_shared::ice::{IceServer, IceServers};
use hearsay_shared::page::{
    self, ClientMsg, ErrorCode, GossipIdentity, MAX_FRAME_BYTES, MessageId, NetworkView,
    NodeIdentity, PeerView, RelayView, ServerMsg, TestingModes, UserView,
};
use proptest::collection::vec;
use proptest::prelude::*;

// ---- gossip ----

fn key() -> impl Strategy<Value = PublicKey> {
    any::<[u8; 32]>().prop_map(PublicKey)
}

fn signature() -> impl Strategy<Value = Signature> {
    vec(any::<u8>(), 64).prop_map(|b| Signature::from_bytes(&b.try_into().expect("64 bytes")))
}

fn prefix() -> impl Strategy<Value = KeyPrefix> {
    any::<u64>().prop_map(KeyPrefix::from_u64)
}

/// An address and a port: what the wire carries (an IPv6 scope id or flow label means nothing to other hosts and
/// is not sent).
fn socket_addr() -> impl Strategy<Value = SocketAddr> {
    (any::<IpAddr>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::new(ip, port))
}

/// A name of up to `max_chars` characters, any of them (multi-byte, control, quotes).
fn name(max_chars: usize) -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..=max_chars).prop_map(|c| c.into_iter().collect())
}

/// A rumor whose lists go up to `scale` times their bounds (1 for valid rumors).
fn rumor(scale: usize) -> impl Strategy<Value = Rumor> {
    let route = (
        key(),
        any::<u64>(),
        name(MAX_NAME_CHARS * scale),
        vec(socket_addr(), 0..=MAX_ADDRS * scale),
        vec(
            any::<(u16, u16)>().prop_map(|(kind, port)| Service { kind, port }),
            0..=MAX_SERVICES * scale,
        ),
    )
        .prop_map(|(origin, seq, name, addrs, services)| RouteAnnouncement {
            origin,
            seq,
            name,
            addrs,
            services,
        });
    (route, signature(), any::<u8>()).prop_map(|(route, signature, hops)| Rumor {
        signed: std::sync::Arc::new(SignedRoute { route, signature }),
        hops,
    })
}

fn status(scale: usize) -> impl Strategy<Value = Status> {
    let scope = prop_oneof![
        Just(StatusScope::Listed),
        // `from <= to` when valid; either order when not.
        (prefix(), prefix()).prop_map(move |(a, b)| {
            let (from, to) = if scale == 1 {
                (a.min(b), a.max(b))
            } else {
                (a, b)
            };
            StatusScope::Range { from, to }
        }),
    ];
    let entry = (prefix(), any::<u64>(), any::<u8>()).prop_map(|(origin, seq, hops)| StatusEntry {
        origin,
        seq,
        hops,
    });
    (scope, vec(entry, 0..=MAX_STATUS_ENTRIES * scale))
        .prop_map(|(scope, entries)| Status { scope, entries })
}

fn private(scale: usize) -> impl Strategy<Value = PrivateMessage> {
    let fragments = MAX_FRAGMENTS * scale as u16;
    let content = prop_oneof![
        (1..=fragments)
            .prop_flat_map(move |count| {
                // Valid: an index below the count; otherwise any index up to the inflated bound.
                let index = if scale == 1 {
                    0..count
                } else {
                    0..fragments + 1
                };
                (
                    index,
                    Just(count),
                    vec(any::<u8>(), 0..=MAX_FRAGMENT_BYTES + 16 * (scale - 1)),
                )
            })
            .prop_map(|(index, count, data)| PrivateContent::Fragment { index, count, data }),
        (0..fragments).prop_map(|index| PrivateContent::Ack { index }),
    ];
    let body = (
        key(),
        key(),
        any::<u64>(),
        any::<u64>(),
        any::<u8>(),
        content,
    )
        .prop_map(
            |(origin, destination, message_id, sent_at_ms, max_hops, content)| PrivateBody {
                origin,
                destination,
                message_id,
                sent_at_ms,
                max_hops,
                content,
            },
        );
    (body, signature(), any::<u8>()).prop_map(move |(body, signature, hop)| {
        // Within the bounds a hop limit is at most the signed maximum; beyond them it is anything.
        let hop_limit = if scale == 1 {
            (u16::from(hop) % (u16::from(body.max_hops) + 1)) as u8
        } else {
            hop
        };
        PrivateMessage {
            body,
            signature,
            hop_limit,
        }
    })
}

/// Packets of every kind; with `scale` 1 every field is within the bounds `check_bounds` enforces, with 2 the lists,
/// names, counts and sizes go up to twice their bounds (and a rumor list may be empty).
fn packet(scale: usize) -> impl Strategy<Value = Packet> {
    let min_rumors = if scale == 1 { 1 } else { 0 };
    prop_oneof![
        vec(rumor(scale), min_rumors..=MAX_RUMORS_PER_DATAGRAM * scale).prop_map(Packet::Rumors),
        status(scale).prop_map(Packet::Status),
        private(scale).prop_map(Packet::Private),
        any::<[u8; 16]>().prop_map(|c| Packet::Challenge(Cookie(c))),
        any::<[u8; 16]>().prop_map(|c| Packet::Response(Cookie(c))),
        Just(Packet::Prune),
        status(scale).prop_map(Packet::Graft),
        vec(rumor(scale), min_rumors..=MAX_RUMORS_PER_DATAGRAM * scale).prop_map(Packet::Flood),
    ]
}

proptest! {
    #[test]
    fn packets_within_bounds_decode_to_themselves_or_are_too_large_to_send(p in packet(1)) {
        prop_assert_eq!(p.check_bounds(), Ok(()));
        let len = gossip::encoded_len(&p);
        match gossip::encode(&p) {
            Ok(bytes) => {
                prop_assert_eq!(bytes.len(), len);
                prop_assert!(bytes.len() <= MAX_DATAGRAM_BYTES);
                prop_assert_eq!(gossip::decode(&bytes), Ok(p));
            }
            // Several large rumors can outgrow one datagram: the sender packs fewer.
            Err(err) => {
                prop_assert!(matches!(p, Packet::Rumors(_) | Packet::Flood(_)), "{:?}", err);
                prop_assert_eq!(err, WireError::TooLarge(len));
                prop_assert!(len > MAX_DATAGRAM_BYTES);
            }
        }
    }

    #[test]
    fn one_rumor_always_fits_a_datagram(r in rumor(1)) {
        let p = Packet::Rumors(vec![r]);
        let bytes = gossip::encode(&p).expect("one rumor fits");
        prop_assert_eq!(gossip::decode(&bytes), Ok(p));
    }

    #[test]
    fn the_decoder_refuses_exactly_what_the_bounds_refuse(p in packet(2)) {
        // What an encoder without bound checks would send.
        let raw = postcard::to_extend(&p, vec![WIRE_VERSION]).expect("plain data serializes");
        let expected = if raw.len() > MAX_DATAGRAM_BYTES {
            Err(WireError::TooLarge(raw.len()))
        } else {
            p.check_bounds().map(|()| p.clone())
        };
        prop_assert_eq!(gossip::decode(&raw), expected);
    }
}

// ---- page ----

fn text() -> impl Strategy<Value = String> {
    name(24)
}

fn message_id() -> impl Strategy<Value = MessageId> {
    any::<u64>().prop_map(MessageId)
}

fn client_msg() -> impl Strategy<Value = ClientMsg> {
    prop_oneof![
        Just(ClientMsg::Heartbeat),
        Just(ClientMsg::GetIceServers),
        text().prop_map(|addr| ClientMsg::AddPeer { addr }),
        text().prop_map(|addr| ClientMsg::DeletePeer { addr }),
        (any::<u32>(), key(), text()).prop_map(|(request, to, payload)| ClientMsg::SendPrivate {
            request,
            to,
            payload
        }),
    ]
}

fn user_view() -> impl Strategy<Value = UserView> {
    (key(), text(), text(), any::<Option<u8>>(), any::<bool>()).prop_map(
        |(key, name, fingerprint, hops, reachable)| UserView {
            key,
            name,
            fingerprint,
            hops,
            reachable,
        },
    )
}

fn ice_servers() -> impl Strategy<Value = IceServers> {
    let server = (
        vec(text(), 0..3),
        proptest::option::of(text()),
        proptest::option::of(text()),
    )
        .prop_map(|(urls, username, credential)| IceServer {
            urls,
            username,
            credential,
        });
    (vec(server, 0..3), any::<u64>()).prop_map(|(servers, expires)| IceServers { servers, expires })
}

fn network_view() -> impl Strategy<Value = NetworkView> {
    let relay =
        (text(), text(), any::<bool>()).prop_map(|(name, addr, own)| RelayView { name, addr, own });
    (
        vec(text(), 0..3),
        any::<Option<bool>>(),
        vec(relay, 0..3),
        any::<u32>(),
    )
        .prop_map(|(addrs, reachable, relays, network_changes)| NetworkView {
            addrs,
            reachable,
            relays,
            network_changes,
        })
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    prop::sample::select(vec![
        ErrorCode::TooLarge,
        ErrorCode::NotJson,
        ErrorCode::UnsupportedVersion,
        ErrorCode::UnknownType,
        ErrorCode::BadMessage,
        ErrorCode::BinaryFrame,
        ErrorCode::BadAddress,
        ErrorCode::Refused,
    ])
}

fn server_msg() -> impl Strategy<Value = ServerMsg> {
    let peer = (text(), any::<Option<u64>>(), any::<bool>(), any::<bool>()).prop_map(
        |(addr, last_heard_ms, live, added_by_user)| PeerView {
            addr,
            last_heard_ms,
            live,
            added_by_user,
        },
    );
    prop_oneof![
        (text(), text(), any::<(bool, bool)>()).prop_map(|(name, version, (a, r))| {
            ServerMsg::Hello(NodeIdentity {
                name,
                version,
                testing: TestingModes {
                    auto_accept: a,
                    relay_only: r,
                },
            })
        }),
        (key(), text(), text()).prop_map(|(key, fingerprint, addr)| {
            ServerMsg::GossipInfo(GossipIdentity {
                key,
                fingerprint,
                addr,
            })
        }),
        vec(peer, 0..3).prop_map(|peers| ServerMsg::Peers { peers }),
        (any::<bool>(), vec(user_view(), 0..3), vec(key(), 0..3)).prop_map(
            |(reset, upsert, remove)| ServerMsg::Users {
                reset,
                upsert,
                remove
            }
        ),
        (any::<u32>(), message_id()).prop_map(|(request, message_id)| ServerMsg::PrivateAccepted {
            request,
            message_id
        }),
        message_id().prop_map(|message_id| ServerMsg::PrivateDelivered { message_id }),
        message_id().prop_map(|message_id| ServerMsg::PrivateFailed { message_id }),
        (key(), proptest::option::of(text()), message_id(), text()).prop_map(
            |(from, from_name, message_id, payload)| ServerMsg::PrivateReceived {
                from,
                from_name,
                message_id,
                payload,
            }
        ),
        any::<u64>().prop_map(|uptime_ms| ServerMsg::Heartbeat { uptime_ms }),
        ice_servers().prop_map(ServerMsg::IceServers),
        network_view().prop_map(ServerMsg::Network),
        (error_code(), text()).prop_map(|(code, message)| ServerMsg::Error { code, message }),
    ]
}

proptest! {
    #[test]
    fn page_requests_decode_to_themselves(msg in client_msg()) {
        let frame = page::encode(msg.clone());
        prop_assert!(frame.len() <= MAX_FRAME_BYTES);
        prop_assert_eq!(page::decode_client(&frame), Ok(msg));
    }

    #[test]
    fn node_messages_decode_to_themselves(msg in server_msg()) {
        let frame = page::encode(msg.clone());
        prop_assert!(frame.len() <= MAX_FRAME_BYTES);
        prop_assert_eq!(page::decode_server(&frame), Ok(msg));
    }
}

//! Writes the seed inputs of every fuzz target into `fuzz/seeds/<target>/`: real encodings of real messages, made
//! with the same encoders the node and the page use, so the fuzzer starts from inputs that go deep.
//!
//! Run from the repo root: `cargo run --manifest-path fuzz/Cargo.toml --example seeds`.

use std::net::SocketAddr;
use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};
use bytecodec::EncodeExt;
use hearsay_fuzz::records::{self, Kind};
use hearsay_fuzz::{reassembly, source};
use hearsay_node::stun::wire::StunAttribute;
use hearsay_node::turn::credentials::TurnSecret;
use hearsay_shared::gossip::{
    self, DEFAULT_HOP_LIMIT, KeyPrefix, Packet, PrivateBody, PrivateContent, PrivateMessage,
    PublicKey, RouteAnnouncement, Rumor, Service, Signature, SignedRoute, Status, StatusEntry,
    StatusScope, service_kind,
};
use hearsay_shared::ice::{IceServer, IceServers};
use hearsay_shared::page::{self, ClientMsg, MessageId, NodeIdentity, ServerMsg, UserView};
use stun_codec::rfc5389::attributes::{MessageIntegrity, Nonce, Realm, Software, Username};
use stun_codec::rfc5766::attributes::{Lifetime, RequestedTransport, XorPeerAddress};
use stun_codec::{Message, MessageClass, MessageEncoder, Method, TransactionId};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut written = 0;
    let mut write = |target: &str, name: &str, bytes: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).expect("creating the seeds folder");
        std::fs::write(dir.join(name), bytes).expect("writing a seed");
        written += 1;
    };
    for (name, packet) in gossip_packets() {
        let bytes = gossip::encode(&packet).expect("a seed packet encodes");
        write("gossip_datagram", name, &bytes);
    }
    for (name, frame) in page_frames() {
        write("page_message", name, frame.as_bytes());
    }
    for (name, input) in reassembly_inputs() {
        let bytes = reassembly::to_bytes(&input);
        let read = reassembly::Input::arbitrary_take_rest(Unstructured::new(&bytes))
            .expect("arbitrary reads the seed");
        assert_eq!(read, input, "the seed {name} reads back as written");
        write("reassembly", name, &bytes);
    }
    for (name, source, request) in stun_requests() {
        write("stun_responder", name, &source::join(source, &request));
    }
    for (name, bytes) in turn_sessions() {
        write("turn_gate", name, &bytes);
    }
    println!("wrote {written} seeds under {}", root.display());
}

fn key(b: u8) -> PublicKey {
    PublicKey([b; 32])
}

fn signature() -> Signature {
    Signature::from_bytes(&[0x5a; 64])
}

fn gossip_packets() -> Vec<(&'static str, Packet)> {
    let route = RouteAnnouncement {
        origin: key(1),
        seq: 1_700_000_000_000,
        name: "alice".into(),
        addrs: vec![
            "192.0.2.1:5000".parse().unwrap(),
            "[2001:db8::1]:5000".parse().unwrap(),
        ],
        services: vec![
            Service {
                kind: service_kind::STUN,
                port: 3478,
            },
            Service {
                kind: service_kind::TURN,
                port: 3479,
            },
        ],
    };
    let private = |content| {
        Packet::Private(PrivateMessage {
            body: PrivateBody {
                origin: key(1),
                destination: key(2),
                message_id: 42,
                sent_at_ms: 1_700_000_000_000,
                max_hops: DEFAULT_HOP_LIMIT,
                content,
            },
            signature: signature(),
            hop_limit: DEFAULT_HOP_LIMIT,
        })
    };
    vec![
        (
            "rumors",
            Packet::Rumors(vec![Rumor {
                signed: SignedRoute {
                    route,
                    signature: signature(),
                },
                hops: 1,
            }]),
        ),
        (
            "status-listed",
            Packet::Status(Status {
                scope: StatusScope::Listed,
                entries: vec![StatusEntry {
                    origin: key(1).prefix(),
                    seq: 7,
                    hops: 1,
                }],
            }),
        ),
        (
            "status-range",
            Packet::Status(Status {
                scope: StatusScope::Range {
                    from: KeyPrefix::MIN,
                    to: KeyPrefix::MAX,
                },
                entries: vec![
                    StatusEntry {
                        origin: key(1).prefix(),
                        seq: 7,
                        hops: 1,
                    },
                    StatusEntry {
                        origin: key(2).prefix(),
                        seq: 9,
                        hops: 1,
                    },
                ],
            }),
        ),
        (
            "private-fragment",
            private(PrivateContent::Fragment {
                index: 1,
                count: 3,
                data: b"{\"signal\":\"hang_up\",\"call\":5}".to_vec(),
            }),
        ),
        ("private-ack", private(PrivateContent::Ack { index: 1 })),
    ]
}

fn page_frames() -> Vec<(&'static str, String)> {
    let to = key(0xab);
    vec![
        ("client-heartbeat", page::encode(ClientMsg::Heartbeat)),
        ("client-get-ice", page::encode(ClientMsg::GetIceServers)),
        (
            "client-add-peer",
            page::encode(ClientMsg::AddPeer {
                addr: "bob.lan:5000".into(),
            }),
        ),
        (
            "client-delete-peer",
            page::encode(ClientMsg::DeletePeer {
                addr: "127.0.0.1:5000".into(),
            }),
        ),
        (
            "client-send-private",
            page::encode(ClientMsg::SendPrivate {
                request: 3,
                to,
                payload: "{\"signal\":\"busy\",\"call\":1}".into(),
            }),
        ),
        (
            "server-hello",
            page::encode(ServerMsg::Hello(NodeIdentity {
                name: "alice".into(),
                version: "0.1.0".into(),
                testing: Default::default(),
            })),
        ),
        (
            "server-users",
            page::encode(ServerMsg::Users {
                reset: true,
                upsert: vec![UserView {
                    key: to,
                    name: "bob".into(),
                    fingerprint: to.fingerprint(),
                    hops: Some(2),
                    reachable: true,
                }],
                remove: vec![key(0xcd)],
            }),
        ),
        (
            "server-received",
            page::encode(ServerMsg::PrivateReceived {
                from: to,
                from_name: Some("bob".into()),
                message_id: MessageId(u64::MAX),
                payload: "v=0".into(),
            }),
        ),
        (
            "server-ice",
            page::encode(ServerMsg::IceServers(IceServers {
                servers: vec![IceServer {
                    urls: vec!["turn:192.0.2.1:3479?transport=udp".into()],
                    username: Some("1700000000:page".into()),
                    credential: Some("c2VjcmV0".into()),
                }],
                expires: 1_700_000_000,
            })),
        ),
    ]
}

fn reassembly_inputs() -> Vec<(&'static str, reassembly::Input)> {
    use reassembly::{Limits, Op};
    let limits = Limits {
        max_partial: 3,
        max_bytes: 4000,
        timeout_ms: 1000,
        remember_ms: 5000,
        max_remembered: 7,
    };
    // `count` and `index` are raw: the target takes `1 + count % 64` and `index % count`.
    let fragment = |message: u8, index: u8, count: u8, len: u16| Op::Fragment {
        origin: 0,
        message,
        index,
        count: count - 1,
        len,
    };
    vec![
        (
            "three-in-order-then-a-repeat",
            reassembly::Input {
                limits,
                ops: vec![
                    fragment(0, 0, 3, 900),
                    fragment(0, 1, 3, 900),
                    fragment(0, 2, 3, 10),
                    fragment(0, 1, 3, 900),
                ],
            },
        ),
        (
            "out-of-order-and-a-timeout",
            reassembly::Input {
                limits,
                ops: vec![
                    fragment(1, 1, 2, 5),
                    Op::Wait { millis: 400 },
                    fragment(2, 0, 2, 7),
                    Op::Expire { millis: 700 },
                    fragment(1, 0, 2, 5),
                    fragment(2, 1, 2, 7),
                ],
            },
        ),
        (
            "single-fragments-past-the-memory",
            reassembly::Input {
                limits,
                ops: (0..9)
                    .map(|m| fragment(m % 4, 0, 1, 3))
                    .chain([Op::Expire { millis: 6000 }, fragment(0, 0, 1, 3)])
                    .collect(),
            },
        ),
        (
            "sixty-four-fragments",
            reassembly::Input {
                limits: Limits {
                    max_bytes: 7200,
                    ..limits
                },
                ops: (0..64).rev().map(|i| fragment(3, i, 64, 100)).collect(),
            },
        ),
    ]
}

const ID: [u8; 12] = *b"fuzz-seed-id";

fn stun_message(
    class: MessageClass,
    method: u16,
    attributes: Vec<StunAttribute>,
) -> Message<StunAttribute> {
    let mut message = Message::new(
        class,
        Method::new(method).expect("a 12-bit method"),
        TransactionId::new(ID),
    );
    for attribute in attributes {
        message.add_attribute(attribute);
    }
    message
}

fn encoded(message: Message<StunAttribute>) -> Vec<u8> {
    MessageEncoder::new()
        .encode_into_bytes(message)
        .expect("a seed message encodes")
}

fn stun_requests() -> Vec<(&'static str, SocketAddr, Vec<u8>)> {
    let v4: SocketAddr = "203.0.113.9:40000".parse().unwrap();
    let v6: SocketAddr = "[2001:db8::7]:5000".parse().unwrap();
    let binding = encoded(stun_message(MessageClass::Request, 1, vec![]));
    let with_software = encoded(stun_message(
        MessageClass::Request,
        1,
        vec![Software::new("a client".into()).unwrap().into()],
    ));
    let mut classic_change = binding.clone();
    classic_change[3] = 8;
    classic_change[4..8].copy_from_slice(&[9, 8, 7, 6]);
    classic_change.extend_from_slice(&[0x00, 0x03, 0, 4, 0, 0, 0, 6]);
    let mut unknown_required = binding.clone();
    unknown_required[3] = 8;
    unknown_required.extend_from_slice(&[0x7A, 0x7A, 0, 4, 1, 2, 3, 4]);
    let allocate = encoded(stun_message(MessageClass::Request, 3, vec![]));
    let indication = encoded(stun_message(MessageClass::Indication, 1, vec![]));
    vec![
        ("binding-v4", v4, binding.clone()),
        ("binding-v6", v6, binding),
        ("binding-software", v4, with_software),
        ("classic-change-request", v4, classic_change),
        ("unknown-required-attribute", v6, unknown_required),
        ("allocate-to-stun", v4, allocate),
        ("indication", v4, indication),
    ]
}

/// A TURN request with long-term MESSAGE-INTEGRITY for `username` (REST credentials from the target's secret).
fn turn_request(method: u16, username: &str, attributes: Vec<StunAttribute>) -> Vec<u8> {
    let mut message = stun_message(MessageClass::Request, method, attributes);
    let user = Username::new(username.into()).unwrap();
    let realm = Realm::new("realm".into()).unwrap();
    message.add_attribute(user.clone());
    message.add_attribute(realm.clone());
    message.add_attribute(Nonce::new("seed-nonce".into()).unwrap());
    let password = TurnSecret::new("fuzz-secret").password(username);
    let integrity =
        MessageIntegrity::new_long_term_credential(&message, &user, &realm, &password).unwrap();
    message.add_attribute(integrity);
    encoded(message)
}

fn turn_sessions() -> Vec<(&'static str, Vec<u8>)> {
    // REST credentials that expire in 2096: the same seed bytes whenever they are written.
    let user = "4000000000:guest";
    let peer = |addr: &str| -> StunAttribute { XorPeerAddress::new(addr.parse().unwrap()).into() };
    let bare_allocate = encoded(stun_message(
        MessageClass::Request,
        3,
        vec![RequestedTransport::new(17).into()],
    ));
    let allocate = turn_request(3, user, vec![RequestedTransport::new(17).into()]);
    let refresh = turn_request(4, user, vec![Lifetime::from_u32(600).into()]);
    let permit_public = turn_request(8, user, vec![peer("198.51.100.1:9")]);
    let permit_loopback = turn_request(8, user, vec![peer("127.0.0.1:9")]);
    // CHANNEL-NUMBER 0x4001 appended raw: the node's attribute set leaves it undecoded (see stun::wire).
    let mut channel_bind = encoded(stun_message(
        MessageClass::Request,
        9,
        vec![peer("198.51.100.1:9")],
    ));
    let length = u16::from_be_bytes([channel_bind[2], channel_bind[3]]) + 8;
    channel_bind[2..4].copy_from_slice(&length.to_be_bytes());
    channel_bind.extend_from_slice(&[0x00, 0x0C, 0, 4, 0x40, 0x01, 0, 0]);
    let send_indication = encoded(stun_message(
        MessageClass::Indication,
        6,
        vec![peer("198.51.100.1:9")],
    ));
    // What the crate answers to a successful Allocate (its header is all the gate reads).
    let mut allocate_success = encoded(stun_message(MessageClass::SuccessResponse, 3, vec![]));
    allocate_success.truncate(20);
    let mut channel_data = vec![0x40, 0x01, 0x00, 0x08];
    channel_data.extend_from_slice(b"relayed!");

    let session = |steps: &[(Kind, u8, &[u8])]| {
        let mut out = Vec::new();
        for (kind, client, datagram) in steps {
            records::push(&mut out, *kind, *client, datagram);
        }
        out
    };
    let mut allocate_and_relay = session(&[
        (Kind::Inbound, 0, &bare_allocate),
        (Kind::Inbound, 0, &allocate),
        (Kind::Outbound, 0, &allocate_success),
        (Kind::Inbound, 0, &permit_public),
        (Kind::Inbound, 0, &channel_bind),
        (Kind::Inbound, 0, &channel_data),
        (Kind::Outbound, 0, &channel_data),
        (Kind::Inbound, 0, &send_indication),
    ]);
    records::push_wait(&mut allocate_and_relay, 1000);
    records::push(&mut allocate_and_relay, Kind::Inbound, 0, &refresh);
    records::push(&mut allocate_and_relay, Kind::Closed, 0, &[]);
    let quota = session(&[
        (Kind::Inbound, 0, &allocate),
        (Kind::Outbound, 0, &allocate_success),
        (Kind::Inbound, 1, &allocate),
        (Kind::Outbound, 1, &allocate_success),
        (Kind::Inbound, 2, &allocate),
    ]);
    let forbidden_peer = session(&[(Kind::Inbound, 3, &permit_loopback)]);
    vec![
        ("allocate-and-relay", allocate_and_relay),
        ("quota", quota),
        ("forbidden-peer", forbidden_peer),
    ]
}

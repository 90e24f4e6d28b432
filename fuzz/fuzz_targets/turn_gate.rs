//! Any sequence of datagrams from a few clients, of datagrams the `turn` crate sends back, of closed allocations
//! and of time passing, through the TURN gate: it never panics; only sane framing reaches the crate; every reply is
//! a STUN error response to the request's transaction that decodes; and no CreatePermission or ChannelBind it
//! passes names, as the crate's own parser reads it, a peer the relay policy refuses (no open relay).
#![no_main]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytecodec::DecodeExt;
use hearsay_fuzz::records::{self, Kind};
use hearsay_node::stun::wire::{HEADER_LEN, MAX_DATAGRAM, StunAttribute, stun_frame};
use hearsay_node::turn::credentials::{Credentials, TurnSecret};
use hearsay_node::turn::gate::{Gate, Inbound, Quotas};
use hearsay_node::turn::peer_policy::PeerPolicy;
use libfuzzer_sys::fuzz_target;
use stun_codec::rfc5389::attributes::ErrorCode;
use stun_codec::{MessageClass, MessageDecoder};
use turn::proto::chandata::ChannelData;
use turn::proto::peeraddr::PeerAddress;

const POLICY: PeerPolicy = PeerPolicy {
    allow_private: false,
};

fn clients() -> [SocketAddr; 4] {
    [
        "192.0.2.1:40000".parse().unwrap(),
        "192.0.2.1:40001".parse().unwrap(),
        "198.51.100.7:3478".parse().unwrap(),
        "[2001:db8::1]:5000".parse().unwrap(),
    ]
}

fuzz_target!(|bytes: &[u8]| {
    let clients = clients();
    let mut gate = Gate::new(
        POLICY,
        Quotas {
            per_user: 2,
            total: 3,
            user_bytes_per_sec: Some(10_000),
            total_bytes_per_sec: Some(20_000),
        },
        Credentials::new(
            TurnSecret::new("fuzz-secret"),
            HashMap::from([("static".to_owned(), "password".to_owned())]),
        ),
        "realm".into(),
    );
    let mut now = Instant::now();
    for record in records::parse(bytes) {
        let client = clients[usize::from(record.client) % clients.len()];
        let datagram = record.datagram;
        match record.kind {
            Kind::Inbound => match gate.inspect_inbound(datagram, client, now) {
                Inbound::Pass => check_passed(datagram),
                Inbound::Reply(reply) => check_reply(datagram, &reply),
                Inbound::Drop => {}
            },
            Kind::Outbound => {
                // As the gate's `Conn` does for each datagram the crate sends.
                if gate.admit_outbound(datagram, client, now)
                    && datagram.len() >= HEADER_LEN
                    && datagram[0] == 0x01
                {
                    gate.observe_outbound(datagram, client, now);
                }
            }
            Kind::Closed => gate.allocation_closed(client),
            Kind::Wait => now += Duration::from_millis(u64::from(record.length)),
        }
    }
});

/// What reaches the crate: ChannelData whose length fits, or a framed STUN message with the magic cookie; and if
/// the crate reads it as a CreatePermission or ChannelBind request, the peer it would use is one the policy allows.
fn check_passed(datagram: &[u8]) {
    let channel_data = datagram[0] & 0xC0 == 0x40;
    if channel_data {
        let length = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
        assert!(
            length <= datagram.len() - 4,
            "ChannelData longer than its datagram"
        );
    } else {
        let frame = stun_frame(datagram).expect("only framed STUN passes");
        assert!(frame.has_cookie, "only RFC 5389 STUN passes");
    }
    // The crate takes ChannelData by its own test, and anything else as a STUN message.
    if ChannelData::is_channel_data(datagram) {
        return;
    }
    assert!(
        !channel_data,
        "the gate and the crate disagree on ChannelData"
    );
    let mut message = stun::message::Message {
        raw: datagram.to_vec(),
        ..Default::default()
    };
    if message.decode().is_err() {
        return; // the crate drops it
    }
    use stun::message::{CLASS_REQUEST, METHOD_CHANNEL_BIND, METHOD_CREATE_PERMISSION};
    let names_a_peer =
        [METHOD_CREATE_PERMISSION, METHOD_CHANNEL_BIND].contains(&message.typ.method);
    if message.typ.class != CLASS_REQUEST || !names_a_peer {
        return;
    }
    // The crate relays to the first XOR-PEER-ADDRESS it reads (once per such attribute for CreatePermission).
    let mut peer = PeerAddress::default();
    if stun::message::Getter::get_from(&mut peer, &message).is_ok() {
        assert!(
            POLICY.allows(peer.ip),
            "passed a permission for the refused peer {}",
            peer.ip
        );
    }
}

/// A reply is an error response to the request's own transaction and method, that decodes.
fn check_reply(request: &[u8], reply: &[u8]) {
    assert!(reply.len() <= MAX_DATAGRAM, "a {}-byte reply", reply.len());
    let asked = stun_frame(request).expect("only framed STUN requests get a reply");
    let frame = stun_frame(reply).expect("the reply is framed as STUN");
    assert_eq!(
        (asked.class(), frame.class()),
        (0, 3),
        "an error response to a request"
    );
    assert_eq!(frame.method(), asked.method(), "the request's method");
    assert_eq!(&reply[4..20], &request[4..20], "the request's transaction");
    let decoded = MessageDecoder::<StunAttribute>::new()
        .decode_from_bytes(reply)
        .expect("the reply decodes")
        .expect("the reply's attributes decode");
    assert_eq!(decoded.class(), MessageClass::ErrorResponse);
    let code = decoded.get_attribute::<ErrorCode>().map(|e| e.code());
    assert!(
        matches!(code, Some(400 | 401 | 403 | 438 | 486)),
        "error code {code:?}"
    );
}

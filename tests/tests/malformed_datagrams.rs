//! Malformed datagrams — truncated, wrong lengths, bad attributes, ChannelData lies, random bytes — thrown at a
//! real node's STUN and TURN ports leave both servers answering and the TURN server relaying.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};

use hearsay_tests::Node;
use hearsay_tests::relay_tools::{
    MAGIC_COOKIE, TurnPeer, binding_request, run_uclient, stun_attribute, stun_exchange,
    stun_message, uclient_args,
};

/// A fixed battery of broken inputs, each aimed at a different check.
fn malformed() -> Vec<Vec<u8>> {
    let id = [7u8; 12];
    let valid = binding_request(id);
    let mut out: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x00],
        valid[..19].to_vec(), // truncated header
        valid[..4].to_vec(),  // header start only
    ];
    // Length field larger and smaller than the datagram, and not a multiple of 4.
    for len in [4u16, 8, 0xFFFC, 3, 1] {
        let mut m = valid.clone();
        m[2..4].copy_from_slice(&len.to_be_bytes());
        out.push(m);
    }
    // Attribute whose length runs past the message.
    let mut over = stun_message(
        0x0001,
        id,
        &[0x80, 0x22, 0x00, 0x40, b'a', b'b', b'c', b'd'],
    );
    over[3] = 8;
    out.push(over);
    // XOR-MAPPED-ADDRESS with a bad family and a short value; a FINGERPRINT that does not match; USERNAME not UTF-8.
    out.push(stun_message(
        0x0001,
        id,
        &stun_attribute(0x0020, &[0, 9, 0, 0, 1, 2, 3, 4]),
    ));
    out.push(stun_message(0x0001, id, &stun_attribute(0x0020, &[0, 1])));
    out.push(stun_message(
        0x0001,
        id,
        &stun_attribute(0x8028, &[0xDE, 0xAD, 0xBE, 0xEF]),
    ));
    out.push(stun_message(
        0x0001,
        id,
        &stun_attribute(0x0006, &[0xFF, 0xFE, 0xFD]),
    ));
    // Unknown comprehension-required attribute; an unknown method; an indication; a response.
    out.push(stun_message(
        0x0001,
        id,
        &stun_attribute(0x7777, &[1, 2, 3, 4]),
    ));
    out.push(stun_message(0x0FEF, id, &[]));
    out.push(stun_message(0x0011, id, &[]));
    out.push(stun_message(0x0101, id, &[]));
    // TURN requests with broken bodies: Allocate with a short REQUESTED-TRANSPORT and a junk USERNAME +
    // MESSAGE-INTEGRITY; CreatePermission and ChannelBind with short peer addresses; a Send indication with junk.
    out.push(stun_message(0x0003, id, &stun_attribute(0x0019, &[17])));
    let mut junk_auth = stun_attribute(0x0006, b"123:x");
    junk_auth.extend(stun_attribute(0x0008, &[0; 20]));
    out.push(stun_message(0x0003, id, &junk_auth));
    out.push(stun_message(
        0x0008,
        id,
        &stun_attribute(0x0012, &[0, 1, 0]),
    ));
    out.push(stun_message(0x0009, id, &stun_attribute(0x000C, &[0x40])));
    out.push(stun_message(0x0016, id, &stun_attribute(0x0013, &[])));
    // ChannelData: length beyond the datagram, header only, unbound channel.
    out.push(vec![0x40, 0x00, 0xFF, 0xFF, 1, 2, 3]);
    out.push(vec![0x40, 0x00]);
    out.push(vec![0x4F, 0xFF, 0x00, 0x04, 1, 2, 3, 4]);
    // Classic RFC 3489 header (no cookie) with a broken attribute.
    let mut classic = stun_message(0x0001, id, &stun_attribute(0x0001, &[0, 1]));
    classic[4..8].copy_from_slice(&[1, 2, 3, 4]);
    out.push(classic);
    // A cookie with garbage after it, and deterministic pseudo-random datagrams of many lengths.
    let mut cookie_junk = vec![0, 1, 0, 8];
    cookie_junk.extend_from_slice(&MAGIC_COOKIE);
    cookie_junk.extend_from_slice(&[0xFF; 20]);
    out.push(cookie_junk);
    let mut x: u32 = 0x1234_5678;
    for len in [
        1usize, 3, 20, 21, 24, 64, 500, 1499, 1500, 1501, 2047, 2048, 4000,
    ] {
        let bytes = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect();
        out.push(bytes);
    }
    // Every truncation of a valid request with attributes.
    let rich = stun_message(0x0001, id, &stun_attribute(0x8022, b"some software"));
    for cut in 1..rich.len() {
        out.push(rich[..cut].to_vec());
    }
    out
}

fn answers_binding(socket: &UdpSocket, server: SocketAddr) -> anyhow::Result<()> {
    let id = *b"still-alive!";
    let reply = stun_exchange(socket, server, &binding_request(id), id)?;
    anyhow::ensure!(reply.message_type == 0x0101, "{server} answered {reply:?}");
    anyhow::ensure!(
        reply.xor_mapped == Some(socket.local_addr()?),
        "{server} mapped wrongly: {reply:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_datagrams_leave_stun_and_turn_answering() -> anyhow::Result<()> {
    let mut node = Node::start_with("malformed", &["--relay-allow-private"]).await?;
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    let battery = malformed();
    for round in 0..3 {
        for bytes in &battery {
            for server in [node.stun, node.turn] {
                socket.send_to(bytes, server)?;
            }
        }
        // Between rounds, both servers still answer a valid request.
        answers_binding(&socket, node.stun)
            .map_err(|e| e.context(format!("STUN after round {round}")))?;
        answers_binding(&socket, node.turn)
            .map_err(|e| e.context(format!("TURN after round {round}")))?;
    }

    // The TURN server still relays end to end.
    let peer = TurnPeer::start().await?;
    let args = uclient_args(
        node.turn.port(),
        peer.port,
        1,
        50,
        170,
        &["-W".into(), node.turn_secret()?],
    );
    let (report, out) = run_uclient(&args).await?;
    assert_eq!(
        (report.sent, report.received, report.lost),
        (50, 50, 0),
        "{out}"
    );

    // And the process never died: it still stops cleanly on SIGTERM.
    let status = node.stop().await?;
    assert!(
        status.success(),
        "node should exit cleanly after the battery, got {status}"
    );
    Ok(())
}

//! coturn's `turnutils_uclient` relays through a real node's TURN server to `turnutils_peer` without loss, with
//! TURN REST credentials and with a static user; without credentials, past the quota, or towards loopback without
//! `--relay-allow-private`, the server refuses; over the per-user bandwidth cap, what goes over is dropped.

use std::net::{Ipv4Addr, UdpSocket};
use std::time::Duration;

use hearsay_tests::Node;
use hearsay_tests::relay_tools::{
    TurnPeer, parse_uclient, run_bounded, stun_attribute, stun_exchange, stun_message, uclient_args,
};

const TOOL_LIMIT: Duration = Duration::from_secs(60);

/// uclient arguments relaying to `peer` through `node`: `clients` × `messages` of 170 bytes, no RTCP channel.
fn relay_args(node: &Node, peer: u16, clients: u32, messages: u32, auth: &[String]) -> Vec<String> {
    uclient_args(node.turn.port(), peer, clients, messages, 170, auth)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uclient_relays_without_loss_using_rest_credentials() -> anyhow::Result<()> {
    let node = Node::start_with("turn-rest", &["--relay-allow-private"]).await?;
    let peer = TurnPeer::start().await?;
    let auth = ["-W".to_owned(), node.turn_secret()?];
    let (status, out) = run_bounded(
        "turnutils_uclient",
        "coturn",
        &relay_args(&node, peer.port, 5, 100, &auth),
        TOOL_LIMIT,
    )
    .await?;
    let report = parse_uclient(&out)
        .unwrap_or_else(|| panic!("uclient did not finish a run ({status}):\n{out}"));
    assert_eq!(report.sent, 500, "{out}");
    assert_eq!(report.received, 500, "{out}");
    assert_eq!(report.lost, 0, "{out}");
    assert!(status.success(), "uclient exited with {status}:\n{out}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uclient_relays_without_loss_as_a_static_user() -> anyhow::Result<()> {
    let node = Node::start_with(
        "turn-static",
        &["--relay-allow-private", "--turn-user", "bob:hunter22"],
    )
    .await?;
    let peer = TurnPeer::start().await?;
    let auth = ["-u", "bob", "-w", "hunter22"].map(String::from);
    let (status, out) = run_bounded(
        "turnutils_uclient",
        "coturn",
        &relay_args(&node, peer.port, 2, 100, &auth),
        TOOL_LIMIT,
    )
    .await?;
    let report = parse_uclient(&out)
        .unwrap_or_else(|| panic!("uclient did not finish a run ({status}):\n{out}"));
    assert_eq!(
        (report.sent, report.received, report.lost),
        (200, 200, 0),
        "{out}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_missing_credentials_get_no_allocation() -> anyhow::Result<()> {
    let node = Node::start_with(
        "turn-noauth",
        &["--relay-allow-private", "--turn-user", "bob:hunter22"],
    )
    .await?;
    let peer = TurnPeer::start().await?;

    // Raw: an Allocate (REQUESTED-TRANSPORT UDP) without credentials must get 401 with a NONCE and REALM.
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    let id = *b"no-auth-0001";
    let allocate = stun_message(0x0003, id, &stun_attribute(0x0019, &[17, 0, 0, 0]));
    let reply = stun_exchange(&socket, node.turn, &allocate, id)?;
    assert_eq!(
        reply.message_type, 0x0113,
        "expected an Allocate error response: {reply:?}"
    );
    assert_eq!(reply.error_code, Some(401));

    // uclient with no credentials, then with a wrong password: no run completes, no data is relayed.
    for auth in [
        vec![],
        ["-u", "bob", "-w", "wrong"].map(String::from).to_vec(),
    ] {
        let (status, out) = run_bounded(
            "turnutils_uclient",
            "coturn",
            &relay_args(&node, peer.port, 1, 10, &auth),
            TOOL_LIMIT,
        )
        .await?;
        assert!(!status.success(), "uclient {auth:?} should fail:\n{out}");
        assert!(
            parse_uclient(&out).is_none(),
            "uclient {auth:?} relayed data:\n{out}"
        );
        assert!(
            out.contains("error 4"),
            "uclient {auth:?} should report a 4xx error:\n{out}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relaying_to_loopback_is_forbidden_by_default() -> anyhow::Result<()> {
    let node = Node::start("turn-strict").await?;
    let peer = TurnPeer::start().await?;
    let auth = ["-W".to_owned(), node.turn_secret()?];
    let (status, out) = run_bounded(
        "turnutils_uclient",
        "coturn",
        &relay_args(&node, peer.port, 1, 10, &auth),
        TOOL_LIMIT,
    )
    .await?;
    assert!(!status.success(), "uclient should fail:\n{out}");
    assert!(out.contains("error 403"), "expected 403 Forbidden:\n{out}");
    assert!(
        parse_uclient(&out).is_none(),
        "data was relayed to loopback:\n{out}"
    );

    // The same through CreatePermission (uclient -s uses Send indications after CreatePermission).
    let mut args = vec!["-s".to_owned()];
    args.extend(relay_args(&node, peer.port, 1, 10, &auth));
    let (status, out) = run_bounded("turnutils_uclient", "coturn", &args, TOOL_LIMIT).await?;
    assert!(!status.success(), "uclient -s should fail:\n{out}");
    assert!(
        out.contains("403"),
        "expected 403 Forbidden on CreatePermission:\n{out}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocations_past_the_per_user_quota_get_486() -> anyhow::Result<()> {
    let node = Node::start_with(
        "turn-quota",
        &["--relay-allow-private", "--turn-user-quota", "4"],
    )
    .await?;
    let peer = TurnPeer::start().await?;
    let auth = ["-W".to_owned(), node.turn_secret()?];
    // uclient allocates twice per client (a probe allocation it refreshes, then the one it relays through) and
    // may leave the probe to expire. Within quota: 1 client, at most 2 allocations.
    let (_, out) = run_bounded(
        "turnutils_uclient",
        "coturn",
        &relay_args(&node, peer.port, 1, 20, &auth),
        TOOL_LIMIT,
    )
    .await?;
    let report =
        parse_uclient(&out).unwrap_or_else(|| panic!("2 allocations should fit the quota:\n{out}"));
    assert_eq!(report.lost, 0, "{out}");
    // Past it: 3 clients at once (6 more allocations) under the same REST username.
    let (status, out) = run_bounded(
        "turnutils_uclient",
        "coturn",
        &relay_args(&node, peer.port, 3, 20, &auth),
        TOOL_LIMIT,
    )
    .await?;
    assert!(
        !status.success(),
        "a third allocation should be refused:\n{out}"
    );
    assert!(
        out.contains("486"),
        "expected 486 Allocation Quota Reached:\n{out}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relayed_traffic_over_the_per_user_cap_is_dropped() -> anyhow::Result<()> {
    // 400 round trips of 1000 bytes: ~800 KB through the relay in a second or two.
    let run = |node: &Node, peer: u16, auth: Vec<String>| {
        let args = uclient_args(node.turn.port(), peer, 1, 400, 1000, &auth);
        async move {
            let (status, out) =
                run_bounded("turnutils_uclient", "coturn", &args, TOOL_LIMIT).await?;
            let report = parse_uclient(&out)
                .unwrap_or_else(|| panic!("uclient did not finish a run ({status}):\n{out}"));
            anyhow::Ok((report, out))
        }
    };
    let uncapped = Node::start_with(
        "turn-uncapped",
        &["--relay-allow-private", "--relay-user-kbps", "0"],
    )
    .await?;
    let peer = TurnPeer::start().await?;
    let (report, out) = run(
        &uncapped,
        peer.port,
        vec!["-W".into(), uncapped.turn_secret()?],
    )
    .await?;
    assert_eq!(report.lost, 0, "without a cap nothing is lost:\n{out}");

    // 100 kbit/s is 12.5 KB/s both ways together: most of the run must be dropped.
    let capped = Node::start_with(
        "turn-capped",
        &["--relay-allow-private", "--relay-user-kbps", "100"],
    )
    .await?;
    let (report, out) = run(&capped, peer.port, vec!["-W".into(), capped.turn_secret()?]).await?;
    assert!(
        report.lost * 2 > report.sent && report.received > 0,
        "over the cap most is dropped, within it some passes:\n{out}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uclient_relays_over_tcp_without_loss() -> anyhow::Result<()> {
    // The client–server leg on TCP (what a browser on a UDP-blocking network uses); the relayed side stays UDP.
    let node = Node::start_with("turn-tcp", &["--relay-allow-private"]).await?;
    let peer = TurnPeer::start().await?;
    let mut args = vec!["-t".to_owned(), "-W".to_owned(), node.turn_secret()?];
    args.extend(relay_args(&node, peer.port, 2, 50, &[]));
    // uclient_args aims at the UDP port; point it at the TCP one.
    let at = args.iter().position(|a| a == "-p").expect("a -p argument") + 1;
    args[at] = node.turn_tcp.port().to_string();
    let (status, out) = run_bounded("turnutils_uclient", "coturn", &args, TOOL_LIMIT).await?;
    let report = parse_uclient(&out)
        .unwrap_or_else(|| panic!("uclient over TCP did not finish a run ({status}):\n{out}"));
    assert_eq!(
        (report.sent, report.received, report.lost),
        (100, 100, 0),
        "{out}"
    );
    Ok(())
}

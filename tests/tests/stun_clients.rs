//! Third-party STUN clients — stund's `stun` (RFC 3489) and coturn's `turnutils_stunclient` (RFC 5389) — learn
//! their true address from a real node's STUN server, and the node's TURN port answers Binding too.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use hearsay_tests::Node;
use hearsay_tests::relay_tools::{binding_request, free_udp_port, run_bounded, stun_exchange};

const TOOL_LIMIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stund_client_gets_its_own_address_in_mapped_address() -> anyhow::Result<()> {
    let node = Node::start("stun-stund").await?;
    let port = free_udp_port();
    // Test 1 of stund's client is a plain Binding request; -p fixes its source port so the answer is checkable.
    let (status, out) = run_bounded(
        "stun",
        "stun-client",
        &[
            node.stun.to_string(),
            "1".into(),
            "-v".into(),
            "-p".into(),
            port.to_string(),
        ],
        TOOL_LIMIT,
    )
    .await?;
    let mapped = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("MappedAddress = "))
        .unwrap_or_else(|| panic!("stun printed no MappedAddress ({status}):\n{out}"));
    assert_eq!(
        mapped.trim(),
        format!("127.0.0.1:{port}"),
        "stun output:\n{out}"
    );
    assert!(
        out.contains("ok=1"),
        "stund's client did not accept the response:\n{out}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stund_nat_test_reports_an_open_host_on_loopback() -> anyhow::Result<()> {
    let node = Node::start("stun-stund-nat").await?;
    // The full RFC 3489 run: change-request tests get 420 (one socket cannot answer from elsewhere); the
    // primary test must still succeed.
    let (_, out) = run_bounded("stun", "stun-client", &[node.stun.to_string()], TOOL_LIMIT).await?;
    assert!(out.contains("Primary: Open"), "stun output:\n{out}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coturn_stunclient_gets_its_own_address_in_xor_mapped_address() -> anyhow::Result<()> {
    let node = Node::start("stun-coturn").await?;
    let (status, out) = run_bounded(
        "turnutils_stunclient",
        "coturn",
        &[
            "-p".into(),
            node.stun.port().to_string(),
            "127.0.0.1".into(),
        ],
        TOOL_LIMIT,
    )
    .await?;
    assert!(
        status.success(),
        "turnutils_stunclient failed ({status}):\n{out}"
    );
    let reflexive: SocketAddr = out
        .lines()
        .find_map(|l| l.split("UDP reflexive addr: ").nth(1))
        .unwrap_or_else(|| panic!("no reflexive address printed:\n{out}"))
        .trim()
        .parse()?;
    assert_eq!(reflexive.ip(), Ipv4Addr::LOCALHOST);
    assert_ne!(reflexive.port(), 0);
    assert_ne!(reflexive.port(), node.stun.port());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_binding_gets_the_exact_source_address_from_stun_and_turn_ports() -> anyhow::Result<()>
{
    let node = Node::start("stun-raw").await?;
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    let me = socket.local_addr()?;
    for (server, what) in [(node.stun, "STUN"), (node.turn, "TURN")] {
        let id = *b"hearsay-test";
        let reply = stun_exchange(&socket, server, &binding_request(id), id)?;
        assert_eq!(
            reply.message_type, 0x0101,
            "{what} port: not a Binding success: {reply:?}"
        );
        assert_eq!(
            reply.xor_mapped,
            Some(me),
            "{what} port mapped the wrong address"
        );
    }
    Ok(())
}

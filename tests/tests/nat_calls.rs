//! Calls between homes: each person's node and browser run on a host of a network-namespace testbed — on the
//! public internet, behind a port-restricted cone NAT, behind a symmetric NAT, or behind a firewall that lets no
//! UDP out (gossip then goes over TCP to the hub, media over TURN over TCP) — with one public node ("hub") as
//! everyone's bootstrap peer. Each pairing must connect with audio and video both ways using only what the nodes
//! found over gossip (STUN and TURN of reachable nodes, credentials lent by signed private messages); the test
//! reads the selected candidate pair from getStats and checks it is direct where hole punching works and relayed
//! through the hub's TURN where it cannot. Each test prints its row: the pair, hearsay's set-up time (click on Call
//! to ICE connected on the caller's page, the callee answering at once), and a plain WebRTC call over the same
//! NATs with coturn on the hub (the control: STUN, TURN over UDP and TCP; offer and answer with all candidates,
//! handed over by the test), timed
//! the same way in the same browsers; both after the browsers have opened their devices once.
//!
//! Needs root (CI runs as root); fails saying so otherwise.

use hearsay_tests::call_page::{CallPath, Person};
use hearsay_tests::netbed::{Host, Nat, Testbed};
use hearsay_tests::plain_call::{Coturn, plain_call};
use hearsay_tests::{Browser, Node};

/// A testbed with the hub and two people on it. Fields drop in order: browsers and nodes before the testbed.
struct Homes {
    a: Person,
    b: Person,
    _hub: Node,
    hub_host: Host,
    /// Public IPs of the nodes that offer TURN to others (the hub, and the caller when it is public).
    relay_ips: Vec<String>,
    bed: Testbed,
}

async fn homes(caller: Nat, callee: Nat) -> anyhow::Result<Homes> {
    let mut bed = Testbed::new()?;
    let hub_host = bed.add_host("hub", Nat::Public)?;
    let a_host = bed.add_host("alice", caller)?;
    let b_host = bed.add_host("bob", callee)?;
    let hub = Node::start_in_namespace(&hub_host.ns, "hub", &[]).await?;
    let bootstrap = hub_host.gossip_addr().to_string();
    let a = Node::start_in_namespace(&a_host.ns, "alice", &["--peers", &bootstrap]).await?;
    let b = Node::start_in_namespace(
        &b_host.ns,
        "bob",
        &["--peers", &bootstrap, hearsay_tests::AUTO_ACCEPT],
    )
    .await?;
    let a = Person::open_in(a, Browser::start_in_namespace(&a_host.ns).await?).await?;
    let b = Person::open_in(b, Browser::start_in_namespace(&b_host.ns).await?).await?;
    for (p, host) in [(&a, &a_host), (&b, &b_host)] {
        let reachable = p.wait_network_known().await?;
        let expected = if host.nat == Nat::Public { "yes" } else { "no" };
        anyhow::ensure!(
            reachable == expected,
            "{} ({}) shows reachable from outside: {reachable}, expected {expected}",
            host.name,
            host.nat.label()
        );
        // The address to hand a friend is the one the internet sees, not the LAN's.
        let shown = p.browser.text(".own-addr").await?.unwrap_or_default();
        anyhow::ensure!(
            shown == format!("{}:5000", host.public_ip),
            "{}'s page gives {shown:?} as its address; peers see it at {}",
            host.name,
            host.public_ip
        );
    }
    let mut relay_ips = vec![hub_host.public_ip.to_string()];
    if a_host.nat == Nat::Public {
        relay_ips.push(a_host.public_ip.to_string());
    }
    Ok(Homes {
        a,
        b,
        _hub: hub,
        hub_host,
        relay_ips,
        bed,
    })
}

/// What a pairing must show.
enum Expect {
    /// Hole punching works: neither end may be a relay candidate.
    Direct,
    /// It cannot: one end is a relay candidate on the hub's TURN.
    RelayedByHub,
    /// The callee's network blocks UDP: its end is a relay candidate on the hub's TURN, reached over TCP.
    CalleeRelayedOverTcp,
}

async fn pairing(caller: Nat, callee: Nat, expect: Expect) -> anyhow::Result<()> {
    let h = homes(caller, callee).await?;
    // Both calls below are timed in browsers that have used their devices once, so neither pays for that.
    h.a.warm_up_devices().await?;
    h.b.warm_up_devices().await?;
    let setup_ms = match h.a.timed_call(&h.b, "video").await {
        Ok(ms) => ms,
        Err(err) => {
            let caller_notice = h.a.browser.text("#call-notice").await.ok().flatten();
            let callee_notice = h.b.browser.text("#call-notice").await.ok().flatten();
            anyhow::bail!(
                "{err:#}; caller's notice {caller_notice:?}, callee's notice {callee_notice:?}"
            );
        }
    };
    h.b.wait_phase("in_call").await?;
    h.a.wait_media_flowing().await?;
    h.b.wait_media_flowing().await?;
    let hub_ip = h.hub_host.public_ip.to_string();
    let paths: Vec<CallPath> = match expect {
        Expect::Direct => {
            let mut paths = Vec::new();
            for p in [&h.a, &h.b] {
                paths.push(
                    p.wait_path("direct (no relay)", |path| !path.relayed())
                        .await?,
                );
            }
            paths
        }
        Expect::RelayedByHub => {
            let mut paths = Vec::new();
            for p in [&h.a, &h.b] {
                paths.push(p.wait_path("known", |_| true).await?);
            }
            anyhow::ensure!(
                paths.iter().all(CallPath::relayed),
                "{}×{} cannot punch through, yet the path is {} / {}",
                caller.label(),
                callee.label(),
                paths[0],
                paths[1]
            );
            let via_hub = paths
                .iter()
                .any(|p| p.local == "relay" && p.local_address == hub_ip);
            anyhow::ensure!(
                via_hub,
                "the relay must be the hub's TURN ({hub_ip}): {} / {}",
                paths[0],
                paths[1]
            );
            paths
        }
        Expect::CalleeRelayedOverTcp => {
            let caller = h.a.wait_path("known", |_| true).await?;
            let callee =
                h.b.wait_path("a relay over TCP", |p| {
                    p.local == "relay" && p.relay_protocol == "tcp"
                })
                .await?;
            // Bob's node hands his page up to two relays found over gossip; with a public caller both the hub and
            // the caller's node offer one, and which the browser's ICE nominates is its own (timing-dependent)
            // choice. What matters: a TURN over TCP of a node found over gossip.
            anyhow::ensure!(
                h.relay_ips.contains(&callee.local_address),
                "the relay must be the TURN of a public node ({:?}): {callee}",
                h.relay_ips
            );
            vec![caller, callee]
        }
    };
    h.a.click("#hang-up").await?;
    h.a.wait_phase("ended:HungUpByYou").await?;
    h.b.wait_phase("ended:HungUpByPeer").await?;

    let coturn = Coturn::start(&h.hub_host).await?;
    let (control_ms, control_path) = plain_call(&h.a, &h.b, &coturn).await?;
    println!(
        "nat matrix | {:>9} × {:<9} | hearsay {} / {} | set-up {:.0} ms | control (plain WebRTC, coturn) {} | {:.0} ms",
        caller.label(),
        callee.label(),
        paths[0],
        paths[1],
        setup_ms,
        control_path,
        control_ms
    );
    drop(coturn);
    let Homes {
        a, b, _hub, bed, ..
    } = h;
    drop((a, b, _hub));
    drop(bed);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_and_public_call_host_to_host() -> anyhow::Result<()> {
    pairing(Nat::Public, Nat::Public, Expect::Direct).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cone_and_cone_punch_through_without_a_relay() -> anyhow::Result<()> {
    pairing(Nat::Cone, Nat::Cone, Expect::Direct).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_and_symmetric_connect_directly() -> anyhow::Result<()> {
    pairing(Nat::Public, Nat::Symmetric, Expect::Direct).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cone_and_symmetric_relay_through_the_hub() -> anyhow::Result<()> {
    pairing(Nat::Cone, Nat::Symmetric, Expect::RelayedByHub).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symmetric_and_symmetric_relay_through_the_hub() -> anyhow::Result<()> {
    pairing(Nat::Symmetric, Nat::Symmetric, Expect::RelayedByHub).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cone_and_udp_blocked_relay_over_tcp_through_the_hub() -> anyhow::Result<()> {
    pairing(Nat::Cone, Nat::UdpBlocked, Expect::CalleeRelayedOverTcp).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_and_udp_blocked_relay_over_tcp_through_the_hub() -> anyhow::Result<()> {
    pairing(Nat::Public, Nat::UdpBlocked, Expect::CalleeRelayedOverTcp).await
}

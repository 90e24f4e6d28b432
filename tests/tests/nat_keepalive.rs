//! A person behind a stingy home router stays reachable and callable while idle: the routers here forget an idle
//! UDP mapping after 5 s (Linux's defaults are 30 s and 120 s), and after a minute with no call the callee behind a
//! symmetric NAT — whose router would give any new mapping a new port, which its peers would not know — is still
//! known to the hub at the same public address and port it had, still shows as reachable, and takes a call with
//! media both ways. What holds the mappings open is the gossip keepalive.
//!
//! Needs root (CI runs as root); fails saying so otherwise.

use std::time::Duration;

use hearsay_shared::page::PeerView;
use hearsay_tests::call_page::Person;
use hearsay_tests::netbed::{Nat, Testbed};
use hearsay_tests::page_socket::PageSocket;
use hearsay_tests::{Browser, Node};

/// The hub's live peers at `ip` (a router's public address), as `ip:port`.
fn peers_at(peers: &[PeerView], ip: &str) -> Vec<String> {
    peers
        .iter()
        .filter(|p| p.live && p.addr.starts_with(&format!("{ip}:")))
        .map(|p| p.addr.clone())
        .collect()
}

const MAPPING_TIMEOUT_SECS: u32 = 5;
const IDLE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callee_behind_a_stingy_router_is_still_callable_after_a_minute_idle() -> anyhow::Result<()>
{
    let mut bed = Testbed::new()?;
    let hub_host = bed.add_host("hub", Nat::Public)?;
    let a_host = bed.add_host("alice", Nat::Cone)?;
    let b_host = bed.add_host("bob", Nat::Symmetric)?;
    for host in [&a_host, &b_host] {
        bed.set_udp_mapping_timeout(host, MAPPING_TIMEOUT_SECS)?;
    }
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
    a.wait_network_known().await?;
    b.wait_network_known().await?;
    a.wait_reachable(&b).await?;
    let bob_ip = b_host.public_ip.to_string();
    let mut hub_page = PageSocket::connect(&hub).await?;
    hub_page
        .wait_peers(
            "the hub to list bob's mapping",
            Duration::from_secs(10),
            |p| peers_at(p, &bob_ip).len() == 1,
        )
        .await?;
    let mapping = peers_at(&hub_page.peers, &bob_ip);
    drop(hub_page);

    tokio::time::sleep(IDLE).await;

    // A fresh look: the first peers list a new page connection gets is current.
    let mut hub_page = PageSocket::connect(&hub).await?;
    hub_page
        .wait_peers("the hub's peers list", Duration::from_secs(10), |p| {
            !p.is_empty()
        })
        .await?;
    assert_eq!(
        peers_at(&hub_page.peers, &bob_ip),
        mapping,
        "bob's router kept the same mapping through {IDLE:?} idle (a new one would have a new port)"
    );

    let hub_row = format!(r#"li.peer[data-addr="{bootstrap}"]"#);
    assert_eq!(
        b.browser.attr(&hub_row, "data-live").await?.as_deref(),
        Some("true"),
        "bob's hub link is still live after {IDLE:?} idle"
    );
    a.wait_reachable(&b).await?;
    a.call(&b, "video").await?;
    a.wait_phase("in_call").await?;
    a.wait_media_flowing().await?;
    b.wait_media_flowing().await?;
    drop((a, b, hub));
    drop(bed);
    Ok(())
}

//! Hostile traffic at a real node's open ports does not stop it serving its user: a flood of 25 000 fresh-key route
//! rumors at 2000/s into a line of five nodes leaves a newcomer reachable end to end and the page's heartbeat
//! flowing; 30 s of junk at the gossip, STUN and TURN ports leave pages, peers and both servers working; a flood of
//! Allocate requests from many sources does not starve a real TURN client. RSS before and after is printed.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer, SigningKey};
use hearsay_shared::gossip::{
    self, MAX_RUMORS_PER_DATAGRAM, Packet, PublicKey, RouteAnnouncement, Rumor, Signature,
    SignedRoute,
};
use hearsay_shared::page::ServerMsg;
use hearsay_tests::gossip_peer::become_peer;
use hearsay_tests::page_socket::PageSocket;
use hearsay_tests::relay_tools::{
    TurnPeer, binding_request, run_uclient, stun_attribute, stun_exchange, stun_message,
    uclient_args,
};
use hearsay_tests::{Node, rss_kib, wait_until};
use tokio::net::UdpSocket;

/// A user with a key made for the flood, announcing itself once.
fn fresh_rumor(i: u64) -> Rumor {
    let mut seed = [0xf1; 32];
    seed[..8].copy_from_slice(&i.to_be_bytes());
    let signing = SigningKey::from_bytes(&seed);
    let route = RouteAnnouncement {
        origin: PublicKey(signing.verifying_key().to_bytes()),
        seq: 1,
        name: format!("flood {i}"),
        addrs: vec![SocketAddr::from((
            [198, 51, 100, (i % 250) as u8 + 1],
            5000,
        ))],
        services: Vec::new(),
    };
    let signature = Signature::from_bytes(&signing.sign(&route.signed_bytes()).to_bytes());
    Rumor {
        signed: SignedRoute { route, signature }.into(),
        hops: 0,
    }
}

/// Waits for `key` to be reachable in the watcher's list, counting the heartbeats that arrive meanwhile.
async fn wait_reachable_counting_heartbeats(
    watcher: &mut PageSocket,
    key: PublicKey,
    limit: Duration,
) -> anyhow::Result<u32> {
    let mut heartbeats = 0;
    let deadline = Instant::now() + limit;
    while !watcher.reachable(key) {
        let left = deadline.saturating_duration_since(Instant::now());
        anyhow::ensure!(!left.is_zero(), "not reachable within {limit:?}");
        if let Ok(msg) = tokio::time::timeout(left, watcher.recv()).await
            && matches!(msg?, ServerMsg::Heartbeat { .. })
        {
            heartbeats += 1;
        }
    }
    Ok(heartbeats)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_key_route_flood_into_a_line_leaves_room_for_a_newcomer() -> anyhow::Result<()> {
    let mut line = vec![Node::start_gossip("flood0", &[]).await?];
    for i in 1..5 {
        let node = Node::start_gossip(&format!("flood{i}"), &[&line[i - 1]]).await?;
        line.push(node);
    }
    let mut watcher = PageSocket::connect(&line[0]).await?;
    let far = line[4].key;
    watcher
        .wait_users("the whole line", Duration::from_secs(60), |users| {
            users.iter().any(|u| u.key == far && u.reachable)
        })
        .await?;
    let pid = line[0].pid()?;
    let rss_before = rss_kib(pid)?;

    // The flooder: a peer of the first node (it proves it receives), sending 8 fresh users per datagram.
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    become_peer(&socket, line[0].gossip).await?;
    const FLOOD: u64 = 25_000;
    const PER_SECOND: u64 = 2_000;
    let datagrams: Vec<Vec<u8>> = (0..FLOOD)
        .map(fresh_rumor)
        .collect::<Vec<_>>()
        .chunks(MAX_RUMORS_PER_DATAGRAM)
        .map(|batch| gossip::encode(&Packet::Rumors(batch.to_vec())))
        .collect::<Result<_, _>>()?;
    let target = line[0].gossip;
    let sent = Arc::new(AtomicU64::new(0));
    let counted = sent.clone();
    let flood = tokio::spawn(async move {
        let every = Duration::from_micros(1_000_000 * MAX_RUMORS_PER_DATAGRAM as u64 / PER_SECOND);
        let mut tick = tokio::time::interval(every);
        let started = Instant::now();
        for datagram in &datagrams {
            tick.tick().await;
            socket.send_to(datagram, target).await?;
            counted.fetch_add(MAX_RUMORS_PER_DATAGRAM as u64, Ordering::Relaxed);
        }
        anyhow::Ok(started.elapsed())
    });

    // Once 10 000 of the flood's rumors are out, a real user starts at the far end of the line.
    wait_until(
        "10 000 rumors of the flood sent",
        Duration::from_secs(30),
        || {
            let sent = sent.load(Ordering::Relaxed);
            async move { Ok(sent >= 10_000) }
        },
    )
    .await?;
    let newcomer = Node::start_gossip("newcomer", &[&line[4]]).await?;
    let joined = Instant::now();
    let heartbeats =
        wait_reachable_counting_heartbeats(&mut watcher, newcomer.key, Duration::from_secs(15))
            .await?;
    let reachable_after = joined.elapsed();
    let id = watcher
        .send_private(newcomer.key, "hello through the flood")
        .await?;
    watcher
        .wait_for("delivery to the newcomer", Duration::from_secs(15), |m| {
            matches!(m, ServerMsg::PrivateDelivered { message_id } if *message_id == id)
                .then_some(())
        })
        .await?;
    let delivered_after = joined.elapsed();
    let flood_took = flood.await??;
    // Whatever the page has been sent meanwhile, it still gets its heartbeat.
    let beat = watcher
        .wait_for(
            "a heartbeat after the flood",
            Duration::from_secs(12),
            |m| matches!(m, ServerMsg::Heartbeat { .. }).then_some(()),
        )
        .await;
    let rss_after = rss_kib(pid)?;
    let users = watcher.users.len();
    eprintln!(
        "route flood: {FLOOD} fresh keys in {:.1} s; newcomer reachable from the first node's page {:.1} s and a \
         message delivered {:.1} s after it started ({heartbeats} heartbeats meanwhile); the page lists {users} \
         users; first node RSS {} KiB before, {} KiB after",
        flood_took.as_secs_f64(),
        reachable_after.as_secs_f64(),
        delivered_after.as_secs_f64(),
        rss_before,
        rss_after
    );
    beat?;
    assert!(users < 20_001, "the table stays bounded");
    assert!(
        rss_after < 512 * 1024,
        "RSS {rss_after} KiB after the flood: not bounded"
    );
    Ok(())
}

/// Junk for every port: random bytes of many sizes, framed STUN with garbage, gossip-looking datagrams.
fn junk(seed: u32) -> Vec<Vec<u8>> {
    let mut x = seed | 1;
    let mut random = |len: usize| -> Vec<u8> {
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect()
    };
    let mut out: Vec<Vec<u8>> = [1usize, 2, 20, 21, 64, 300, 1199, 1200, 1201, 1500]
        .iter()
        .map(|&n| random(n))
        .collect();
    let id = [9u8; 12];
    out.push(stun_message(0x0001, id, &stun_attribute(0x0020, &[0, 9])));
    out.push(stun_message(
        0x0003,
        id,
        &stun_attribute(0x0019, &[17, 0, 0, 0]),
    ));
    out.push(stun_message(
        0x0008,
        id,
        &stun_attribute(0x0012, &[0, 1, 0]),
    ));
    for version in [gossip::WIRE_VERSION, 1, 0xff] {
        let mut g = vec![version];
        g.extend(random(40));
        out.push(g);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_at_every_port_for_30_s_leaves_pages_peers_and_servers_working() -> anyhow::Result<()>
{
    let a = Node::start_with("junk-a", &["--relay-allow-private"]).await?;
    let b = Node::start_gossip("junk-b", &[&a]).await?;
    let mut page = PageSocket::connect(&a).await?;
    page.wait_users("b reachable", Duration::from_secs(30), |u| {
        u.iter().any(|u| u.key == b.key && u.reachable)
    })
    .await?;
    let pid = a.pid()?;
    let rss_before = rss_kib(pid)?;
    let ports = [a.gossip, a.stun, a.turn];
    const SECONDS: u64 = 30;
    const PER_PORT_PER_SECOND: u64 = 5_000;
    let flood = tokio::spawn(async move {
        let sockets = [
            UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?,
            UdpSocket::bind((Ipv4Addr::new(127, 0, 0, 2), 0)).await?,
            UdpSocket::bind((Ipv4Addr::new(127, 0, 0, 3), 0)).await?,
        ];
        let batteries: Vec<Vec<Vec<u8>>> = (0..3).map(|i| junk(0x9e37_79b9 ^ i)).collect();
        let mut sent = 0u64;
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        let per_tick = PER_PORT_PER_SECOND / 100;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(SECONDS) {
            tick.tick().await;
            for (i, port) in ports.iter().enumerate() {
                let battery = &batteries[i];
                for k in 0..per_tick {
                    let datagram = &battery[(sent + k) as usize % battery.len()];
                    // Loopback can refuse a burst now and then (ENOBUFS): the flood goes on.
                    let _ = sockets[i].send_to(datagram, port).await;
                }
            }
            sent += per_tick;
        }
        anyhow::Ok(sent * 3)
    });

    // Meanwhile, every few seconds: the page hears heartbeats, a message reaches b, STUN and TURN answer.
    let checker = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    let mut rounds = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(SECONDS) {
        let id = page.send_private(b.key, "still here").await?;
        page.wait_for(
            "delivery to b under the flood",
            Duration::from_secs(15),
            |m| {
                matches!(m, ServerMsg::PrivateDelivered { message_id } if *message_id == id)
                    .then_some(())
            },
        )
        .await?;
        page.wait_for(
            "a heartbeat under the flood",
            Duration::from_secs(12),
            |m| matches!(m, ServerMsg::Heartbeat { .. }).then_some(()),
        )
        .await?;
        for server in [a.stun, a.turn] {
            let rid = [rounds as u8; 12];
            stun_exchange(&checker, server, &binding_request(rid), rid)
                .map_err(|e| e.context(format!("{server} under the flood")))?;
        }
        rounds += 1;
    }
    let sent = flood.await??;
    let rss_after = rss_kib(pid)?;

    // And TURN still relays end to end.
    let peer = TurnPeer::start().await?;
    let args = uclient_args(
        a.turn.port(),
        peer.port,
        1,
        50,
        170,
        &["-W".into(), a.turn_secret()?],
    );
    let (report, out) = run_uclient(&args).await?;
    eprintln!(
        "junk flood: {sent} datagrams over {SECONDS} s at gossip, STUN and TURN; {rounds} rounds of message + \
         heartbeat + STUN + TURN answered; RSS {rss_before} KiB before, {rss_after} KiB after; uclient then {}/{} \
         relayed",
        report.received, report.sent
    );
    assert!(report.sent >= 50, "{out}");
    assert_eq!((report.received, report.lost), (report.sent, 0), "{out}");
    assert!(rounds >= 2, "only {rounds} check rounds ran in {SECONDS} s");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allocate_flood_from_many_sources_does_not_starve_a_real_client() -> anyhow::Result<()> {
    let node = Node::start_with("allocate-flood", &["--relay-allow-private"]).await?;
    let turn = node.turn;
    let stop = Arc::new(AtomicBool::new(false));
    let flooding = stop.clone();
    let sent_so_far = Arc::new(AtomicU64::new(0));
    let counted = sent_so_far.clone();
    // 100 sources (127.0.1.1 – 127.0.1.100), 20 000 nonce-less Allocates a second together (200 each: ten times
    // what a source may be answered), bounded in rate so the test measures the node, not a saturated machine.
    let flood = tokio::spawn(async move {
        let mut sockets = Vec::new();
        for i in 1..=100u8 {
            sockets.push(UdpSocket::bind((Ipv4Addr::new(127, 0, 1, i), 0)).await?);
        }
        let mut sent = 0u64;
        let started = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        while !flooding.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(60) {
            tick.tick().await;
            for _ in 0..2 {
                for (i, socket) in sockets.iter().enumerate() {
                    let mut id = [0u8; 12];
                    id[..8].copy_from_slice(&sent.to_be_bytes());
                    id[8] = i as u8;
                    let request = stun_message(0x0003, id, &stun_attribute(0x0019, &[17, 0, 0, 0]));
                    let _ = socket.send_to(&request, turn).await;
                    sent += 1;
                }
            }
            counted.store(sent, Ordering::Relaxed);
        }
        anyhow::Ok((sent, started.elapsed()))
    });
    // The real client starts once the flood is under way (a second's worth sent).
    wait_until(
        "20 000 Allocates of the flood sent",
        Duration::from_secs(30),
        || {
            let sent = sent_so_far.load(Ordering::Relaxed);
            async move { Ok(sent >= 20_000) }
        },
    )
    .await?;
    let peer = TurnPeer::start().await?;
    let args = uclient_args(
        turn.port(),
        peer.port,
        5,
        50,
        170,
        &["-W".into(), node.turn_secret()?],
    );
    let result = run_uclient(&args).await;
    stop.store(true, Ordering::Relaxed);
    let (sent, took) = flood.await??;
    let (report, out) = result?;
    eprintln!(
        "allocate flood: {sent} nonce-less Allocates from 100 sources in {:.1} s ({:.0}/s); 5 real clients relayed \
         {}/{} meanwhile",
        took.as_secs_f64(),
        sent as f64 / took.as_secs_f64(),
        report.received,
        report.sent
    );
    assert!(report.sent >= 250, "{out}");
    assert_eq!((report.received, report.lost), (report.sent, 0), "{out}");
    Ok(())
}

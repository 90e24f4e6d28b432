//! The page with ten thousand users: fabricated, properly signed route announcements are injected into a real
//! node's gossip port (as a peer of it would send them), and the node's page — in a real browser — still lists
//! everyone, finds one by search, and calls them; no WebSocket frame on the way is over the page's limit.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer, SigningKey};
use hearsay_shared::gossip::{
    self, Packet, PublicKey, RouteAnnouncement, Rumor, Signature, SignedRoute,
};
use hearsay_shared::page::MAX_FRAME_BYTES;
use hearsay_tests::call_page::{LIMIT, Person};
use hearsay_tests::fantoccini::Locator;
use hearsay_tests::page_socket::PageSocket;
use hearsay_tests::{AUTO_ACCEPT, Node, wait_until};

const FAKE_USERS: usize = 10_000;

/// What the page says above its users list ("10001 users", "2 of 10001 users").
async fn users_count(p: &Person) -> anyhow::Result<String> {
    Ok(p.browser.text("#users-count").await?.unwrap_or_default())
}

/// `n` users with keys from fixed seeds, each announcing itself as `name(i)` at a documentation address.
fn fabricated(n: usize, name: impl Fn(usize) -> String) -> Vec<Rumor> {
    let seq = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_millis() as u64);
    (0..n)
        .map(|i| {
            let mut seed = [0x5a; 32];
            seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let signing = SigningKey::from_bytes(&seed);
            let route = RouteAnnouncement {
                origin: PublicKey(signing.verifying_key().to_bytes()),
                seq,
                name: name(i),
                addrs: vec![SocketAddr::from(([192, 0, 2, (i % 250) as u8 + 1], 5000))],
                services: Vec::new(),
            };
            let signature = Signature::from_bytes(&signing.sign(&route.signed_bytes()).to_bytes());
            Rumor {
                signed: SignedRoute { route, signature }.into(),
                hops: 0,
            }
        })
        .collect()
}

/// Packs `rumors` into as few datagrams as fit.
fn datagrams(rumors: &[Rumor]) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut batch: Vec<Rumor> = Vec::new();
    for rumor in rumors {
        batch.push(rumor.clone());
        let fits = batch.len() <= gossip::MAX_RUMORS_PER_DATAGRAM
            && gossip::encoded_len(&Packet::Rumors(batch.clone())) <= gossip::MAX_DATAGRAM_BYTES;
        if !fits {
            let last = batch.pop().expect("just pushed");
            out.push(gossip::encode(&Packet::Rumors(std::mem::take(&mut batch)))?);
            batch.push(last);
        }
    }
    if !batch.is_empty() {
        out.push(gossip::encode(&Packet::Rumors(batch))?);
    }
    Ok(out)
}

/// Sends `packets` to `to` with at most [`WINDOW`] of them unanswered. The node acknowledges every batch of rumors
/// with a status, so this goes at the speed the node reads; a datagram lost on the way gets no answer and counts as
/// answered after [`ACK_WAIT`] (the caller resends whatever the node still lacks).
async fn send_paced(
    socket: &tokio::net::UdpSocket,
    to: SocketAddr,
    packets: &[Vec<u8>],
) -> anyhow::Result<()> {
    const WINDOW: usize = 8;
    const ACK_WAIT: Duration = Duration::from_millis(50);
    let mut unanswered = 0usize;
    let mut buf = [0u8; 2048];
    for packet in packets {
        while unanswered >= WINDOW {
            match tokio::time::timeout(ACK_WAIT, socket.recv_from(&mut buf)).await {
                Ok(received) => {
                    if received?.1 == to {
                        unanswered -= 1;
                    }
                }
                Err(_) => unanswered -= 1,
            }
        }
        socket.send_to(packet, to).await?;
        unanswered += 1;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_users_are_listed_searched_and_called() -> anyhow::Result<()> {
    let alice = Node::start_gossip("alice", &[]).await?;
    let bob = Node::start_gossip_with("bob", &[&alice], &[AUTO_ACCEPT]).await?;
    let (alice, bob) = (Person::open(alice).await?, Person::open(bob).await?);
    alice.wait_reachable(&bob).await?;

    // Ten thousand others, one of them also called "bob", sent to alice's node as a peer would.
    let rumors = fabricated(FAKE_USERS, |i| {
        if i == 4_242 {
            "bob".into()
        } else {
            format!("user {i:05}")
        }
    });
    let socket = tokio::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    hearsay_tests::gossip_peer::become_peer(&socket, alice.node.gossip).await?;
    let mut watcher = PageSocket::connect(&alice.node).await?;
    let total = FAKE_USERS + 1; // and bob
    let started = Instant::now();
    let mut sent = 0;
    // Datagrams may be dropped on a busy loopback: send what is still missing again, a bounded number of times.
    for round in 0..6 {
        let known: std::collections::HashSet<PublicKey> =
            watcher.users.iter().map(|u| u.key).collect();
        let missing: Vec<Rumor> = rumors
            .iter()
            .filter(|r| !known.contains(&r.signed.route.origin))
            .cloned()
            .collect();
        let packets = datagrams(&missing)?;
        send_paced(&socket, alice.node.gossip, &packets).await?;
        sent += packets.len();
        let all_known = watcher
            .wait_users("every fabricated user", Duration::from_secs(15), |users| {
                users.len() >= total
            })
            .await;
        if all_known.is_ok() {
            break;
        }
        anyhow::ensure!(
            round < 5,
            "alice's node lists {} of {total} users after 6 rounds",
            watcher.users.len()
        );
    }
    eprintln!(
        "{total} users known to alice's node {:.1} s after the first datagram ({} datagrams)",
        started.elapsed().as_secs_f64(),
        sent
    );

    // The page lists everyone, renders only what is in view, and shows no refused frame.
    wait_until("alice's page to count every user", LIMIT, || async {
        Ok(users_count(&alice)
            .await?
            .starts_with(&format!("{total} users")))
    })
    .await?;
    let rendered = alice
        .browser
        .client
        .find_all(Locator::Css("li.user"))
        .await?
        .len();
    assert!(
        (1..=40).contains(&rendered),
        "{rendered} rows rendered for {total} users: the list must render only what is in view"
    );
    assert_eq!(alice.browser.text("#last-error").await?, None);

    // Search finds both bobs; they are marked as sharing a name; the real one is called by his key.
    let search = alice
        .browser
        .client
        .find(Locator::Css("#user-search"))
        .await?;
    let typed = Instant::now();
    search.send_keys("bob").await?;
    wait_until("the search to narrow the list", LIMIT, || async {
        Ok(users_count(&alice).await?.starts_with("2 of "))
    })
    .await?;
    eprintln!(
        "search over {total} users answered {:.0} ms after typing (webdriver round trips included)",
        typed.elapsed().as_secs_f64() * 1000.0
    );
    let marked = alice
        .browser
        .client
        .find_all(Locator::Css("li.user.same-name"))
        .await?
        .len();
    assert_eq!(marked, 2, "both bobs are marked");
    alice.call(&bob, "video").await?;
    alice.wait_phase("in_call").await?;
    bob.wait_phase("in_call").await?;

    // Scrolling to the end of the whole list shows its last rows, still only a window of them.
    // Empty the search as a person would, with an input event (set in one step: the field is controlled, and a
    // re-render between a clear and the next key would put "bob" back).
    wait_until("the whole list to be back", LIMIT, || async {
        alice
            .browser
            .client
            .execute(
                "const s = document.querySelector('#user-search'); s.value = ''; \
                 s.dispatchEvent(new InputEvent('input', {bubbles: true}));",
                vec![],
            )
            .await?;
        Ok(users_count(&alice)
            .await?
            .starts_with(&format!("{total} users")))
    })
    .await?;
    let last_row = || async {
        let probe = alice
            .browser
            .client
            .execute(
                "const v = document.querySelector('.users-viewport'); \
                 v.scrollTop = v.scrollHeight; v.dispatchEvent(new Event('scroll')); \
                 const rows = document.querySelectorAll('ul.users li.user .name'); \
                 return {top: v.scrollTop, height: v.scrollHeight, rows: rows.length, \
                         last: rows.length ? rows[rows.length - 1].textContent : null};",
                vec![],
            )
            .await?;
        anyhow::Ok(probe)
    };
    // Scrolled (again) on every try: the spacers that give the list its height are sized after a render.
    wait_until("the last rows to render", LIMIT, || async {
        let probe = last_row().await?;
        Ok(probe["last"]
            .as_str()
            .is_some_and(|n| n.starts_with("user ")))
    })
    .await?;
    let rendered = alice
        .browser
        .client
        .find_all(Locator::Css("li.user"))
        .await?
        .len();
    assert!(rendered <= 40, "{rendered} rows rendered after scrolling");

    assert!(
        watcher.largest_frame <= MAX_FRAME_BYTES,
        "the node sent a {} byte frame (limit {MAX_FRAME_BYTES})",
        watcher.largest_frame
    );
    eprintln!(
        "largest WebSocket frame while {total} users arrived: {} bytes (limit {MAX_FRAME_BYTES})",
        watcher.largest_frame
    );
    Ok(())
}

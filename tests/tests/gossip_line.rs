//! Real `hearsay` processes on loopback, driven through their pages' WebSockets: five nodes in a line route a
//! private message from one end to the other, and a peer deleted from the page stays deleted while it keeps
//! sending.

use std::time::Duration;

use hearsay_shared::page::{ClientMsg, ServerMsg};
use hearsay_tests::Node;
use hearsay_tests::page_socket::PageSocket;

/// Bound of waits for the overlay to form or change (route rumors go out at start and spread in well under this).
const FORM: Duration = Duration::from_secs(30);

/// `n` nodes, each peered with the one before it.
async fn line(n: usize) -> anyhow::Result<Vec<Node>> {
    let mut nodes: Vec<Node> = Vec::with_capacity(n);
    for i in 0..n {
        let before: Vec<&Node> = nodes.last().into_iter().collect();
        nodes.push(Node::start_gossip(&format!("n{i}"), &before).await?);
    }
    Ok(nodes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_message_crosses_five_nodes_in_a_line() -> anyhow::Result<()> {
    let nodes = line(5).await?;
    let mut first = PageSocket::connect(&nodes[0]).await?;
    let mut last = PageSocket::connect(&nodes[4]).await?;
    let (first_key, last_key) = (first.key, last.key);
    first
        .wait_users("n0 to reach n4 in 4 hops", FORM, |users| {
            users
                .iter()
                .any(|u| u.key == last_key && u.reachable && u.hops == Some(4) && u.name == "n4")
        })
        .await?;

    let payload = "x".repeat(5000) + " — end to end"; // several datagrams' worth: split and reassembled
    let id = first.send_private(last_key, &payload).await?;
    let (from, from_name, got) = last
        .wait_for("n4 to receive the message", FORM, |m| match m {
            ServerMsg::PrivateReceived {
                from,
                from_name,
                payload,
                ..
            } => Some((*from, from_name.clone(), payload.clone())),
            _ => None,
        })
        .await?;
    assert_eq!(from, first_key, "the sender is the signer, n0");
    assert_eq!(from_name.as_deref(), Some("n0"));
    assert_eq!(got, payload);
    first
        .wait_for("n0 to hear the message was delivered", FORM, |m| match m {
            ServerMsg::PrivateDelivered { message_id } if *message_id == id => Some(Ok(())),
            ServerMsg::PrivateFailed { message_id } if *message_id == id => {
                Some(Err(anyhow::anyhow!("n0 was told the message failed")))
            }
            _ => None,
        })
        .await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_peer_stays_deleted_until_added_again() -> anyhow::Result<()> {
    let nodes = line(3).await?;
    let (mut a, mut b) = (
        PageSocket::connect(&nodes[0]).await?,
        PageSocket::connect(&nodes[1]).await?,
    );
    let b_addr = nodes[1].gossip.to_string();
    let far_key = PageSocket::connect(&nodes[2]).await?.key;
    a.wait_users("n0 to reach n2 through n1", FORM, |users| {
        users.iter().any(|u| u.key == far_key && u.reachable)
    })
    .await?;
    a.wait_peers("n0 to list n1 as a live peer", FORM, |peers| {
        peers.iter().any(|p| p.addr == b_addr && p.live)
    })
    .await?;

    a.send(ClientMsg::DeletePeer {
        addr: b_addr.clone(),
    })
    .await?;
    a.wait_peers("n1 to leave n0's peers", FORM, |peers| {
        peers.iter().all(|p| p.addr != b_addr)
    })
    .await?;
    a.wait_users("routes through n1 to go", FORM, |users| {
        !users.iter().any(|u| u.key == far_key && u.reachable)
    })
    .await?;

    // n1 still has n0 as its peer and keeps gossiping to it. Watch n0 while n1 sends it several status rounds
    // (one a second) and route rumors: the deleted peer must not come back, nor the routes through it.
    let a_addr = nodes[0].gossip.to_string();
    b.wait_peers("n1 to still list n0", FORM, |peers| {
        peers.iter().any(|p| p.addr == a_addr)
    })
    .await?;
    let watch = tokio::time::sleep(Duration::from_secs(6));
    tokio::pin!(watch);
    loop {
        tokio::select! {
            _ = &mut watch => break,
            msg = a.recv() => {
                msg?;
                assert!(a.peers.iter().all(|p| p.addr != b_addr), "a deleted peer came back: {:?}", a.peers);
                assert!(!a.reachable(far_key), "a route through a deleted peer came back");
            }
        }
    }

    a.send(ClientMsg::AddPeer {
        addr: b_addr.clone(),
    })
    .await?;
    a.wait_users(
        "n0 to reach n2 again once n1 is added back",
        FORM,
        |users| users.iter().any(|u| u.key == far_key && u.reachable),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_peer_addresses_get_a_clear_error() -> anyhow::Result<()> {
    let node = Node::start_gossip("n0", &[]).await?;
    let mut page = PageSocket::connect(&node).await?;
    for bad in ["not an address", "127.0.0.1", "127.0.0.1:99999", "[::1]:x"] {
        page.send(ClientMsg::AddPeer { addr: bad.into() }).await?;
        let message = page
            .wait_for("an error for a bad address", FORM, |m| match m {
                ServerMsg::Error { code, message } => Some((*code, message.clone())),
                _ => None,
            })
            .await?;
        assert_eq!(
            message.0,
            hearsay_shared::page::ErrorCode::BadAddress,
            "{bad}: {}",
            message.1
        );
        assert!(
            message.1.contains(bad),
            "the error names the input: {}",
            message.1
        );
    }
    assert!(page.peers.is_empty(), "nothing was added: {:?}", page.peers);
    Ok(())
}

//! A captured call invite replayed does not ring again: a recording UDP proxy between two real nodes captures the
//! datagrams of a delivered invite and replays them once the callee's page has it (inside the replay window, where
//! the node remembers the id); the callee's page gets the invite once. The replay after the window, refused by the
//! invite's signed time, needs 90 s to pass: `node/tests/sim_replayed_message.rs` runs it in virtual time.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearsay_shared::call::{CallId, CallMedia, Signal};
use hearsay_shared::page::ServerMsg;
use hearsay_tests::Node;
use hearsay_tests::page_socket::PageSocket;
use tokio::net::UdpSocket;

/// Forwards datagrams between `a` (whoever sends to `toward_a`'s address) and the node at `b`, recording what goes
/// from a to b.
struct RecordingProxy {
    /// The address a node uses as its peer to reach `b` through the proxy.
    addr: SocketAddr,
    toward_b: Arc<UdpSocket>,
    b: SocketAddr,
    recorded: Arc<Mutex<Vec<Vec<u8>>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RecordingProxy {
    async fn start(b: SocketAddr) -> anyhow::Result<Self> {
        let toward_a = Arc::new(UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?);
        let toward_b = Arc::new(UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?);
        let a_addr: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let recorded: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let forward = {
            let (from, to, a_addr, recorded) = (
                toward_a.clone(),
                toward_b.clone(),
                a_addr.clone(),
                recorded.clone(),
            );
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                while let Ok((len, src)) = from.recv_from(&mut buf).await {
                    *a_addr.lock().unwrap() = Some(src);
                    recorded.lock().unwrap().push(buf[..len].to_vec());
                    let _ = to.send_to(&buf[..len], b).await;
                }
            })
        };
        let back = {
            let (from, to, a_addr) = (toward_b.clone(), toward_a.clone(), a_addr.clone());
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                while let Ok((len, _)) = from.recv_from(&mut buf).await {
                    let a = *a_addr.lock().unwrap();
                    if let Some(a) = a {
                        let _ = to.send_to(&buf[..len], a).await;
                    }
                }
            })
        };
        Ok(Self {
            addr: toward_a.local_addr()?,
            toward_b,
            b,
            recorded,
            tasks: vec![forward, back],
        })
    }

    /// Sends everything recorded from a to b again, as b would see a replay on the wire.
    async fn replay(&self, recorded: &[Vec<u8>]) -> anyhow::Result<()> {
        for datagram in recorded {
            self.toward_b.send_to(datagram, self.b).await?;
        }
        Ok(())
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.tasks.iter().for_each(|t| t.abort());
    }
}

/// Invites received by the page in `window` with this payload.
async fn invites_received(page: &mut PageSocket, payload: &str, window: Duration) -> usize {
    let mut seen = 0;
    let _ = page
        .wait_for("the window to pass", window, |m| {
            if matches!(m, ServerMsg::PrivateReceived { payload: p, .. } if p == payload) {
                seen += 1;
            }
            None::<()>
        })
        .await;
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_captured_invite_replayed_does_not_ring_again() -> anyhow::Result<()> {
    let bob = Node::start_gossip("bob", &[]).await?;
    let proxy = RecordingProxy::start(bob.gossip).await?;
    let alice = Node::start_with(
        "alice",
        &["--relay-allow-private", "--peers", &proxy.addr.to_string()],
    )
    .await?;
    let mut alice_page = PageSocket::connect(&alice).await?;
    let mut bob_page = PageSocket::connect(&bob).await?;
    alice_page
        .wait_users(
            "bob reachable through the proxy",
            Duration::from_secs(30),
            |u| u.iter().any(|u| u.key == bob.key && u.reachable),
        )
        .await?;

    let invite = serde_json::to_string(&Signal::Invite {
        call: CallId(4242),
        media: CallMedia::AudioVideo,
        offer: "v=0 an offer".into(),
    })?;
    proxy.recorded.lock().unwrap().clear();
    let id = alice_page.send_private(bob.key, &invite).await?;
    alice_page
        .wait_for("delivery", Duration::from_secs(10), |m| {
            matches!(m, ServerMsg::PrivateDelivered { message_id } if *message_id == id)
                .then_some(())
        })
        .await?;
    let captured = proxy.recorded.lock().unwrap().clone();
    assert_eq!(
        invites_received(&mut bob_page, &invite, Duration::from_secs(1)).await,
        1,
        "the invite rings once"
    );

    // Replayed now, past the copy window and inside the replay window: the message id is remembered.
    proxy.replay(&captured).await?;
    let again = invites_received(&mut bob_page, &invite, Duration::from_secs(3)).await;
    eprintln!(
        "replayed {} captured datagrams after delivery: the page got the invite {again} more times",
        captured.len()
    );
    assert_eq!(again, 0, "a replayed invite reached the page");
    // And bob's node still takes new messages from alice.
    let id = alice_page.send_private(bob.key, "a new message").await?;
    alice_page
        .wait_for("delivery after the replays", Duration::from_secs(10), |m| {
            matches!(m, ServerMsg::PrivateDelivered { message_id } if *message_id == id)
                .then_some(())
        })
        .await?;
    Ok(())
}

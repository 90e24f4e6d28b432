//! The page's state as a reducer: every change is an [`Action`], applied by [`PageState::apply`]. Nothing here
//! touches the browser, so it is tested with plain `cargo test`.

use std::rc::Rc;

use hearsay_shared::page::{GossipIdentity, NetworkView, NodeIdentity, PeerView, ServerMsg};
use yew::Reducible;

use crate::call::view::CallView;
use crate::users::UserList;

/// The link between the page and its node.
#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    /// Opening the WebSocket. `attempt` counts failures since the last good connection.
    Connecting { attempt: u32 },
    /// The node said hello on this connection.
    Connected,
    /// The connection is gone; the next attempt starts in `retry_in_ms`.
    Disconnected { attempt: u32, retry_in_ms: u32 },
    /// The node refuses this browser: it has no token (the page was not opened from the node's URL, or the node
    /// restarted since). Attempts go on, so logging in from another tab is picked up.
    NeedsToken,
}

impl Link {
    /// The word the indicator shows. Retrying after a loss still counts as disconnected to a person.
    pub fn label(&self) -> &'static str {
        match self {
            Link::Connected => "connected",
            Link::Connecting { attempt: 0 } => "connecting",
            Link::Connecting { .. } | Link::Disconnected { .. } => "disconnected",
            Link::NeedsToken => "locked",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PageState {
    pub link: Link,
    /// The node's identity, from its last hello. Kept while disconnected so the page still says whose node it is.
    pub node: Option<NodeIdentity>,
    /// The last error the node reported or the page hit, for the status line.
    pub last_error: Option<String>,
    /// The call, as the call runtime last published it.
    pub call: CallView,
    /// This node on the overlay (key, fingerprint, gossip address).
    pub gossip: Option<GossipIdentity>,
    pub peers: Vec<PeerView>,
    /// Behind an `Rc`: ten thousand users are not copied on every other action.
    pub users: Rc<UserList>,
    /// How the node is seen from outside and the relays calls use; `None` until the node says.
    pub network: Option<NetworkView>,
}

impl Default for PageState {
    fn default() -> Self {
        Self {
            link: Link::Connecting { attempt: 0 },
            node: None,
            last_error: None,
            call: CallView::default(),
            gossip: None,
            peers: Vec::new(),
            users: Rc::default(),
            network: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The link service is opening a connection.
    Connecting { attempt: u32 },
    /// A message arrived from the node.
    Received(ServerMsg),
    /// A frame from the node could not be decoded.
    BadFrame(String),
    /// The connection closed or could not be opened.
    Lost { attempt: u32, retry_in_ms: u32 },
    /// The node refused the connection for want of its token.
    NeedsToken,
    /// The call runtime published a new view of the call.
    Call(Box<CallView>),
}

impl PageState {
    pub fn apply(&mut self, action: Action) {
        match action {
            // Still locked until the node says hello: attempts go on behind the notice.
            Action::Connecting { .. } if self.link == Link::NeedsToken => {}
            Action::Connecting { attempt } => self.link = Link::Connecting { attempt },
            Action::Received(msg) => self.receive(msg),
            Action::BadFrame(err) => {
                self.last_error = Some(format!("Unreadable message from the node: {err}"))
            }
            Action::Lost {
                attempt,
                retry_in_ms,
            } => {
                self.link = Link::Disconnected {
                    attempt,
                    retry_in_ms,
                }
            }
            Action::NeedsToken => self.link = Link::NeedsToken,
            Action::Call(view) => self.call = *view,
        }
    }

    fn receive(&mut self, msg: ServerMsg) {
        match msg {
            ServerMsg::Hello(identity) => {
                self.node = Some(identity);
                self.link = Link::Connected;
                self.last_error = None;
            }
            ServerMsg::GossipInfo(info) => self.gossip = Some(info),
            ServerMsg::Peers { peers } => self.peers = peers,
            ServerMsg::Network(view) => self.network = Some(view),
            ServerMsg::Users {
                reset,
                upsert,
                remove,
            } => Rc::make_mut(&mut self.users).apply(reset, &upsert, &remove),
            // Calls are the call runtime's business; it receives these too.
            ServerMsg::Heartbeat { .. }
            | ServerMsg::IceServers(_)
            | ServerMsg::PrivateAccepted { .. }
            | ServerMsg::PrivateDelivered { .. }
            | ServerMsg::PrivateFailed { .. }
            | ServerMsg::PrivateReceived { .. } => {}
            ServerMsg::Error { message, .. } => {
                self.last_error = Some(format!("The node said: {message}"))
            }
        }
    }
}

impl Reducible for PageState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        next.apply(action);
        Rc::new(next)
    }
}

/// How long to wait before reconnect attempt `attempt` (1, 2, …): exponential from 250 ms, capped at 5 s, spread by
/// `jitter` in [0, 1) over ±20 % so many pages do not reconnect in lockstep after a node restart.
pub fn retry_delay_ms(attempt: u32, jitter: f64) -> u32 {
    let base = 250u32
        .saturating_mul(1 << attempt.saturating_sub(1).min(5))
        .min(5_000);
    let spread = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    (f64::from(base) * spread) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearsay_shared::page::UserView;

    fn hello(name: &str) -> Action {
        Action::Received(ServerMsg::Hello(NodeIdentity {
            name: name.into(),
            version: "0.1.0".into(),
            testing: Default::default(),
        }))
    }

    #[test]
    fn a_refused_page_stays_locked_until_the_node_says_hello() {
        let mut s = PageState::default();
        s.apply(Action::NeedsToken);
        s.apply(Action::Connecting { attempt: 3 });
        assert_eq!(s.link, Link::NeedsToken);
        assert_eq!(s.link.label(), "locked");
        s.apply(hello("alice"));
        assert_eq!(s.link, Link::Connected);
    }

    #[test]
    fn hello_connects_and_names_the_node() {
        let mut s = PageState::default();
        assert_eq!(s.link.label(), "connecting");
        s.apply(hello("alice"));
        assert_eq!(s.link.label(), "connected");
        assert_eq!(s.node.as_ref().unwrap().name, "alice");
    }

    #[test]
    fn losing_the_node_shows_disconnected_until_the_next_hello() {
        let mut s = PageState::default();
        s.apply(hello("alice"));
        s.apply(Action::Lost {
            attempt: 1,
            retry_in_ms: 250,
        });
        assert_eq!(s.link.label(), "disconnected");
        s.apply(Action::Connecting { attempt: 1 });
        assert_eq!(
            s.link.label(),
            "disconnected",
            "a retry is not yet a connection"
        );
        assert_eq!(
            s.node.as_ref().unwrap().name,
            "alice",
            "the name stays while away"
        );
        s.apply(hello("alice"));
        assert_eq!(s.link, Link::Connected);
    }

    #[test]
    fn node_errors_are_shown_and_cleared_by_a_new_hello() {
        let mut s = PageState::default();
        s.apply(Action::Received(ServerMsg::Error {
            code: hearsay_shared::page::ErrorCode::NotJson,
            message: "frame is not JSON".into(),
        }));
        assert!(s.last_error.as_ref().unwrap().contains("not JSON"));
        s.apply(hello("alice"));
        assert_eq!(s.last_error, None);
    }

    fn user(name: &str, reachable: bool) -> UserView {
        UserView {
            key: hearsay_shared::gossip::PublicKey([name.as_bytes()[0]; 32]),
            name: name.into(),
            fingerprint: "ab:cd".into(),
            hops: reachable.then_some(1),
            reachable,
        }
    }

    #[test]
    fn users_are_listed_reachable_first_then_by_name() {
        let mut s = PageState::default();
        s.apply(Action::Received(ServerMsg::Users {
            reset: true,
            upsert: vec![user("zed", true), user("amy", false), user("bob", true)],
            remove: vec![],
        }));
        let names: Vec<&str> = s.users.all().iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["bob", "zed", "amy"]);
    }

    #[test]
    fn backoff_grows_then_caps() {
        let mid = |a| retry_delay_ms(a, 0.5);
        assert_eq!(mid(1), 250);
        assert_eq!(mid(2), 500);
        assert_eq!(mid(3), 1000);
        assert_eq!(mid(6), 5000);
        assert_eq!(mid(60), 5000);
        assert_eq!(retry_delay_ms(1, 0.0), 200);
        assert_eq!(retry_delay_ms(1, 0.999_999), 299);
    }
}

//! Call signals on their way through the node. A [`Signal`] goes out as the JSON payload of a `SendPrivate`; the
//! node answers with the message id it gave it, and later says whether it was delivered. [`SignalBook`] keeps
//! which (peer, call) each request and then each message id belongs to, so a delivery failure reaches the call
//! machine. It is bounded, and the entries of the call under way are never the ones dropped to make room.
//!
//! [`received_signal`] reads a `PrivateReceived` as a signal from a peer whose key the node verified, named from
//! the users list when it is there.

use std::collections::HashMap;

use hearsay_shared::call::{CallId, Signal};
use hearsay_shared::gossip::PublicKey;
use hearsay_shared::page::{ClientMsg, MessageId, UserView};

use super::types::Peer;

/// Most signals remembered, per map, for delivery reports.
pub const MAX_TRACKED_SIGNALS: usize = 512;

type Entry = (PublicKey, CallId);

#[derive(Debug, Default)]
pub struct SignalBook {
    next_request: u32,
    by_request: HashMap<u32, Entry>,
    by_message: HashMap<MessageId, Entry>,
}

/// Makes room in `map` by dropping entries of other calls than `live`; returns whether there is room now.
fn make_room<K>(map: &mut HashMap<K, Entry>, live: Option<CallId>) -> bool {
    if map.len() >= MAX_TRACKED_SIGNALS {
        map.retain(|_, (_, call)| Some(*call) == live);
    }
    map.len() < MAX_TRACKED_SIGNALS
}

impl SignalBook {
    /// The message that sends `signal` to `to`, remembering it under a fresh request number. `live` is the call
    /// under way.
    pub fn outgoing(&mut self, to: PublicKey, signal: &Signal, live: Option<CallId>) -> ClientMsg {
        self.next_request = self.next_request.wrapping_add(1);
        let request = self.next_request;
        if make_room(&mut self.by_request, live) {
            self.by_request.insert(request, (to, signal.call()));
        }
        ClientMsg::SendPrivate {
            request,
            to,
            // Plain data with string keys: serialization cannot fail.
            payload: serde_json::to_string(signal).expect("signals serialize"),
        }
    }

    /// The node accepted request `request` as message `message_id`.
    pub fn accepted(&mut self, request: u32, message_id: MessageId, live: Option<CallId>) {
        if let Some(entry) = self.by_request.remove(&request)
            && make_room(&mut self.by_message, live)
        {
            self.by_message.insert(message_id, entry);
        }
    }

    pub fn delivered(&mut self, message_id: MessageId) {
        self.by_message.remove(&message_id);
    }

    /// Message `message_id` could not be delivered: the (peer, call) it was for, if it was a signal.
    pub fn failed(&mut self, message_id: MessageId) -> Option<(PublicKey, CallId)> {
        self.by_message.remove(&message_id)
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.by_request.len() + self.by_message.len()
    }
}

/// A private message's payload as a call signal from `from`, named as the users list names it (a sender not listed
/// yet is named by the node's `from_name`, else "unknown", and fingerprinted from its key).
pub fn received_signal(
    from: PublicKey,
    from_name: Option<String>,
    payload: &str,
    listed: Option<&UserView>,
) -> Option<(Peer, Signal)> {
    // Private messages that are not call signals are not for the call.
    let signal = serde_json::from_str::<Signal>(payload).ok()?;
    let peer = Peer {
        key: from,
        name: from_name
            .or_else(|| listed.map(|u| u.name.clone()))
            .unwrap_or_else(|| "unknown".into()),
        fingerprint: listed.map_or_else(|| from.fingerprint(), |u| u.fingerprint.clone()),
    };
    Some((peer, signal))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> PublicKey {
        PublicKey([b; 32])
    }

    fn hang_up(call: u64) -> Signal {
        Signal::HangUp { call: CallId(call) }
    }

    fn request_of(msg: &ClientMsg) -> u32 {
        match msg {
            ClientMsg::SendPrivate { request, .. } => *request,
            other => panic!("not a send: {other:?}"),
        }
    }

    #[test]
    fn a_failed_delivery_names_the_peer_and_call() {
        let mut book = SignalBook::default();
        let msg = book.outgoing(key(1), &hang_up(7), Some(CallId(7)));
        book.accepted(request_of(&msg), MessageId(99), Some(CallId(7)));
        assert_eq!(book.failed(MessageId(99)), Some((key(1), CallId(7))));
        assert_eq!(book.failed(MessageId(99)), None, "once");
        let msg = book.outgoing(key(1), &hang_up(7), Some(CallId(7)));
        book.accepted(request_of(&msg), MessageId(100), Some(CallId(7)));
        book.delivered(MessageId(100));
        assert_eq!(book.tracked(), 0);
    }

    #[test]
    fn when_full_other_calls_make_room_and_the_live_call_keeps_its_entries() {
        let mut book = SignalBook::default();
        let live = Some(CallId(2));
        let invite = book.outgoing(key(1), &hang_up(2), live);
        for _ in 0..MAX_TRACKED_SIGNALS * 3 {
            book.outgoing(key(3), &hang_up(1), live); // an old call's signals never accepted
        }
        book.accepted(request_of(&invite), MessageId(5), live);
        assert_eq!(
            book.failed(MessageId(5)),
            Some((key(1), CallId(2))),
            "the live call's entry survived"
        );
        assert!(book.tracked() <= 2 * MAX_TRACKED_SIGNALS);
    }

    #[test]
    fn only_signals_are_signals_and_senders_are_named_from_the_list() {
        let dora = UserView {
            key: key(4),
            name: "dora".into(),
            fingerprint: "fp".into(),
            hops: Some(1),
            reachable: true,
        };
        assert!(received_signal(key(4), None, "hello there", Some(&dora)).is_none());
        let (peer, signal) = received_signal(
            key(4),
            None,
            &serde_json::to_string(&hang_up(3)).unwrap(),
            Some(&dora),
        )
        .unwrap();
        assert_eq!(
            (peer.name.as_str(), peer.fingerprint.as_str()),
            ("dora", "fp")
        );
        assert_eq!(signal, hang_up(3));
        let (stranger, _) = received_signal(
            key(5),
            None,
            &serde_json::to_string(&hang_up(3)).unwrap(),
            None,
        )
        .unwrap();
        assert_eq!(stranger.name, "unknown");
        assert_eq!(stranger.fingerprint, key(5).fingerprint());
    }
}

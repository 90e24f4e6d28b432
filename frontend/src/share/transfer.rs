//! File transfers of one call, as plain data: what is offered, accepted, moving, done. The file channel
//! (`share::file_channel`) feeds it chunks and control frames and reads it for the view; the bytes themselves (the
//! sender's File, the receiver's Blob parts) stay in the browser. (Over 400 lines: about half are its tests.)
//!
//! A receiver trusts nothing: data past the offered size, data for a transfer it did not accept, or a digest that
//! does not match what arrived all fail the transfer. The digest is folded here from each chunk's SHA-256, which
//! the browser computes (`share::chunk_digest`), in the order of the chunks.

use sha2::{Digest, Sha256};

use super::wire::FileControl;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Outgoing,
    Incoming,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferState {
    /// Outgoing: offered, waiting for the peer's answer. Incoming: waiting for this person's answer.
    Offered,
    /// Accepted and moving (or queued behind another outgoing file).
    Moving,
    Done,
    Declined,
    Cancelled {
        by_peer: bool,
    },
    Failed(String),
}

impl TransferState {
    pub fn finished(&self) -> bool {
        !matches!(self, TransferState::Offered | TransferState::Moving)
    }
}

#[derive(Debug, Clone)]
pub struct Transfer {
    pub id: u32,
    pub direction: Direction,
    pub name: String,
    pub size: u64,
    pub state: TransferState,
    pub bytes: u64,
    pub started_at: Option<u64>,
    pub finished_at: Option<u64>,
    hasher: Sha256,
}

impl PartialEq for Transfer {
    fn eq(&self, other: &Self) -> bool {
        (self.id, self.direction, &self.state, self.bytes)
            == (other.id, other.direction, &other.state, other.bytes)
    }
}

impl Transfer {
    /// Bytes per second since the transfer started moving.
    pub fn rate(&self, now: u64) -> f64 {
        match self.started_at {
            Some(start) => {
                let end = self.finished_at.unwrap_or(now);
                let secs = (end.saturating_sub(start)) as f64 / 1000.0;
                if secs > 0.0 {
                    self.bytes as f64 / secs
                } else {
                    0.0
                }
            }
            None => 0.0,
        }
    }

    pub fn fraction(&self) -> f64 {
        if self.size == 0 {
            1.0
        } else {
            self.bytes as f64 / self.size as f64
        }
    }
}

/// Largest file a peer may offer (and the receiver's page must hold): 4 GiB.
pub const MAX_FILE_BYTES: u64 = 4 << 30;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transfers {
    pub list: Vec<Transfer>,
    next_id: u32,
}

/// What the file channel must do after the table changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferEffect {
    /// Send this control frame to the peer.
    Send(FileControl),
    /// Start (or queue) streaming outgoing transfer `id`.
    StartSending(u32),
    /// Stop streaming / drop the received parts of `id`.
    Drop(u32),
    /// Every byte of incoming `id` arrived and matched: build the file.
    Complete(u32),
}

impl Transfers {
    pub fn get(&self, id: u32, direction: Direction) -> Option<&Transfer> {
        self.list
            .iter()
            .find(|t| t.id == id && t.direction == direction)
    }

    fn get_mut(&mut self, id: u32, direction: Direction) -> Option<&mut Transfer> {
        self.list
            .iter_mut()
            .find(|t| t.id == id && t.direction == direction)
    }

    /// Incoming `id`, if it is accepted and still moving (the only state in which its data and Done count).
    fn moving_incoming(&mut self, id: u32) -> Option<&mut Transfer> {
        self.get_mut(id, Direction::Incoming)
            .filter(|t| t.state == TransferState::Moving)
    }

    /// This person offers a file; returns its id and the offer to send.
    pub fn offer(&mut self, name: String, size: u64, mime: String) -> (u32, TransferEffect) {
        let id = self.next_id;
        self.next_id += 1;
        let control = FileControl::Offer {
            id,
            name: name.clone(),
            size,
            mime: mime.clone(),
        };
        self.list
            .push(Transfer::new(id, Direction::Outgoing, name, size));
        (id, TransferEffect::Send(control))
    }

    /// This person answers an incoming offer.
    pub fn answer(&mut self, id: u32, accept: bool, now: u64) -> Vec<TransferEffect> {
        let Some(t) = self
            .get_mut(id, Direction::Incoming)
            .filter(|t| t.state == TransferState::Offered)
        else {
            return vec![];
        };
        if accept {
            t.state = TransferState::Moving;
            t.started_at = Some(now);
            vec![TransferEffect::Send(FileControl::Accept { id })]
        } else {
            t.state = TransferState::Declined;
            vec![TransferEffect::Send(FileControl::Decline { id })]
        }
    }

    /// This person cancels a transfer in either direction.
    pub fn cancel(&mut self, id: u32, direction: Direction, now: u64) -> Vec<TransferEffect> {
        let Some(t) = self.get_mut(id, direction).filter(|t| !t.state.finished()) else {
            return vec![];
        };
        t.state = TransferState::Cancelled { by_peer: false };
        t.finished_at = Some(now);
        vec![
            TransferEffect::Send(FileControl::Cancel { id }),
            TransferEffect::Drop(id),
        ]
    }

    /// A control frame from the peer. Ids in Offer/Done name the peer's outgoing transfers (our incoming ones);
    /// ids in Accept/Decline name ours; Cancel may name either, the peer's own first.
    pub fn handle_control(&mut self, control: FileControl, now: u64) -> Vec<TransferEffect> {
        match control {
            FileControl::Offer {
                id,
                name,
                size,
                // The claimed type is not used: every received file is saved as bytes (see FileChannel).
                mime: _,
            } => {
                if self.get(id, Direction::Incoming).is_some() {
                    return vec![];
                }
                // The sender chose the name: shown and saved only once it cannot hide, reorder or climb out.
                let name = hearsay_shared::text::file_name(&name);
                let mut t = Transfer::new(id, Direction::Incoming, name, size);
                if size > MAX_FILE_BYTES {
                    t.state = TransferState::Failed("the file is larger than 4 GiB".into());
                    self.list.push(t);
                    return vec![TransferEffect::Send(FileControl::Decline { id })];
                }
                self.list.push(t);
                vec![]
            }
            FileControl::Accept { id } => match self.get_mut(id, Direction::Outgoing) {
                Some(t) if t.state == TransferState::Offered => {
                    t.state = TransferState::Moving;
                    t.started_at = Some(now);
                    vec![TransferEffect::StartSending(id)]
                }
                _ => vec![],
            },
            FileControl::Decline { id } => {
                if let Some(t) = self
                    .get_mut(id, Direction::Outgoing)
                    .filter(|t| !t.state.finished())
                {
                    t.state = TransferState::Declined;
                    return vec![TransferEffect::Drop(id)];
                }
                vec![]
            }
            FileControl::Cancel { id } => {
                for direction in [Direction::Incoming, Direction::Outgoing] {
                    if let Some(t) = self.get_mut(id, direction).filter(|t| !t.state.finished()) {
                        t.state = TransferState::Cancelled { by_peer: true };
                        t.finished_at = Some(now);
                        return vec![TransferEffect::Drop(id)];
                    }
                }
                vec![]
            }
            FileControl::WholeFileDone { id, sha256: _ } => {
                let Some(t) = self.moving_incoming(id) else {
                    return vec![];
                };
                t.fail(
                    "the sender's hearsay is older and checks files another way: update both to exchange files",
                    now,
                )
            }
            FileControl::Done { id, digest } => {
                let Some(t) = self.moving_incoming(id) else {
                    return vec![];
                };
                let got = hex(&t.hasher.clone().finalize());
                if t.bytes != t.size {
                    let why = format!("{} of {} bytes arrived", t.bytes, t.size);
                    t.fail(&why, now)
                } else if got != digest.to_ascii_lowercase() {
                    t.fail(
                        "the file's digest does not match: the file was damaged",
                        now,
                    )
                } else {
                    t.finished_at = Some(now);
                    t.state = TransferState::Done;
                    vec![TransferEffect::Complete(id)]
                }
            }
        }
    }

    /// A chunk of `len` bytes of the peer's transfer `id` arrived. Returns whether to keep its bytes (and have
    /// them hashed into [`Transfers::chunk_digest`]).
    pub fn handle_chunk(&mut self, id: u32, len: u64, now: u64) -> Result<(), Vec<TransferEffect>> {
        let Some(t) = self.moving_incoming(id) else {
            return Err(vec![]); // not accepted, cancelled or unknown: drop the bytes
        };
        if t.bytes + len > t.size {
            t.state = TransferState::Failed("more data arrived than was offered".into());
            t.finished_at = Some(now);
            return Err(vec![
                TransferEffect::Send(FileControl::Cancel { id }),
                TransferEffect::Drop(id),
            ]);
        }
        t.bytes += len;
        Ok(())
    }

    /// The file channel sent `len` more bytes of outgoing `id`.
    pub fn sent(&mut self, id: u32, len: u64) {
        if let Some(t) = self.get_mut(id, Direction::Outgoing) {
            t.bytes += len;
        }
    }

    /// The SHA-256 of the next chunk of `id` (sent or received, in order).
    pub fn chunk_digest(&mut self, id: u32, direction: Direction, digest: &[u8]) {
        if let Some(t) = self.get_mut(id, direction) {
            t.hasher.update(digest);
        }
    }

    /// Every byte of outgoing `id` is sent and every chunk's digest folded: the Done frame to send.
    pub fn finish_outgoing(&mut self, id: u32, now: u64) -> Option<TransferEffect> {
        let t = self
            .get_mut(id, Direction::Outgoing)
            .filter(|t| t.state == TransferState::Moving)?;
        t.state = TransferState::Done;
        t.finished_at = Some(now);
        Some(TransferEffect::Send(FileControl::Done {
            id,
            digest: hex(&t.hasher.clone().finalize()),
        }))
    }

    /// Whether outgoing `id` should keep streaming.
    pub fn still_sending(&self, id: u32) -> bool {
        self.get(id, Direction::Outgoing)
            .is_some_and(|t| t.state == TransferState::Moving)
    }
}

impl Transfer {
    /// Ends an incoming transfer as failed, for `why`: its bytes are dropped.
    fn fail(&mut self, why: &str, now: u64) -> Vec<TransferEffect> {
        self.finished_at = Some(now);
        self.state = TransferState::Failed(why.into());
        vec![TransferEffect::Drop(self.id)]
    }

    fn new(id: u32, direction: Direction, name: String, size: u64) -> Self {
        Self {
            id,
            direction,
            name,
            size,
            state: TransferState::Offered,
            bytes: 0,
            started_at: None,
            finished_at: None,
            hasher: Sha256::new(),
        }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a whole transfer between two tables: returns the receiver's table.
    fn transfer(data: &[u8], tamper: bool) -> (Transfers, Vec<TransferEffect>) {
        let (mut tx, mut rx) = (Transfers::default(), Transfers::default());
        let (id, TransferEffect::Send(offer)) =
            tx.offer("a.bin".into(), data.len() as u64, "".into())
        else {
            panic!("an offer is a Send")
        };
        assert!(rx.handle_control(offer, 0).is_empty());
        let answer = rx.answer(id, true, 1);
        let [TransferEffect::Send(accept)] = answer.as_slice() else {
            panic!("{answer:?}")
        };
        assert_eq!(
            tx.handle_control(accept.clone(), 2),
            vec![TransferEffect::StartSending(id)]
        );
        for chunk in data.chunks(3) {
            tx.chunk_digest(id, Direction::Outgoing, &Sha256::digest(chunk));
            tx.sent(id, chunk.len() as u64);
            let mut chunk = chunk.to_vec();
            if tamper {
                chunk[0] ^= 1;
            }
            rx.handle_chunk(id, chunk.len() as u64, 3).unwrap();
            rx.chunk_digest(id, Direction::Incoming, &Sha256::digest(&chunk));
        }
        let Some(TransferEffect::Send(done)) = tx.finish_outgoing(id, 4) else {
            panic!()
        };
        let effects = rx.handle_control(done, 5);
        (rx, effects)
    }

    #[test]
    fn a_whole_file_arrives_and_its_hash_matches() {
        let (rx, effects) = transfer(b"hello world, this is a file", false);
        assert_eq!(effects, vec![TransferEffect::Complete(0)]);
        assert_eq!(
            rx.get(0, Direction::Incoming).unwrap().state,
            TransferState::Done
        );
    }

    #[test]
    fn damaged_data_fails_the_digest_check() {
        let (rx, effects) = transfer(b"hello world, this is a file", true);
        assert_eq!(effects, vec![TransferEffect::Drop(0)]);
        assert!(matches!(
            rx.get(0, Direction::Incoming).unwrap().state,
            TransferState::Failed(_)
        ));
    }

    #[test]
    fn an_older_senders_done_fails_the_transfer_saying_why() {
        let mut rx = Transfers::default();
        rx.handle_control(
            FileControl::Offer {
                id: 2,
                name: "x".into(),
                size: 3,
                mime: "".into(),
            },
            0,
        );
        rx.answer(2, true, 0);
        assert_eq!(rx.handle_chunk(2, 3, 0), Ok(()));
        let done = super::super::wire::decode_control(r#"{"type":"done","id":2,"sha256":"ab"}"#)
            .expect("an older page's Done is read");
        assert_eq!(rx.handle_control(done, 1), vec![TransferEffect::Drop(2)]);
        assert!(matches!(
            &rx.get(2, Direction::Incoming).unwrap().state,
            TransferState::Failed(why) if why.contains("older")
        ));
    }

    #[test]
    fn data_beyond_the_offer_or_unaccepted_is_refused() {
        let mut rx = Transfers::default();
        rx.handle_control(
            FileControl::Offer {
                id: 3,
                name: "x".into(),
                size: 4,
                mime: "".into(),
            },
            0,
        );
        assert_eq!(rx.handle_chunk(3, 2, 0), Err(vec![]), "not accepted yet");
        rx.answer(3, true, 0);
        assert_eq!(rx.handle_chunk(3, 3, 0), Ok(()));
        let refused = rx.handle_chunk(3, 2, 0).unwrap_err();
        assert!(refused.contains(&TransferEffect::Send(FileControl::Cancel { id: 3 })));
    }

    #[test]
    fn cancelling_from_either_side_leaves_both_clean() {
        let (mut tx, mut rx) = (Transfers::default(), Transfers::default());
        let (id, TransferEffect::Send(offer)) = tx.offer("big".into(), 100, "".into()) else {
            panic!()
        };
        rx.handle_control(offer, 0);
        let accept = rx.answer(id, true, 0);
        let [TransferEffect::Send(accept)] = accept.as_slice() else {
            panic!()
        };
        tx.handle_control(accept.clone(), 0);
        // The receiver cancels mid-way; the sender stops and both show it.
        let effects = rx.cancel(id, Direction::Incoming, 1);
        let TransferEffect::Send(cancel) = &effects[0] else {
            panic!()
        };
        assert_eq!(
            tx.handle_control(cancel.clone(), 1),
            vec![TransferEffect::Drop(id)]
        );
        assert!(!tx.still_sending(id));
        assert_eq!(
            tx.get(id, Direction::Outgoing).unwrap().state,
            TransferState::Cancelled { by_peer: true }
        );
        assert_eq!(
            rx.get(id, Direction::Incoming).unwrap().state,
            TransferState::Cancelled { by_peer: false }
        );
    }

    #[test]
    fn oversized_offers_are_declined() {
        let mut rx = Transfers::default();
        let effects = rx.handle_control(
            FileControl::Offer {
                id: 1,
                name: "huge".into(),
                size: MAX_FILE_BYTES + 1,
                mime: "".into(),
            },
            0,
        );
        assert_eq!(
            effects,
            vec![TransferEffect::Send(FileControl::Decline { id: 1 })]
        );
    }

    #[test]
    fn rate_is_bytes_over_elapsed_time() {
        let mut t = Transfer::new(0, Direction::Outgoing, "f".into(), 10_000_000);
        t.started_at = Some(1_000);
        t.bytes = 5_000_000;
        assert_eq!(t.rate(2_000), 5_000_000.0);
        assert_eq!(t.fraction(), 0.5);
    }
}

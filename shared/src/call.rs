//! Call signaling: what one page tells the other, carried as signed private messages over the gossip network.
//!
//! The caller's [`Signal::Invite`] carries its SDP offer so the callee can answer the moment the person accepts;
//! ICE candidates trickle in [`Signal::Candidate`] both ways from the start (the callee keeps them until it
//! accepts). No ICE server travels in signaling: each page uses the STUN and TURN servers its own node chose for it
//! (its own when reachable, else reachable nodes' found over gossip), so a caller can neither hand out its TURN
//! credentials nor point the callee's browser anywhere. [`Signal::Description`] renegotiates a running call (ICE
//! restart).
//!
//! Nothing here trusts the sender's claims about identity: the node verifies the gossip signature and tells the page
//! which key sent a signal, and a page only acts on signals for its current call from that call's peer key.

use serde::{Deserialize, Serialize};

/// Largest SDP either side accepts, in bytes. Real offers for audio + video + data are 3–8 KB.
pub const MAX_SDP_BYTES: usize = 32 * 1024;
/// Largest ICE candidate line, in bytes.
pub const MAX_CANDIDATE_BYTES: usize = 1024;

/// Random per call, chosen by the caller. Signals for another call id are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CallId(pub u64);

/// What a side sends. Receiving needs no choice: a side takes whatever tracks arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallMedia {
    AudioVideo,
    AudioOnly,
    /// Nothing: camera and microphone unavailable, the side still sees and hears the other.
    ReceiveOnly,
}

impl CallMedia {
    pub fn audio(self) -> bool {
        !matches!(self, CallMedia::ReceiveOnly)
    }
    pub fn video(self) -> bool {
        matches!(self, CallMedia::AudioVideo)
    }
    /// What to try when this could not be had: drop the camera first, then the microphone.
    pub fn fallback(self) -> Option<CallMedia> {
        match self {
            CallMedia::AudioVideo => Some(CallMedia::AudioOnly),
            CallMedia::AudioOnly => Some(CallMedia::ReceiveOnly),
            CallMedia::ReceiveOnly => None,
        }
    }
}

/// An ICE candidate as RTCIceCandidateInit has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceCandidate {
    pub candidate: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_m_line_index: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SdpKind {
    Offer,
    Answer,
}

/// A call signal between two pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "signal", rename_all = "snake_case")]
pub enum Signal {
    /// "Ring them": the caller's offer and what it sends.
    Invite {
        call: CallId,
        media: CallMedia,
        offer: String,
    },
    /// The callee picked up: its answer.
    Accept { call: CallId, answer: String },
    Candidate {
        call: CallId,
        candidate: IceCandidate,
    },
    /// The callee declined.
    Reject { call: CallId },
    /// The callee is already in a call.
    Busy { call: CallId },
    /// The caller gave up before an answer.
    Cancel { call: CallId },
    /// Either side ended the call.
    HangUp { call: CallId },
    /// Renegotiation of a running call.
    Description {
        call: CallId,
        kind: SdpKind,
        sdp: String,
    },
    /// What the sender currently sends, so the other side can say "camera off" or "sharing their screen".
    MediaState {
        call: CallId,
        mic_on: bool,
        camera_on: bool,
        #[serde(default)]
        screen_on: bool,
    },
}

/// Why a signal is refused before it reaches the call logic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignalError {
    #[error("SDP of {0} bytes is over the limit")]
    SdpTooLarge(usize),
    #[error("ICE candidate of {0} bytes is over the limit")]
    CandidateTooLarge(usize),
}

impl Signal {
    pub fn call(&self) -> CallId {
        match self {
            Signal::Invite { call, .. }
            | Signal::Accept { call, .. }
            | Signal::Candidate { call, .. }
            | Signal::Reject { call }
            | Signal::Busy { call }
            | Signal::Cancel { call }
            | Signal::HangUp { call }
            | Signal::Description { call, .. }
            | Signal::MediaState { call, .. } => *call,
        }
    }

    /// Checks the size bounds of a signal that came from the network.
    pub fn validate(&self) -> Result<(), SignalError> {
        let sdp = |s: &String| {
            if s.len() > MAX_SDP_BYTES {
                Err(SignalError::SdpTooLarge(s.len()))
            } else {
                Ok(())
            }
        };
        match self {
            Signal::Invite { offer, .. } => sdp(offer),
            Signal::Accept { answer, .. } => sdp(answer),
            Signal::Description { sdp: s, .. } => sdp(s),
            Signal::Candidate { candidate, .. }
                if candidate.candidate.len() > MAX_CANDIDATE_BYTES =>
            {
                Err(SignalError::CandidateTooLarge(candidate.candidate.len()))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_round_trip_as_json() {
        let s = Signal::Candidate {
            call: CallId(7),
            candidate: IceCandidate {
                candidate: "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host".into(),
                sdp_mid: Some("0".into()),
                sdp_m_line_index: Some(0),
            },
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Signal>(&json).unwrap(), s);
        assert_eq!(s.call(), CallId(7));
    }

    #[test]
    fn oversized_parts_are_refused() {
        let big = "x".repeat(MAX_SDP_BYTES + 1);
        let invite = Signal::Invite {
            call: CallId(1),
            media: CallMedia::AudioVideo,
            offer: big.clone(),
        };
        assert!(matches!(
            invite.validate(),
            Err(SignalError::SdpTooLarge(_))
        ));
        let accept = Signal::Accept {
            call: CallId(1),
            answer: big,
        };
        assert!(matches!(
            accept.validate(),
            Err(SignalError::SdpTooLarge(_))
        ));
    }

    #[test]
    fn ice_servers_a_caller_sends_are_not_part_of_a_signal() {
        // A page of an older version lent its TURN credentials in the invite; they are dropped, never used.
        let json = r#"{"signal":"invite","call":5,"media":"audio_only","offer":"v=0",
            "ice_servers":[{"urls":["turn:10.0.0.1:3479"],"username":"u","credential":"p"}]}"#;
        let signal: Signal = serde_json::from_str(json).unwrap();
        assert_eq!(
            signal,
            Signal::Invite {
                call: CallId(5),
                media: CallMedia::AudioOnly,
                offer: "v=0".into()
            }
        );
        assert!(!serde_json::to_string(&signal).unwrap().contains("turn:"));
    }

    #[test]
    fn media_falls_back_camera_first() {
        assert_eq!(CallMedia::AudioVideo.fallback(), Some(CallMedia::AudioOnly));
        assert_eq!(
            CallMedia::AudioOnly.fallback(),
            Some(CallMedia::ReceiveOnly)
        );
        assert_eq!(CallMedia::ReceiveOnly.fallback(), None);
    }
}

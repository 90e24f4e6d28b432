//! The call machine's vocabulary: what goes in ([`Intent`], [`RtcEvent`], signals), what comes out ([`Effect`]),
//! and what a person sees ([`Phase`], [`CallInfo`]).

use hearsay_shared::call::{CallId, CallMedia, IceCandidate, Signal};
use hearsay_shared::gossip::PublicKey;
use hearsay_shared::ice::IceServer;

/// The other side of a call, as the node vouches for it (the key signed the signals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub key: PublicKey,
    pub name: String,
    pub fingerprint: String,
}

/// Who placed the call. The caller is the "impolite" side of a renegotiation: when both sides offer at once, the
/// caller's offer wins and the callee rolls its own back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Caller,
    Callee,
}

/// Where the call is, as a person sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Idle,
    RingingOut,
    RingingIn,
    Connecting,
    InCall,
    /// The media path broke during the call; an ICE restart is under way.
    Reconnecting,
    Ended(EndReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    HungUpByYou,
    HungUpByPeer,
    /// The callee declined.
    Declined,
    /// You declined an incoming call.
    DeclinedByYou,
    Busy,
    NoAnswer,
    /// An incoming call stopped ringing: the caller cancelled or nobody answered in time.
    Missed,
    CancelledByYou,
    /// The signaling could not be delivered to the peer's node.
    Unreachable,
    /// The media connection could not be made.
    ConnectionFailed,
    /// The media connection broke during the call and could not be restored in time.
    ConnectionLost,
}

impl EndReason {
    pub fn describe(self) -> &'static str {
        match self {
            EndReason::HungUpByYou => "You ended the call.",
            EndReason::HungUpByPeer => "They ended the call.",
            EndReason::Declined => "They declined the call.",
            EndReason::DeclinedByYou => "You declined the call.",
            EndReason::Busy => "They are in another call.",
            EndReason::NoAnswer => "No answer.",
            EndReason::Missed => "Missed call.",
            EndReason::CancelledByYou => "Call cancelled.",
            EndReason::Unreachable => "Could not reach them: the signaling was not delivered.",
            EndReason::ConnectionFailed => "The call could not connect.",
            EndReason::ConnectionLost => "The connection was lost and could not be restored.",
        }
    }
}

/// An incoming call that arrived while another was ringing: shown beside it, answerable instead of it, and rung
/// next if the ringing one ends unanswered.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitingCall {
    pub peer: Peer,
    pub id: CallId,
    pub media: CallMedia,
    /// When it arrived (ms on the machine's clock); it is dropped after the ring timeout.
    pub since: u64,
    pub(crate) offer: String,
    pub(crate) candidates: Vec<IceCandidate>,
}

/// What the person asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    Call {
        peer: Peer,
        media: CallMedia,
        call: CallId,
    },
    Accept {
        media: CallMedia,
    },
    Reject,
    /// Answer a waiting call instead of the ringing one (which is declined).
    AnswerWaiting {
        call: CallId,
        media: CallMedia,
    },
    /// Decline a waiting call; the ringing one goes on ringing.
    DeclineWaiting {
        call: CallId,
    },
    /// Stop ringing out.
    Cancel,
    HangUp,
    SetMic(bool),
    SetCamera(bool),
    /// Share the screen in place of the camera, or go back to the camera.
    SetScreen(bool),
    /// Leave the "call ended" view.
    Dismiss,
}

/// The browser's ICE connection state (RTCIceConnectionState), as far as the machine cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceState {
    Checking,
    Connected,
    Disconnected,
    Failed,
}

/// Results of browser work the machine asked for, and what the browser reports by itself.
#[derive(Debug, Clone, PartialEq)]
pub enum RtcEvent {
    /// Local media for `sending` is ready (ReceiveOnly needs none and is always ready).
    MediaReady {
        sending: CallMedia,
    },
    /// The camera is open ahead of the rest of the media (MediaReady or MediaUnavailable follows): its picture can
    /// be sent now.
    CameraReady,
    /// `wanted` could not be had (denied, no device…).
    MediaUnavailable {
        wanted: CallMedia,
        reason: String,
    },
    /// The offer asked for with [`Effect::CreateOffer`] is set locally.
    LocalOffer(String),
    /// The answer asked for with [`Effect::AnswerOffer`] is set locally.
    LocalAnswer(String),
    LocalCandidate(IceCandidate),
    Ice(IceState),
    /// Screen sharing started (the person picked a screen) or could not start.
    ScreenStarted,
    ScreenUnavailable(String),
    /// The person stopped sharing with the browser's own control.
    ScreenEnded,
    /// A browser call failed: the call cannot go on.
    Failed(String),
}

/// What the machine asks the page to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send a signal to the peer's key over the gossip network.
    Send {
        to: PublicKey,
        signal: Signal,
    },
    /// A new call begins: its chat, transfers and notices start empty.
    StartSession,
    /// Get camera/microphone for `media`, beside the other effects (the call does not wait for it); answer with
    /// CameraReady as soon as the camera is open, then MediaReady or MediaUnavailable.
    AcquireMedia(CallMedia),
    /// Make the RTCPeerConnection with these ICE servers: an audio and a video transceiver (send and receive) and
    /// the call's data channels, so local tracks can be attached whenever they are ready.
    OpenPeer {
        ice_servers: Vec<IceServer>,
    },
    /// Put the camera and microphone opened so far on the transceivers, and nothing on one whose device is not open
    /// (no renegotiation).
    AttachMedia,
    /// Create an offer (restarting ICE if asked) and set it locally; answer with LocalOffer.
    CreateOffer {
        ice_restart: bool,
    },
    /// Set the remote offer (after rolling back an offer of our own if `rollback`), add the held candidates,
    /// create and set an answer; answer with LocalAnswer.
    AnswerOffer {
        offer: String,
        candidates: Vec<IceCandidate>,
        rollback: bool,
    },
    /// Set the remote answer and add the held candidates.
    ApplyAnswer {
        answer: String,
        candidates: Vec<IceCandidate>,
    },
    AddCandidate(IceCandidate),
    /// The node chose other ICE servers (or fresh credentials) during a call: use them from now on (gathering after
    /// an ICE restart uses them).
    UpdateIceServers(Vec<IceServer>),
    SetMic(bool),
    SetCamera(bool),
    /// Ask for a screen (answer with ScreenStarted / ScreenUnavailable) and send it instead of the camera, or stop
    /// sharing and send the camera again.
    SetScreen(bool),
    /// Start or stop the ring sound and attention cues.
    Ring(bool),
    /// The call is over: cancel its file transfers in flight, close its channels and its connection, release the
    /// camera and microphone.
    EndSession,
    /// Tell the person something that does not end the call.
    Notice(String),
}

/// The details of the current (or last) call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallInfo {
    pub peer: Peer,
    pub id: CallId,
    pub role: Role,
    /// What the caller offered to send.
    pub offered: CallMedia,
    /// What this side sends (after any fallback).
    pub sending: CallMedia,
    pub mic_on: bool,
    pub camera_on: bool,
    /// This side sends its screen instead of its camera.
    pub screen_on: bool,
    pub peer_mic_on: bool,
    pub peer_camera_on: bool,
    pub peer_screen_on: bool,
    /// When the media first connected.
    pub connected_at: Option<u64>,
    /// The code both people can compare (see `share::safety`); known once both descriptions are.
    pub safety_code: Option<String>,
    /// ICE restarts so far in this call.
    pub restarts: u32,
}

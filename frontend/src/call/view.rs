//! What the components show of the call, assembled from the machine and the executors after every change, and
//! published only when it differs from what was last published.

use web_sys::MediaStream;

use super::types::{CallInfo, Phase, WaitingCall};
use crate::rtc::CallStats;
use crate::share::chat::ChatLog;
use crate::share::transfer::Transfers;

#[derive(Debug, Clone, PartialEq)]
pub struct CallView {
    pub phase: Phase,
    /// The call, with what the peer sends and the safety code.
    pub call: Option<CallInfo>,
    /// Incoming calls waiting beside the ringing one.
    pub waiting: Vec<WaitingCall>,
    /// The last thing worth telling the person (a fallback, a failure reason).
    pub notice: Option<String>,
    pub local: Option<MediaStream>,
    pub remote: Option<MediaStream>,
    pub stats: Option<CallStats>,
    /// This call's chat.
    pub chat: ChatLog,
    /// This call's file transfers, both ways.
    pub transfers: Transfers,
    /// Object URLs of received files, by incoming transfer id.
    pub downloads: Vec<(u32, String)>,
}

impl Default for CallView {
    fn default() -> Self {
        Self {
            phase: Phase::Idle,
            call: None,
            waiting: Vec::new(),
            notice: None,
            local: None,
            remote: None,
            stats: None,
            chat: ChatLog::default(),
            transfers: Transfers::default(),
            downloads: Vec::new(),
        }
    }
}

impl CallView {
    /// Whether the call has a connection whose stats are worth polling.
    pub fn has_connection(&self) -> bool {
        matches!(
            self.phase,
            Phase::Connecting | Phase::InCall | Phase::Reconnecting
        )
    }
}

//! The call's chat on its negotiated data channel: it owns the channel and the chat log (a reducer, [`ChatLog`]),
//! sends this person's messages and takes the peer's. Cheap to clone; clones share the channel and the log.

use std::cell::RefCell;
use std::rc::Rc;

use web_sys::RtcPeerConnection;
use yew::Callback;

use super::chat::{ChatAction, ChatLog};
use super::wire;
use crate::rtc::channel::{ChannelEvents, DataChannel};

#[derive(Default)]
struct Parts {
    channel: Option<DataChannel>,
    log: ChatLog,
}

#[derive(Clone)]
pub struct ChatChannel {
    parts: Rc<RefCell<Parts>>,
    /// The log changed (the view shows it), or something is worth a notice.
    changed: Callback<()>,
    notice: Callback<String>,
}

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

impl ChatChannel {
    pub fn new(changed: Callback<()>, notice: Callback<String>) -> Self {
        Self {
            parts: Rc::default(),
            changed,
            notice,
        }
    }

    pub fn log(&self) -> ChatLog {
        self.parts.borrow().log.clone()
    }

    /// Makes the call's chat channel on `pc` (negotiated: the peer makes the same one).
    pub fn open(&self, pc: &RtcPeerConnection) {
        let this = self.clone();
        let events = ChannelEvents {
            text: Callback::from(move |text: String| this.received(&text)),
            binary: Callback::noop(),
            drained: Callback::noop(),
        };
        let channel = DataChannel::open(pc, "chat", wire::CHAT_CHANNEL_ID, events);
        self.parts.borrow_mut().channel = Some(channel);
    }

    /// A new call: a new log (the panel stays open or closed as it was).
    pub fn reset(&self) {
        self.apply(ChatAction::Reset);
    }

    /// The call ended: the channel closes; the log stays for the "ended" view.
    pub fn close(&self) {
        let channel = self.parts.borrow_mut().channel.take();
        drop(channel);
    }

    pub fn apply(&self, action: ChatAction) {
        self.parts.borrow_mut().log.apply(action);
        self.changed.emit(());
    }

    /// Sends this person's message, or says why it cannot go.
    pub fn send(&self, text: &str) {
        let text = text.trim().to_owned();
        if text.is_empty() {
            return;
        }
        if text.len() > wire::MAX_CHAT_BYTES {
            return self.notice.emit(format!(
                "Chat messages are limited to {} bytes.",
                wire::MAX_CHAT_BYTES
            ));
        }
        let at = now_ms();
        let sent = {
            let parts = self.parts.borrow();
            match parts.channel.as_ref().filter(|c| c.is_open()) {
                Some(channel) => channel.send_text(&wire::encode(&wire::ChatFrame {
                    text: text.clone(),
                    sent_at: at,
                })),
                None => Err("the chat is not connected yet".into()),
            }
        };
        match sent {
            Ok(()) => self.apply(ChatAction::Sent { text, at }),
            Err(err) => self
                .notice
                .emit(format!("The message was not sent: {err}.")),
        }
    }

    fn received(&self, text: &str) {
        match wire::decode_chat(text) {
            Ok(frame) => self.apply(ChatAction::Received {
                text: frame.text,
                at: now_ms(),
            }),
            Err(err) => self
                .notice
                .emit(format!("An unreadable chat message was dropped: {err}")),
        }
    }
}

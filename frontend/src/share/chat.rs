//! The call's text chat as a reducer: messages in order, own and peer's told apart, and an unread count while the
//! chat panel is closed. Messages live for the call; a new call starts a new log.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub mine: bool,
    pub text: String,
    /// Milliseconds since the Unix epoch: the sender's clock for own messages, arrival for the peer's.
    pub at: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatLog {
    pub messages: Vec<ChatMessage>,
    pub unread: usize,
    pub open: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatAction {
    Sent {
        text: String,
        at: u64,
    },
    Received {
        text: String,
        at: u64,
    },
    SetOpen(bool),
    /// A new call: forget the last one's messages.
    Reset,
}

/// Most messages kept; the oldest go first past this.
const MAX_MESSAGES: usize = 2_000;

impl ChatLog {
    pub fn apply(&mut self, action: ChatAction) {
        match action {
            ChatAction::Sent { text, at } => self.push(ChatMessage {
                mine: true,
                text,
                at,
            }),
            ChatAction::Received { text, at } => {
                self.push(ChatMessage {
                    mine: false,
                    text,
                    at,
                });
                if !self.open {
                    self.unread += 1;
                }
            }
            ChatAction::SetOpen(open) => {
                self.open = open;
                if open {
                    self.unread = 0;
                }
            }
            ChatAction::Reset => {
                *self = ChatLog {
                    open: self.open,
                    ..ChatLog::default()
                }
            }
        }
    }

    fn push(&mut self, message: ChatMessage) {
        if self.messages.len() == MAX_MESSAGES {
            self.messages.remove(0);
        }
        self.messages.push(message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unread_counts_only_while_closed() {
        let mut log = ChatLog::default();
        log.apply(ChatAction::Received {
            text: "hi".into(),
            at: 1,
        });
        log.apply(ChatAction::Sent {
            text: "hello".into(),
            at: 2,
        });
        log.apply(ChatAction::Received {
            text: "how are you".into(),
            at: 3,
        });
        assert_eq!(log.unread, 2, "own messages never count as unread");
        log.apply(ChatAction::SetOpen(true));
        assert_eq!(log.unread, 0);
        log.apply(ChatAction::Received {
            text: "?".into(),
            at: 4,
        });
        assert_eq!(log.unread, 0, "an open panel shows it at once");
        let mine: Vec<bool> = log.messages.iter().map(|m| m.mine).collect();
        assert_eq!(mine, [false, true, false, false]);
    }

    #[test]
    fn a_new_call_starts_a_new_log() {
        let mut log = ChatLog::default();
        log.apply(ChatAction::Received {
            text: "old".into(),
            at: 1,
        });
        log.apply(ChatAction::Reset);
        assert!(log.messages.is_empty());
        assert_eq!(log.unread, 0);
    }
}

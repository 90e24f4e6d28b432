//! What a call carries besides faces: text chat and files over data channels, and the safety code.
//!
//! - [`wire`]: the frames on the two data channels (chat: JSON text; files: JSON control plus binary chunks).
//! - [`chat`]: the chat log as a reducer; [`chat_channel`]: the channel that carries it.
//! - [`transfer`]: file transfers as plain data (offers, progress, hash check); [`file_channel`]: the channel
//!   that carries them, with the files and received parts; [`file_reader`]: a file read into the frames that send
//!   it; [`chunk_digest`]: each chunk hashed by the browser, off the page's main thread.
//! - [`safety`]: the short code two people read to each other to rule out a man in the middle.

pub mod chat;
pub mod chat_channel;
pub mod chunk_digest;
pub mod file_channel;
pub mod file_reader;
pub mod safety;
pub mod transfer;
pub mod wire;

//! Frames between the two pages of a call, on two negotiated data channels (same ids on both sides, so neither
//! side waits for `ondatachannel` and nothing is renegotiated):
//!
//! - [`CHAT_CHANNEL_ID`]: text frames, each a JSON [`ChatFrame`].
//! - [`FILE_CHANNEL_ID`]: text frames are JSON [`FileControl`]; binary frames are chunks, a 4-byte little-endian
//!   transfer id followed by the data ([`chunk_header`], [`decode_chunk`]).
//!
//! Everything from the other page is decoded to a `Result` with its size bounded first.

use serde::{Deserialize, Serialize};

pub const CHAT_CHANNEL_ID: u16 = 0;
pub const FILE_CHANNEL_ID: u16 = 1;

/// Longest chat message, in bytes.
pub const MAX_CHAT_BYTES: usize = 4 * 1024;
/// Largest control frame, in bytes (file names are bounded by this).
pub const MAX_CONTROL_BYTES: usize = 4 * 1024;
/// Data per chunk: 64 KiB less the header stays under every browser's SCTP message limit.
pub const CHUNK_BYTES: usize = 64 * 1024 - 4;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatFrame {
    pub text: String,
    /// Sender's clock, milliseconds since the Unix epoch.
    pub sent_at: u64,
}

/// Transfer control, both directions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FileControl {
    /// Sender: may I send you this?
    Offer {
        id: u32,
        name: String,
        size: u64,
        mime: String,
    },
    /// Receiver: yes, send it.
    Accept { id: u32 },
    /// Receiver: no thanks.
    Decline { id: u32 },
    /// Sender: every byte is sent; `digest` is the SHA-256 of the SHA-256 digests of the file's chunks in order
    /// (each chunk's data, without its frame header), hex. Each chunk is hashed by the browser as it goes, off the
    /// page's main thread; the digest of digests depends on the chunking, which both sides read off the same frames.
    #[serde(rename = "chunks_done")]
    Done { id: u32, digest: String },
    /// An older page's Done: the SHA-256 of the whole file, which this page no longer computes. Read only to end
    /// the transfer with a reason the person can act on (an older page in turn cannot read `chunks_done`, and its
    /// transfer from this page never completes).
    #[serde(rename = "done")]
    WholeFileDone { id: u32, sha256: String },
    /// Either side: stop and forget this transfer.
    Cancel { id: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("frame of {0} bytes is over the limit")]
    TooLarge(usize),
    #[error("malformed frame: {0}")]
    Malformed(String),
    #[error("chunk frame shorter than its header")]
    ShortChunk,
}

pub fn decode_chat(text: &str) -> Result<ChatFrame, WireError> {
    if text.len() > MAX_CHAT_BYTES + 64 {
        return Err(WireError::TooLarge(text.len()));
    }
    let frame: ChatFrame =
        serde_json::from_str(text).map_err(|e| WireError::Malformed(e.to_string()))?;
    if frame.text.len() > MAX_CHAT_BYTES {
        return Err(WireError::TooLarge(frame.text.len()));
    }
    Ok(frame)
}

pub fn decode_control(text: &str) -> Result<FileControl, WireError> {
    if text.len() > MAX_CONTROL_BYTES {
        return Err(WireError::TooLarge(text.len()));
    }
    serde_json::from_str(text).map_err(|e| WireError::Malformed(e.to_string()))
}

pub fn encode<T: Serialize>(frame: &T) -> String {
    // Plain data with string keys: serialization cannot fail.
    serde_json::to_string(frame).expect("frames always serialize")
}

#[cfg(test)]
pub fn encode_chunk(id: u32, data: &[u8]) -> Vec<u8> {
    let mut frame = chunk_header(id).to_vec();
    frame.extend_from_slice(data);
    frame
}

/// The header of every chunk frame of transfer `id` (the data follows it).
pub fn chunk_header(id: u32) -> [u8; 4] {
    id.to_le_bytes()
}

/// A whole chunk frame read in wasm memory (the page reads only the header: [`chunk_id`]).
#[cfg(test)]
pub fn decode_chunk(frame: &[u8]) -> Result<(u32, &[u8]), WireError> {
    let id = chunk_id(frame.len(), frame)?;
    Ok((id, &frame[4..]))
}

/// The transfer id of a chunk frame of `len` bytes that starts with `head` (at least its first 4 bytes), or why it
/// is not a chunk frame. For a frame whose data stays in the browser's memory.
pub fn chunk_id(len: usize, head: &[u8]) -> Result<u32, WireError> {
    if len > CHUNK_BYTES + 4 {
        return Err(WireError::TooLarge(len));
    }
    let head = head
        .get(..4)
        .filter(|_| len >= 4)
        .ok_or(WireError::ShortChunk)?;
    Ok(u32::from_le_bytes(
        head.try_into().map_err(|_| WireError::ShortChunk)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_round_trip_and_bad_ones_are_errors() {
        let frame = encode_chunk(7, b"hello");
        assert_eq!(decode_chunk(&frame), Ok((7, &b"hello"[..])));
        assert_eq!(decode_chunk(&[1, 2]), Err(WireError::ShortChunk));
        assert!(matches!(
            decode_chunk(&vec![0; CHUNK_BYTES + 5]),
            Err(WireError::TooLarge(_))
        ));
    }

    #[test]
    fn control_frames_round_trip_and_oversized_ones_are_refused() {
        let offer = FileControl::Offer {
            id: 1,
            name: "report.pdf".into(),
            size: 20 << 20,
            mime: "application/pdf".into(),
        };
        assert_eq!(decode_control(&encode(&offer)), Ok(offer));
        let huge = encode(&FileControl::Offer {
            id: 1,
            name: "x".repeat(MAX_CONTROL_BYTES),
            size: 1,
            mime: String::new(),
        });
        assert!(matches!(decode_control(&huge), Err(WireError::TooLarge(_))));
        assert!(matches!(
            decode_control("{\"type\":\"nope\"}"),
            Err(WireError::Malformed(_))
        ));
    }

    #[test]
    fn chat_frames_are_bounded() {
        let ok = encode(&ChatFrame {
            text: "hi".into(),
            sent_at: 1,
        });
        assert_eq!(decode_chat(&ok).unwrap().text, "hi");
        let long = encode(&ChatFrame {
            text: "x".repeat(MAX_CHAT_BYTES + 1),
            sent_at: 1,
        });
        assert!(decode_chat(&long).is_err());
    }
}

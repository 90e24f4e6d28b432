//! Any bytes as a WebSocket text frame into the page-protocol decoders (the node's `decode_client`, the page's
//! `decode_server`): an error, never a panic; and a message they accept encodes to a frame that decodes back to it.
#![no_main]

use hearsay_shared::page::{self, DecodeError, MAX_FRAME_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    // A text frame is UTF-8 (the WebSocket layer refuses anything else before the decoder runs).
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(msg) = page::decode_client(text) {
        let again = page::encode(msg.clone());
        assert_eq!(page::decode_client(&again), expected(&again, msg));
    }
    if let Ok(msg) = page::decode_server(text) {
        let again = page::encode(msg.clone());
        assert_eq!(page::decode_server(&again), expected(&again, msg));
    }
});

/// The message back, unless re-encoding grew it over the frame limit (fields left to their defaults are written
/// out), which the decoder must then refuse by size.
fn expected<M>(frame: &str, msg: M) -> Result<M, DecodeError> {
    if frame.len() > MAX_FRAME_BYTES {
        Err(DecodeError::TooLarge {
            len: frame.len(),
            max: MAX_FRAME_BYTES,
        })
    } else {
        Ok(msg)
    }
}

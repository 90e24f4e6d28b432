//! Any bytes into the gossip datagram decoder: it never panics, and whatever it accepts encodes again (within the
//! datagram limit, at the size `encoded_len` predicts) and decodes back to the same packet.
#![no_main]

use hearsay_shared::gossip::{MAX_DATAGRAM_BYTES, decode, encode, encoded_len};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(packet) = decode(bytes) else {
        return;
    };
    let encoded = encode(&packet).expect("a packet the decoder accepted encodes");
    assert!(encoded.len() <= MAX_DATAGRAM_BYTES);
    assert_eq!(encoded_len(&packet), encoded.len());
    assert_eq!(decode(&encoded).as_ref(), Ok(&packet));
});

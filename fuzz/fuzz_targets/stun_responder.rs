//! Any datagram from any source address into the STUN Binding responder: it never panics, and whatever it sends
//! back is a STUN response (never a request or an indication) to the same transaction, no larger than the
//! datagrams the server reads (`MAX_DATAGRAM`), that decodes; a success names the source address.
#![no_main]

use bytecodec::DecodeExt;
use hearsay_fuzz::source;
use hearsay_node::stun::BindingResponder;
use hearsay_node::stun::wire::{MAGIC_COOKIE, MAX_DATAGRAM, StunAttribute, stun_frame};
use libfuzzer_sys::fuzz_target;
use stun_codec::rfc5389::attributes::{MappedAddress, XorMappedAddress};
use stun_codec::{MessageClass, MessageDecoder};

/// Class bits of a response: 2 success, 3 error.
const SUCCESS: u8 = 2;
const ERROR: u8 = 3;

fuzz_target!(|bytes: &[u8]| {
    let Some((from, request)) = source::split(bytes) else {
        return;
    };
    let responder = BindingResponder::default();
    let Ok(response) = responder.answer(request, from) else {
        return;
    };
    assert!(
        response.len() <= MAX_DATAGRAM,
        "a {}-byte answer",
        response.len()
    );
    let frame = stun_frame(&response).expect("the answer is framed as STUN");
    assert!(
        matches!(frame.class(), SUCCESS | ERROR),
        "class {}",
        frame.class()
    );
    // Only requests are answered, and the answer names their transaction (bytes 4..20: the cookie and id, or a
    // classic RFC 3489 client's 16-byte id).
    assert_eq!(
        &response[4..20],
        &request[4..20],
        "the request's transaction"
    );
    let mut cookied = response.clone();
    cookied[4..8].copy_from_slice(&MAGIC_COOKIE);
    let decoded = MessageDecoder::<StunAttribute>::new()
        .decode_from_bytes(&cookied)
        .expect("the answer decodes")
        .expect("the answer's attributes decode");
    if decoded.class() == MessageClass::SuccessResponse {
        let canonical = std::net::SocketAddr::new(from.ip().to_canonical(), from.port());
        assert_eq!(
            decoded
                .get_attribute::<MappedAddress>()
                .map(|a| a.address()),
            Some(canonical)
        );
        if let Some(xor) = decoded.get_attribute::<XorMappedAddress>() {
            assert_eq!(xor.address(), canonical);
        }
    }
});

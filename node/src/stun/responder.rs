//! The STUN Binding responder as a pure function: request bytes and the address they came from in, response
//! bytes (or a reason to stay silent) out. No socket, no clock — [`super::server`] is the IO shell around it.
//!
//! What it answers:
//! - RFC 5389/8489 Binding requests: a success response with XOR-MAPPED-ADDRESS, MAPPED-ADDRESS (for clients
//!   that predate XOR), SOFTWARE and FINGERPRINT.
//! - Classic RFC 3489 Binding requests (no magic cookie, as stund's `stun` client sends): MAPPED-ADDRESS,
//!   echoing the 16-byte transaction id.
//! - A CHANGE-REQUEST asking for another address or port, which one socket cannot honour: 420 with
//!   UNKNOWN-ATTRIBUTES, as RFC 5780 §7.2 says for servers without it; likewise any other unknown
//!   comprehension-required attribute.
//! - A well-framed request it cannot decode (bad attribute lengths, bad FINGERPRINT) or of another method: 400.
//!
//! Everything else (not STUN framing, indications, responses) is ignored: answering those would let anyone
//! bounce traffic off the server.

use std::net::SocketAddr;

use bytecodec::{DecodeExt, EncodeExt};
use stun_codec::rfc5389::attributes::{
    ErrorCode, MappedAddress, Software, UnknownAttributes, XorMappedAddress,
};
use stun_codec::rfc5389::methods::BINDING;
use stun_codec::{
    Attribute, AttributeType, Message, MessageClass, MessageDecoder, MessageEncoder, TransactionId,
};

use super::wire::{HEADER_LEN, MAGIC_COOKIE, StunAttribute, stun_frame};

/// Why the responder sends nothing back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// Not a well-framed STUN message (too short, length field wrong, top bits set).
    NotStun,
    /// A STUN indication or response: never answered.
    NotARequest,
    /// Building the response failed (cannot happen for the attributes used; kept as an error, not a panic).
    Encode,
}

/// Answers STUN Binding requests; holds only the SOFTWARE value it puts in responses.
#[derive(Debug, Clone)]
pub struct BindingResponder {
    software: Software,
}

impl Default for BindingResponder {
    fn default() -> Self {
        Self::new(concat!("hearsay ", env!("CARGO_PKG_VERSION")))
    }
}

impl BindingResponder {
    /// A responder that names itself `software` (cut to the 127 characters RFC 5389 allows).
    pub fn new(software: &str) -> Self {
        let description: String = software.chars().take(127).collect();
        // At most 127 characters, which is all `Software::new` checks.
        let software = Software::new(description).expect("SOFTWARE is under 128 characters");
        Self { software }
    }

    /// The response to `request`, received from `source`, or why there is none.
    pub fn answer(&self, request: &[u8], source: SocketAddr) -> Result<Vec<u8>, Ignored> {
        let frame = stun_frame(request).ok_or(Ignored::NotStun)?;
        if frame.class() != 0 {
            return Err(Ignored::NotARequest);
        }
        let source = SocketAddr::new(source.ip().to_canonical(), source.port());
        if frame.has_cookie {
            self.answer_modern(request, frame.method(), source)
        } else {
            self.answer_classic(request, frame.method(), source)
        }
    }

    fn answer_modern(
        &self,
        request: &[u8],
        method: u16,
        source: SocketAddr,
    ) -> Result<Vec<u8>, Ignored> {
        let transaction_id = transaction_id_of(request);
        let decoded = match MessageDecoder::<StunAttribute>::new().decode_from_bytes(request) {
            Ok(Ok(message)) => message,
            // Framing was fine but an attribute was not (bad length, bad FINGERPRINT, bad UTF-8): say so.
            Ok(Err(_)) | Err(_) => {
                return self.error(
                    method_or_binding(method),
                    transaction_id,
                    400,
                    "Bad Request",
                );
            }
        };
        if decoded.method() != BINDING {
            return self.error(
                method_or_binding(method),
                transaction_id,
                400,
                "Bad Request",
            );
        }
        if let Some(unknown) = not_understood(&decoded) {
            return self.unknown_attributes(transaction_id, unknown);
        }
        let mut response = Message::new(MessageClass::SuccessResponse, BINDING, transaction_id);
        response.add_attribute(XorMappedAddress::new(source));
        response.add_attribute(MappedAddress::new(source));
        response.add_attribute(self.software.clone());
        encode(response).map(with_fingerprint)
    }

    /// RFC 3489 had no magic cookie: bytes 4..20 are a 16-byte transaction id. The decoder wants a cookie, so it
    /// is put in for decoding and the client's 4 bytes are put back into the response.
    fn answer_classic(
        &self,
        request: &[u8],
        method: u16,
        source: SocketAddr,
    ) -> Result<Vec<u8>, Ignored> {
        let mut patched = request.to_vec();
        patched[4..8].copy_from_slice(&MAGIC_COOKIE);
        let transaction_id = transaction_id_of(&patched);
        let response = match MessageDecoder::<StunAttribute>::new().decode_from_bytes(&patched) {
            Ok(Ok(decoded)) if decoded.method() == BINDING => match not_understood(&decoded) {
                Some(unknown) => self.unknown_attributes(transaction_id, unknown),
                None => {
                    let mut response =
                        Message::new(MessageClass::SuccessResponse, BINDING, transaction_id);
                    response.add_attribute(MappedAddress::new(source));
                    // No SOFTWARE here: RFC 3489 clients (stund's) read 0x8022 as SERVER and reject a value
                    // whose length is not a multiple of 4.
                    encode(response)
                }
            },
            _ => self.error(
                method_or_binding(method),
                transaction_id,
                400,
                "Bad Request",
            ),
        };
        response.map(|mut bytes| {
            bytes[4..8].copy_from_slice(&request[4..8]);
            bytes
        })
    }

    fn unknown_attributes(
        &self,
        transaction_id: TransactionId,
        unknown: Vec<AttributeType>,
    ) -> Result<Vec<u8>, Ignored> {
        let mut response = Message::new(MessageClass::ErrorResponse, BINDING, transaction_id);
        // 420 and its reason phrase are well under the attribute's limits.
        response
            .add_attribute(ErrorCode::new(420, "Unknown Attribute".into()).expect("valid code"));
        response.add_attribute(UnknownAttributes::new(unknown));
        response.add_attribute(self.software.clone());
        encode(response)
    }

    fn error(
        &self,
        method: stun_codec::Method,
        transaction_id: TransactionId,
        code: u16,
        reason: &str,
    ) -> Result<Vec<u8>, Ignored> {
        let mut response = Message::new(MessageClass::ErrorResponse, method, transaction_id);
        response.add_attribute(ErrorCode::new(code, reason.into()).map_err(|_| Ignored::Encode)?);
        response.add_attribute(self.software.clone());
        encode(response)
    }
}

/// Comprehension-required attributes this server cannot act on: unknown ones, and a CHANGE-REQUEST that asks for
/// another IP or port (one socket cannot answer from elsewhere). `None` when the request can be answered.
fn not_understood(message: &Message<StunAttribute>) -> Option<Vec<AttributeType>> {
    let unknown: Vec<AttributeType> = message
        .unknown_attributes()
        .filter(|raw| raw.get_type().is_comprehension_required())
        .filter(|raw| !(raw.get_type().as_u16() == CHANGE_REQUEST && is_no_change(raw.value())))
        .map(|raw| raw.get_type())
        .collect();
    (!unknown.is_empty()).then_some(unknown)
}

/// RFC 5780 §7.2 CHANGE-REQUEST (read raw: stun_codec 0.4 decodes its flag bits one position off).
const CHANGE_REQUEST: u16 = 0x0003;

/// True for a CHANGE-REQUEST value asking for neither another IP (0x4) nor another port (0x2).
fn is_no_change(value: &[u8]) -> bool {
    match <[u8; 4]>::try_from(value) {
        Ok(flags) => u32::from_be_bytes(flags) & 0x6 == 0,
        Err(_) => false,
    }
}

/// The request's own method for the error response when it is a valid 12-bit method, else Binding.
fn method_or_binding(method: u16) -> stun_codec::Method {
    stun_codec::Method::new(method).unwrap_or(BINDING)
}

/// Bytes 8..20 of a framed message (framing guarantees at least 20 bytes).
fn transaction_id_of(bytes: &[u8]) -> TransactionId {
    let mut id = [0u8; 12];
    id.copy_from_slice(&bytes[8..HEADER_LEN]);
    TransactionId::new(id)
}

/// Appends FINGERPRINT (RFC 5389 §15.5) to an encoded message. `stun_codec`'s `Fingerprint::new` clones and
/// re-encodes the whole message to compute it; doing it on the bytes once halves the encoding work per response.
fn with_fingerprint(mut bytes: Vec<u8>) -> Vec<u8> {
    const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    // Our responses are a few dozen bytes: the new length always fits the 16-bit field.
    let length = u16::try_from(bytes.len() - HEADER_LEN + 8).expect("a small response");
    bytes[2..4].copy_from_slice(&length.to_be_bytes());
    let crc = CRC32.checksum(&bytes) ^ 0x5354_554E;
    bytes.extend_from_slice(&[0x80, 0x28, 0x00, 0x04]);
    bytes.extend_from_slice(&crc.to_be_bytes());
    bytes
}

fn encode(message: Message<StunAttribute>) -> Result<Vec<u8>, Ignored> {
    MessageEncoder::new()
        .encode_into_bytes(message)
        .map_err(|_| Ignored::Encode)
}

#[cfg(test)]
mod tests {
    use bytecodec::{DecodeExt, EncodeExt};
    use stun_codec::rfc5389::attributes::{ErrorCode, Fingerprint, UnknownAttributes};

    use super::*;

    const ID: [u8; 12] = *b"transaction1";

    fn request(attrs: Vec<StunAttribute>) -> Vec<u8> {
        let mut m: Message<StunAttribute> =
            Message::new(MessageClass::Request, BINDING, TransactionId::new(ID));
        for a in attrs {
            m.add_attribute(a);
        }
        MessageEncoder::new().encode_into_bytes(m).unwrap()
    }

    fn decode(bytes: &[u8]) -> Message<StunAttribute> {
        MessageDecoder::<StunAttribute>::new()
            .decode_from_bytes(bytes)
            .unwrap()
            .expect("the response decodes, FINGERPRINT included")
    }

    #[test]
    fn binding_request_gets_xor_mapped_address_software_and_a_valid_fingerprint() {
        let from: SocketAddr = "203.0.113.9:40000".parse().unwrap();
        let out = BindingResponder::default()
            .answer(&request(vec![]), from)
            .unwrap();
        let response = decode(&out);
        assert_eq!(response.class(), MessageClass::SuccessResponse);
        assert_eq!(response.transaction_id(), TransactionId::new(ID));
        assert_eq!(
            response
                .get_attribute::<XorMappedAddress>()
                .map(|a| a.address()),
            Some(from)
        );
        assert_eq!(
            response
                .get_attribute::<MappedAddress>()
                .map(|a| a.address()),
            Some(from)
        );
        assert!(
            response
                .get_attribute::<Software>()
                .unwrap()
                .description()
                .starts_with("hearsay")
        );
        assert!(response.get_attribute::<Fingerprint>().is_some());
        // The fingerprint is the last attribute, as RFC 5389 §15.5 requires.
        assert_eq!(&out[out.len() - 8..out.len() - 6], &[0x80, 0x28]);
    }

    #[test]
    fn ipv6_and_v4_mapped_sources_are_reported_as_they_are_reachable() {
        let v6: SocketAddr = "[2001:db8::7]:5000".parse().unwrap();
        let out = BindingResponder::default()
            .answer(&request(vec![]), v6)
            .unwrap();
        assert_eq!(
            decode(&out)
                .get_attribute::<XorMappedAddress>()
                .map(|a| a.address()),
            Some(v6)
        );
        let mapped: SocketAddr = "[::ffff:192.0.2.1]:5000".parse().unwrap();
        let out = BindingResponder::default()
            .answer(&request(vec![]), mapped)
            .unwrap();
        assert_eq!(
            decode(&out)
                .get_attribute::<XorMappedAddress>()
                .map(|a| a.address()),
            Some("192.0.2.1:5000".parse().unwrap())
        );
    }

    #[test]
    fn request_with_a_fingerprint_and_software_is_answered() {
        let mut m: Message<StunAttribute> =
            Message::new(MessageClass::Request, BINDING, TransactionId::new(ID));
        m.add_attribute(Software::new("client".into()).unwrap());
        let fp = Fingerprint::new(&m).unwrap();
        m.add_attribute(fp);
        let bytes = MessageEncoder::new().encode_into_bytes(m).unwrap();
        let out = BindingResponder::default()
            .answer(&bytes, "192.0.2.1:1".parse().unwrap())
            .unwrap();
        assert_eq!(decode(&out).class(), MessageClass::SuccessResponse);
    }

    #[test]
    fn classic_rfc3489_request_gets_mapped_address_and_its_16_byte_id_back() {
        let mut bytes = with_change_request(0);
        bytes[4..8].copy_from_slice(&[9, 8, 7, 6]);
        let from: SocketAddr = "192.0.2.5:3000".parse().unwrap();
        let out = BindingResponder::default().answer(&bytes, from).unwrap();
        assert_eq!(&out[..2], &[0x01, 0x01]);
        assert_eq!(&out[4..20], &bytes[4..20]);
        // MAPPED-ADDRESS, family IPv4, port 3000, 192.0.2.5; nothing else.
        assert_eq!(&out[20..], &[0, 1, 0, 8, 0, 1, 0x0B, 0xB8, 192, 0, 2, 5]);
    }

    /// A Binding request carrying CHANGE-REQUEST with `flags`, built by hand.
    fn with_change_request(flags: u8) -> Vec<u8> {
        let mut bytes = request(vec![]);
        bytes[3] = 8;
        bytes.extend_from_slice(&[0x00, 0x03, 0, 4, 0, 0, 0, flags]);
        bytes
    }

    #[test]
    fn change_request_without_change_flags_is_answered() {
        let out = BindingResponder::default()
            .answer(&with_change_request(0), "192.0.2.1:1".parse().unwrap())
            .unwrap();
        assert_eq!(decode(&out).class(), MessageClass::SuccessResponse);
    }

    #[test]
    fn change_request_for_another_address_gets_420_naming_it() {
        // The flags stund's client sends: change IP (4), change port (2), both (6).
        for flags in [4, 2, 6] {
            let bytes = with_change_request(flags);
            let out = BindingResponder::default()
                .answer(&bytes, "192.0.2.1:1".parse().unwrap())
                .unwrap();
            let response = decode(&out);
            assert_eq!(response.class(), MessageClass::ErrorResponse);
            assert_eq!(response.get_attribute::<ErrorCode>().unwrap().code(), 420);
            let unknown = response.get_attribute::<UnknownAttributes>().unwrap();
            assert_eq!(unknown.unknowns(), &[AttributeType::new(CHANGE_REQUEST)]);
        }
    }

    #[test]
    fn unknown_comprehension_required_attribute_gets_420_and_optional_ones_are_ignored() {
        let mut bytes = request(vec![]);
        bytes[3] = 8;
        bytes.extend_from_slice(&[0x7A, 0x7A, 0, 4, 1, 2, 3, 4]);
        let out = BindingResponder::default()
            .answer(&bytes, "192.0.2.1:1".parse().unwrap())
            .unwrap();
        assert_eq!(
            decode(&out).get_attribute::<ErrorCode>().unwrap().code(),
            420
        );
        bytes[20] = 0xFA; // 0xFA7A: comprehension-optional
        let out = BindingResponder::default()
            .answer(&bytes, "192.0.2.1:1".parse().unwrap())
            .unwrap();
        assert_eq!(decode(&out).class(), MessageClass::SuccessResponse);
    }

    #[test]
    fn bad_attributes_and_other_methods_get_400() {
        let responder = BindingResponder::default();
        let from: SocketAddr = "192.0.2.1:1".parse().unwrap();
        // FINGERPRINT with the wrong CRC.
        let mut bad_fp = request(vec![]);
        bad_fp[3] = 8;
        bad_fp.extend_from_slice(&[0x80, 0x28, 0, 4, 0xDE, 0xAD, 0xBE, 0xEF]);
        // XOR-MAPPED-ADDRESS with family 9.
        let mut bad_family = request(vec![]);
        bad_family[3] = 12;
        bad_family.extend_from_slice(&[0x00, 0x20, 0, 8, 0, 9, 0, 0, 1, 2, 3, 4]);
        // Allocate sent to the STUN port.
        let mut allocate = request(vec![]);
        allocate[1] = 0x03;
        for bytes in [bad_fp, bad_family, allocate] {
            let out = responder.answer(&bytes, from).unwrap();
            assert_eq!(
                &out[8..20],
                &ID,
                "the error names the request's transaction"
            );
            assert_eq!(out[0] & 0x01, 0x01, "an error-class response");
            assert_eq!(out[1] & 0x10, 0x10, "an error-class response");
        }
    }

    #[test]
    fn indications_responses_and_non_stun_are_ignored() {
        let responder = BindingResponder::default();
        let from: SocketAddr = "192.0.2.1:1".parse().unwrap();
        let mut indication = request(vec![]);
        indication[1] = 0x11;
        let mut response = request(vec![]);
        response[0] = 0x01;
        assert_eq!(
            responder.answer(&indication, from),
            Err(Ignored::NotARequest)
        );
        assert_eq!(responder.answer(&response, from), Err(Ignored::NotARequest));
        assert_eq!(
            responder.answer(&[0x40, 0, 0, 0], from),
            Err(Ignored::NotStun)
        );
        assert_eq!(responder.answer(&[], from), Err(Ignored::NotStun));
        assert_eq!(responder.answer(&[0u8; 3000], from), Err(Ignored::NotStun));
    }

    #[test]
    fn truncations_and_byte_flips_never_panic() {
        let responder = BindingResponder::default();
        let from: SocketAddr = "192.0.2.1:1".parse().unwrap();
        let mut m: Message<StunAttribute> =
            Message::new(MessageClass::Request, BINDING, TransactionId::new(ID));
        m.add_attribute(Software::new("a client with a name".into()).unwrap());
        m.add_attribute(XorMappedAddress::new("[2001:db8::1]:9".parse().unwrap()));
        let fp = Fingerprint::new(&m).unwrap();
        m.add_attribute(fp);
        let valid = MessageEncoder::new().encode_into_bytes(m).unwrap();
        for cut in 0..valid.len() {
            let _ = responder.answer(&valid[..cut], from);
        }
        for i in 0..valid.len() {
            for flip in [0x01u8, 0x10, 0x80, 0xFF] {
                let mut b = valid.clone();
                b[i] ^= flip;
                let _ = responder.answer(&b, from);
                b[4..8].copy_from_slice(&[0, 0, 0, 0]); // and the classic path
                let _ = responder.answer(&b, from);
            }
        }
    }
}

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
    ErrorCode, Fingerprint, MappedAddress, Software, UnknownAttributes, XorMappedAddress,
};
use stun_codec::rfc5389::methods::BINDING;
use stun_codec::rfc5780::attributes::ChangeRequest;
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
        let fingerprint = Fingerprint::new(&response).map_err(|_| Ignored::Encode)?;
        response.add_attribute(fingerprint);
        encode(response)
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
    let mut unknown: Vec<AttributeType> = message
        .unknown_attributes()
        .map(|raw| raw.get_type())
        .filter(|t| t.is_comprehension_required())
        .collect();
    if let Some(change) = message.get_attribute::<ChangeRequest>() {
        if change.ip() || change.port() {
            unknown.push(AttributeType::new(ChangeRequest::CODEPOINT));
        }
    }
    (!unknown.is_empty()).then_some(unknown)
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

fn encode(message: Message<StunAttribute>) -> Result<Vec<u8>, Ignored> {
    MessageEncoder::new()
        .encode_into_bytes(message)
        .map_err(|_| Ignored::Encode)
}

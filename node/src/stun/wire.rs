//! The STUN attribute set hearsay decodes and encodes with `stun_codec`: RFC 5389 (Binding, long-term
//! credentials) and RFC 5766 (TURN), so one decoder serves the STUN responder, the
//! reflexive-address client and the TURN server's gate.
//!
//! Also the cheap framing checks every datagram passes before any decoder sees it: [`stun_frame`] tells a
//! well-framed STUN message (header length matching the datagram, 4-byte aligned) from anything else without
//! allocating.

use stun_codec::define_attribute_enums;
use stun_codec::rfc5389::attributes::{
    AlternateServer, ErrorCode, Fingerprint, MappedAddress, MessageIntegrity, Nonce, Realm,
    Software, UnknownAttributes, Username, XorMappedAddress, XorMappedAddress2,
};
use stun_codec::rfc5766::attributes::{
    Data, DontFragment, EvenPort, Lifetime, RequestedTransport, ReservationToken, XorPeerAddress,
    XorRelayAddress,
};

// CHANNEL-NUMBER is left out on purpose: stun_codec only accepts RFC 8656's range 0x4000-0x4FFF, while coturn's
// clients (and RFC 5766) use up to 0x7FFE, so decoding it would refuse valid ChannelBinds. Left out, it decodes as
// an unknown attribute and the `turn` crate checks it. CHANGE-REQUEST is left out too: stun_codec 0.4 decodes its
// flags one bit off (change-IP 0x4 is read as nothing), so the responder reads the raw value itself.
define_attribute_enums!(
    StunAttribute,
    StunAttributeDecoder,
    StunAttributeEncoder,
    [
        MappedAddress,
        Username,
        MessageIntegrity,
        ErrorCode,
        UnknownAttributes,
        Realm,
        Nonce,
        XorMappedAddress,
        XorMappedAddress2,
        Software,
        AlternateServer,
        Fingerprint,
        Lifetime,
        XorPeerAddress,
        Data,
        XorRelayAddress,
        EvenPort,
        RequestedTransport,
        DontFragment,
        ReservationToken
    ]
);

/// A STUN message header is 20 bytes.
pub const HEADER_LEN: usize = 20;

/// The RFC 5389 magic cookie, bytes 4..8 of every modern STUN message.
pub const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];

/// Largest datagram either server reads; anything longer is truncated by the socket and then fails framing.
pub const MAX_DATAGRAM: usize = 2048;

/// Receive/send buffer asked for on the STUN and TURN listening sockets. The kernel default (~208 KiB, a few
/// hundred small datagrams) overflows whenever the server is descheduled for a moment under load; coturn enlarges
/// its buffers too. The kernel caps the request at `net.core.rmem_max`/`wmem_max`.
pub const LISTENER_BUFFER_BYTES: usize = 4 << 20;

/// Asks for `bytes` of receive and send buffer on `socket`; a refusal only costs burst tolerance, so it is logged.
pub fn enlarge_buffers(socket: &tokio::net::UdpSocket, bytes: usize) {
    let sock = socket2::SockRef::from(socket);
    if let Err(err) = sock.set_recv_buffer_size(bytes) {
        tracing::debug!(%err, "could not enlarge a UDP receive buffer");
    }
    if let Err(err) = sock.set_send_buffer_size(bytes) {
        tracing::debug!(%err, "could not enlarge a UDP send buffer");
    }
}

/// What the framing check learned about a datagram that looks like STUN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StunFrame {
    /// The 16-bit message type (method and class bits interleaved).
    pub message_type: u16,
    /// True when bytes 4..8 hold the RFC 5389 magic cookie; false for a classic RFC 3489 message.
    pub has_cookie: bool,
}

impl StunFrame {
    /// The 12-bit method (RFC 5389 §6: the class bits C0/C1 sit at bits 4 and 8).
    pub fn method(&self) -> u16 {
        let t = self.message_type;
        (t & 0x000F) | ((t & 0x00E0) >> 1) | ((t & 0x3E00) >> 2)
    }

    /// The 2-bit class: 0 request, 1 indication, 2 success response, 3 error response.
    pub fn class(&self) -> u8 {
        let t = self.message_type;
        (((t >> 4) & 1) | ((t >> 7) & 2)) as u8
    }
}

/// Checks the STUN framing of `bytes` without decoding attributes: the top two bits are zero, the header's length
/// field equals the bytes after the header and is a multiple of 4. `None` means "not a well-framed STUN message".
pub fn stun_frame(bytes: &[u8]) -> Option<StunFrame> {
    if bytes.len() < HEADER_LEN || bytes.len() > MAX_DATAGRAM || bytes[0] & 0xC0 != 0 {
        return None;
    }
    let message_type = u16::from_be_bytes([bytes[0], bytes[1]]);
    let length = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
    if length % 4 != 0 || length != bytes.len() - HEADER_LEN {
        return None;
    }
    Some(StunFrame {
        message_type,
        has_cookie: bytes[4..8] == MAGIC_COOKIE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_and_class_bits_unpack_as_the_rfc_says() {
        let frame = |t: u16| StunFrame {
            message_type: t,
            has_cookie: true,
        };
        assert_eq!((frame(0x0001).method(), frame(0x0001).class()), (1, 0)); // Binding request
        assert_eq!((frame(0x0101).method(), frame(0x0101).class()), (1, 2)); // Binding success
        assert_eq!((frame(0x0113).method(), frame(0x0113).class()), (3, 3)); // Allocate error
        assert_eq!((frame(0x0016).method(), frame(0x0016).class()), (6, 1)); // Send indication
        assert_eq!((frame(0x0009).method(), frame(0x0009).class()), (9, 0)); // ChannelBind request
    }

    #[test]
    fn framing_rejects_wrong_lengths_and_channel_data() {
        let mut ok = vec![0u8, 1, 0, 0];
        ok.extend_from_slice(&MAGIC_COOKIE);
        ok.extend_from_slice(&[7; 12]);
        assert!(stun_frame(&ok).is_some());
        assert!(stun_frame(&ok[..19]).is_none());
        let mut long = ok.clone();
        long[3] = 4; // says 4 bytes of attributes, has none
        assert!(stun_frame(&long).is_none());
        long.extend_from_slice(&[0; 4]);
        assert!(stun_frame(&long).is_some());
        long[3] = 3; // not a multiple of 4
        assert!(stun_frame(&long).is_none());
        let mut channel_data = ok.clone();
        channel_data[0] = 0x40;
        assert!(stun_frame(&channel_data).is_none());
    }
}

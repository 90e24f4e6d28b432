//! A minimal STUN Binding client: asks a STUN server which address this node's UDP socket is seen from (its
//! server-reflexive address). The gossip work uses it with peers' STUN servers; the tests use it against the
//! node's own server.
//!
//! The codec half is pure ([`binding_request`], [`mapped_address`]); [`reflexive_address`] adds the socket and
//! RFC 8489 §6.2.1 retransmissions (RTO 500 ms doubling, bounded by a total time limit).

use std::net::SocketAddr;
use std::time::Duration;

use bytecodec::{DecodeExt, EncodeExt};
use stun_codec::rfc5389::attributes::{MappedAddress, XorMappedAddress};
use stun_codec::rfc5389::methods::BINDING;
use stun_codec::{Message, MessageClass, MessageDecoder, MessageEncoder, TransactionId};
use tokio::net::UdpSocket;

use super::wire::{MAX_DATAGRAM, StunAttribute, stun_frame};

/// Why a datagram is not the answer to our request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("not a STUN message")]
    NotStun,
    #[error("a STUN message for another transaction")]
    OtherTransaction,
    #[error("the STUN message does not decode: {0}")]
    Malformed(String),
    #[error("the server answered with error {0}")]
    ErrorResponse(u16),
    #[error("the response carries no mapped address")]
    NoAddress,
}

/// A Binding request with transaction id `id`.
pub fn binding_request(id: [u8; 12]) -> Vec<u8> {
    let message: Message<StunAttribute> =
        Message::new(MessageClass::Request, BINDING, TransactionId::new(id));
    // A header-only message always encodes.
    MessageEncoder::new()
        .encode_into_bytes(message)
        .expect("an empty Binding request encodes")
}

/// The reflexive address in a Binding success response for transaction `id` (XOR-MAPPED-ADDRESS preferred,
/// MAPPED-ADDRESS as a fallback).
pub fn mapped_address(response: &[u8], id: [u8; 12]) -> Result<SocketAddr, ClientError> {
    let frame = stun_frame(response).ok_or(ClientError::NotStun)?;
    if !frame.has_cookie || response[8..20] != id {
        return Err(ClientError::OtherTransaction);
    }
    let message = MessageDecoder::<StunAttribute>::new()
        .decode_from_bytes(response)
        .map_err(|e| ClientError::Malformed(e.to_string()))?
        .map_err(|e| ClientError::Malformed(format!("{:?}", e.error())))?;
    match message.class() {
        MessageClass::SuccessResponse => {}
        MessageClass::ErrorResponse => {
            let code = message
                .get_attribute::<stun_codec::rfc5389::attributes::ErrorCode>()
                .map_or(0, |e| e.code());
            return Err(ClientError::ErrorResponse(code));
        }
        _ => return Err(ClientError::OtherTransaction),
    }
    if let Some(xor) = message.get_attribute::<XorMappedAddress>() {
        return Ok(xor.address());
    }
    message
        .get_attribute::<MappedAddress>()
        .map(|m| m.address())
        .ok_or(ClientError::NoAddress)
}

/// Asks `server` for the reflexive address of `socket`, retransmitting until an answer or `limit`.
pub async fn reflexive_address(
    socket: &UdpSocket,
    server: SocketAddr,
    limit: Duration,
) -> anyhow::Result<SocketAddr> {
    let id: [u8; 12] = rand::random();
    exchange(socket, server, limit, id, |response| {
        match mapped_address(response, id) {
            Ok(addr) => Some(Ok(addr)),
            Err(ClientError::OtherTransaction | ClientError::NotStun) => None,
            Err(err) => Some(Err(anyhow::anyhow!("STUN server {server}: {err}"))),
        }
    })
    .await
}

/// Whether anything answers a Binding request at `server` (any response for our transaction, success or error),
/// asked from a fresh socket that never talked to it: a dial-back probe. Retransmits like
/// [`reflexive_address`] until an answer or `limit`.
pub async fn answers(server: SocketAddr, limit: Duration) -> bool {
    let bind: SocketAddr = if server.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let Ok(socket) = UdpSocket::bind(bind).await else {
        return false;
    };
    let id: [u8; 12] = rand::random();
    let answered = exchange(&socket, server, limit, id, |response| {
        let ours =
            stun_frame(response).is_some_and(|frame| frame.has_cookie && response[8..20] == id);
        ours.then_some(Ok(()))
    })
    .await;
    answered.is_ok()
}

/// Whether a TURN server answers a Binding request over TCP at `server` (any response for our transaction),
/// within `limit`.
pub async fn answers_tcp(server: SocketAddr, limit: Duration) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let id: [u8; 12] = rand::random();
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(server).await.ok()?;
        stream.write_all(&binding_request(id)).await.ok()?;
        let mut header = [0u8; 20];
        stream.read_exact(&mut header).await.ok()?;
        // A STUN header (first two bits zero, the magic cookie) for our transaction.
        Some(
            header[0] & 0xC0 == 0
                && header[4..8] == super::wire::MAGIC_COOKIE
                && header[8..20] == id,
        )
    };
    tokio::time::timeout(limit, exchange)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// Sends a Binding request with transaction `id` to `server` and hands every datagram from `server` to `accept`
/// until it returns an outcome, retransmitting per RFC 8489 §6.2.1 (RTO 500 ms, doubling, at most 4 s) until
/// `limit`.
async fn exchange<T>(
    socket: &UdpSocket,
    server: SocketAddr,
    limit: Duration,
    id: [u8; 12],
    mut accept: impl FnMut(&[u8]) -> Option<anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let request = binding_request(id);
    let deadline = tokio::time::Instant::now() + limit;
    let mut rto = Duration::from_millis(500);
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        socket.send_to(&request, server).await?;
        let wait_until = (tokio::time::Instant::now() + rto).min(deadline);
        loop {
            let received = tokio::time::timeout_at(wait_until, socket.recv_from(&mut buf)).await;
            let Ok(received) = received else { break };
            let Ok((len, from)) = received else { continue };
            if from != server {
                continue;
            }
            if let Some(outcome) = accept(&buf[..len]) {
                return outcome;
            }
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!("no answer from STUN server {server} within {limit:?}");
        }
        rto = (rto * 2).min(Duration::from_secs(4));
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::stun::BindingResponder;

    #[test]
    fn request_and_response_round_trip_through_the_responder() {
        let id = *b"clientround1";
        let me: SocketAddr = "198.51.100.4:6000".parse().unwrap();
        let response = BindingResponder::default()
            .answer(&binding_request(id), me)
            .unwrap();
        assert_eq!(mapped_address(&response, id), Ok(me));
        assert_eq!(
            mapped_address(&response, *b"someone-else"),
            Err(ClientError::OtherTransaction)
        );
        assert_eq!(
            mapped_address(&response[..10], id),
            Err(ClientError::NotStun)
        );
    }

    #[test]
    fn error_responses_are_reported_with_their_code() {
        let id = *b"clientround2";
        let mut allocate = binding_request(id);
        allocate[1] = 0x03;
        let response = BindingResponder::default()
            .answer(&allocate, "198.51.100.4:6000".parse().unwrap())
            .unwrap();
        assert_eq!(
            mapped_address(&response, id),
            Err(ClientError::ErrorResponse(400))
        );
    }

    #[tokio::test]
    async fn reflexive_address_from_a_real_server_on_loopback() {
        let server = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let server_addr = server.local_addr().unwrap();
        let task = tokio::spawn(crate::stun::server::serve(
            server,
            BindingResponder::default(),
        ));
        let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let found = reflexive_address(&client, server_addr, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(found, client.local_addr().unwrap());
        task.abort();
    }

    #[tokio::test]
    async fn answers_tells_a_live_server_from_a_silent_port() {
        let server = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let server_addr = server.local_addr().unwrap();
        let task = tokio::spawn(crate::stun::server::serve(
            server,
            BindingResponder::default(),
        ));
        assert!(answers(server_addr, Duration::from_secs(3)).await);
        let silent = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        assert!(!answers(silent.local_addr().unwrap(), Duration::from_millis(600)).await);
        task.abort();
    }

    #[tokio::test]
    async fn silent_server_gives_a_bounded_error() {
        let silent = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let err = reflexive_address(
            &client,
            silent.local_addr().unwrap(),
            Duration::from_millis(700),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("no answer"), "{err}");
    }
}

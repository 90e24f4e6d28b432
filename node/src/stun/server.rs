//! The STUN server's IO shell: one UDP socket, one task, a datagram in, [`BindingResponder::answer`], a datagram
//! out. Drive it with [`serve`] on a bound socket; it returns only when the task is dropped.
//!
//! Batching (recvmmsg/sendmmsg) is deliberately absent: see the benchmark (`cargo xtask bench`) for the figures
//! this plain loop reaches against coturn and a raw echo.

use tokio::net::UdpSocket;

use super::responder::BindingResponder;
use super::wire::MAX_DATAGRAM;

/// Answers Binding requests on `socket` forever.
pub async fn serve(socket: UdpSocket, responder: BindingResponder) {
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    loop {
        let (len, from) = match socket.recv_from(&mut buf).await {
            Ok(got) => got,
            // UDP receive errors are per datagram (e.g. an ICMP port unreachable for an earlier send); the
            // socket itself stays usable.
            Err(err) => {
                tracing::trace!(%err, "stun: receive failed");
                continue;
            }
        };
        // A datagram that filled the buffer was truncated: the responder's framing check refuses it
        // (MAX_DATAGRAM + 1 bytes is over the limit).
        match responder.answer(&buf[..len], from) {
            Ok(response) => {
                if let Err(err) = socket.send_to(&response, from).await {
                    tracing::trace!(%err, %from, "stun: send failed");
                }
            }
            Err(why) => tracing::trace!(?why, %from, "stun: datagram ignored"),
        }
    }
}

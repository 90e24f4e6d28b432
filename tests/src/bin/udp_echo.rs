//! `udp_echo`: the raw UDP echo server the STUN benchmark uses as its ceiling. Same shape as the node's STUN
//! loop (one tokio task, `recv_from` then `send_to`) minus the STUN work, so the gap between the two is the cost of
//! answering STUN. `udp_echo <addr>` prints `echo at <bound addr>` and runs until killed.

use tokio::net::UdpSocket;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let socket = UdpSocket::bind(&addr).await?;
    println!("echo at {}", socket.local_addr()?);
    let mut buf = vec![0u8; 2048];
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let _ = socket.send_to(&buf[..n], from).await;
    }
}

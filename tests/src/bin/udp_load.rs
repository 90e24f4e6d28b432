//! `udp_load`: an open-loop UDP load generator for the STUN benchmark (`cargo xtask bench`).
//!
//! `udp_load <server> <rate pps, 0 = as fast as possible> <seconds>` sends 20-byte STUN Binding requests to
//! `server` at a fixed rate (paced every millisecond, never waiting for answers), counts the replies that carry
//! its transaction-id tag (a STUN response, or the request itself from an echo server) and prints one line:
//! `sent N received M seconds S`. Loopback only: it refuses any non-loopback server address.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(
        args.len() == 4,
        "usage: udp_load <server addr> <rate pps, 0 = max> <seconds>"
    );
    let server: SocketAddr = args[1].parse()?;
    anyhow::ensure!(server.ip().is_loopback(), "udp_load only sends to loopback");
    let rate: u64 = args[2].parse()?;
    let seconds: f64 = args[3].parse()?;
    anyhow::ensure!(
        seconds > 0.0 && seconds <= 60.0,
        "seconds must be in (0, 60]"
    );

    let socket = UdpSocket::bind(("127.0.0.1", 0))?;
    socket.connect(server)?;
    let tag: [u8; 4] = std::process::id().to_be_bytes();
    let duration = Duration::from_secs_f64(seconds);
    let done = Arc::new(AtomicBool::new(false));

    let receiver = {
        let socket = socket.try_clone()?;
        let done = done.clone();
        std::thread::spawn(move || -> u64 {
            let _ = socket.set_read_timeout(Some(Duration::from_millis(50)));
            let mut buf = [0u8; 2048];
            let mut received = 0u64;
            loop {
                match socket.recv(&mut buf) {
                    Ok(n) if n >= 20 && buf[8..12] == tag => received += 1,
                    Ok(_) => {}
                    Err(_) if done.load(Ordering::Relaxed) => break,
                    Err(_) => {}
                }
            }
            received
        })
    };

    let mut request = [0u8; 20];
    request[..2].copy_from_slice(&[0x00, 0x01]);
    request[4..8].copy_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
    request[8..12].copy_from_slice(&tag);
    let start = Instant::now();
    let mut sent = 0u64;
    loop {
        let elapsed = start.elapsed();
        if elapsed >= duration {
            break;
        }
        let due = if rate == 0 {
            sent + 64
        } else {
            (elapsed.as_secs_f64() * rate as f64) as u64
        };
        while sent < due {
            request[12..20].copy_from_slice(&sent.to_be_bytes());
            // A full socket buffer (ENOBUFS/EAGAIN) counts as sent-and-lost: the generator is open loop.
            let _ = socket.send(&request);
            sent += 1;
        }
        if rate != 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    // Let answers in flight arrive, then stop the receiver.
    std::thread::sleep(Duration::from_millis(300));
    done.store(true, Ordering::Relaxed);
    let received = receiver
        .join()
        .map_err(|_| anyhow::anyhow!("receiver thread panicked"))?;
    println!("sent {sent} received {received} seconds {seconds:.3}");
    Ok(())
}

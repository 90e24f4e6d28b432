//! TURN over TCP for networks that let no UDP out (RFC 8656 §3.1: the client–server leg on TCP, the relayed side
//! still UDP; browsers ask for it with `turn:host:port?transport=tcp`).
//!
//! The `turn` crate reads its listener through a packet-oriented `Conn`. [`TcpMuxConn`] is one: it accepts TCP
//! connections, cuts each byte stream into the STUN messages and ChannelData frames it carries ([`next_frame`], a
//! pure function), and hands them to the crate as datagrams from the connection's remote address; what the crate
//! sends to that address goes back down that connection (ChannelData padded to four bytes, as TCP framing
//! requires). The crate keeps a separate allocation table per listener, so TCP and UDP clients never mix.
//!
//! Bounds: at most [`MAX_CONNECTIONS`] connections, frames of at most [`MAX_FRAME`] bytes (anything else that is
//! not a STUN message or ChannelData closes the connection), at most [`MAX_BUFFERED_FRAMES`] waiting in each
//! direction (more are dropped, as a congested UDP path would), and a connection silent for [`IDLE_LIMIT`] is
//! closed. An allocation made over a connection that closes lives until its lifetime runs out (the crate has no
//! hook to end it sooner); the allocation quotas bound what that costs.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Most TCP clients at once.
pub const MAX_CONNECTIONS: usize = 512;
/// Largest frame: a STUN message's 20-byte header plus the most its length field can say.
pub const MAX_FRAME: usize = 20 + 0xFFFF;
/// Frames waiting to reach the crate, or to go down one connection.
pub const MAX_BUFFERED_FRAMES: usize = 1024;
/// A connection with nothing from its client for this long is closed (a browser refreshes its allocation and
/// permissions, and sends media, far more often).
pub const IDLE_LIMIT: Duration = Duration::from_secs(660);

/// Why a byte stream is not TURN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("neither a STUN message nor ChannelData")]
    NotTurn,
}

/// The next whole frame at the start of `buf`: `Ok(Some((frame length, bytes consumed)))` — they differ by the
/// padding of ChannelData — `Ok(None)` if more bytes are needed, or an error if the stream is not TURN.
pub fn next_frame(buf: &[u8]) -> Result<Option<(usize, usize)>, FramingError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    if buf.len() < 4 {
        return Ok(None);
    }
    let length = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    let (frame, consumed) = match first {
        // ChannelData (channel numbers 0x4000–0x7FFF as RFC 5766 had them; RFC 8656 narrowed them to 0x4FFF but
        // clients still use the old range): a 4-byte header and the data, padded to a multiple of four over TCP
        // (RFC 8656 §12.5). A client that leaves the padding out is still understood: bytes after the data are
        // taken as padding only if they are zeros, which no frame starts with.
        0x40..=0x7F => {
            let frame = 4 + length;
            let padded = 4 + length.div_ceil(4) * 4;
            if buf.len() < frame {
                return Ok(None);
            }
            let after = &buf[frame..buf.len().min(padded)];
            let zeros = after.iter().all(|&b| b == 0);
            if padded == frame || !zeros {
                (frame, frame)
            } else if buf.len() >= padded {
                (frame, padded)
            } else {
                return Ok(None); // the padding is on its way
            }
        }
        // STUN: 20-byte header with the magic cookie, attributes already a multiple of four.
        0x00..=0x3F if length % 4 == 0 => {
            if buf.len() < 8 {
                return Ok(None);
            }
            if buf[4..8] != crate::stun::wire::MAGIC_COOKIE {
                return Err(FramingError::NotTurn);
            }
            (20 + length, 20 + length)
        }
        _ => return Err(FramingError::NotTurn),
    };
    Ok((buf.len() >= consumed).then_some((frame, consumed)))
}

/// Pads ChannelData to a multiple of four bytes for a stream (STUN messages already are).
fn padded(frame: &[u8]) -> Vec<u8> {
    let mut out = frame.to_vec();
    if frame.first().is_some_and(|b| b >> 6 == 1) {
        out.resize(frame.len().div_ceil(4) * 4, 0);
    }
    out
}

type Links = Arc<Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>>;

/// The `Conn` the `turn` crate reads a TCP listener through. See the module doc.
pub struct TcpMuxConn {
    local: SocketAddr,
    incoming: tokio::sync::Mutex<mpsc::Receiver<(Vec<u8>, SocketAddr)>>,
    links: Links,
    accept: tokio::task::JoinHandle<()>,
}

impl TcpMuxConn {
    /// Serves TURN clients connecting to `listener`.
    pub fn start(listener: TcpListener) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (to_crate, incoming) = mpsc::channel(MAX_BUFFERED_FRAMES);
        let links: Links = Arc::default();
        let accept = tokio::spawn(accept_loop(listener, to_crate, links.clone()));
        Ok(Self {
            local,
            incoming: tokio::sync::Mutex::new(incoming),
            links,
            accept,
        })
    }

    fn lock_links(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>> {
        // Nothing panics while holding it; a poisoned map is still a valid map.
        self.links
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for TcpMuxConn {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    to_crate: mpsc::Sender<(Vec<u8>, SocketAddr)>,
    links: Links,
) {
    loop {
        let Ok((stream, client)) = listener.accept().await else {
            continue; // e.g. too many open files: the next accept may work
        };
        let (tx, rx) = mpsc::channel(MAX_BUFFERED_FRAMES);
        {
            let mut links = links.lock().unwrap_or_else(|p| p.into_inner());
            if links.len() >= MAX_CONNECTIONS {
                tracing::info!(%client, "turn/tcp: too many connections, refused one");
                continue;
            }
            links.insert(client, tx);
        }
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(
            stream,
            client,
            rx,
            to_crate.clone(),
            links.clone(),
        ));
    }
}

/// Reads frames from one client to the crate and writes the crate's frames back, until either side stops.
async fn serve_connection(
    stream: TcpStream,
    client: SocketAddr,
    mut from_crate: mpsc::Receiver<Vec<u8>>,
    to_crate: mpsc::Sender<(Vec<u8>, SocketAddr)>,
    links: Links,
) {
    let (mut reader, mut writer) = stream.into_split();
    let write = async move {
        while let Some(frame) = from_crate.recv().await {
            if writer.write_all(&frame).await.is_err() {
                break;
            }
        }
    };
    let read = async move {
        let mut buf: Vec<u8> = Vec::with_capacity(4096);
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            let n = match tokio::time::timeout(IDLE_LIMIT, reader.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
                Ok(Ok(n)) => n,
            };
            buf.extend_from_slice(&chunk[..n]);
            loop {
                match next_frame(&buf) {
                    Ok(Some((frame, consumed))) => {
                        // A full channel drops the frame, as a congested UDP path would.
                        let _ = to_crate.try_send((buf[..frame].to_vec(), client));
                        buf.drain(..consumed);
                    }
                    Ok(None) if buf.len() <= MAX_FRAME + 3 => break,
                    Ok(None) | Err(_) => {
                        tracing::debug!(%client, "turn/tcp: not TURN, closing");
                        return;
                    }
                }
            }
        }
    };
    tokio::select! {
        _ = write => {}
        _ = read => {}
    }
    links
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&client);
}

type ConnResult<T> = Result<T, webrtc_util::Error>;

#[async_trait::async_trait]
impl webrtc_util::Conn for TcpMuxConn {
    async fn connect(&self, _addr: SocketAddr) -> ConnResult<()> {
        Err(webrtc_util::Error::Other(
            "a TCP listener does not connect".into(),
        ))
    }

    async fn recv(&self, _buf: &mut [u8]) -> ConnResult<usize> {
        Err(webrtc_util::Error::Other(
            "the TURN listener is not connected".into(),
        ))
    }

    async fn recv_from(&self, buf: &mut [u8]) -> ConnResult<(usize, SocketAddr)> {
        let mut incoming = self.incoming.lock().await;
        loop {
            let (frame, from) = incoming
                .recv()
                .await
                .ok_or_else(|| webrtc_util::Error::Other("the TCP listener stopped".into()))?;
            if frame.len() <= buf.len() {
                buf[..frame.len()].copy_from_slice(&frame);
                return Ok((frame.len(), from));
            }
            // Larger than the crate reads: no TURN client needs such a message.
        }
    }

    async fn send(&self, _buf: &[u8]) -> ConnResult<usize> {
        Err(webrtc_util::Error::Other(
            "the TURN listener is not connected".into(),
        ))
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> ConnResult<usize> {
        let link = self.lock_links().get(&target).cloned();
        if let Some(link) = link {
            let _ = link.try_send(padded(buf)); // a full queue drops, a closed one is gone
        }
        Ok(buf.len())
    }

    fn local_addr(&self) -> ConnResult<SocketAddr> {
        Ok(self.local)
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    async fn close(&self) -> ConnResult<()> {
        self.accept.abort();
        Ok(())
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stun(attrs: usize) -> Vec<u8> {
        let mut m = vec![0x00, 0x01];
        m.extend_from_slice(&(attrs as u16).to_be_bytes());
        m.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
        m.extend_from_slice(&[7; 12]);
        m.extend(std::iter::repeat_n(0xEE, attrs));
        m
    }

    fn channel_data(len: usize) -> Vec<u8> {
        let mut m = vec![0x40, 0x00];
        m.extend_from_slice(&(len as u16).to_be_bytes());
        m.extend(std::iter::repeat_n(0xAB, len));
        m
    }

    #[test]
    fn stun_and_padded_channel_data_are_cut_from_a_stream() {
        let mut stream = stun(8);
        stream.extend(padded(&channel_data(5)));
        stream.extend(stun(0));
        assert_eq!(next_frame(&stream), Ok(Some((28, 28))));
        let rest = &stream[28..];
        assert_eq!(
            next_frame(rest),
            Ok(Some((9, 12))),
            "5 data bytes, 3 of padding"
        );
        assert_eq!(next_frame(&rest[12..]), Ok(Some((20, 20))));
    }

    #[test]
    fn partial_frames_wait_for_more_bytes() {
        let m = stun(40);
        for cut in 0..m.len() {
            assert_eq!(next_frame(&m[..cut]), Ok(None), "cut at {cut}");
        }
        assert_eq!(
            next_frame(&channel_data(5)),
            Ok(None),
            "the padding may be on its way"
        );
    }

    #[test]
    fn channel_data_without_its_padding_is_still_cut_right() {
        let mut stream = channel_data(5);
        stream.extend(stun(0));
        assert_eq!(next_frame(&stream), Ok(Some((9, 9))));
        assert_eq!(next_frame(&stream[9..]), Ok(Some((20, 20))));
        let mut stream = channel_data(6);
        stream.extend(channel_data(2));
        assert_eq!(next_frame(&stream), Ok(Some((10, 10))));
    }

    #[test]
    fn anything_else_is_not_turn() {
        assert_eq!(next_frame(&[0xC0, 0, 0, 4]), Err(FramingError::NotTurn));
        assert_eq!(
            next_frame(&[0x16, 3, 1, 2, 0, 1, 0, 0xfc]),
            Err(FramingError::NotTurn),
            "TLS"
        );
        assert_eq!(next_frame(&[0x80, 0, 0, 4]), Err(FramingError::NotTurn));
        assert_eq!(
            next_frame(&[0x00, 1, 0, 3]),
            Err(FramingError::NotTurn),
            "STUN lengths are x4"
        );
    }

    #[test]
    fn only_channel_data_is_padded() {
        assert_eq!(padded(&channel_data(1)).len(), 8);
        assert_eq!(padded(&channel_data(4)).len(), 8);
        assert_eq!(padded(&stun(4)).len(), 24);
    }
}

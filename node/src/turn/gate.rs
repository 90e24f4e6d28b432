//! The gate in front of the `turn` crate: everything the crate has no hook for, done on the datagrams between
//! the listening socket and the crate's server loop.
//!
//! The `turn` crate (0.17) reads its listener through a `Conn` trait object. [`GatedConn`] is that `Conn`: it
//! wraps the UDP socket and runs each datagram through [`Gate`], a plain state machine (no IO, no clock):
//!
//! - **Framing**: only well-framed STUN messages with the magic cookie and ChannelData whose length fits reach the
//!   crate; other bytes are dropped, so the crate's decoders only ever see sane framing.
//! - **No open relay**: a CreatePermission or ChannelBind naming a peer the [`PeerPolicy`] refuses is answered
//!   403 Forbidden by the gate and never reaches the crate, so no permission to such a peer ever exists. (Send
//!   indications and inbound relay traffic need a permission, which the crate checks.) A request of those two
//!   methods the gate cannot decode gets 400: the gate fails closed rather than let the crate read it differently.
//! - **Quotas**: an Allocate from a username already holding [`Quotas::per_user`] allocations, or when
//!   [`Quotas::total`] exist, is answered 486 Allocation Quota Reached (RFC 8656 §7.2 step 10). The gate counts
//!   allocations by watching the crate's Allocate success responses go out ([`Gate::observe_outbound`]) and the
//!   crate's close notifications come back ([`Gate::allocation_closed`]).
//! - **Nonces**: the crate keeps every nonce it hands out in a map it never sweeps, and hands one out for every
//!   request without a valid one. The gate answers such requests itself with a nonce the crate already holds
//!   ([`super::nonces`]): per-source budgets for those replies, and the crate makes about two nonces an hour.
//! - **Short-lived credentials**: an Allocate whose REST username has expired is answered 401; refreshes,
//!   permissions and channel binds of an allocation made in time go on (the crate checks their integrity with the
//!   password, which does not expire), so a call outlives the credentials it started with.
//! - **Bandwidth caps**: relayed data (ChannelData, Send and Data indications) of metered users
//!   ([`Credentials::is_metered`]: everyone but the node's own page and static users) is policed by a token bucket
//!   per username and one for all of them together; what goes over is dropped, as a congested link would.
//!
//! Drive the core with [`Gate::inspect_inbound`] for each received datagram (pass it on, drop it, or send the
//! returned reply), [`Gate::observe_outbound`] for each datagram the crate sends, and
//! [`Gate::allocation_closed`] when the crate reports an allocation gone.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use bytecodec::{DecodeExt, EncodeExt};
use stun_codec::rfc5389::attributes::{
    ErrorCode, MessageIntegrity, Nonce, Realm, Software, Username,
};
use stun_codec::rfc5766::attributes::XorPeerAddress;
use stun_codec::{Message, MessageClass, MessageDecoder, MessageEncoder, TransactionId};
use tokio::net::UdpSocket;

use super::credentials::Credentials;
use super::nonces::{NonceKeeper, NonceVerdict};
use super::peer_policy::{OwnServices, PeerPolicy};
use crate::stun::wire::{HEADER_LEN, StunAttribute, StunFrame, stun_frame};

const METHOD_ALLOCATE: u16 = 0x003;
const METHOD_REFRESH: u16 = 0x004;
const METHOD_SEND: u16 = 0x006;
const METHOD_DATA: u16 = 0x007;
const METHOD_CREATE_PERMISSION: u16 = 0x008;
const METHOD_CHANNEL_BIND: u16 = 0x009;
const CLASS_REQUEST: u8 = 0;
const CLASS_INDICATION: u8 = 1;
/// Message types of the crate's Allocate responses, as they appear on the wire.
const ALLOCATE_SUCCESS: [u8; 2] = [0x01, 0x03];
const ALLOCATE_ERROR: [u8; 2] = [0x01, 0x13];
const ATTR_MESSAGE_INTEGRITY: u16 = 0x0008;
const ATTR_NONCE: u16 = 0x0015;
/// Error responses of the methods that need a nonce (class bits 0x0110 with the method), as on the wire.
const NONCE_METHOD_ERRORS: [[u8; 2]; 4] = [[0x01, 0x13], [0x01, 0x14], [0x01, 0x18], [0x01, 0x19]];

/// Allocations pending their response are forgotten past this many (a flood of Allocates that never succeed).
const MAX_PENDING: usize = 4096;

/// Allocation quotas and bandwidth caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    /// Live allocations one username may hold.
    pub per_user: usize,
    /// Live allocations on the whole server.
    pub total: usize,
    /// Relayed bytes per second one metered username may cause, both directions together (`None`: no cap).
    pub user_bytes_per_sec: Option<u64>,
    /// Relayed bytes per second of all metered usernames together (`None`: no cap).
    pub total_bytes_per_sec: Option<u64>,
}

/// A token bucket of bytes that holds one second's worth: a burst such as a video key frame passes, a sustained
/// rate above the cap does not.
#[derive(Debug, Clone, Copy)]
struct ByteBucket {
    tokens: f64,
    last: Instant,
}

impl ByteBucket {
    fn full(rate: u64, now: Instant) -> Self {
        Self {
            tokens: rate as f64,
            last: now,
        }
    }

    fn refill(&mut self, rate: u64, now: Instant) {
        let rate = rate as f64;
        self.tokens =
            (self.tokens + now.saturating_duration_since(self.last).as_secs_f64() * rate).min(rate);
        self.last = now;
    }
}

/// What to do with a received datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// Hand it to the `turn` crate.
    Pass,
    /// Drop it silently.
    Drop,
    /// Do not hand it on; send these bytes back to its source instead.
    Reply(Vec<u8>),
}

/// The gate's state: policy, quotas and the allocation ledger.
#[derive(Debug)]
pub struct Gate {
    policy: PeerPolicy,
    own: OwnServices,
    quotas: Quotas,
    credentials: Credentials,
    realm: String,
    software: Software,
    /// Allocate requests passed on, by client address, waiting for the crate's response.
    pending: HashMap<SocketAddr, String>,
    /// Live allocations: client address → username.
    live: HashMap<SocketAddr, String>,
    per_user: HashMap<String, usize>,
    nonces: NonceKeeper,
    /// Bandwidth buckets of metered usernames with live allocations, and of all of them together.
    user_buckets: HashMap<String, ByteBucket>,
    total_bucket: Option<ByteBucket>,
    /// Relayed datagrams dropped for going over a cap.
    over_cap_drops: u64,
    /// Where the gate's monotonic `now` meets the wall clock, to check credential expiry.
    wall_anchor: (Instant, SystemTime),
}

impl Gate {
    pub fn new(
        policy: PeerPolicy,
        quotas: Quotas,
        credentials: Credentials,
        realm: String,
    ) -> Self {
        Self {
            policy,
            own: OwnServices::default(),
            quotas,
            credentials,
            realm,
            software: Software::new_static(concat!("hearsay ", env!("CARGO_PKG_VERSION"))),
            pending: HashMap::new(),
            live: HashMap::new(),
            per_user: HashMap::new(),
            nonces: NonceKeeper::new(Instant::now()),
            user_buckets: HashMap::new(),
            total_bucket: None,
            over_cap_drops: 0,
            wall_anchor: (Instant::now(), SystemTime::now()),
        }
    }

    /// Starts with `nonce` taken as one the crate handed out (for tests of what follows the first exchange).
    #[cfg(test)]
    fn with_observed_nonce(mut self, nonce: &str) -> Self {
        self.nonces.observed(nonce.to_owned(), Instant::now());
        self
    }

    /// Refuses the node's own services as peers (see [`OwnServices`]).
    pub fn with_own_services(mut self, own: OwnServices) -> Self {
        self.own = own;
        self
    }

    /// Relayed datagrams dropped so far for going over a bandwidth cap.
    pub fn over_cap_drops(&self) -> u64 {
        self.over_cap_drops
    }

    fn wall(&self, now: Instant) -> SystemTime {
        let (at, wall) = self.wall_anchor;
        match now.checked_duration_since(at) {
            Some(ahead) => wall + ahead,
            None => wall - at.duration_since(now),
        }
    }

    /// Whether `len` bytes of relayed data from or to `client` fit the caps; counts them if they do.
    pub fn admit_relayed(&mut self, client: SocketAddr, len: usize, now: Instant) -> bool {
        let Some(user) = self.live.get(&client) else {
            return true; // no allocation the gate knows of: the crate has nothing to relay for it either
        };
        if !self.credentials.is_metered(user) {
            return true;
        }
        let len = len as f64;
        let user_fits = match self.quotas.user_bytes_per_sec {
            Some(rate) => {
                let bucket = self
                    .user_buckets
                    .entry(user.clone())
                    .or_insert_with(|| ByteBucket::full(rate, now));
                bucket.refill(rate, now);
                bucket.tokens >= len
            }
            None => true,
        };
        let total_fits = match self.quotas.total_bytes_per_sec {
            Some(rate) => {
                let bucket = self
                    .total_bucket
                    .get_or_insert_with(|| ByteBucket::full(rate, now));
                bucket.refill(rate, now);
                bucket.tokens >= len
            }
            None => true,
        };
        if !(user_fits && total_fits) {
            self.over_cap_drops += 1;
            return false;
        }
        if let Some(bucket) = self.user_buckets.get_mut(user) {
            bucket.tokens -= len;
        }
        if let Some(bucket) = &mut self.total_bucket {
            bucket.tokens -= len;
        }
        true
    }

    /// Live allocations the gate counts.
    pub fn live_allocations(&self) -> usize {
        self.live.len()
    }

    /// Decides about one datagram received from `from`.
    pub fn inspect_inbound(&mut self, bytes: &[u8], from: SocketAddr, now: Instant) -> Inbound {
        let Some(&first) = bytes.first() else {
            return Inbound::Drop;
        };
        if first & 0xC0 == 0x40 {
            return match channel_data_verdict(bytes) {
                Inbound::Pass if !self.admit_relayed(from, bytes.len(), now) => Inbound::Drop,
                verdict => verdict,
            };
        }
        let Some(frame) = stun_frame(bytes) else {
            return Inbound::Drop;
        };
        if !frame.has_cookie {
            return Inbound::Drop;
        }
        if frame.class() == CLASS_INDICATION && frame.method() == METHOD_SEND {
            return if self.admit_relayed(from, bytes.len(), now) {
                Inbound::Pass
            } else {
                Inbound::Drop
            };
        }
        if frame.class() != CLASS_REQUEST {
            return Inbound::Pass;
        }
        let method = frame.method();
        if matches!(
            method,
            METHOD_ALLOCATE | METHOD_REFRESH | METHOD_CREATE_PERMISSION | METHOD_CHANNEL_BIND
        ) {
            let nonce = attribute(bytes, ATTR_NONCE).and_then(|v| std::str::from_utf8(v).ok());
            match self.nonces.check(nonce, from.ip(), now) {
                NonceVerdict::Pass => {}
                NonceVerdict::Drop => return Inbound::Drop,
                NonceVerdict::Reply { code, nonce } => {
                    return self.nonce_reply(bytes, frame, code, nonce);
                }
            }
        }
        match method {
            METHOD_ALLOCATE => self.allocate(bytes, frame, from, now),
            METHOD_CREATE_PERMISSION | METHOD_CHANNEL_BIND => self.peer_request(bytes, frame),
            _ => Inbound::Pass,
        }
    }

    /// Whether a datagram the crate sends to client `to` may go: relayed data over a cap may not.
    pub fn admit_outbound(&mut self, bytes: &[u8], to: SocketAddr, now: Instant) -> bool {
        let relayed = match bytes.first() {
            Some(first) if first & 0xC0 == 0x40 => true,
            Some(_) => stun_frame(bytes).is_some_and(|f| {
                f.has_cookie && f.class() == CLASS_INDICATION && f.method() == METHOD_DATA
            }),
            None => false,
        };
        !relayed || self.admit_relayed(to, bytes.len(), now)
    }

    /// Notes a datagram the crate sends to `to`: Allocate responses (for the ledger) and the nonces it hands out.
    pub fn observe_outbound(&mut self, bytes: &[u8], to: SocketAddr, now: Instant) {
        if bytes.len() < HEADER_LEN {
            return;
        }
        if NONCE_METHOD_ERRORS.iter().any(|t| bytes[..2] == *t)
            && let Some(nonce) = attribute(bytes, ATTR_NONCE)
            && let Ok(nonce) = std::str::from_utf8(nonce)
        {
            self.nonces.observed(nonce.to_owned(), now);
        }
        if bytes[..2] == ALLOCATE_SUCCESS {
            if let Some(user) = self.pending.remove(&to) {
                *self.per_user.entry(user.clone()).or_insert(0) += 1;
                if let Some(old) = self.live.insert(to, user) {
                    self.release(&old);
                }
            }
        } else if bytes[..2] == ALLOCATE_ERROR {
            self.pending.remove(&to);
        }
    }

    /// The crate closed the allocation of client `src` (expired, refreshed to 0, or server closing).
    pub fn allocation_closed(&mut self, src: SocketAddr) {
        if let Some(user) = self.live.remove(&src) {
            self.release(&user);
        }
    }

    fn release(&mut self, user: &str) {
        if let Some(count) = self.per_user.get_mut(user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.per_user.remove(user);
                self.user_buckets.remove(user);
            }
        }
    }

    /// The gate's own 401 or 438 with a nonce the crate holds (RFC 8489 §9.2.4: ERROR-CODE, REALM, NONCE).
    fn nonce_reply(&self, bytes: &[u8], frame: StunFrame, code: u16, nonce: String) -> Inbound {
        let reason = if code == 401 {
            "Unauthorized"
        } else {
            "Stale Nonce"
        };
        let (Ok(realm), Ok(nonce)) = (Realm::new(self.realm.clone()), Nonce::new(nonce)) else {
            return Inbound::Drop;
        };
        self.reply_with(
            bytes,
            frame,
            code,
            reason,
            None,
            vec![realm.into(), nonce.into()],
        )
    }

    fn allocate(
        &mut self,
        bytes: &[u8],
        frame: StunFrame,
        from: SocketAddr,
        now: Instant,
    ) -> Inbound {
        if !has_message_integrity(bytes) {
            return Inbound::Pass; // the crate answers with the nonce it was let make
        }
        let Some(message) = decode(bytes) else {
            return self.reply(bytes, frame, 400, "Bad Request", None);
        };
        let Some(username) = message.get_attribute::<Username>() else {
            return Inbound::Pass; // the crate answers 400
        };
        if self.live.contains_key(&from) {
            return Inbound::Pass; // the crate answers 437 Allocation Mismatch
        }
        let user = username.name().to_owned();
        if let Err(err) = self.credentials.may_allocate(&user, self.wall(now)) {
            tracing::info!(%from, %user, %err, "turn: allocation refused");
            return self.reply(bytes, frame, 401, "Unauthorized", None);
        }
        let held = self.per_user.get(&user).copied().unwrap_or(0);
        if held >= self.quotas.per_user || self.live.len() >= self.quotas.total {
            tracing::info!(%from, %user, held, total = self.live.len(), "turn: allocation quota reached");
            return self.reply(
                bytes,
                frame,
                486,
                "Allocation Quota Reached",
                Some(&message),
            );
        }
        if self.pending.len() >= MAX_PENDING {
            self.pending.clear();
        }
        self.pending.insert(from, user);
        Inbound::Pass
    }

    fn peer_request(&mut self, bytes: &[u8], frame: StunFrame) -> Inbound {
        let Some(message) = decode(bytes) else {
            return self.reply(bytes, frame, 400, "Bad Request", None);
        };
        let refused = message
            .attributes()
            .filter_map(|a| match a {
                StunAttribute::XorPeerAddress(peer) => Some(XorPeerAddress::address(peer)),
                _ => None,
            })
            .find(|peer| !self.policy.allows(peer.ip()) || self.own.contains(*peer));
        match refused {
            Some(peer) => {
                tracing::info!(%peer, "turn: refused to relay to a forbidden peer");
                self.reply(bytes, frame, 403, "Forbidden", Some(&message))
            }
            None => Inbound::Pass,
        }
    }

    /// An error response to the request in `bytes`, with MESSAGE-INTEGRITY when the request named valid
    /// credentials (RFC 8489 §9.2.4), so a client that checks integrity accepts it.
    fn reply(
        &self,
        bytes: &[u8],
        frame: StunFrame,
        code: u16,
        reason: &str,
        request: Option<&Message<StunAttribute>>,
    ) -> Inbound {
        self.reply_with(bytes, frame, code, reason, request, Vec::new())
    }

    fn reply_with(
        &self,
        bytes: &[u8],
        frame: StunFrame,
        code: u16,
        reason: &str,
        request: Option<&Message<StunAttribute>>,
        extra: Vec<StunAttribute>,
    ) -> Inbound {
        let mut id = [0u8; 12];
        id.copy_from_slice(&bytes[8..HEADER_LEN]);
        let Ok(method) = stun_codec::Method::new(frame.method()) else {
            return Inbound::Drop;
        };
        let mut response =
            Message::new(MessageClass::ErrorResponse, method, TransactionId::new(id));
        let Ok(error) = ErrorCode::new(code, reason.to_owned()) else {
            return Inbound::Drop;
        };
        response.add_attribute(error);
        for attribute in extra {
            response.add_attribute(attribute);
        }
        response.add_attribute(self.software.clone());
        if let Some(integrity) = request.and_then(|r| self.integrity_for(r, &response)) {
            response.add_attribute(integrity);
        }
        match MessageEncoder::new().encode_into_bytes(response) {
            Ok(out) => Inbound::Reply(out),
            Err(_) => Inbound::Drop,
        }
    }

    fn integrity_for(
        &self,
        request: &Message<StunAttribute>,
        response: &Message<StunAttribute>,
    ) -> Option<MessageIntegrity> {
        let username = request.get_attribute::<Username>()?;
        let realm = Realm::new(self.realm.clone()).ok()?;
        let password = self.credentials.password_for(username.name()).ok()?;
        MessageIntegrity::new_long_term_credential(response, username, &realm, &password).ok()
    }
}

/// ChannelData (RFC 8656 §12.4): a 4-byte header whose length must fit in the datagram.
fn channel_data_verdict(bytes: &[u8]) -> Inbound {
    if bytes.len() < 4 {
        return Inbound::Drop;
    }
    let length = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
    if length > bytes.len() - 4 {
        Inbound::Drop
    } else {
        Inbound::Pass
    }
}

/// Whether a framed message carries a MESSAGE-INTEGRITY attribute.
fn has_message_integrity(bytes: &[u8]) -> bool {
    attribute(bytes, ATTR_MESSAGE_INTEGRITY).is_some()
}

/// The value of the first attribute of type `kind` in a framed message, by walking the attribute headers only; `None`
/// if absent or if its length runs past the datagram.
fn attribute(bytes: &[u8], kind: u16) -> Option<&[u8]> {
    let mut at = HEADER_LEN;
    while at + 4 <= bytes.len() {
        let this = u16::from_be_bytes([bytes[at], bytes[at + 1]]);
        let len = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
        if this == kind {
            return bytes.get(at + 4..at + 4 + len);
        }
        at += 4 + len.div_ceil(4) * 4;
    }
    None
}

fn decode(bytes: &[u8]) -> Option<Message<StunAttribute>> {
    match MessageDecoder::<StunAttribute>::new().decode_from_bytes(bytes) {
        Ok(Ok(message)) => Some(message),
        Ok(Err(broken)) => {
            tracing::debug!(error = %broken.error(), "turn gate: undecodable attributes");
            None
        }
        Err(err) => {
            tracing::debug!(%err, "turn gate: undecodable message");
            None
        }
    }
}

/// The `Conn` the `turn` crate reads a listener through: the listener (the UDP socket, or TURN over TCP's
/// [`super::tcp::TcpMuxConn`]) plus the [`Gate`], shared by both so quotas and caps count across them.
pub struct GatedConn {
    inner: Arc<dyn webrtc_util::Conn + Send + Sync>,
    gate: Arc<Mutex<Gate>>,
}

impl GatedConn {
    pub fn new(inner: Arc<dyn webrtc_util::Conn + Send + Sync>, gate: Arc<Mutex<Gate>>) -> Self {
        Self { inner, gate }
    }

    pub fn udp(socket: UdpSocket, gate: Arc<Mutex<Gate>>) -> Self {
        Self::new(Arc::new(socket), gate)
    }

    fn gate(&self) -> std::sync::MutexGuard<'_, Gate> {
        // The gate's methods do not panic while holding the lock, so it is never poisoned; if it were, its state
        // is still a consistent ledger, so use it.
        self.gate
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Receive errors that concern one datagram (an ICMP error for an earlier send), not the socket.
fn is_transient(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        err.kind(),
        ConnectionRefused | ConnectionReset | Interrupted | WouldBlock | TimedOut
    )
}

type ConnResult<T> = Result<T, webrtc_util::Error>;

#[async_trait::async_trait]
impl webrtc_util::Conn for GatedConn {
    async fn connect(&self, addr: SocketAddr) -> ConnResult<()> {
        self.inner.connect(addr).await
    }

    async fn recv(&self, _buf: &mut [u8]) -> ConnResult<usize> {
        Err(webrtc_util::Error::Other(
            "the TURN listener is not connected".into(),
        ))
    }

    async fn recv_from(&self, buf: &mut [u8]) -> ConnResult<(usize, SocketAddr)> {
        loop {
            let (len, from) = match self.inner.recv_from(buf).await {
                Ok(got) => got,
                // Per-datagram errors must not reach the crate: it ends its server loop on any error.
                Err(webrtc_util::Error::Io(err)) if is_transient(&err.0) => continue,
                Err(err) => return Err(err),
            };
            let verdict = self
                .gate()
                .inspect_inbound(&buf[..len], from, Instant::now());
            match verdict {
                Inbound::Pass => return Ok((len, from)),
                Inbound::Drop => {}
                Inbound::Reply(reply) => {
                    let _ = self.inner.send_to(&reply, from).await;
                }
            }
        }
    }

    async fn send(&self, _buf: &[u8]) -> ConnResult<usize> {
        Err(webrtc_util::Error::Other(
            "the TURN listener is not connected".into(),
        ))
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> ConnResult<usize> {
        {
            let mut gate = self.gate();
            if !gate.admit_outbound(buf, target, Instant::now()) {
                return Ok(buf.len()); // over a cap: dropped, as a congested link would
            }
            if buf.len() >= HEADER_LEN && buf[0] == 0x01 {
                gate.observe_outbound(buf, target, Instant::now());
            }
        }
        self.inner.send_to(buf, target).await
    }

    fn local_addr(&self) -> ConnResult<SocketAddr> {
        self.inner.local_addr()
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    async fn close(&self) -> ConnResult<()> {
        Ok(())
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use stun_codec::rfc5766::attributes::RequestedTransport;

    use super::*;
    use crate::turn::credentials::TurnSecret;

    const ID: [u8; 12] = *b"gate-test-id";

    fn gate(allow_private: bool, per_user: usize, total: usize) -> Gate {
        let mut g = capped_gate(per_user, total, None, None);
        g.policy = PeerPolicy { allow_private };
        g
    }

    /// The nonce the crate is taken to have handed out (requests with integrity carry it).
    const NONCE: &str = "crate-nonce";

    fn capped_gate(
        per_user: usize,
        total: usize,
        user_cap: Option<u64>,
        total_cap: Option<u64>,
    ) -> Gate {
        gate_before_any_nonce(per_user, total, user_cap, total_cap).with_observed_nonce(NONCE)
    }

    /// A gate that has not yet seen the crate hand out a nonce.
    fn gate_before_any_nonce(
        per_user: usize,
        total: usize,
        user_cap: Option<u64>,
        total_cap: Option<u64>,
    ) -> Gate {
        Gate::new(
            PeerPolicy {
                allow_private: false,
            },
            Quotas {
                per_user,
                total,
                user_bytes_per_sec: user_cap,
                total_bytes_per_sec: total_cap,
            },
            Credentials::new(TurnSecret::new("gate-test-secret"), HashMap::new()),
            "realm".into(),
        )
    }

    fn message(method: u16, attrs: Vec<StunAttribute>, with_integrity: bool) -> Vec<u8> {
        let method = stun_codec::Method::new(method).unwrap();
        let mut m: Message<StunAttribute> =
            Message::new(MessageClass::Request, method, TransactionId::new(ID));
        for a in attrs {
            m.add_attribute(a);
        }
        if with_integrity {
            m.add_attribute(StunAttribute::from(Nonce::new(NONCE.into()).unwrap()));
            let mi = MessageIntegrity::new_short_term_credential(&m, "whatever").unwrap();
            m.add_attribute(mi);
        }
        MessageEncoder::new().encode_into_bytes(m).unwrap()
    }

    fn peer(addr: &str) -> StunAttribute {
        XorPeerAddress::new(addr.parse().unwrap()).into()
    }

    fn allocate(user: &str) -> Vec<u8> {
        message(
            METHOD_ALLOCATE,
            vec![
                RequestedTransport::new(17).into(),
                Username::new(user.into()).unwrap().into(),
            ],
            true,
        )
    }

    fn error_code(reply: &Inbound) -> Option<u16> {
        let Inbound::Reply(bytes) = reply else {
            return None;
        };
        let m = MessageDecoder::<StunAttribute>::new()
            .decode_from_bytes(bytes)
            .ok()?
            .ok()?;
        assert_eq!(m.transaction_id(), TransactionId::new(ID));
        m.get_attribute::<ErrorCode>().map(|e| e.code())
    }

    fn client(port: u16) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, 1], port))
    }

    /// What the crate would send back for a successful Allocate.
    const SUCCESS: [u8; 20] = [
        1, 3, 0, 0, 0x21, 0x12, 0xA4, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    #[test]
    fn permission_to_loopback_or_private_peers_gets_403_and_never_reaches_the_crate() {
        let mut g = gate(false, 10, 10);
        let now = Instant::now();
        for forbidden in ["127.0.0.1:9", "10.0.0.1:9", "[::1]:9", "169.254.0.1:9"] {
            for method in [METHOD_CREATE_PERMISSION, METHOD_CHANNEL_BIND] {
                let bytes = message(method, vec![peer(forbidden)], true);
                assert_eq!(
                    error_code(&g.inspect_inbound(&bytes, client(1), now)),
                    Some(403),
                    "{forbidden}"
                );
            }
        }
        // A public peer passes; one forbidden among several public ones still refuses the whole request.
        let ok = message(METHOD_CREATE_PERMISSION, vec![peer("198.51.100.1:9")], true);
        assert_eq!(g.inspect_inbound(&ok, client(1), now), Inbound::Pass);
        let mixed = message(
            METHOD_CREATE_PERMISSION,
            vec![peer("198.51.100.1:9"), peer("192.168.1.1:9")],
            true,
        );
        assert_eq!(
            error_code(&g.inspect_inbound(&mixed, client(1), now)),
            Some(403)
        );
    }

    #[test]
    fn allow_private_lets_loopback_through() {
        let mut g = gate(true, 10, 10);
        let bytes = message(METHOD_CREATE_PERMISSION, vec![peer("127.0.0.1:9")], true);
        assert_eq!(
            g.inspect_inbound(&bytes, client(1), Instant::now()),
            Inbound::Pass
        );
    }

    #[test]
    fn undecodable_peer_requests_fail_closed_with_400() {
        let mut g = gate(false, 10, 10);
        let nonce = StunAttribute::from(Nonce::new(NONCE.into()).unwrap());
        let mut bytes = message(METHOD_CREATE_PERMISSION, vec![nonce], false);
        // XOR-PEER-ADDRESS with family 7: the crate might read it some way; the gate refuses it.
        bytes.extend_from_slice(&[0x00, 0x12, 0, 8, 0, 7, 0, 0, 1, 2, 3, 4]);
        let len = (bytes.len() - HEADER_LEN) as u16;
        bytes[2..4].copy_from_slice(&len.to_be_bytes());
        assert_eq!(
            error_code(&g.inspect_inbound(&bytes, client(1), Instant::now())),
            Some(400)
        );
    }

    #[test]
    fn per_user_quota_counts_successes_and_frees_on_close() {
        let mut g = gate(false, 2, 100);
        let now = Instant::now();
        for port in [1, 2] {
            assert_eq!(
                g.inspect_inbound(&allocate("4000000000:alice"), client(port), now),
                Inbound::Pass
            );
            g.observe_outbound(&SUCCESS, client(port), Instant::now());
        }
        assert_eq!(g.live_allocations(), 2);
        assert_eq!(
            error_code(&g.inspect_inbound(&allocate("4000000000:alice"), client(3), now)),
            Some(486)
        );
        // Another user is not affected; a retransmission from a live client passes (the crate answers it).
        assert_eq!(
            g.inspect_inbound(&allocate("4000000000:bob"), client(4), now),
            Inbound::Pass
        );
        assert_eq!(
            g.inspect_inbound(&allocate("4000000000:alice"), client(1), now),
            Inbound::Pass
        );
        g.allocation_closed(client(1));
        assert_eq!(
            g.inspect_inbound(&allocate("4000000000:alice"), client(3), now),
            Inbound::Pass
        );
    }

    #[test]
    fn failed_allocations_are_not_counted() {
        let mut g = gate(false, 1, 100);
        let now = Instant::now();
        assert_eq!(
            g.inspect_inbound(&allocate("4000000000:a"), client(1), now),
            Inbound::Pass
        );
        let mut error = SUCCESS;
        error[1] = 0x13;
        g.observe_outbound(&error, client(1), Instant::now());
        assert_eq!(g.live_allocations(), 0);
        assert_eq!(
            g.inspect_inbound(&allocate("4000000000:a"), client(2), now),
            Inbound::Pass
        );
    }

    #[test]
    fn total_quota_applies_across_users() {
        let mut g = gate(false, 10, 1);
        let now = Instant::now();
        assert_eq!(
            g.inspect_inbound(&allocate("4000000000:a"), client(1), now),
            Inbound::Pass
        );
        g.observe_outbound(&SUCCESS, client(1), Instant::now());
        assert_eq!(
            error_code(&g.inspect_inbound(&allocate("4000000000:b"), client(2), now)),
            Some(486)
        );
    }

    #[test]
    fn expired_credentials_allocate_nothing_new_but_live_allocations_go_on() {
        let mut g = gate(false, 10, 10);
        let now = Instant::now();
        let expired = "1000:old";
        assert_eq!(
            error_code(&g.inspect_inbound(&allocate(expired), client(1), now)),
            Some(401)
        );
        assert_eq!(g.live_allocations(), 0);
        // A refresh of an allocation made while the credentials were valid passes to the crate.
        let refresh = message(
            METHOD_REFRESH,
            vec![Username::new(expired.into()).unwrap().into()],
            true,
        );
        assert_eq!(g.inspect_inbound(&refresh, client(2), now), Inbound::Pass);
    }

    /// A metered user with a live allocation at `client(port)`.
    fn live(g: &mut Gate, user: &str, port: u16, now: Instant) {
        assert_eq!(
            g.inspect_inbound(&allocate(user), client(port), now),
            Inbound::Pass
        );
        g.observe_outbound(&SUCCESS, client(port), Instant::now());
    }

    fn channel_data(len: usize) -> Vec<u8> {
        let mut bytes = vec![0x40, 0x00];
        bytes.extend_from_slice(&(len as u16).to_be_bytes());
        bytes.resize(4 + len, 0xab);
        bytes
    }

    #[test]
    fn relayed_data_over_a_users_cap_is_dropped_both_ways_and_the_budget_refills() {
        let mut g = capped_gate(10, 10, Some(10_000), None);
        let t0 = Instant::now();
        live(&mut g, "4000000000:guest", 1, t0);
        let frame = channel_data(996); // 1000 bytes on the wire
        let passed = (0..20)
            .filter(|_| g.inspect_inbound(&frame, client(1), t0) == Inbound::Pass)
            .count();
        assert_eq!(passed, 10, "one second's worth passes");
        assert!(
            !g.admit_outbound(&frame, client(1), t0),
            "the cap counts both directions"
        );
        assert_eq!(g.over_cap_drops(), 11);
        let later = t0 + Duration::from_millis(500);
        let passed = (0..20)
            .filter(|_| g.admit_outbound(&frame, client(1), later))
            .count();
        assert_eq!(passed, 5, "half a second refills half");
    }

    #[test]
    fn the_total_cap_is_shared_and_the_own_page_is_not_metered() {
        let mut g = capped_gate(10, 10, None, Some(5_000));
        let t0 = Instant::now();
        live(&mut g, "4000000000:a", 1, t0);
        live(&mut g, "4000000000:b", 2, t0);
        live(&mut g, "4000000000:page", 3, t0);
        let frame = channel_data(996);
        let a = (0..5)
            .filter(|_| g.inspect_inbound(&frame, client(1), t0) == Inbound::Pass)
            .count();
        let b = (0..5)
            .filter(|_| g.inspect_inbound(&frame, client(2), t0) == Inbound::Pass)
            .count();
        assert_eq!((a, b), (5, 0), "the first user spent the shared budget");
        let page = (0..50)
            .filter(|_| g.inspect_inbound(&frame, client(3), t0) == Inbound::Pass)
            .count();
        assert_eq!(page, 50, "the node's own page is not counted");
        // Control messages and unknown clients are never metered.
        assert!(g.admit_outbound(&SUCCESS, client(2), t0));
        assert_eq!(g.inspect_inbound(&frame, client(99), t0), Inbound::Pass);
    }

    #[test]
    fn requests_without_a_known_nonce_are_answered_by_the_gate_and_never_reach_the_crate() {
        let mut g = gate(false, 10, 10);
        let now = Instant::now();
        let bare = message(
            METHOD_ALLOCATE,
            vec![RequestedTransport::new(17).into()],
            false,
        );
        // A flood from many sources: each gets the crate's nonce from the gate, nothing reaches the crate.
        let mut replies = 0;
        for i in 0..5_000u32 {
            let from = SocketAddr::from((std::net::Ipv4Addr::from(0xC633_6400 + i), 5000));
            match g.inspect_inbound(&bare, from, now) {
                Inbound::Pass => panic!("a nonce-less Allocate reached the crate"),
                reply @ Inbound::Reply(_) => {
                    assert_eq!(error_code(&reply), Some(401));
                    replies += 1;
                }
                Inbound::Drop => {}
            }
        }
        assert_eq!(replies, 5_000, "every source within its budget is answered");
        // The answer carries the realm and the crate's nonce, as a client needs.
        let Inbound::Reply(bytes) = g.inspect_inbound(&bare, client(1), now) else {
            panic!("no reply");
        };
        let m = MessageDecoder::<StunAttribute>::new()
            .decode_from_bytes(&bytes)
            .unwrap()
            .unwrap();
        assert_eq!(
            m.get_attribute::<Nonce>().map(|n| n.value().to_owned()),
            Some(NONCE.into())
        );
        assert_eq!(
            m.get_attribute::<Realm>().map(|r| r.text().to_owned()),
            Some("realm".into())
        );
        // A request with the nonce passes; one with a made-up nonce gets 438 from the gate.
        assert_eq!(
            g.inspect_inbound(&allocate("4000000000:alice"), client(2), now),
            Inbound::Pass
        );
        let forged = message(
            METHOD_REFRESH,
            vec![Nonce::new("made-up".into()).unwrap().into()],
            false,
        );
        assert_eq!(
            error_code(&g.inspect_inbound(&forged, client(3), now)),
            Some(438)
        );
    }

    #[test]
    fn the_first_nonce_comes_from_the_crate_and_is_learned_from_its_answer() {
        let mut g = gate_before_any_nonce(10, 10, None, None);
        let now = Instant::now();
        let bare = message(
            METHOD_ALLOCATE,
            vec![RequestedTransport::new(17).into()],
            false,
        );
        assert_eq!(g.inspect_inbound(&bare, client(1), now), Inbound::Pass);
        // The crate's 401 goes out carrying its nonce.
        let method = stun_codec::Method::new(METHOD_ALLOCATE).unwrap();
        let mut answer: Message<StunAttribute> =
            Message::new(MessageClass::ErrorResponse, method, TransactionId::new(ID));
        answer.add_attribute(ErrorCode::new(401, "Unauthorized".into()).unwrap());
        answer.add_attribute(Nonce::new("from-the-crate".into()).unwrap());
        let answer = MessageEncoder::new().encode_into_bytes(answer).unwrap();
        g.observe_outbound(&answer, client(1), now);
        let Inbound::Reply(bytes) = g.inspect_inbound(&bare, client(2), now) else {
            panic!("the gate should answer now");
        };
        let m = MessageDecoder::<StunAttribute>::new()
            .decode_from_bytes(&bytes)
            .unwrap()
            .unwrap();
        assert_eq!(
            m.get_attribute::<Nonce>().map(|n| n.value()),
            Some("from-the-crate")
        );
    }

    #[test]
    fn framing_is_checked_before_the_crate_sees_anything() {
        let mut g = gate(false, 10, 10);
        let now = Instant::now();
        assert_eq!(g.inspect_inbound(&[], client(1), now), Inbound::Drop);
        assert_eq!(
            g.inspect_inbound(&[0x40, 0x00, 0x00, 0x09, 1], client(1), now),
            Inbound::Drop
        );
        assert_eq!(
            g.inspect_inbound(&[0x40, 0x00, 0x00, 0x01, 1], client(1), now),
            Inbound::Pass
        );
        assert_eq!(
            g.inspect_inbound(&[0x80; 24], client(1), now),
            Inbound::Drop
        );
        let mut classic = allocate("4000000000:a");
        classic[4] = 0;
        assert_eq!(g.inspect_inbound(&classic, client(1), now), Inbound::Drop);
        let mut bad_len = allocate("4000000000:a");
        bad_len[3] ^= 4;
        assert_eq!(g.inspect_inbound(&bad_len, client(1), now), Inbound::Drop);
    }

    #[test]
    fn refusals_carry_message_integrity_when_the_username_is_valid() {
        let mut g = gate(false, 0, 10);
        let minted = TurnSecret::new("gate-test-secret").mint(
            "x",
            SystemTime::now(),
            Duration::from_secs(60),
        );
        let reply = g.inspect_inbound(&allocate(&minted.username), client(1), Instant::now());
        let Inbound::Reply(bytes) = reply else {
            panic!("expected a reply")
        };
        let m = MessageDecoder::<StunAttribute>::new()
            .decode_from_bytes(&bytes)
            .unwrap()
            .unwrap();
        let mi = m
            .get_attribute::<MessageIntegrity>()
            .expect("integrity present");
        let user = Username::new(minted.username.clone()).unwrap();
        let realm = Realm::new("realm".into()).unwrap();
        assert!(
            mi.check_long_term_credential(&user, &realm, &minted.password)
                .is_ok()
        );
    }
}

//! The input formats of the fuzz targets, shared with the seed generator (`examples/seeds.rs`) so that every seed is
//! written in exactly the format its target reads.
//!
//! - [`reassembly`]: limits and a list of operations, read with `arbitrary` (integers only, so a seed is plain
//!   little-endian fields).
//! - [`records`]: datagrams with a small header each (what to do with it, which client, length), for the stateful
//!   TURN gate; the datagrams stay contiguous so libFuzzer's byte mutations and splices work on real messages.
//! - [`source`]: a source address in front of one datagram, for the STUN responder.
//!
//! Nothing here touches the node; the targets own the checks.

pub mod reassembly {
    use arbitrary::Arbitrary;

    /// The limits the target builds its `ReassemblyLimits` from (mapped into small ranges so they bite).
    #[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Limits {
        pub max_partial: u8,
        pub max_bytes: u16,
        pub timeout_ms: u16,
        pub remember_ms: u16,
        pub max_remembered: u8,
    }

    /// One step. Fields are raw; the target maps them into the wire's bounds.
    #[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Op {
        /// Fragment `index % count` of `count` (1..=`MAX_FRAGMENTS`) of message `message` (one of a few) from
        /// `origin` (one of a few keys), `len` bytes long (at most `MAX_FRAGMENT_BYTES`).
        Fragment {
            origin: u8,
            message: u8,
            index: u8,
            count: u8,
            len: u16,
        },
        /// `millis` pass, then `expire` runs.
        Expire { millis: u16 },
        /// `millis` pass and nothing else happens.
        Wait { millis: u16 },
    }

    /// A whole input: the limits, then operations while the bytes last.
    #[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
    pub struct Input {
        pub limits: Limits,
        pub ops: Vec<Op>,
    }

    /// The bytes `arbitrary` reads back as `input` (for seeds; `examples/seeds.rs` checks the round trip).
    pub fn to_bytes(input: &Input) -> Vec<u8> {
        let l = input.limits;
        let mut out = vec![l.max_partial];
        for v in [l.max_bytes, l.timeout_ms, l.remember_ms] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.push(l.max_remembered);
        for op in &input.ops {
            // Before each element of a list, `arbitrary` reads a "one more" flag (a byte, low bit set).
            out.push(1);
            match *op {
                Op::Fragment {
                    origin,
                    message,
                    index,
                    count,
                    len,
                } => {
                    out.extend_from_slice(&variant(0, 3));
                    out.extend_from_slice(&[origin, message, index, count]);
                    out.extend_from_slice(&len.to_le_bytes());
                }
                Op::Expire { millis } => {
                    out.extend_from_slice(&variant(1, 3));
                    out.extend_from_slice(&millis.to_le_bytes());
                }
                Op::Wait { millis } => {
                    out.extend_from_slice(&variant(2, 3));
                    out.extend_from_slice(&millis.to_le_bytes());
                }
            }
        }
        out
    }

    /// `arbitrary`'s derive picks variant `(u32 * count) >> 32`: the smallest u32 that picks `index`.
    fn variant(index: u64, count: u64) -> [u8; 4] {
        let x = (index << 32).div_ceil(count);
        (x as u32).to_le_bytes()
    }
}

pub mod records {
    /// What a record asks the target to do with its datagram.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        /// The datagram arrived from the client.
        Inbound,
        /// The `turn` crate sends the datagram to the client.
        Outbound,
        /// The crate reports the client's allocation closed (the datagram is ignored).
        Closed,
        /// Time passes: as many milliseconds as the record's length field says (no datagram follows).
        Wait,
    }

    const KINDS: [Kind; 4] = [Kind::Inbound, Kind::Outbound, Kind::Closed, Kind::Wait];

    /// One record: `[kind][client][length: u16 big-endian][datagram]`; the last datagram may be cut short.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Record<'a> {
        pub kind: Kind,
        pub client: u8,
        /// For [`Kind::Wait`], the milliseconds; else the datagram's declared length.
        pub length: u16,
        pub datagram: &'a [u8],
    }

    /// The records in `bytes`, in order; a header cut short ends the list.
    pub fn parse(mut bytes: &[u8]) -> Vec<Record<'_>> {
        let mut out = Vec::new();
        while let [kind, client, hi, lo, rest @ ..] = bytes {
            let kind = KINDS[usize::from(*kind) % KINDS.len()];
            let length = u16::from_be_bytes([*hi, *lo]);
            let take = if kind == Kind::Wait {
                0
            } else {
                usize::from(length).min(rest.len())
            };
            let (datagram, tail) = rest.split_at(take);
            out.push(Record {
                kind,
                client: *client,
                length,
                datagram,
            });
            bytes = tail;
        }
        out
    }

    /// Appends a record (for seeds).
    pub fn push(out: &mut Vec<u8>, kind: Kind, client: u8, datagram: &[u8]) {
        let kind = KINDS.iter().position(|k| *k == kind).unwrap_or(0) as u8;
        let length = u16::try_from(datagram.len()).expect("a seed datagram fits in u16");
        out.extend_from_slice(&[kind, client]);
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(datagram);
    }

    /// Appends a [`Kind::Wait`] record of `millis` (for seeds).
    pub fn push_wait(out: &mut Vec<u8>, millis: u16) {
        out.extend_from_slice(&[3, 0]);
        out.extend_from_slice(&millis.to_be_bytes());
    }
}

pub mod source {
    use std::net::{IpAddr, Ipv6Addr, SocketAddr};

    /// Bytes of the address in front of the datagram: 16 of IPv6 address, 2 of port (big-endian).
    pub const LEN: usize = 18;

    /// The source address and the datagram: an IPv4-mapped address is taken as IPv4, so both families come in
    /// as the socket would report them. `None` when there are not even [`LEN`] bytes.
    pub fn split(bytes: &[u8]) -> Option<(SocketAddr, &[u8])> {
        let (head, datagram) = bytes.split_at_checked(LEN)?;
        let mut ip = [0u8; 16];
        ip.copy_from_slice(&head[..16]);
        let ip = IpAddr::V6(Ipv6Addr::from(ip)).to_canonical();
        let port = u16::from_be_bytes([head[16], head[17]]);
        Some((SocketAddr::new(ip, port), datagram))
    }

    /// `source` then `datagram` (for seeds).
    pub fn join(source: SocketAddr, datagram: &[u8]) -> Vec<u8> {
        let ip = match source.ip() {
            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            IpAddr::V6(v6) => v6,
        };
        let mut out = ip.octets().to_vec();
        out.extend_from_slice(&source.port().to_be_bytes());
        out.extend_from_slice(datagram);
        out
    }
}

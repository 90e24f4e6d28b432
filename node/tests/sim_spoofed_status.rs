//! A status sent from a spoofed address gets back no more bytes than it carried (a challenge), and the address never
//! becomes a peer; an address that echoes the challenge becomes a peer and then gets the full answer.

use std::net::SocketAddr;
use std::time::Duration;

use hearsay_node::gossip::Command;
use hearsay_node::gossip::sim::{LinkModel, Sim, sim_seed};
use hearsay_shared::gossip::{self, KeyPrefix, Packet, Status, StatusScope};

/// The 20-byte probe of the issue: "send me everything you hold".
fn everything_probe() -> Vec<u8> {
    gossip::encode(&Packet::Status(Status {
        scope: StatusScope::Range {
            from: KeyPrefix::MIN,
            to: KeyPrefix::MAX,
        },
        entries: vec![],
    }))
    .unwrap()
}

#[test]
fn a_spoofed_status_gets_at_most_its_own_size_back_and_never_a_peer() {
    let mut sim = Sim::new(sim_seed(31), LinkModel::default());
    let all = sim.random_graph(60, 4);
    sim.run_until("convergence", Duration::from_secs(60), |s| {
        s.all_routes_known()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let target = all[7];
    let probe = everything_probe();
    // The victim of a reflection: an address no node has.
    let victim: SocketAddr = "203.0.113.9:4444".parse().unwrap();
    sim.watch(victim);
    let probes = 100;
    for _ in 0..probes {
        sim.inject(target, victim, probe.clone());
    }
    sim.run_for(Duration::from_secs(30));
    let back = sim.watched[&victim];
    let sent = (probe.len() * probes) as u64;
    eprintln!(
        "spoofed: {probes} probes of {} bytes -> {} datagrams, {} bytes back to the victim ({:.2}x)",
        probe.len(),
        back.datagrams,
        back.bytes,
        back.bytes as f64 / sent as f64
    );
    assert!(back.bytes <= sent, "{} bytes back for {sent}", back.bytes);
    assert!(back.bytes <= 3 * sent);
    assert!(
        sim.nodes[target]
            .gossip
            .peers()
            .iter()
            .all(|p| p.addr != victim),
        "the spoofed address became a peer"
    );
    assert!(sim.nodes[target].gossip.stats().challenges_sent > 0);

    // A real prober: a node that adds the target as its peer answers the challenge and becomes a peer; then the same
    // probe gets everything (this is what any address got before challenges: the amplification they remove).
    let prober = sim.add_node("prober");
    let prober_addr = sim.nodes[prober].addr;
    let target_addr = sim.nodes[target].addr;
    sim.command(prober, Command::AddPeer(target_addr)).unwrap();
    sim.run_until(
        "the prober is a peer of the target",
        Duration::from_secs(5),
        |s| {
            s.nodes[target]
                .gossip
                .peers()
                .iter()
                .any(|p| p.addr == prober_addr && p.live)
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    sim.run_for(Duration::from_secs(5));
    sim.watch(prober_addr);
    let before = sim.watched[&prober_addr];
    sim.inject(target, prober_addr, probe.clone());
    sim.run_for(Duration::from_millis(300));
    let answer = sim.watched[&prober_addr].bytes - before.bytes;
    eprintln!(
        "proven peer: one probe of {} bytes -> {answer} bytes ({:.0}x) within 300 ms",
        probe.len(),
        answer as f64 / probe.len() as f64
    );
    assert!(
        answer > 3 * probe.len() as u64,
        "a proven peer is answered in full"
    );
}

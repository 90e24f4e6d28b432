//! Floods from a hostile peer do not shut real users out: 25 000 fresh-key route rumors at 2000/s leave room for a
//! user who joins during the flood (reachable everywhere within 15 s), and a flood of junk fragment-0s does not stop
//! a real multi-fragment message from arriving within 5 s.

use std::time::Duration;

use hearsay_node::gossip::Identity;
use hearsay_node::gossip::sim::{LinkModel, Sim, sim_seed};
use hearsay_shared::gossip::{
    self, MAX_FRAGMENT_BYTES, Packet, PrivateBody, PrivateContent, PrivateMessage,
    RouteAnnouncement, Rumor, SignedRoute,
};

fn fresh_identity(i: u64) -> Identity {
    let mut seed = [0x5a; 32];
    seed[..8].copy_from_slice(&i.to_le_bytes());
    Identity::from_seed(seed)
}

#[test]
fn a_fresh_key_route_flood_leaves_room_for_a_real_newcomer() {
    let mut sim = Sim::new(sim_seed(71), LinkModel::default());
    let line = sim.line(5);
    let flooder = sim.add_node("flooder");
    sim.connect(line[0], flooder);
    sim.run_until("routes", Duration::from_secs(30), |s| {
        s.routes_complete(&line)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let from = sim.nodes[flooder].addr;
    let max_origins = 20_000; // Config::new's default
    let (total, per_tick) = (25_000u64, 20u64); // 20 every 10 ms: 2000 a second for 12.5 s
    let mut newcomer = None;
    let mut sent = 0;
    while sent < total {
        let rumors: Vec<Rumor> = (sent..sent + per_tick)
            .map(|i| {
                let id = fresh_identity(i);
                let route = RouteAnnouncement {
                    origin: id.public(),
                    seq: 1,
                    name: format!("junk {i}"),
                    addrs: vec![],
                    services: vec![],
                };
                let signature = id.sign(&route.signed_bytes());
                Rumor {
                    signed: SignedRoute { route, signature }.into(),
                    hops: 0,
                }
            })
            .collect();
        for batch in rumors.chunks(8) {
            sim.inject(
                line[0],
                from,
                gossip::encode(&Packet::Rumors(batch.to_vec())).unwrap(),
            );
        }
        sent += per_tick;
        sim.run_for(Duration::from_millis(10));
        if sent == 10_000 {
            // A real user joins at the far end in the middle of the flood.
            let n = sim.add_node("newcomer");
            sim.connect(line[4], n);
            newcomer = Some((n, sim.elapsed()));
        }
    }
    let (n, joined) = newcomer.unwrap();
    let key = sim.nodes[n].key();
    sim.run_until(
        "the newcomer is reachable from every node",
        Duration::from_secs(15),
        |s| {
            line.iter()
                .all(|&i| s.nodes[i].gossip.next_hop(&key).is_some())
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let took = sim.elapsed() - joined;
    let held: Vec<usize> = line
        .iter()
        .map(|&i| sim.nodes[i].gossip.users().len())
        .collect();
    let stats = sim.nodes[line[0]].gossip.stats();
    eprintln!(
        "flood of {total} fresh keys at 2000/s: newcomer reachable everywhere {took:?} after joining; users held \
         along the line {held:?}; over budget at the first node {}",
        stats.over_budget
    );
    assert!(took <= Duration::from_secs(15));
    assert!(held.iter().all(|&h| h <= max_origins), "{held:?}");
    assert!(stats.over_budget > 0, "the flooder's share was limited");
    assert!(sim.nodes[line[4]].gossip.next_hop(&key).is_some());
}

#[test]
fn junk_fragments_do_not_stop_a_real_message() {
    let mut sim = Sim::new(sim_seed(72), LinkModel::default());
    let line = sim.line(4);
    let flooder = sim.add_node("flooder");
    sim.connect(line[0], flooder);
    sim.run_until("routes", Duration::from_secs(30), |s| {
        s.routes_complete(&line)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let victim = sim.nodes[line[0]].key();
    let from = sim.nodes[flooder].addr;
    let junk_keys: Vec<Identity> = (0..200).map(fresh_identity).collect();
    let fragment0 = |sim: &Sim, key: &Identity, id: u64| {
        let body = PrivateBody {
            origin: key.public(),
            destination: victim,
            message_id: id,
            sent_at_ms: sim.wall_ms(),
            max_hops: 10,
            content: PrivateContent::Fragment {
                index: 0,
                count: 64,
                data: vec![0xee; MAX_FRAGMENT_BYTES],
            },
        };
        gossip::encode(&Packet::Private(PrivateMessage {
            signature: key.sign(&body.signed_bytes()),
            body,
            hop_limit: 10,
        }))
        .unwrap()
    };
    // 1000 junk partial messages a second, from 200 keys, for 2 s before and during the real message.
    let payload: Vec<u8> = (0..3 * MAX_FRAGMENT_BYTES).map(|i| i as u8).collect();
    let mut id = None;
    let mut sent_at = Duration::ZERO;
    for tick in 0..700u64 {
        for k in 0..10u64 {
            let key = &junk_keys[((tick * 10 + k) % 200) as usize];
            let bytes = fragment0(&sim, key, tick * 10 + k);
            sim.inject(line[0], from, bytes);
        }
        sim.run_for(Duration::from_millis(10));
        if tick == 200 {
            id = Some(sim.send(line[3], line[0], payload.clone()));
            sent_at = sim.elapsed();
        }
        if let Some(id) = id
            && sim.received(line[0], line[3], id, &payload)
        {
            break;
        }
    }
    let id = id.unwrap();
    assert!(
        sim.received(line[0], line[3], id, &payload),
        "the real message never arrived through the junk"
    );
    let took = sim.elapsed() - sent_at;
    eprintln!(
        "real 3-fragment message through 1000 junk partials/s arrived after {took:?}; junk over budget: {}",
        sim.nodes[line[0]].gossip.stats().over_budget
    );
    assert!(took <= Duration::from_secs(5), "took {took:?}");
}

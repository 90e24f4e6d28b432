//! A node restarted with a clock that went back ten minutes (so its new sequence numbers are below its old ones) is
//! reachable again within one route period: its neighbour shows it its newer old announcement and it jumps past it.
//! Its private messages are another matter: a clock ten minutes off is outside the replay window, so the others'
//! messages to it are refused (and counted) until its clock is right again.

use std::time::Duration;

use hearsay_node::gossip::sim::{LinkModel, Sim, sim_seed};

#[test]
fn a_node_whose_clock_went_back_is_reachable_again_within_one_route_period() {
    let mut sim = Sim::new(sim_seed(61), LinkModel::default());
    let all = sim.random_graph(40, 4);
    sim.run_until("convergence", Duration::from_secs(60), |s| {
        s.all_routes_known()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let x = all[11];
    let key = sim.nodes[x].key();
    // The next number it would have used: everything it announced is below.
    let old_seq = sim.nodes[x].gossip.own_seq();
    sim.kill(x);
    sim.run_for(Duration::from_secs(2));
    let ten_minutes_ago = sim.wall_ms() - 600_000;
    sim.restart_with_clock(x, ten_minutes_ago);
    assert!(
        sim.nodes[x].gossip.own_seq() < old_seq,
        "the new numbers start below the old ones"
    );
    let period = sim.timing.route_period;
    let took = sim
        .run_until(
            "everyone routes to the restarted node's new announcement",
            period,
            |s| {
                all.iter().all(|&i| {
                    i == x
                        || (s.nodes[i].gossip.known_seq(&key) >= Some(old_seq)
                            && s.nodes[i].gossip.next_hop(&key).is_some())
                })
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("reachable everywhere again after {took:?} (route period {period:?})");
    let id = sim.send(all[0], x, b"still there?".to_vec());
    sim.run_for(Duration::from_secs(5));
    assert!(!sim.received(x, all[0], id, b"still there?"));
    assert!(
        sim.nodes[x].gossip.stats().stale_messages > 0,
        "refused as outside the window"
    );

    // With its clock right again, it is reachable and messages flow.
    sim.restart(x);
    let id = sim.send(all[0], x, b"still there?".to_vec());
    sim.run_until("a message reaches it", Duration::from_secs(20), |s| {
        s.delivered(all[0], id)
    })
    .unwrap_or_else(|e| panic!("{e}"));
}

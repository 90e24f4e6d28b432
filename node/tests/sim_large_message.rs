//! A message much larger than one datagram (an SDP offer is several KB) is split, crosses a lossy line, and arrives
//! whole and once; one over the size limit is refused up front.

use std::time::Duration;

use hearsay_node::gossip::Command;
use hearsay_node::gossip::sim::{LinkModel, Sim, sim_seed};
use hearsay_shared::gossip::{MAX_DATAGRAM_BYTES, MAX_MESSAGE_BYTES};

#[test]
fn a_large_message_arrives_whole_over_a_lossy_line() {
    let link = LinkModel {
        loss: 0.1,
        ..LinkModel::default()
    };
    let mut sim = Sim::new(sim_seed(6), link);
    let line = sim.line(4);
    sim.run_until("routes along the line", Duration::from_secs(60), |s| {
        s.routes_complete(&line)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let payload: Vec<u8> = (0..12_345u32).map(|i| (i * 31 % 251) as u8).collect();
    assert!(payload.len() > 10 * MAX_DATAGRAM_BYTES);
    let id = sim.send(0, 3, payload.clone());
    sim.run_until("delivered", Duration::from_secs(30), |s| s.delivered(0, id))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(sim.received(3, 0, id, &payload));
    sim.run_for(Duration::from_secs(20));
    assert_eq!(sim.times_received(3, id), 1);

    let to = sim.nodes[3].key();
    let too_big = sim.command(
        0,
        Command::Send {
            to,
            payload: vec![0; MAX_MESSAGE_BYTES + 1],
        },
    );
    assert!(too_big.is_err());
}

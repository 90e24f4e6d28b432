//! A captured private message replayed later is not delivered again: inside the replay window its id is remembered,
//! outside it the signed timestamp is too old; a node whose clock is off by more than the window refuses it too.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use hearsay_node::gossip::sim::{LinkModel, Sim, sim_seed};
use hearsay_shared::gossip::{self, Packet, PrivateContent};

#[test]
fn a_captured_message_replayed_20_s_or_90_s_later_is_not_delivered_again() {
    let mut sim = Sim::new(sim_seed(51), LinkModel::default());
    let line = sim.line(3);
    let (a, b, c) = (line[0], line[1], line[2]);
    sim.run_until("routes", Duration::from_secs(30), |s| {
        s.routes_complete(&line)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    // B records the fragments it forwards (a node on the path, or anyone on the wire).
    let captured: Rc<RefCell<Vec<Packet>>> = Rc::default();
    let record = captured.clone();
    sim.set_tamper(b, move |packet| {
        if let Packet::Private(msg) = &packet
            && matches!(msg.body.content, PrivateContent::Fragment { .. })
        {
            record.borrow_mut().push(packet.clone());
        }
        Some(packet)
    });
    let id = sim.send(a, c, b"invite from A".to_vec());
    sim.run_until("delivered", Duration::from_secs(5), |s| s.delivered(a, id))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sim.times_received(c, id), 1);
    let invite = gossip::encode(&captured.borrow()[0]).unwrap();
    let b_addr = sim.nodes[b].addr;

    sim.run_for(Duration::from_secs(20));
    sim.inject(c, b_addr, invite.clone());
    sim.run_for(Duration::from_secs(1));
    assert_eq!(
        sim.times_received(c, id),
        1,
        "replayed inside the window: remembered"
    );

    sim.run_for(Duration::from_secs(69));
    let stale_before = sim.nodes[c].gossip.stats().stale_messages;
    sim.inject(c, b_addr, invite);
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.times_received(c, id), 1, "replayed 90 s later: refused");
    assert_eq!(sim.nodes[c].gossip.stats().stale_messages, stale_before + 1);
}

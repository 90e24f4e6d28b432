//! What getStats() says about a running call: proof that media flows, and which kind of path it takes.

use std::collections::HashMap;

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::RtcPeerConnection;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallStats {
    pub video_frames_decoded: u64,
    /// Size of the last decoded frame: tells a camera from a shared screen.
    pub video_frame_width: u64,
    pub video_frame_height: u64,
    pub video_packets_received: u64,
    pub audio_packets_received: u64,
    pub bytes_received: u64,
    /// `host`, `srflx`, `prflx` or `relay` for each end of the selected candidate pair.
    pub local_candidate: Option<String>,
    pub remote_candidate: Option<String>,
    /// The local end's address: for a relay candidate, the TURN server's relayed address (whose relay it is).
    pub local_address: Option<String>,
    /// For a relay candidate, how the browser reaches its TURN server: `udp`, `tcp` or `tls`.
    pub relay_protocol: Option<String>,
}

fn get(v: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(v, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

fn num(v: &JsValue, key: &str) -> u64 {
    get(v, key).as_f64().unwrap_or(0.0) as u64
}

fn text(v: &JsValue, key: &str) -> Option<String> {
    get(v, key).as_string()
}

pub async fn collect_stats(pc: &RtcPeerConnection) -> Option<CallStats> {
    let report = JsFuture::from(pc.get_stats()).await.ok()?;
    let mut by_id: HashMap<String, JsValue> = HashMap::new();
    for entry in js_sys::try_iter(&report).ok()??.flatten() {
        let pair = js_sys::Array::from(&entry);
        if let Some(id) = pair.get(0).as_string() {
            by_id.insert(id, pair.get(1));
        }
    }
    let mut stats = CallStats::default();
    let mut selected_pair = None;
    for stat in by_id.values() {
        match text(stat, "type").as_deref() {
            Some("inbound-rtp") => {
                stats.bytes_received += num(stat, "bytesReceived");
                match text(stat, "kind").as_deref() {
                    Some("video") => {
                        stats.video_frames_decoded += num(stat, "framesDecoded");
                        stats.video_frame_width = num(stat, "frameWidth");
                        stats.video_frame_height = num(stat, "frameHeight");
                        stats.video_packets_received += num(stat, "packetsReceived");
                    }
                    Some("audio") => stats.audio_packets_received += num(stat, "packetsReceived"),
                    _ => {}
                }
            }
            Some("transport") => selected_pair = text(stat, "selectedCandidatePairId"),
            _ => {}
        }
    }
    if let Some(pair) = selected_pair.and_then(|id| by_id.get(&id)) {
        let local = text(pair, "localCandidateId").and_then(|id| by_id.get(&id));
        let remote = text(pair, "remoteCandidateId").and_then(|id| by_id.get(&id));
        stats.local_candidate = local.and_then(|c| text(c, "candidateType"));
        stats.remote_candidate = remote.and_then(|c| text(c, "candidateType"));
        // Chromium names the field `address`; older browsers `ip`.
        stats.local_address = local.and_then(|c| text(c, "address").or_else(|| text(c, "ip")));
        stats.relay_protocol = local.and_then(|c| text(c, "relayProtocol"));
    }
    Some(stats)
}

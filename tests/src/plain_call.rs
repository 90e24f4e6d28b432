//! The control for calls between homes: a plain WebRTC call between two browsers over the same NATs, with coturn
//! on a public testbed host as STUN and TURN and the offer and answer handed over by the test (no gossip, no
//! hearsay node in the media path). What a well-configured conventional deployment gets; hearsay's calls are
//! measured beside it in the same run.

use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use tokio::process::{Child, Command};

use crate::call_page::{CallPath, Person};
use crate::netbed::Host;
use crate::require_tool;

/// coturn's ports on the host it runs on (beside a hearsay node's 3478/3479 and its relay range).
pub const COTURN_PORT: u16 = 3480;
const COTURN_RELAY_PORTS: (u16, u16) = (40_000, 40_999);
const USER: &str = "control";
const PASSWORD: &str = "control-password";

/// coturn running on a testbed host; killed when dropped.
pub struct Coturn {
    _child: Child,
    pub host: Host,
    _work: tempfile::TempDir,
}

impl Coturn {
    /// Starts `turnserver` on `host` (a public one) with a static user.
    pub async fn start(host: &Host) -> anyhow::Result<Self> {
        let turnserver = require_tool("turnserver", "coturn")?;
        let work = tempfile::Builder::new()
            .prefix("hearsay-coturn-")
            .tempdir()?;
        let ip = host.public_ip.to_string();
        let child = Command::new("ip")
            .args(["netns", "exec", &host.ns])
            .arg(turnserver)
            .args(["-n", "--listening-ip", &ip, "--relay-ip", &ip])
            .args(["--listening-port", &COTURN_PORT.to_string()])
            .args(["--min-port", &COTURN_RELAY_PORTS.0.to_string()])
            .args(["--max-port", &COTURN_RELAY_PORTS.1.to_string()])
            .args(["--lt-cred-mech", "--user", &format!("{USER}:{PASSWORD}")])
            .args(["--realm", "control", "--no-tls", "--no-dtls", "--no-cli"])
            .args(["--no-stdout-log", "--simple-log", "--log-file"])
            .arg(work.path().join("coturn.log"))
            .arg("--pidfile")
            .arg(work.path().join("coturn.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting turnserver")?;
        // coturn needs a moment to bind; the browsers' first gathering would otherwise miss it.
        tokio::time::sleep(Duration::from_millis(500)).await;
        Ok(Self {
            _child: child,
            host: host.clone(),
            _work: work,
        })
    }

    fn ice_servers(&self) -> serde_json::Value {
        let at = format!("{}:{COTURN_PORT}", self.host.public_ip);
        serde_json::json!([
            {"urls": [format!("stun:{at}")]},
            {
                "urls": [format!("turn:{at}?transport=udp"), format!("turn:{at}?transport=tcp")],
                "username": USER,
                "credential": PASSWORD,
            },
        ])
    }
}

/// Waits for the ICE gathering of `window.controlPc` to finish (bounded), used by the scripts below.
const GATHERED: &str = r#"
    const gathered = pc => new Promise(resolve => {
        if (pc.iceGatheringState === "complete") return resolve();
        const limit = setTimeout(resolve, 10000);
        pc.addEventListener("icegatheringstatechange", () => {
            if (pc.iceGatheringState === "complete") { clearTimeout(limit); resolve(); }
        });
    });
"#;

/// One plain call from `a` to `b` through `coturn`: getUserMedia, offer with all candidates gathered, answer
/// likewise, until `a`'s ICE is connected. Returns the milliseconds from the start on `a` to connected on `a`, and
/// `a`'s selected candidate pair. Both connections are closed afterwards.
pub async fn plain_call(
    a: &Person,
    b: &Person,
    coturn: &Coturn,
) -> anyhow::Result<(f64, CallPath)> {
    let offer_script = format!(
        r#"{GATHERED}
        const [servers, done] = [arguments[0], arguments[arguments.length - 1]];
        (async () => {{
            const t0 = performance.now();
            const media = await navigator.mediaDevices.getUserMedia({{audio: true, video: true}});
            const pc = new RTCPeerConnection({{iceServers: servers}});
            Object.assign(window, {{controlPc: pc, controlMedia: media, controlT0: t0}});
            media.getTracks().forEach(t => pc.addTrack(t, media));
            await pc.setLocalDescription(await pc.createOffer());
            await gathered(pc);
            return {{sdp: pc.localDescription.sdp}};
        }})().then(done, e => done({{error: String(e)}}));"#
    );
    let answer_script = format!(
        r#"{GATHERED}
        const [servers, offer, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
        (async () => {{
            const pc = new RTCPeerConnection({{iceServers: servers}});
            await pc.setRemoteDescription({{type: "offer", sdp: offer}});
            const media = await navigator.mediaDevices.getUserMedia({{audio: true, video: true}});
            Object.assign(window, {{controlPc: pc, controlMedia: media}});
            media.getTracks().forEach(t => pc.addTrack(t, media));
            await pc.setLocalDescription(await pc.createAnswer());
            await gathered(pc);
            return {{sdp: pc.localDescription.sdp}};
        }})().then(done, e => done({{error: String(e)}}));"#
    );
    let finish_script = r#"
        const [answer, done] = [arguments[0], arguments[arguments.length - 1]];
        (async () => {
            const pc = window.controlPc;
            const connected = new Promise((resolve, reject) => {
                const check = () => {
                    const s = pc.iceConnectionState;
                    if (s === "connected" || s === "completed") resolve();
                    if (s === "failed") reject(new Error("ICE failed"));
                };
                pc.addEventListener("iceconnectionstatechange", check);
                setTimeout(() => reject(new Error("not connected within 30 s")), 30000);
                check();
            });
            await pc.setRemoteDescription({type: "answer", sdp: answer});
            await connected;
            const ms = performance.now() - window.controlT0;
            // The selected pair, once the transport names one.
            let path = null;
            for (let i = 0; i < 100 && !path; i++) {
                const stats = await pc.getStats();
                stats.forEach(s => {
                    if (s.type === "transport" && s.selectedCandidatePairId) {
                        const pair = stats.get(s.selectedCandidatePairId);
                        const local = pair && stats.get(pair.localCandidateId);
                        const remote = pair && stats.get(pair.remoteCandidateId);
                        if (local && remote) path = {
                            local: local.candidateType, remote: remote.candidateType,
                            address: local.address || "", protocol: local.relayProtocol || "",
                        };
                    }
                });
                if (!path) await new Promise(r => setTimeout(r, 50));
            }
            return {ms, path};
        })().then(done, e => done({error: String(e)}));
    "#;
    let close_script = r#"
        if (window.controlPc) window.controlPc.close();
        if (window.controlMedia) window.controlMedia.getTracks().forEach(t => t.stop());
        window.controlPc = window.controlMedia = undefined;
    "#;
    let servers = coturn.ice_servers();
    let result = async {
        let offer = a
            .browser
            .client
            .execute_async(&offer_script, vec![servers.clone()])
            .await
            .context("control call: the offer")?;
        let offer = offer["sdp"]
            .as_str()
            .with_context(|| format!("control offer failed: {offer}"))?
            .to_owned();
        let answer = b
            .browser
            .client
            .execute_async(&answer_script, vec![servers.clone(), offer.into()])
            .await
            .context("control call: the answer")?;
        let answer = answer["sdp"]
            .as_str()
            .with_context(|| format!("control answer failed: {answer}"))?
            .to_owned();
        let done = a
            .browser
            .client
            .execute_async(finish_script, vec![answer.into()])
            .await
            .context("control call: connecting")?;
        let ms = done["ms"]
            .as_f64()
            .with_context(|| format!("control call did not connect: {done}"))?;
        let p = &done["path"];
        let text = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
        Ok::<_, anyhow::Error>((
            ms,
            CallPath {
                local: text("local"),
                remote: text("remote"),
                local_address: text("address"),
                relay_protocol: text("protocol"),
            },
        ))
    }
    .await;
    for p in [a, b] {
        let _ = p.browser.client.execute(close_script, vec![]).await;
    }
    result
}

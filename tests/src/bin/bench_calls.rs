//! Benchmarks of calls between two real browsers on loopback (two Chromiums, and Firefox ↔ Chromium), each page on
//! its own node, signaling over gossip. Run by `cargo xtask bench` (release node through `HEARSAY_BIN`), or alone
//! with a group's name (`bench_calls set-up`, `firefox`, `files`); prints markdown tables.
//!
//! - **Call set-up**: click Call (the callee auto-accepts) → first remote video frame presented on the caller's
//!   screen, 10 calls, direct (the two nodes are peers) and over 3 gossip hops (A–X–Y–B). Anchor: the same
//!   chain (getUserMedia → offer/answer → ICE → DTLS → first frame) between two RTCPeerConnections inside one page
//!   that hand each other their SDP and candidates directly — WebRTC's own floor on this machine. Each call's
//!   callee answers in a browser of its own (see [`set_up_times`]). Both pages record when each WebRTC step
//!   started and ended ([`TIMELINE`]): every call's timeline goes to stderr, and a table gives the median of the
//!   steps that matter for the direct calls.
//! - **File throughput**: one 200 MB file A → B during a call, with the browsers' CPU per MB and the memory of
//!   each browser's largest process (the sender's at its highest in each half of the transfer). Anchors: a bare
//!   data channel between two RTCPeerConnections in one page, and one from A's page to B's (the two browsers a
//!   call's file crosses), the same 64 KiB messages and backpressure, bytes counted and dropped.
//! - **Firefox ↔ Chromium**: the same direct set-up (Firefox calling a fresh Chromium each time, and Chromium calling
//!   a fresh Firefox) and the same file from Firefox to Chromium, beside the anchors measured in Firefox. A browser's
//!   processes are the one started with its profile and all under it ([`procs::family`]): Firefox's content
//!   processes do not repeat the profile on their command lines.

use std::time::{Duration, Instant};

use hearsay_tests::call_page::{Person, call_connected, call_connected_in, pair, pair_in};
use hearsay_tests::files::{offer_files, transfer_state};
use hearsay_tests::procs;
use hearsay_tests::{AUTO_ACCEPT, Browser, BrowserKind, Node, wait_until};

const CALLS: usize = 10;
const FILE_MIB: usize = 200;
/// The page's file chunk: 64 KiB messages less the 4-byte frame header (`frontend/src/share/wire.rs`).
const CHUNK_BYTES: usize = 64 * 1024 - 4;

/// Records, in a page, when each WebRTC step of a call starts and ends (the first time it does), on the machine's
/// clock (`performance.timeOrigin + performance.now()`, comparable across the two browsers), by wrapping the
/// browser's methods the page calls through web-sys. Installed once per page; `window.__timeline` is cleared before
/// each call.
const TIMELINE: &str = r##"
    if (!window.__timeline) {
        window.__timeline = [];
        const mark = what => {
            if (!window.__timeline.some(([w]) => w === what)) {
                window.__timeline.push([what, performance.timeOrigin + performance.now()]);
            }
        };
        const watched = new WeakSet();
        const watch = pc => {
            if (watched.has(pc)) return;
            watched.add(pc);
            pc.addEventListener("icecandidate", () => mark("first local candidate"));
            pc.addEventListener("iceconnectionstatechange", () => mark("ice " + pc.iceConnectionState));
            pc.addEventListener("connectionstatechange", () => mark("dtls " + pc.connectionState));
            pc.addEventListener("track", e => mark("remote track " + e.track.kind));
        };
        const wrap = (target, name, label) => {
            const original = target[name];
            target[name] = function (...args) {
                if (this instanceof RTCPeerConnection) watch(this);
                const what = label(this, args);
                mark(what + " called");
                const result = original.apply(this, args);
                Promise.resolve(result).then(() => mark(what + " done"), () => mark(what + " failed"));
                return result;
            };
        };
        wrap(navigator.mediaDevices, "getUserMedia", () => "getUserMedia");
        let sends = 0;
        const send = WebSocket.prototype.send;
        WebSocket.prototype.send = function (data) {
            sends += 1;
            if (sends <= 6) mark(`sent to node #${sends} (${data.length || data.byteLength} B)`);
            return send.call(this, data);
        };
        const pc = RTCPeerConnection.prototype;
        for (const name of ["createOffer", "createAnswer", "setLocalDescription", "setRemoteDescription"]) {
            wrap(pc, name, (_, args) => name + (args[0] && args[0].type ? " " + args[0].type : ""));
        }
        wrap(pc, "addIceCandidate", () => "addIceCandidate");
        wrap(RTCRtpSender.prototype, "replaceTrack", (_, [t]) => "replaceTrack " + (t ? t.kind : "none"));
        new PerformanceObserver(list => list.getEntries().forEach(e =>
            window.__timeline.push([`main thread busy ${e.duration.toFixed(0)} ms from`, performance.timeOrigin + e.startTime])
        )).observe({type: "longtask"});
        const frames = () => {
            for (const [id, what] of [["#local-video", "local frame shown"], ["#remote-video", "remote frame shown"]]) {
                const v = document.querySelector(id);
                if (v && v.srcObject && !v.__timed) {
                    v.__timed = true;
                    v.requestVideoFrameCallback(() => mark(what));
                }
            }
            setTimeout(frames, 2);
        };
        frames();
    }
    window.__timeline.length = 0;
    document.querySelectorAll("video").forEach(v => v.__timed = false);
"##;

/// One page's timeline of the last call: (step, ms since `t0`), in order.
async fn timeline(p: &Person, t0: f64) -> anyhow::Result<Vec<(String, f64)>> {
    let got = p
        .browser
        .client
        .execute("return window.__timeline || []", vec![])
        .await?;
    let mut steps: Vec<(String, f64)> = got
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| Some((e[0].as_str()?.to_owned(), e[1].as_f64()? - t0)))
        .collect();
    steps.sort_by(|x, y| x.1.total_cmp(&y.1));
    Ok(steps)
}

/// One call's set-up: milliseconds from the click on Call to the first remote frame on the caller's screen, and
/// each side's timeline (ms after the click).
struct SetUp {
    ms: f64,
    caller: Vec<(String, f64)>,
    callee: Vec<(String, f64)>,
}

/// The steps of a call's start shown in the breakdown table: (side, timeline step it starts with, what it is).
const MILESTONES: [(&str, &str, &str); 11] = [
    (
        "caller",
        "sent to node #1",
        "the invite (offer) leaves the caller's page",
    ),
    (
        "callee",
        "setRemoteDescription offer called",
        "the callee sets the offer (after asking for the camera)",
    ),
    (
        "callee",
        "getUserMedia called",
        "the callee asks for the camera",
    ),
    (
        "callee",
        "setLocalDescription answer done",
        "the answer is made",
    ),
    (
        "callee",
        "sent to node #1",
        "the answer leaves the callee's page",
    ),
    (
        "caller",
        "setRemoteDescription answer called",
        "the caller sets the answer",
    ),
    (
        "callee",
        "getUserMedia done",
        "the callee's first device is open",
    ),
    ("callee", "ice connected", "ICE connected (callee)"),
    ("caller", "dtls connected", "DTLS done (caller)"),
    (
        "callee",
        "local frame shown",
        "the callee's camera shows its first frame",
    ),
    (
        "caller",
        "remote frame shown",
        "the caller shows the callee's first frame",
    ),
];

/// Median time of each [`MILESTONES`] step over `calls`, as a table.
fn breakdown(title: &str, calls: &[SetUp]) {
    println!(
        "\n### Where the set-up goes: {title}, median over {} calls\n",
        calls.len()
    );
    println!("| ms after the click | step | side |");
    println!("|---:|---|---|");
    for (side, step, what) in MILESTONES {
        let at: Vec<f64> = calls
            .iter()
            .filter_map(|c| {
                let steps = if side == "caller" {
                    &c.caller
                } else {
                    &c.callee
                };
                steps
                    .iter()
                    .find(|(s, _)| s.starts_with(step))
                    .map(|(_, at)| *at)
            })
            .collect();
        if at.is_empty() {
            println!("| — | {what} (not seen) | {side} |");
        } else {
            println!("| {:.0} | {what} | {side} |", summary(at).0);
        }
    }
}

/// One call from `a` to `b` (which auto-accepts): its [`SetUp`]; each side's timeline also goes to stderr.
async fn one_call(a: &Person, b: &Person) -> anyhow::Result<SetUp> {
    let script = r##"
        const [key, done] = [arguments[0], arguments[arguments.length - 1]];
        const button = document.querySelector(`li.user[data-key="${key}"] button.call-video`);
        if (!button) { done({error: "no call button"}); return; }
        const t0 = performance.now();
        button.click();
        const poll = () => {
            const video = document.querySelector("#remote-video");
            if (video && video.srcObject && video.requestVideoFrameCallback) {
                video.requestVideoFrameCallback(() => done({ms: performance.now() - t0, t0: performance.timeOrigin + t0}));
            } else if (performance.now() - t0 > 30000) {
                done({error: "no remote video within 30 s"});
            } else {
                setTimeout(poll, 2);
            }
        };
        poll();
    "##;
    a.wait_reachable(b).await?;
    for p in [a, b] {
        p.browser.client.execute(TIMELINE, vec![]).await?;
    }
    let r = a
        .browser
        .client
        .execute_async(script, vec![b.node.key.to_hex().into()])
        .await?;
    let ms = r["ms"]
        .as_f64()
        .ok_or_else(|| anyhow::anyhow!("call failed: {r}"))?;
    let t0 = r["t0"].as_f64().unwrap_or_default();
    // Let the callee's own first remote frame land in its timeline.
    let _ = b.wait_media_flowing().await;
    let (caller, callee) = (timeline(a, t0).await?, timeline(b, t0).await?);
    for (who, steps) in [("caller", &caller), ("callee", &callee)] {
        let line: Vec<String> = steps
            .iter()
            .map(|(what, at)| format!("{at:.0} {what}"))
            .collect();
        eprintln!("  {who}: {}", line.join(" | "));
    }
    a.click("#hang-up").await?;
    a.click("#dismiss-call").await?;
    b.click("#dismiss-call").await?;
    a.wait_phase("idle").await?;
    b.wait_phase("idle").await?;
    Ok(SetUp { ms, caller, callee })
}

/// The anchor for set-up: two peer connections in one page, signaling handed over directly.
async fn one_local_call(p: &Person) -> anyhow::Result<f64> {
    let script = r#"
        const done = arguments[arguments.length - 1];
        (async () => {
            const t0 = performance.now();
            const media = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
            const [caller, callee] = [new RTCPeerConnection(), new RTCPeerConnection()];
            caller.onicecandidate = e => e.candidate && callee.addIceCandidate(e.candidate);
            callee.onicecandidate = e => e.candidate && caller.addIceCandidate(e.candidate);
            const video = document.createElement("video");
            video.muted = true;
            video.autoplay = true;
            document.body.appendChild(video);
            const first = new Promise(resolve => {
                caller.ontrack = e => {
                    if (e.track.kind !== "video") return;
                    video.srcObject = e.streams[0];
                    video.requestVideoFrameCallback(() => resolve(performance.now() - t0));
                };
            });
            media.getTracks().forEach(t => caller.addTrack(t, media));
            await caller.setLocalDescription(await caller.createOffer());
            await callee.setRemoteDescription(caller.localDescription);
            const answering = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
            answering.getTracks().forEach(t => callee.addTrack(t, answering));
            await callee.setLocalDescription(await callee.createAnswer());
            await caller.setRemoteDescription(callee.localDescription);
            const ms = await first;
            [caller, callee].forEach(pc => pc.close());
            [media, answering].forEach(m => m.getTracks().forEach(t => t.stop()));
            video.remove();
            return ms;
        })().then(ms => done({ms}), e => done({error: String(e)}));
    "#;
    let r = p.browser.client.execute_async(script, vec![]).await?;
    r["ms"]
        .as_f64()
        .ok_or_else(|| anyhow::anyhow!("local call failed: {r}"))
}

/// Defines `sendAll(tx, total, chunkBytes)` for the channel anchors: `total` bytes in messages of `chunkBytes`, at
/// most 8 MiB queued (the file channel's high water), resuming below the channel's low threshold.
const SEND_ALL: &str = r#"
    const sendAll = async (tx, total, chunkBytes) => {
        const chunk = new Uint8Array(chunkBytes);
        let sent = 0;
        while (sent < total) {
            if (tx.bufferedAmount > (8 << 20)) {
                await new Promise(resolve => tx.onbufferedamountlow = resolve);
            }
            const n = Math.min(chunk.length, total - sent);
            tx.send(n === chunk.length ? chunk : chunk.subarray(0, n));
            sent += n;
        }
    };
"#;

/// The SDP a page's script gave back, or what went wrong making the `what`.
fn sdp_of(reply: &serde_json::Value, what: &str) -> anyhow::Result<String> {
    reply["sdp"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("the anchor's {what} failed: {reply}"))
}

/// The second anchor for files: MB/s of a bare data channel from `a`'s page to `b`'s (two browsers, as a call's
/// file goes), the same messages and backpressure as [`local_channel_mb_s`], bytes counted and dropped. Signaling is
/// handed over by this program; only host candidates, so the path is the same as the call's.
async fn two_browser_channel_mb_s(
    a: &Person,
    b: &Person,
    mib: usize,
    chunk: usize,
) -> anyhow::Result<f64> {
    // Both sides finish gathering before their description is handed over: no trickle needed.
    const GATHERED: &str = r#"
        window.__gathered = pc => new Promise(resolve => {
            if (pc.iceGatheringState === "complete") return resolve();
            pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
        });
    "#;
    let offer = a
        .browser
        .client
        .execute_async(
            &format!(
                r#"{GATHERED}
                const done = arguments[arguments.length - 1];
                (async () => {{
                    const pc = window.__anchor = new RTCPeerConnection();
                    const tx = window.__anchorTx = pc.createDataChannel("anchor", {{ordered: true}});
                    tx.binaryType = "arraybuffer";
                    tx.bufferedAmountLowThreshold = 1 << 20;
                    await pc.setLocalDescription(await pc.createOffer());
                    await window.__gathered(pc);
                    return pc.localDescription.sdp;
                }})().then(sdp => done({{sdp}}), e => done({{error: String(e)}}));"#
            ),
            vec![],
        )
        .await?;
    let offer = sdp_of(&offer, "offer")?;
    let answer = b
        .browser
        .client
        .execute_async(
            &format!(
                r#"{GATHERED}
                const [offer, total, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
                (async () => {{
                    const pc = window.__anchor = new RTCPeerConnection();
                    window.__anchorDone = new Promise(resolve => {{
                        pc.ondatachannel = e => {{
                            let got = 0;
                            e.channel.binaryType = "arraybuffer";
                            e.channel.onmessage = m => {{
                                got += m.data.byteLength;
                                if (got >= total) resolve(performance.timeOrigin + performance.now());
                            }};
                        }};
                    }});
                    await pc.setRemoteDescription({{type: "offer", sdp: offer}});
                    await pc.setLocalDescription(await pc.createAnswer());
                    await window.__gathered(pc);
                    return pc.localDescription.sdp;
                }})().then(sdp => done({{sdp}}), e => done({{error: String(e)}}));"#
            ),
            vec![offer.into(), (mib << 20).into()],
        )
        .await?;
    let answer = sdp_of(&answer, "answer")?;
    let sent = a
        .browser
        .client
        .execute_async(
            &(SEND_ALL.to_owned()
                + r#"
            const [answer, total, chunkBytes, done] = [arguments[0], arguments[1], arguments[2], arguments[arguments.length - 1]];
            (async () => {
                const [pc, tx] = [window.__anchor, window.__anchorTx];
                await pc.setRemoteDescription({type: "answer", sdp: answer});
                if (tx.readyState !== "open") await new Promise(resolve => tx.onopen = resolve);
                const t0 = performance.timeOrigin + performance.now();
                await sendAll(tx, total, chunkBytes);
                return t0;
            })().then(t0 => done({t0}), e => done({error: String(e)}));"#),
            vec![answer.into(), (mib << 20).into(), chunk.into()],
        )
        .await?;
    let t0 = sent["t0"]
        .as_f64()
        .ok_or_else(|| anyhow::anyhow!("anchor send failed: {sent}"))?;
    let received = b
        .browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; window.__anchorDone.then(t1 => done({t1}));",
            vec![],
        )
        .await?;
    let t1 = received["t1"]
        .as_f64()
        .ok_or_else(|| anyhow::anyhow!("anchor receive failed: {received}"))?;
    for p in [a, b] {
        p.browser
            .client
            .execute("window.__anchor.close(); window.__anchor = null;", vec![])
            .await?;
    }
    Ok((mib << 20) as f64 / 1e6 / ((t1 - t0) / 1000.0))
}

/// The anchor for files: MB/s of a bare data channel between two peer connections in one page.
async fn local_channel_mb_s(p: &Person, mib: usize, chunk: usize) -> anyhow::Result<f64> {
    let script = SEND_ALL.to_owned()
        + r#"
        const [total, chunkBytes, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
        (async () => {
            const [a, b] = [new RTCPeerConnection(), new RTCPeerConnection()];
            a.onicecandidate = e => e.candidate && b.addIceCandidate(e.candidate);
            b.onicecandidate = e => e.candidate && a.addIceCandidate(e.candidate);
            const tx = a.createDataChannel("anchor", {ordered: true});
            tx.binaryType = "arraybuffer";
            tx.bufferedAmountLowThreshold = 1 << 20;
            const received = new Promise(resolve => {
                b.ondatachannel = e => {
                    let got = 0;
                    e.channel.binaryType = "arraybuffer";
                    e.channel.onmessage = m => { got += m.data.byteLength; if (got >= total) resolve(performance.now()); };
                };
            });
            await a.setLocalDescription(await a.createOffer());
            await b.setRemoteDescription(a.localDescription);
            await b.setLocalDescription(await b.createAnswer());
            await a.setRemoteDescription(b.localDescription);
            if (tx.readyState !== "open") await new Promise(resolve => tx.onopen = resolve);
            const t0 = performance.now();
            await sendAll(tx, total, chunkBytes);
            const t1 = await received;
            a.close(); b.close();
            return total / 1e6 / ((t1 - t0) / 1000);
        })().then(mb_s => done({mb_s}), e => done({error: String(e)}));
    "#;
    let r = p
        .browser
        .client
        .execute_async(&script, vec![(mib << 20).into(), chunk.into()])
        .await?;
    r["mb_s"]
        .as_f64()
        .ok_or_else(|| anyhow::anyhow!("local channel failed: {r}"))
}

/// (median, min, max) of [`CALLS`] one-page calls in `p`'s browser: the set-up anchor.
async fn local_set_up(p: &Person) -> anyhow::Result<(f64, f64, f64)> {
    let mut local = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        local.push(one_local_call(p).await?);
    }
    Ok(summary(local))
}

/// (median, min, max).
fn summary(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    (median, v[0], v[n - 1])
}

/// A memory figure (`VmHWM:` peak or `VmRSS:` current, KiB) of the largest process of the browser with this
/// profile: its page's renderer (Chromium) or content process (Firefox).
fn rss_kib(profile_marker: &str, field: &str) -> u64 {
    procs::family(profile_marker)
        .into_iter()
        .filter_map(|pid| procs::status_kib(pid, field).ok())
        .max()
        .unwrap_or(0)
}

/// CPU seconds used so far by every process of the browser with this profile (renderer, network, GPU…).
fn cpu_s(profile_marker: &str) -> f64 {
    procs::family(profile_marker)
        .into_iter()
        .filter_map(|pid| procs::cpu_seconds(pid).ok())
        .sum()
}

/// CPU milliseconds per MB that the two browsers spent on `work` moving `mb` megabytes: (A's, B's).
async fn cpu_ms_per_mb<T>(
    a: &Person,
    b: &Person,
    mb: f64,
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<(T, f64, f64)> {
    let (ma, mb_marker) = (a.browser.profile_marker(), b.browser.profile_marker());
    let before = (cpu_s(&ma), cpu_s(&mb_marker));
    let out = work.await?;
    let per_mb = |now: f64, then: f64| (now - then) * 1000.0 / mb;
    Ok((
        out,
        per_mb(cpu_s(&ma), before.0),
        per_mb(cpu_s(&mb_marker), before.1),
    ))
}

/// Set-up times of [`CALLS`] calls from `a` to `b`'s node, each answered in a fresh browser on `b`'s page. Answered
/// from one browser, every third call measured Chromium re-opening the camera it had just closed: the callee's
/// video sender got its second frame and encoded its first ~1.4 s late, though ICE and DTLS were up at ~150 ms.
async fn set_up_times(a: &Person, mut b: Person) -> anyhow::Result<Vec<SetUp>> {
    let mut times = Vec::with_capacity(CALLS);
    for i in 0..CALLS {
        if i > 0 {
            let Person { node, browser } = b;
            let kind = browser.kind;
            drop(browser);
            b = Person::open_in(node, Browser::start_kind(kind).await?).await?;
        }
        times.push(one_call(a, &b).await?);
    }
    Ok(times)
}

fn row(path: &str, calls: &[SetUp], anchor: f64) {
    let times: Vec<f64> = calls.iter().map(|c| c.ms).collect();
    eprintln!("{path}: each call in order, ms: {times:.0?}");
    let (median, min, max) = summary(times);
    println!(
        "| {path} | {median:.0} | {min:.0} | {max:.0} | {:.2}× | < 300 ms median |",
        median / anchor
    );
}

/// The groups of this benchmark, each run if named on the command line (all when none is).
const GROUPS: [&str; 3] = ["set-up", "firefox", "files"];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(unknown) = args.iter().find(|a| !GROUPS.contains(&a.as_str())) {
        anyhow::bail!("unknown group {unknown:?}; the groups are {GROUPS:?}");
    }
    let wanted = |group: &str| args.is_empty() || args.iter().any(|a| a == group);
    if wanted("set-up") || wanted("firefox") {
        println!(
            "\n## Call set-up (click Call → first remote frame on the caller's screen, callee auto-accepts, {CALLS} calls)\n"
        );
        println!("| path | median ms | min ms | max ms | ratio to anchor | target |");
        println!("|---|---:|---:|---:|---:|---|");
        let (a, b) = pair(&[], &[AUTO_ACCEPT]).await?;
        let (anchor, anchor_min, anchor_max) = local_set_up(&a).await?;
        println!(
            "| anchor: two peer connections in one page, no signaling path | {anchor:.0} | {anchor_min:.0} | {anchor_max:.0} | 1.00× | |"
        );
        let mut direct = Vec::new();
        if wanted("set-up") {
            direct = set_up_times(&a, b).await?;
            row("direct (nodes are peers)", &direct, anchor);
            drop(a);
            row(
                "3 gossip hops (A–X–Y–B)",
                &set_up_over_hops().await?,
                anchor,
            );
        } else {
            drop((a, b));
        }
        if wanted("firefox") {
            firefox_set_up(anchor).await?;
        }
        if !direct.is_empty() {
            breakdown("direct, Chromium to Chromium", &direct);
        }
    }
    if wanted("files") {
        files().await?;
    }
    Ok(())
}

/// Set-up times over three gossip hops (A–X–Y–B).
async fn set_up_over_hops() -> anyhow::Result<Vec<SetUp>> {
    let a = Node::start_gossip("alice", &[]).await?;
    let x = Node::start_gossip("xavier", &[&a]).await?;
    let y = Node::start_gossip("yvonne", &[&x]).await?;
    let b = Node::start_gossip_with("bob", &[&y], &[AUTO_ACCEPT]).await?;
    let (a, b) = (Person::open(a).await?, Person::open(b).await?);
    let hops = set_up_times(&a, b).await?;
    drop((a, x, y));
    Ok(hops)
}

/// The Firefox rows of the set-up table, beside the one-page anchor in Firefox.
async fn firefox_set_up(anchor: f64) -> anyhow::Result<()> {
    let (a, b) = pair_in(
        BrowserKind::Firefox,
        BrowserKind::Chromium,
        &[],
        &[AUTO_ACCEPT],
    )
    .await?;
    let (ff_anchor, ff_anchor_min, ff_anchor_max) = local_set_up(&a).await?;
    println!(
        "| anchor in Firefox: two peer connections in one page | {ff_anchor:.0} | {ff_anchor_min:.0} | {ff_anchor_max:.0} | {:.2}× | |",
        ff_anchor / anchor
    );
    row(
        "direct, Firefox calls Chromium",
        &set_up_times(&a, b).await?,
        anchor,
    );
    drop(a);
    let (a, b) = pair_in(
        BrowserKind::Chromium,
        BrowserKind::Firefox,
        &[],
        &[AUTO_ACCEPT],
    )
    .await?;
    row(
        "direct, Chromium calls Firefox",
        &set_up_times(&a, b).await?,
        anchor,
    );
    Ok(())
}

/// The file transfer table.
async fn files() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("200mb.bin");
    let data: Vec<u8> = (0..(FILE_MIB as u32) << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(&path, &data)?;
    drop(data);
    let (a, b) = call_connected(&[], &[AUTO_ACCEPT]).await?;
    let chromium = file_figures(&a, &b, &path).await?;
    let big_chunks_mb_s = local_channel_mb_s(&a, FILE_MIB, 256 * 1024).await?;
    drop((a, b));
    let (a, b) = call_connected_in(
        BrowserKind::Firefox,
        BrowserKind::Chromium,
        &[],
        &[AUTO_ACCEPT],
    )
    .await?;
    let firefox = file_figures(&a, &b, &path).await?;
    drop((a, b));

    let anchor = chromium.one_page_mb_s;
    println!(
        "\n## File transfer ({FILE_MIB} MiB, A → B, on loopback, during a call; A and B are Chromium unless a row says otherwise)\n"
    );
    println!(
        "| path | MB/s | ratio to one-page anchor | ratio to two-browser channel | browser CPU A / B, ms per MB | RSS A before → peak, first half / second half (MiB) | RSS B before → peak (MiB) | target |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    println!(
        "| anchor: bare data channel, two peer connections in one page, 64 KiB messages | {anchor:.1} | 1.00× | | | | | |"
    );
    println!(
        "| the same with 256 KiB messages | {big_chunks_mb_s:.1} | {:.2}× | | | | | |",
        big_chunks_mb_s / anchor
    );
    chromium.rows(
        "from A's page to B's (two browsers, as a call's file goes)",
        "hearsay file transfer (read, frame, send; receive, fold into a Blob, check the digest)",
        anchor,
    );
    println!(
        "| anchor in Firefox: bare data channel, two peer connections in one page, 64 KiB messages | {:.1} | {:.2}× | | | | | |",
        firefox.one_page_mb_s,
        firefox.one_page_mb_s / anchor
    );
    firefox.rows(
        "from Firefox's page to Chromium's",
        "hearsay file transfer, Firefox → Chromium",
        anchor,
    );
    Ok(())
}

/// The file figures of one pair of browsers in a call, A sending to B.
struct FileFigures {
    /// The bare channel between two connections in A's page.
    one_page_mb_s: f64,
    /// The bare channel from A's page to B's, and the browsers' CPU ms per MB meanwhile (A, B).
    bare_mb_s: f64,
    bare_cpu: (f64, f64),
    /// The file through hearsay, and the browsers' CPU ms per MB meanwhile (A, B).
    sent: Sent,
    cpu: (f64, f64),
    /// Each side's largest process before the file (MiB), and B's peak after it.
    rss_before: (f64, f64),
    rss_b_peak: f64,
}

/// Measures the anchors and sends the file at `path` from `a` to `b`.
async fn file_figures(
    a: &Person,
    b: &Person,
    path: &std::path::Path,
) -> anyhow::Result<FileFigures> {
    let file_mb = (FILE_MIB << 20) as f64 / 1e6;
    let mib = |p: &Person, field| rss_kib(&p.browser.profile_marker(), field) as f64 / 1024.0;
    let one_page_mb_s = local_channel_mb_s(a, FILE_MIB, CHUNK_BYTES).await?;
    let (bare_mb_s, bare_a, bare_b) = cpu_ms_per_mb(
        a,
        b,
        file_mb,
        two_browser_channel_mb_s(a, b, FILE_MIB, CHUNK_BYTES),
    )
    .await?;
    let rss_before = (mib(a, "VmRSS:"), mib(b, "VmRSS:"));
    let (sent, cpu_a, cpu_b) = cpu_ms_per_mb(a, b, file_mb, send_file(a, b, path)).await?;
    Ok(FileFigures {
        one_page_mb_s,
        bare_mb_s,
        bare_cpu: (bare_a, bare_b),
        sent,
        cpu: (cpu_a, cpu_b),
        rss_before,
        rss_b_peak: mib(b, "VmHWM:"),
    })
}

impl FileFigures {
    /// The bare two-browser channel's row and the file's, with their ratios to the one-page `anchor`.
    fn rows(&self, bare: &str, file: &str, anchor: f64) {
        let mb_s = (FILE_MIB << 20) as f64 / 1e6 / self.sent.secs;
        println!(
            "| anchor: bare data channel {bare}, 64 KiB messages | {:.1} | {:.2}× | 1.00× | {:.0} / {:.0} | | | |",
            self.bare_mb_s,
            self.bare_mb_s / anchor,
            self.bare_cpu.0,
            self.bare_cpu.1,
        );
        println!(
            "| {file} | {mb_s:.1} | {:.2}× | {:.2}× | {:.0} / {:.0} | {:.0} → {:.0} / {:.0} | {:.0} → {:.0} | ≥ 0.95× the bare channel |",
            mb_s / anchor,
            mb_s / self.bare_mb_s,
            self.cpu.0,
            self.cpu.1,
            self.rss_before.0,
            self.sent.sender_first_half_mib,
            self.sent.sender_second_half_mib,
            self.rss_before.1,
            self.rss_b_peak,
        );
    }
}

/// A file sent: seconds from `b` accepting the file at `path` that `a` offers (transfer 0) until `b` has it all, and
/// the sender's largest process's resident memory at its highest in the first and in the second half of that time
/// (MiB): memory that stays flat does not grow from one half to the other.
struct Sent {
    secs: f64,
    sender_first_half_mib: f64,
    sender_second_half_mib: f64,
}

async fn send_file(a: &Person, b: &Person, path: &std::path::Path) -> anyhow::Result<Sent> {
    offer_files(a, &[path]).await?;
    b.click(r#"li.transfer[data-direction="in"][data-id="0"] button.accept"#)
        .await?;
    let started = Instant::now();
    let marker = a.browser.profile_marker();
    let samples = std::sync::Mutex::new(Vec::new());
    wait_until(
        "the 200 MB file to arrive",
        Duration::from_secs(600),
        || async {
            samples.lock().expect("not poisoned").push((
                started.elapsed().as_secs_f64(),
                rss_kib(&marker, "VmRSS:") as f64 / 1024.0,
            ));
            Ok(transfer_state(b, "in", "0").await?.as_deref() == Some("done"))
        },
    )
    .await?;
    let secs = started.elapsed().as_secs_f64();
    let samples = samples.into_inner().expect("not poisoned");
    let peak = |first: bool| {
        samples
            .iter()
            .filter(|(t, _)| (*t < secs / 2.0) == first)
            .map(|(_, mib)| *mib)
            .fold(0.0, f64::max)
    };
    Ok(Sent {
        secs,
        sender_first_half_mib: peak(true),
        sender_second_half_mib: peak(false),
    })
}

//! A person at their page, for call tests and benchmarks: a [`Browser`] open on a [`Node`]'s page, with the
//! clicks and waits a call needs. Every wait is bounded by [`LIMIT`] (or more where a test says so).

use std::time::Duration;

use anyhow::Context;
use fantoccini::Locator;

use crate::{AUTO_ACCEPT, Browser, BrowserKind, Node, wait_for, wait_until};

/// Bound of every wait in a call: the ring timeout (30 s) plus room.
pub const LIMIT: Duration = Duration::from_secs(40);

pub struct Person {
    pub node: Node,
    pub browser: Browser,
}

impl Person {
    /// Opens `node`'s page from the URL it printed (token and all) in a new browser and waits until it is
    /// connected.
    pub async fn open(node: Node) -> anyhow::Result<Self> {
        Self::open_in(node, Browser::start().await?).await
    }

    pub async fn open_in(node: Node, browser: Browser) -> anyhow::Result<Self> {
        browser.client.goto(&node.url).await?;
        let person = Person { node, browser };
        let connected = wait_for(
            &format!("{}'s page to connect", person.node.name),
            LIMIT,
            || async { person.browser.attr("#link-status", "data-state").await },
            |state| state.as_deref() == Some("connected"),
        )
        .await;
        if let Err(err) = connected {
            // Say what the browser shows instead: an error page, a page that never loaded, a link retrying.
            let url = person
                .browser
                .client
                .current_url()
                .await
                .map(|u| u.to_string());
            let body = person
                .browser
                .text("body")
                .await
                .ok()
                .flatten()
                .unwrap_or_default();
            let shot = person
                .browser
                .screenshot(&format!("no-connect-{}", person.node.name))
                .await;
            anyhow::bail!(
                "{err:#}; the browser is at {url:?} showing {:?} (screenshot {shot:?})",
                body.chars().take(300).collect::<String>()
            );
        }
        Ok(person)
    }

    fn user_css(other: &Person) -> String {
        format!(
            r#"li.user[data-key="{}"][data-reachable="true"]"#,
            other.node.key
        )
    }

    /// Waits until `other` is listed as reachable on this page.
    pub async fn wait_reachable(&self, other: &Person) -> anyhow::Result<()> {
        let css = Self::user_css(other);
        wait_until(
            &format!("{} to see {} as reachable", self.node.name, other.node.name),
            LIMIT,
            || async { Ok(self.browser.client.find(Locator::Css(&css)).await.is_ok()) },
        )
        .await
    }

    /// Waits until `other` is reachable, then clicks its call button (`video` or `audio`).
    pub async fn call(&self, other: &Person, kind: &str) -> anyhow::Result<()> {
        self.wait_reachable(other).await?;
        let css = format!("{} button.call-{kind}", Self::user_css(other));
        self.click(&css).await
    }

    /// Waits for an element and clicks it. The page re-renders as it likes, so an element found may be replaced
    /// before the click lands (WebDriver: "stale element"); the click is then tried again on the new one.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        wait_until(
            &format!("{css} on {}'s page", self.node.name),
            LIMIT,
            || async {
                let el = match self.browser.client.find(Locator::Css(css)).await {
                    Ok(el) => el,
                    Err(e) if e.is_no_such_element() => return Ok(false),
                    // Kept as the wait's last error: a crashed tab or a lost session, not a missing button.
                    Err(e) => return Err(e.into()),
                };
                let clicked = match el.is_enabled().await {
                    Ok(true) => el.click().await,
                    Ok(false) => return Ok(false),
                    Err(e) => Err(e),
                };
                match clicked {
                    Ok(()) => Ok(true),
                    Err(e) if is_stale(&e) => Ok(false),
                    Err(e) => Err(e.into()),
                }
            },
        )
        .await
    }

    /// Clicks an element found and clicked by one script, in one turn of the page's event loop, waiting up to
    /// [`LIMIT`] for it to be there and enabled. For a page too busy to answer [`Person::click`]'s three WebDriver
    /// round trips (find, enabled, click) before what it shows changes: a page receiving a file at full speed on
    /// a loaded machine answered each in seconds, and the transfer ended before a Cancel click landed.
    pub async fn click_in_one_turn(&self, css: &str) -> anyhow::Result<()> {
        let script = "const el = document.querySelector(arguments[0]);
            if (!el || el.disabled) return false;
            el.click();
            return true;";
        wait_until(
            &format!("{css} on {}'s page (clicked by script)", self.node.name),
            LIMIT,
            || async {
                let clicked = self
                    .browser
                    .client
                    .execute(script, vec![serde_json::json!(css)])
                    .await?;
                Ok(clicked.as_bool() == Some(true))
            },
        )
        .await
    }

    /// Where the call is, as the page shows it: `idle`, `ringing_out`, `ringing_in`, `connecting`, `in_call`, or
    /// `ended:<Reason>`.
    pub async fn phase(&self) -> anyhow::Result<String> {
        if self.browser.text("#incoming-call").await?.is_some() {
            return Ok("ringing_in".into());
        }
        if let Some(p) = self.browser.attr("#in-call", "data-phase").await? {
            return Ok(p);
        }
        if let Some(r) = self.browser.attr("#call-ended", "data-reason").await? {
            return Ok(format!("ended:{r}"));
        }
        if self.browser.text("#calling").await?.is_some() {
            return Ok("ringing_out".into());
        }
        Ok("idle".into())
    }

    pub async fn wait_phase(&self, want: &str) -> anyhow::Result<()> {
        wait_for(
            &format!("{} to reach {want}", self.node.name),
            LIMIT,
            || self.phase(),
            |phase| phase == want,
        )
        .await
        .map(drop)
    }

    /// A number from the in-call stats line (`frames-decoded`, `audio-packets`, `frame-width`, …); 0 if absent.
    pub async fn stat(&self, name: &str) -> anyhow::Result<u64> {
        Ok(self
            .browser
            .attr("#call-stats", &format!("data-{name}"))
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Width over height of the video this page decodes now (0 before the first frame). Tells a camera from a
    /// shared screen by shape, not size: under load the sender scales its video down, keeping the shape.
    pub async fn frame_shape(&self) -> anyhow::Result<f64> {
        let (w, h) = (
            self.stat("frame-width").await?,
            self.stat("frame-height").await?,
        );
        Ok(if h == 0 { 0.0 } else { w as f64 / h as f64 })
    }

    /// Waits until remote video frames are decoded and audio packets arrive, and then keep coming.
    pub async fn wait_media_flowing(&self) -> anyhow::Result<()> {
        let who = &self.node.name;
        wait_until(
            &format!("{who} to decode remote video and receive audio"),
            LIMIT,
            || async {
                Ok(self.stat("frames-decoded").await? > 10
                    && self.stat("audio-packets").await? > 10)
            },
        )
        .await?;
        let frames = self.stat("frames-decoded").await?;
        wait_until(&format!("{who}'s frames to keep coming"), LIMIT, || async {
            Ok(self.stat("frames-decoded").await? > frames + 10)
        })
        .await?;
        // Decoded is not seen: the page's own video element must be showing the picture.
        wait_for(
            &format!("{who}'s page to show the remote picture"),
            LIMIT,
            || async {
                let shown = self
                    .browser
                    .client
                    .execute(
                        "const v = document.querySelector('#remote-video'); \
                         return v ? [v.readyState, v.videoWidth] : null",
                        vec![],
                    )
                    .await?;
                Ok(shown)
            },
            |shown| shown[0].as_u64() >= Some(2) && shown[1].as_u64() > Some(0),
        )
        .await
        .map(drop)
    }
}

/// Whether WebDriver refused because the element was replaced since it was found.
fn is_stale(e: &fantoccini::error::CmdError) -> bool {
    matches!(e, fantoccini::error::CmdError::Standard(w)
        if w.error == fantoccini::error::ErrorStatus::StaleElementReference)
}

/// Whether two [`Person::frame_shape`]s are the same picture shape.
pub fn same_shape(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.05
}

/// Two gossip-linked nodes with a page each, `b` peered with `a`; `args_a`/`args_b` are extra node flags (e.g.
/// [`AUTO_ACCEPT`], [`RELAY_ONLY`]).
pub async fn pair(args_a: &[&str], args_b: &[&str]) -> anyhow::Result<(Person, Person)> {
    pair_in(BrowserKind::Chromium, BrowserKind::Chromium, args_a, args_b).await
}

/// As [`pair`], with Alice's page in `alice_in` and Bob's in `bob_in`.
pub async fn pair_in(
    alice_in: BrowserKind,
    bob_in: BrowserKind,
    args_a: &[&str],
    args_b: &[&str],
) -> anyhow::Result<(Person, Person)> {
    let a = Node::start_gossip_with("alice", &[], args_a).await?;
    let b = Node::start_gossip_with("bob", &[&a], args_b).await?;
    Ok((
        Person::open_in(a, Browser::start_kind(alice_in).await?).await?,
        Person::open_in(b, Browser::start_kind(bob_in).await?).await?,
    ))
}

/// A pair already in a video call (alice called bob, who accepts by himself with [`AUTO_ACCEPT`] or by a click).
pub async fn call_connected(args_a: &[&str], args_b: &[&str]) -> anyhow::Result<(Person, Person)> {
    call_connected_in(BrowserKind::Chromium, BrowserKind::Chromium, args_a, args_b).await
}

/// As [`call_connected`], with Alice's page in `alice_in` and Bob's in `bob_in`.
pub async fn call_connected_in(
    alice_in: BrowserKind,
    bob_in: BrowserKind,
    args_a: &[&str],
    args_b: &[&str],
) -> anyhow::Result<(Person, Person)> {
    let (a, b) = pair_in(alice_in, bob_in, args_a, args_b).await?;
    a.call(&b, "video").await?;
    if !args_b.contains(&AUTO_ACCEPT) {
        b.click("#accept-call").await?;
    }
    a.wait_phase("in_call").await?;
    b.wait_phase("in_call").await?;
    Ok((a, b))
}

/// The selected candidate pair of a call, as the page's stats show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallPath {
    /// `host`, `srflx`, `prflx` or `relay` for this side's end and the other side's.
    pub local: String,
    pub remote: String,
    /// This side's candidate address: for a relay candidate, the TURN server's relayed address.
    pub local_address: String,
    /// For a relay candidate: `udp`, `tcp` or `tls` between the browser and its TURN server.
    pub relay_protocol: String,
}

impl CallPath {
    pub fn relayed(&self) -> bool {
        self.local == "relay" || self.remote == "relay"
    }
}

impl std::fmt::Display for CallPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} → {}", self.local, self.remote)?;
        if self.local == "relay" {
            write!(
                f,
                " (via {} over {})",
                self.local_address, self.relay_protocol
            )?;
        }
        Ok(())
    }
}

impl Person {
    /// The selected candidate pair, once the stats name one.
    pub async fn path(&self) -> anyhow::Result<CallPath> {
        let attr = |name: &'static str| async move {
            Ok::<_, anyhow::Error>(
                self.browser
                    .attr("#call-stats", name)
                    .await?
                    .unwrap_or_default(),
            )
        };
        Ok(CallPath {
            local: attr("data-local-candidate").await?,
            remote: attr("data-remote-candidate").await?,
            local_address: attr("data-local-address").await?,
            relay_protocol: attr("data-relay-protocol").await?,
        })
    }

    /// Waits until the selected pair satisfies `done` and returns it (the browser may start on a relayed pair and
    /// switch to a direct one once its checks succeed).
    pub async fn wait_path(
        &self,
        what: &str,
        done: impl Fn(&CallPath) -> bool,
    ) -> anyhow::Result<CallPath> {
        wait_for(
            &format!("{}'s call path to be {what}", self.node.name),
            LIMIT,
            || self.path(),
            |p| !p.local.is_empty() && !p.remote.is_empty() && done(p),
        )
        .await
    }

    /// How the page says its node is seen from outside: `yes`, `no` or `unknown`, and how many relays calls use.
    pub async fn network(&self) -> anyhow::Result<(String, usize)> {
        let reachable = self
            .browser
            .attr("#own-address", "data-reachable")
            .await?
            .unwrap_or_default();
        let relays = self
            .browser
            .attr("#own-address .relays", "data-count")
            .await?
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        Ok((reachable, relays))
    }

    /// Waits until the page says whether the node is reachable from outside (`yes`/`no`) and names at least one
    /// relay for calls, and returns the reachability it shows.
    pub async fn wait_network_known(&self) -> anyhow::Result<String> {
        let (reachable, _) = wait_for(
            &format!("{}'s page to know its address and relays", self.node.name),
            LIMIT,
            || self.network(),
            |(reachable, relays)| reachable != "unknown" && !reachable.is_empty() && *relays > 0,
        )
        .await?;
        Ok(reachable)
    }

    /// Opens and closes the camera and microphone once, so a timed call after it measures the call, not the
    /// browser's first start of its capture devices (~150 ms here, paid once per browser).
    pub async fn warm_up_devices(&self) -> anyhow::Result<()> {
        let script = r#"
            const done = arguments[arguments.length - 1];
            navigator.mediaDevices.getUserMedia({audio: true, video: true})
                .then(m => { m.getTracks().forEach(t => t.stop()); done(true); }, e => done(String(e)));
        "#;
        let r = self.browser.client.execute_async(script, vec![]).await?;
        anyhow::ensure!(r == true, "the camera and microphone did not open: {r}");
        Ok(())
    }

    /// Clicks Call (`video` or `audio`) on `other` and returns the milliseconds until this page shows the call
    /// connected (ICE connected), measured in the page.
    pub async fn timed_call(&self, other: &Person, kind: &str) -> anyhow::Result<f64> {
        self.wait_reachable(other).await?;
        let script = r##"
            const [key, kind, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
            const button = document.querySelector(`li.user[data-key="${key}"] button.call-${kind}`);
            if (!button) { done({error: "no call button"}); return; }
            const t0 = performance.now();
            button.click();
            const poll = () => {
                const stage = document.querySelector("#in-call");
                if (stage && stage.dataset.phase === "in_call") {
                    done({ms: performance.now() - t0});
                } else if (document.querySelector("#call-ended")) {
                    done({error: "the call ended: " + document.querySelector("#call-ended").dataset.reason});
                } else if (performance.now() - t0 > 35000) {
                    done({error: "not connected within 35 s"});
                } else {
                    setTimeout(poll, 2);
                }
            };
            poll();
        "##;
        let r = self
            .browser
            .client
            .execute_async(script, vec![other.node.key.to_hex().into(), kind.into()])
            .await
            .context("timing a call")?;
        r["ms"]
            .as_f64()
            .ok_or_else(|| anyhow::anyhow!("the call did not connect: {r}"))
    }
}

impl Person {
    /// Starts logging the wall-clock time (ms since the epoch) of every remote video frame the page presents.
    pub async fn log_frames(&self) -> anyhow::Result<()> {
        let script = r##"
            window.frameLog = [];
            const video = document.querySelector("#remote-video");
            if (!video || !video.requestVideoFrameCallback) return false;
            const each = () => { window.frameLog.push(Date.now()); video.requestVideoFrameCallback(each); };
            video.requestVideoFrameCallback(each);
            return true;
        "##;
        let started = self.browser.client.execute(script, vec![]).await?;
        anyhow::ensure!(
            started == true,
            "{}'s page shows no remote video to watch",
            self.node.name
        );
        Ok(())
    }

    /// The frame times logged since [`Person::log_frames`].
    pub async fn frame_log(&self) -> anyhow::Result<Vec<u64>> {
        let log = self
            .browser
            .client
            .execute("return window.frameLog || []", vec![])
            .await?;
        Ok(log
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_f64())
                    .map(|v| v as u64)
                    .collect()
            })
            .unwrap_or_default())
    }

    /// ICE restarts in the call so far, as the page shows them.
    pub async fn restarts(&self) -> anyhow::Result<u32> {
        Ok(self
            .browser
            .attr("#in-call", "data-restarts")
            .await?
            .and_then(|r| r.parse().ok())
            .unwrap_or(0))
    }
}

/// When frames flowed again after `since` (ms since the epoch): the first frame after the longest gap that ended
/// after `since`, or `None` if no frame came after it yet. A log with no gap of `outage_ms` after `since` means the
/// picture never stopped: the first frame after `since` is returned.
pub fn frames_resumed(log: &[u64], since: u64, outage_ms: u64) -> Option<u64> {
    let after: Vec<(u64, u64)> = log
        .windows(2)
        .map(|w| (w[0], w[1]))
        .filter(|&(_, next)| next > since)
        .collect();
    let resumed = after
        .iter()
        .filter(|(prev, next)| next - prev >= outage_ms)
        .max_by_key(|(prev, next)| next - prev)
        .map(|&(_, next)| next);
    resumed.or_else(|| after.first().map(|&(_, next)| next))
}

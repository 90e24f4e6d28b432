//! A real browser for page tests: headless Chromium behind chromedriver, or Firefox ESR behind geckodriver on a
//! virtual X display of its own (Xvfb: headless Firefox cannot share a screen), both with fake camera and microphone, the node's self-signed certificate accepted, and nothing
//! fetched from anywhere but the pages a test opens (see ../shared/TOOLCHAIN.md for why each flag or preference is
//! there). Tests drive either through the same [`Browser`]; only [`Browser::start_with`] knows which is which.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use fantoccini::{Client, ClientBuilder, Locator};
use tokio::process::{Child, Command};

use crate::{START_TIMEOUT, artifacts_dir, free_port, netbed, wait_for, wait_until, which};

/// Which browser a [`Browser`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowserKind {
    Chromium,
    Firefox,
}

impl BrowserKind {
    pub fn name(self) -> &'static str {
        match self {
            BrowserKind::Chromium => "Chromium",
            BrowserKind::Firefox => "Firefox",
        }
    }
}

/// Chromium flags that work headless, offline and as root; see ../shared/TOOLCHAIN.md.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--auto-select-desktop-capture-source=Entire screen",
    "--ignore-certificate-errors",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--window-size=1280,800",
    "--autoplay-policy=no-user-gesture-required",
    // Google's service names (and the default search engine's) resolve to nothing: Chromium otherwise asks DNS for
    // them even with the background flags above. Not `MAP *`: that rule takes IP literals too, and TURN over TCP
    // to a literal address then fails.
    "--host-resolver-rules=MAP *.google.com ~NOTFOUND , MAP *.googleapis.com ~NOTFOUND , MAP *.gstatic.com ~NOTFOUND , MAP *.gvt1.com ~NOTFOUND , MAP *.duckduckgo.com ~NOTFOUND",
];

/// Firefox preferences: fake devices granted without a prompt, media that plays without a gesture, host ICE
/// candidates by address (as Chromium's flag above), and every background service that would call out to the
/// internet switched off (geckodriver already disables updates and most telemetry; these close the rest).
fn firefox_prefs(camera_allowed: bool) -> serde_json::Value {
    serde_json::json!({
        "media.navigator.streams.fake": true,
        "media.navigator.permission.disabled": camera_allowed,
        "permissions.default.camera": if camera_allowed { 1 } else { 2 },
        "permissions.default.microphone": 1,
        "media.autoplay.default": 0,
        "media.autoplay.blocking_policy": 0,
        "media.peerconnection.ice.obfuscate_host_addresses": false,
        // The test nodes' TURN servers relay from 127.0.0.1; Firefox drops loopback candidates unless told.
        "media.peerconnection.ice.loopback": true,
        "media.getusermedia.window.focus_source.enabled": false,
        // Every name resolves to 127.0.0.1 (a pref of Firefox's own test harness): whatever background request
        // the prefs below miss knocks on loopback instead of asking DNS and calling out.
        "network.dns.native-is-localhost": true,
        "media.gmp-manager.url": "",
        "media.gmp-gmpopenh264.autoupdate": false,
        "network.connectivity-service.enabled": false,
        "network.captive-portal-service.enabled": false,
        "network.dns.disablePrefetch": true,
        "network.prefetch-next": false,
        "network.http.speculative-parallel-limit": 0,
        "browser.safebrowsing.malware.enabled": false,
        "browser.safebrowsing.phishing.enabled": false,
        "browser.safebrowsing.downloads.enabled": false,
        "browser.safebrowsing.blockedURIs.enabled": false,
        "browser.region.network.url": "",
        "browser.region.update.enabled": false,
        "browser.search.update": false,
        "services.settings.server": "data:,",
        "extensions.blocklist.enabled": false,
        "extensions.getAddons.cache.enabled": false,
        "datareporting.policy.dataSubmissionEnabled": false,
        "datareporting.healthreport.uploadEnabled": false,
        "toolkit.telemetry.server": "data:,",
        "app.normandy.enabled": false,
        "app.update.auto": false,
        "app.shield.optoutstudies.enabled": false,
        "browser.newtabpage.enabled": false,
        "browser.startup.page": 0,
        "identity.fxaccounts.enabled": false,
        "security.OCSP.enabled": 0,
        "security.remote_settings.crlite_filters.enabled": false,
        "security.remote_settings.intermediates.enabled": false,
    })
}

/// An X server of its own (Xvfb) for one Firefox: headless Firefox has no screen to share (its getDisplayMedia
/// answers NotFoundError), while Firefox on a virtual display shares that display like a person's monitor.
struct VirtualDisplay {
    xvfb: Child,
    number: u32,
    /// `:N`, for `DISPLAY`.
    name: String,
}

impl Drop for VirtualDisplay {
    /// A killed X server leaves its lock file and socket behind: remove them with it.
    fn drop(&mut self) {
        let _ = self.xvfb.start_kill();
        let _ = std::fs::remove_file(format!("/tmp/.X{}-lock", self.number));
        let _ = std::fs::remove_file(format!("/tmp/.X11-unix/X{}", self.number));
    }
}

impl VirtualDisplay {
    async fn start() -> anyhow::Result<Self> {
        let xvfb = which("Xvfb").context(
            "Xvfb is not installed: `cargo xtask test` installs it (apt-get install xvfb)",
        )?;
        // A display number nobody holds (X servers take a lock file per display): from a base of this process's
        // own, one further for each display it starts, so sessions started side by side never race for one.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let base = 100 + std::process::id() % 800;
        let number = (0..100)
            .map(|_| base + NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 100)
            .find(|n| !std::path::Path::new(&format!("/tmp/.X{n}-lock")).exists())
            .context("no free X display number")?;
        let name = format!(":{number}");
        let mut child = Command::new(xvfb)
            .args([&name, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting Xvfb")?;
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{number}"));
        wait_until(&format!("Xvfb {name} to listen"), START_TIMEOUT, || async {
            Ok(socket.exists())
        })
        .await?;
        // The socket may be another server's that took the number meanwhile: then ours has exited.
        if let Some(status) = child.try_wait()? {
            bail!("Xvfb {name} exited ({status}): the display was taken");
        }
        Ok(Self {
            xvfb: child,
            number,
            name,
        })
    }
}

/// One browser session behind its own WebDriver server (chromedriver or geckodriver).
pub struct Browser {
    pub client: Client,
    pub kind: BrowserKind,
    _driver: Child,
    /// Firefox's X server; dropped after the driver (fields drop in order), so the browser goes first.
    _display: Option<VirtualDisplay>,
    /// For a browser in a testbed host's namespace: the bridge from this process to its driver.
    _forward: Option<netbed::Forward>,
    profile: tempfile::TempDir,
}

impl Browser {
    /// A Chromium with fake camera and microphone that grants the page access to both.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(BrowserKind::Chromium, true, None).await
    }

    /// A browser of `kind` with fake camera and microphone that grants the page access to both.
    pub async fn start_kind(kind: BrowserKind) -> anyhow::Result<Self> {
        Self::start_with(kind, true, None).await
    }

    /// A Chromium (fake camera and microphone allowed) running inside network namespace `netns`, as on a testbed
    /// host: its chromedriver listens inside the namespace and is reached through a [`netbed::Forward`].
    pub async fn start_in_namespace(netns: &str) -> anyhow::Result<Self> {
        Self::start_with(BrowserKind::Chromium, true, Some(netns)).await
    }

    /// A Chromium whose profile blocks the camera (the microphone is still allowed), as when a person denies
    /// camera access: getUserMedia with video fails with NotAllowedError.
    pub async fn start_without_camera() -> anyhow::Result<Self> {
        Self::start_with(BrowserKind::Chromium, false, None).await
    }

    pub async fn start_with(
        kind: BrowserKind,
        camera_allowed: bool,
        netns: Option<&str>,
    ) -> anyhow::Result<Self> {
        let profile = tempfile::Builder::new()
            .prefix(match kind {
                BrowserKind::Chromium => "hearsay-chromium-",
                BrowserKind::Firefox => "hearsay-firefox-",
            })
            .tempdir()?;
        let port = free_port();
        let (driver_path, caps) = match kind {
            BrowserKind::Chromium => chromium_session(&profile, camera_allowed)?,
            BrowserKind::Firefox => firefox_session(&profile, camera_allowed)?,
        };
        let display = match kind {
            BrowserKind::Firefox => Some(VirtualDisplay::start().await?),
            BrowserKind::Chromium => None,
        };
        let mut command = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&driver_path);
                c
            }
            None => Command::new(&driver_path),
        };
        if let Some(display) = &display {
            command.env("DISPLAY", &display.name);
        }
        match kind {
            BrowserKind::Chromium => command.arg(format!("--port={port}")),
            // geckodriver lets the system pick each Firefox's Marionette port; its BiDi port (unused here) would be
            // a fixed 9222 for every session, so it is left to the system as well.
            BrowserKind::Firefox => {
                command.args(["--port", &port.to_string(), "--websocket-port", "0"])
            }
        };
        let driver = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", driver_path.display()))?;
        let forward = match netns {
            Some(ns) => Some(netbed::Forward::start(ns, port)?),
            None => None,
        };
        let webdriver = format!(
            "http://127.0.0.1:{}",
            forward.as_ref().map_or(port, |f| f.port)
        );
        // fantoccini's TLS stack brings both of rustls' crypto providers into the build, so rustls cannot pick one
        // by itself: choose ring, the one the node uses. A second install in the same process is a harmless no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = ClientBuilder::rustls()?;
        builder.capabilities(caps);
        let client = wait_for(
            &format!(
                "a {} session through {}",
                kind.name(),
                driver_path.display()
            ),
            START_TIMEOUT,
            // A driver needs a moment before it listens: the session request is retried until then.
            || async { Ok(builder.connect(&webdriver).await?) },
            |_| true,
        )
        .await?;
        // Scripts bound their own waits (and say what they waited for); WebDriver's 30 s default would cut the
        // longer ones short with a bare "script timeout".
        client
            .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
                Some(Duration::from_secs(90)),
                Some(Duration::from_secs(60)),
                None,
            ))
            .await?;
        if kind == BrowserKind::Firefox {
            // The page's layout is tested at Chromium's window size.
            client.set_window_size(1280, 800).await?;
        }
        Ok(Self {
            client,
            kind,
            _driver: driver,
            _display: display,
            _forward: forward,
            profile,
        })
    }

    /// Text of the first element matching `css`, or `None` if there is none.
    pub async fn text(&self, css: &str) -> anyhow::Result<Option<String>> {
        match self.client.find(Locator::Css(css)).await {
            Ok(el) => Ok(Some(el.text().await?)),
            Err(e) if e.is_no_such_element() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// An attribute of the first element matching `css`, or `None` if there is no such element or attribute.
    pub async fn attr(&self, css: &str, attr: &str) -> anyhow::Result<Option<String>> {
        match self.client.find(Locator::Css(css)).await {
            Ok(el) => Ok(el.attr(attr).await?),
            Err(e) if e.is_no_such_element() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A string on the command line of every process of this browser (its unique profile dir).
    pub fn profile_marker(&self) -> String {
        self.profile.path().display().to_string()
    }

    /// The browser's user agent string (its name and version).
    pub async fn version(&self) -> anyhow::Result<String> {
        let ua = self
            .client
            .execute("return navigator.userAgent", vec![])
            .await?;
        Ok(ua.as_str().unwrap_or_default().to_string())
    }

    /// Saves a screenshot of the page as `artifacts/<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        let png = self.client.screenshot().await?;
        let path = artifacts_dir().join(format!("{name}.png"));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    pub async fn close(self) -> anyhow::Result<()> {
        self.client.clone().close().await?;
        Ok(())
    }
}

impl Drop for Browser {
    /// chromedriver does not take its Chromium down when it is killed (nor geckodriver its Firefox), so a test
    /// that fails before `close` would leave a browser running. Every process of this browser has the unique
    /// profile dir on its command line.
    fn drop(&mut self) {
        let _ = std::process::Command::new("pkill")
            .stdout(std::process::Stdio::null())
            .args(["-f", "--"])
            .arg(self.profile_marker())
            .status();
    }
}

/// chromedriver's path and the capabilities of a Chromium session.
fn chromium_session(
    profile: &tempfile::TempDir,
    camera_allowed: bool,
) -> anyhow::Result<(PathBuf, serde_json::Map<String, serde_json::Value>)> {
    let chromium = which("chromium").or_else(|| which("chromium-browser")).context(
        "Chromium is not installed: `cargo xtask test` installs it (apt-get install chromium chromium-driver)",
    )?;
    let chromedriver = which("chromedriver").context(
        "chromedriver is not installed: `cargo xtask test` installs it (apt-get install chromium-driver)",
    )?;
    let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|s| s.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.path().display()));
    // Content settings: 1 allows, 2 blocks. The fake-UI flag would grant everything, so it goes when the camera
    // is to be blocked.
    let prefs = if camera_allowed {
        serde_json::json!({})
    } else {
        args.retain(|a| a != "--use-fake-ui-for-media-stream");
        serde_json::json!({
            "profile.default_content_setting_values.media_stream_camera": 2,
            "profile.default_content_setting_values.media_stream_mic": 1,
        })
    };
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "chrome".into());
    caps.insert("acceptInsecureCerts".into(), true.into());
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({ "binary": chromium, "args": args, "prefs": prefs }),
    );
    Ok((chromedriver, caps))
}

/// geckodriver's path and the capabilities of a Firefox session (its profile in `profile`, so that the profile
/// dir marks its processes as Chromium's does).
fn firefox_session(
    profile: &tempfile::TempDir,
    camera_allowed: bool,
) -> anyhow::Result<(PathBuf, serde_json::Map<String, serde_json::Value>)> {
    let firefox = which("firefox-esr").or_else(|| which("firefox")).context(
        "Firefox is not installed: `cargo xtask test` installs it (apt-get install firefox-esr)",
    )?;
    let geckodriver = which("geckodriver")
        .or_else(|| {
            let cargo_home = std::env::var_os("CARGO_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
            Some(cargo_home.join("bin/geckodriver")).filter(|p| p.is_file())
        })
        .context(
            "geckodriver is not installed: `cargo xtask test` installs it (cargo install geckodriver)",
        )?;
    // Not `-headless`: Firefox runs on a virtual display of its own (see [`VirtualDisplay`]).
    let args = vec!["-profile".to_string(), profile.path().display().to_string()];
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "firefox".into());
    caps.insert("acceptInsecureCerts".into(), true.into());
    caps.insert(
        "moz:firefoxOptions".into(),
        serde_json::json!({
            "binary": firefox,
            "args": args,
            "prefs": firefox_prefs(camera_allowed),
            "log": { "level": "error" },
        }),
    );
    Ok((geckodriver, caps))
}

//! A person at their page, for call tests and benchmarks: a [`Browser`] open on a [`Node`]'s page, with the
//! clicks and waits a call needs. Every wait is bounded by [`LIMIT`] (or more where a test says so).

use std::time::Duration;

use fantoccini::Locator;

use crate::{Browser, Node, wait_for, wait_until};

/// Bound of every wait in a call: the ring timeout (30 s) plus room.
pub const LIMIT: Duration = Duration::from_secs(40);

pub struct Person {
    pub node: Node,
    pub browser: Browser,
}

impl Person {
    /// Opens `node`'s page (with `query`, e.g. `?auto-accept`) in a new browser and waits until it is connected.
    pub async fn open(node: Node, query: &str) -> anyhow::Result<Self> {
        Self::open_in(node, Browser::start().await?, query).await
    }

    pub async fn open_in(node: Node, browser: Browser, query: &str) -> anyhow::Result<Self> {
        browser.client.goto(&format!("{}{query}", node.url)).await?;
        let person = Person { node, browser };
        wait_until("the page to connect", LIMIT, || async {
            Ok(person
                .browser
                .attr("#link-status", "data-state")
                .await?
                .as_deref()
                == Some("connected"))
        })
        .await?;
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

    /// Waits for an element and clicks it.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        wait_until(
            &format!("{css} on {}'s page", self.node.name),
            LIMIT,
            || async {
                match self.browser.client.find(Locator::Css(css)).await {
                    Ok(el) => Ok(el.is_enabled().await?),
                    Err(_) => Ok(false),
                }
            },
        )
        .await?;
        self.browser
            .client
            .find(Locator::Css(css))
            .await?
            .click()
            .await?;
        Ok(())
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
        .await
    }
}

/// Two gossip-linked nodes with a page each, `b` peered with `a`.
pub async fn pair(query_a: &str, query_b: &str) -> anyhow::Result<(Person, Person)> {
    let a = Node::start_gossip("alice", &[]).await?;
    let b = Node::start_gossip("bob", &[&a]).await?;
    Ok((
        Person::open(a, query_a).await?,
        Person::open(b, query_b).await?,
    ))
}

/// A pair already in a video call (alice called bob, who accepts through `query_b`'s `?auto-accept` or a click).
pub async fn call_connected(query_a: &str, query_b: &str) -> anyhow::Result<(Person, Person)> {
    let (a, b) = pair(query_a, query_b).await?;
    a.call(&b, "video").await?;
    if !query_b.contains("auto-accept") {
        b.click("#accept-call").await?;
    }
    a.wait_phase("in_call").await?;
    b.wait_phase("in_call").await?;
    Ok((a, b))
}

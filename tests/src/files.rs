//! Files between two pages in a call: deterministic test files, offering them through the page's file input,
//! reading a transfer's state, and hashing what the receiving page offers for download.

use fantoccini::Locator;
use sha2::{Digest, Sha256};

use crate::call_page::Person;

/// A file of `len` deterministic pseudo-random bytes in a temp dir; returns (path, sha256 hex).
pub fn make_file(
    dir: &std::path::Path,
    name: &str,
    len: usize,
    seed: u64,
) -> (std::path::PathBuf, String) {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut data = Vec::with_capacity(len);
    while data.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    data.truncate(len);
    let path = dir.join(name);
    std::fs::write(&path, &data).expect("temp dir is writable");
    (path, hex::encode(Sha256::digest(&data)))
}

/// SHA-256 of what the page's download link for incoming transfer `id` holds, computed in the browser. The link
/// must be a download of plain bytes: a file a peer sent never renders on the page's origin.
pub async fn downloaded_sha256(p: &Person, id: &str) -> anyhow::Result<String> {
    let script = r#"
        const [id, done] = [arguments[0], arguments[arguments.length - 1]];
        const a = document.querySelector(`li.transfer[data-direction="in"][data-id="${id}"] a.download`);
        if (!a) { done({error: "no download link"}); return; }
        let type = null;
        fetch(a.href).then(r => r.blob()).then(b => { type = b.type; return b.arrayBuffer(); })
          .then(b => crypto.subtle.digest("SHA-256", b)).then(h => {
            done({sha: Array.from(new Uint8Array(h)).map(x => x.toString(16).padStart(2, "0")).join(""),
                  type, download: a.getAttribute("download")});
        }).catch(e => done({error: String(e)}));
    "#;
    // A fetch that fails is tried again (at most twice more) and reported: once in CI the browser answered a
    // finished 20 MB download with "Failed to fetch", not reproduced since; a broken download fails every try.
    let mut tries = 0;
    let r = loop {
        tries += 1;
        let r = p
            .browser
            .client
            .execute_async(script, vec![id.into()])
            .await?;
        match r.get("error") {
            Some(e) if tries < 3 => eprintln!("fetching download {id} failed (try {tries}): {e}"),
            _ => break r,
        }
    };
    anyhow::ensure!(
        r["type"] == "application/octet-stream"
            && r["download"].as_str().is_some_and(|d| !d.is_empty()),
        "a received file must be a download of bytes: {r}"
    );
    r["sha"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("{r}"))
}

pub async fn offer_files(p: &Person, paths: &[&std::path::Path]) -> anyhow::Result<()> {
    let input = p.browser.client.find(Locator::Css("#file-input")).await?;
    let list = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    input.send_keys(&list).await?;
    Ok(())
}

pub async fn transfer_state(p: &Person, dir: &str, id: &str) -> anyhow::Result<Option<String>> {
    p.browser
        .attr(
            &format!(r#"li.transfer[data-direction="{dir}"][data-id="{id}"]"#),
            "data-state",
        )
        .await
}

/// What one transfer row and its page show, for a failure message: state, bytes, the row's detail text, the call's
/// phase and any notice.
pub async fn describe_transfer(p: &Person, dir: &str, id: &str) -> String {
    let row = format!(r#"li.transfer[data-direction="{dir}"][data-id="{id}"]"#);
    let state = transfer_state(p, dir, id).await;
    let bytes = p.browser.attr(&row, "data-bytes").await;
    let detail = p.browser.text(&format!("{row} .detail")).await;
    let phase = p.phase().await;
    let notice = p.browser.text("#call-notice").await;
    let error = p.browser.text("#last-error").await;
    format!(
        "state {state:?}, bytes {bytes:?}, detail {detail:?}, call {phase:?}, notice {notice:?}, error {error:?}"
    )
}

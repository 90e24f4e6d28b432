//! The page's files. Normally they are compiled into the binary from `frontend/dist` (see `build.rs`), so one
//! binary is all a user runs; `--assets DIR` serves them from disk instead, for development.

use std::path::PathBuf;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{Response, StatusCode, header};
use warp::hyper::body::Bytes;
use warp::reply::Reply;

#[derive(rust_embed::RustEmbed)]
#[folder = "$HEARSAY_PAGE_DIR"]
struct EmbeddedPage;

/// Shown when the binary was built before the page was.
const NOT_BUILT: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hearsay: page not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>The hearsay page has not been built</h1>
<p>This node was compiled before its web page was, so there is nothing to show yet.</p>
<p>From the hearsay repository, run <code>cargo xtask run</code>: it installs the tools, builds the page with trunk,
rebuilds the node with the page inside, and starts it.</p>
<p>During development you can instead run <code>trunk serve</code> beside a running node, or start the node with
<code>--assets frontend/dist</code> after <code>trunk build</code>.</p>
</body></html>
"#;

pub fn filter(dir: Option<PathBuf>) -> BoxedFilter<(warp::reply::Response,)> {
    match dir {
        Some(dir) => {
            let index = dir.join("index.html");
            warp::get()
                .and(warp::fs::dir(dir).or(warp::fs::file(index)).unify())
                .map(|file: warp::fs::File| file.into_response())
                .boxed()
        }
        None => warp::get()
            .and(warp::path::tail())
            .map(|tail: warp::path::Tail| embedded(tail.as_str()))
            .boxed(),
    }
}

/// Whether the page was compiled into this binary.
pub fn page_is_embedded() -> bool {
    EmbeddedPage::get("index.html").is_some()
}

fn embedded(path: &str) -> warp::reply::Response {
    if !page_is_embedded() {
        return response(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/html; charset=utf-8",
            "no-store",
            Bytes::from_static(NOT_BUILT.as_bytes()),
        );
    }
    let path = if path.is_empty() { "index.html" } else { path };
    let (path, file) = match EmbeddedPage::get(path) {
        Some(file) => (path, file),
        // A path without a file extension is a page route: the single-page app handles it.
        None if !path.rsplit('/').next().unwrap_or("").contains('.') => {
            // Checked by page_is_embedded above.
            (
                "index.html",
                EmbeddedPage::get("index.html").expect("index.html is embedded"),
            )
        }
        None => {
            return response(
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                "no-store",
                Bytes::from_static(b"404 Not Found\n"),
            );
        }
    };
    // trunk puts a content hash in every asset name except index.html, so those can be cached for good.
    let cache = if path == "index.html" {
        "no-cache"
    } else {
        "public, max-age=31536000, immutable"
    };
    let mime = file.metadata.mimetype().to_owned();
    response(
        StatusCode::OK,
        &mime,
        cache,
        Bytes::from(file.data.into_owned()),
    )
}

/// The headers every response carries: a Content-Security-Policy that lets the page run (its own files, its
/// WebAssembly, trunk's inline loader by hash) and nothing else (no other site's scripts, no framing, no plugins),
/// and the usual hardening: no MIME sniffing, no referrer, a browsing context of its own (a site that opened the
/// page with `window.open` gets no handle on it).
pub fn security_headers(dir: Option<&std::path::Path>) -> warp::http::HeaderMap {
    let index = match dir {
        Some(dir) => std::fs::read(dir.join("index.html")).unwrap_or_default(),
        None => EmbeddedPage::get("index.html")
            .map(|f| f.data.into_owned())
            .unwrap_or_default(),
    };
    let scripts: String = inline_scripts(&String::from_utf8_lossy(&index))
        .map(|script| {
            use base64::Engine;
            use sha2::Digest;
            let hash = sha2::Sha256::digest(script.as_bytes());
            format!(
                " 'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(hash)
            )
        })
        .collect();
    let csp = format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{scripts}; style-src 'self'; \
         img-src 'self' blob: data:; media-src 'self' blob: mediastream:; connect-src 'self' blob:; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'"
    );
    let mut headers = warp::http::HeaderMap::new();
    let pairs = [
        ("content-security-policy", csp.as_str()),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cross-origin-opener-policy", "same-origin"),
        ("x-frame-options", "DENY"),
    ];
    for (name, value) in pairs {
        // Names are static; the policy holds only ASCII from above and base64.
        if let Ok(value) = warp::http::HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    headers
}

/// The bodies of `<script>` elements without `src` in `html` (trunk's loader), as the browser hashes them.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.split("<script").skip(1).filter_map(|rest| {
        let (tag, rest) = rest.split_once('>')?;
        if tag.contains("src=") {
            return None;
        }
        rest.split_once("</script>").map(|(body, _)| body)
    })
}

fn response(status: StatusCode, mime: &str, cache: &str, body: Bytes) -> warp::reply::Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, mime)
        .header(header::CACHE_CONTROL, cache)
        .body(body.into())
        // Every header above is a valid static name and value.
        .expect("static headers are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_found_and_external_ones_skipped() {
        let html = "<head><script src=\"/a.js\"></script>\n<script type=\"module\">\nimport x;\n</script></head>";
        assert_eq!(
            inline_scripts(html).collect::<Vec<_>>(),
            vec!["\nimport x;\n"]
        );
        let headers = security_headers(None);
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
        assert_eq!(headers["cross-origin-opener-policy"], "same-origin");
    }
}

//! Each chunk of a file is hashed by the browser: WebCrypto's SHA-256 copies the bytes when asked and computes off
//! the page's main thread, so neither side's page spends its own time hashing a file. The transfer's digest is the
//! SHA-256 of these digests in order ([`super::transfer::Transfers::chunk_digest`]).

use js_sys::Uint8Array;
use wasm_bindgen_futures::JsFuture;

use crate::rtc::js_error;

/// Starts hashing `data` (the browser copies it now, so the buffer may be reused at once).
pub fn start(data: &Uint8Array) -> Result<JsFuture, String> {
    let subtle = web_sys::window()
        .ok_or("no window")?
        .crypto()
        .map_err(|_| "this browser cannot hash files (is the page on HTTPS?)")?
        .subtle();
    subtle
        .digest_with_str_and_buffer_source("SHA-256", data)
        .map(JsFuture::from)
        .map_err(|e| js_error(&e))
}

/// The 32-byte digest a [`start`] was hashing.
pub async fn finish(pending: JsFuture) -> Result<Vec<u8>, String> {
    let digest = pending.await.map_err(|e| js_error(&e))?;
    Ok(Uint8Array::new(&digest).to_vec())
}

//! Small wrappers around the browser's media and WebRTC objects. Each owns the JS closures it registers and
//! unregisters them when dropped, so nothing leaks when a call ends.

pub mod channel;
mod media;
pub mod peer;
mod ringer;
mod stats;

pub use media::{LocalMedia, ScreenShare, opened_track, request_capture, share_screen};
pub use peer::{PeerConnection, PeerEvents};
pub use ringer::Ringer;
pub use stats::{CallStats, collect_stats};

use wasm_bindgen::JsValue;

/// A readable message from a JS error value (a DOMException's name and message, or whatever it stringifies to).
pub fn js_error(err: &JsValue) -> String {
    use wasm_bindgen::JsCast;
    if let Some(dom) = err.dyn_ref::<web_sys::DomException>() {
        return format!("{}: {}", dom.name(), dom.message());
    }
    if let Some(e) = err.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    err.as_string().unwrap_or_else(|| format!("{err:?}"))
}

//! The camera and microphone.

use hearsay_shared::call::CallMedia;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MediaStream, MediaStreamConstraints, MediaStreamTrack};

/// Local capture; dropping it stops every track (the camera light goes off).
pub struct LocalMedia {
    pub stream: MediaStream,
}

impl LocalMedia {
    pub fn set_enabled(&self, audio: bool, enabled: bool) {
        let tracks = if audio {
            self.stream.get_audio_tracks()
        } else {
            self.stream.get_video_tracks()
        };
        for track in tracks.iter() {
            if let Ok(track) = track.dyn_into::<MediaStreamTrack>() {
                track.set_enabled(enabled);
            }
        }
    }
}

impl Drop for LocalMedia {
    fn drop(&mut self) {
        for track in self.stream.get_tracks().iter() {
            if let Ok(track) = track.dyn_into::<MediaStreamTrack>() {
                track.stop();
            }
        }
    }
}

/// Asks for what `media` sends. ReceiveOnly needs nothing and gives `None`.
pub async fn acquire(media: CallMedia) -> Result<Option<LocalMedia>, String> {
    if media == CallMedia::ReceiveOnly {
        return Ok(None);
    }
    let devices = web_sys::window()
        .ok_or("no window")?
        .navigator()
        .media_devices()
        .map_err(
            |_| "this browser gives no access to cameras and microphones (is the page on HTTPS?)",
        )?;
    let constraints = MediaStreamConstraints::new();
    constraints.set_audio(&media.audio().into());
    constraints.set_video(&media.video().into());
    let promise = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(|e| super::js_error(&e))?;
    let stream = JsFuture::from(promise)
        .await
        .map_err(|e| describe(&e, media))?;
    let stream: MediaStream = stream
        .dyn_into()
        .map_err(|_| "getUserMedia gave no stream")?;
    Ok(Some(LocalMedia { stream }))
}

/// Says in plain words why the devices could not be had.
fn describe(err: &wasm_bindgen::JsValue, media: CallMedia) -> String {
    let what = if media.video() {
        "Camera or microphone"
    } else {
        "Microphone"
    };
    let name = err
        .dyn_ref::<web_sys::DomException>()
        .map(|d| d.name())
        .unwrap_or_default();
    match name.as_str() {
        "NotAllowedError" | "SecurityError" => format!("{what} access was denied"),
        "NotFoundError" | "OverconstrainedError" => format!("{what} not found"),
        "NotReadableError" | "AbortError" => format!("{what} is in use by another program"),
        _ => format!("{what} unavailable ({})", super::js_error(err)),
    }
}

/// A shared screen; dropping it stops the capture and unhooks the "stopped from the browser" callback.
pub struct ScreenShare {
    pub stream: MediaStream,
    pub track: MediaStreamTrack,
    _on_ended: wasm_bindgen::closure::Closure<dyn FnMut()>,
}

impl Drop for ScreenShare {
    fn drop(&mut self) {
        self.track.set_onended(None);
        self.track.stop();
    }
}

/// Asks the person to pick a screen or window; `on_ended` runs when they stop sharing from the browser's own UI.
pub async fn share_screen(on_ended: impl FnMut() + 'static) -> Result<ScreenShare, String> {
    let devices = web_sys::window()
        .ok_or("no window")?
        .navigator()
        .media_devices()
        .map_err(|_| "this browser cannot share screens")?;
    let constraints = web_sys::DisplayMediaStreamConstraints::new();
    constraints.set_video(&true.into());
    let promise = devices
        .get_display_media_with_constraints(&constraints)
        .map_err(|e| super::js_error(&e))?;
    let stream: MediaStream = JsFuture::from(promise)
        .await
        .map_err(|e| super::js_error(&e))?
        .dyn_into()
        .map_err(|_| "getDisplayMedia gave no stream")?;
    let track: MediaStreamTrack = stream
        .get_video_tracks()
        .get(0)
        .dyn_into()
        .map_err(|_| "the shared screen has no video track")?;
    let on_ended = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(on_ended);
    track.set_onended(Some(on_ended.as_ref().unchecked_ref()));
    Ok(ScreenShare {
        stream,
        track,
        _on_ended: on_ended,
    })
}

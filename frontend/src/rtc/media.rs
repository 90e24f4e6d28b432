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
    /// No tracks yet: they are added as the devices open.
    pub fn new() -> Result<Self, String> {
        Ok(Self {
            stream: MediaStream::new().map_err(|e| super::js_error(&e))?,
        })
    }

    pub fn add(&self, track: &MediaStreamTrack) {
        self.stream.add_track(track);
    }

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

/// One device asked for and not yet open (`None`: not wanted).
pub type PendingTrack = Option<JsFuture>;

/// Asks the browser for the camera and the microphone that `media` sends, now, as two requests: the camera is the
/// slowest step of a call's start (the other side's first picture waits for it), and asked for on its own it opens
/// sooner than together with the microphone (~70 against ~115 ms in a fresh Chromium here). Returns (camera,
/// microphone); await each with [`opened_track`], and always both: a request left unawaited may still open a device
/// that nobody then stops.
pub fn request_capture(media: CallMedia) -> Result<(PendingTrack, PendingTrack), String> {
    if media == CallMedia::ReceiveOnly {
        return Ok((None, None));
    }
    let devices = web_sys::window()
        .ok_or("no window")?
        .navigator()
        .media_devices()
        .map_err(
            |_| "this browser gives no access to cameras and microphones (is the page on HTTPS?)",
        )?;
    let ask = |audio: bool| -> Result<JsFuture, String> {
        let constraints = MediaStreamConstraints::new();
        constraints.set_audio(&audio.into());
        constraints.set_video(&(!audio).into());
        devices
            .get_user_media_with_constraints(&constraints)
            .map(JsFuture::from)
            .map_err(|e| super::js_error(&e))
    };
    let camera = if media.video() {
        Some(ask(false)?)
    } else {
        None
    };
    Ok((camera, Some(ask(true)?)))
}

/// The track a [`request_capture`] request opened (`None` if it was not wanted); the error says in plain words why
/// `media` could not be had.
pub async fn opened_track(
    pending: PendingTrack,
    media: CallMedia,
) -> Result<Option<MediaStreamTrack>, String> {
    let Some(pending) = pending else {
        return Ok(None);
    };
    let stream: MediaStream = pending
        .await
        .map_err(|e| describe(&e, media))?
        .dyn_into()
        .map_err(|_| "getUserMedia gave no stream")?;
    let track = stream
        .get_tracks()
        .get(0)
        .dyn_into::<MediaStreamTrack>()
        .map_err(|_| "getUserMedia gave a stream without a track")?;
    Ok(Some(track))
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

//! The ring of an incoming call: a two-tone ring from WebAudio (no sound files to ship) and the tab title, so a
//! call is noticed in a background tab. Dropping the ringer stops both.

use gloo_timers::callback::Interval;
use web_sys::{AudioContext, GainNode, OscillatorType};

pub struct Ringer {
    audio: Option<(AudioContext, GainNode)>,
    _cadence: Option<Interval>,
    _title_blink: Interval,
    saved_title: String,
}

impl Ringer {
    pub fn start(caller: &str) -> Self {
        let document = web_sys::window().and_then(|w| w.document());
        let saved_title = document.as_ref().map(|d| d.title()).unwrap_or_default();
        let ringing_title = format!("📞 {caller} is calling — hearsay");
        let title_blink = {
            let mut on = false;
            let (saved, ringing) = (saved_title.clone(), ringing_title.clone());
            if let Some(d) = &document {
                d.set_title(&ringing);
            }
            Interval::new(1_000, move || {
                on = !on;
                if let Some(d) = web_sys::window().and_then(|w| w.document()) {
                    d.set_title(if on { &saved } else { &ringing });
                }
            })
        };
        let audio = start_tone();
        // 1 s of ring, 2 s of quiet, like a phone.
        let cadence = audio.as_ref().map(|(ctx, gain)| {
            let (ctx, gain) = (ctx.clone(), gain.clone());
            let mut tick = 0u32;
            Interval::new(500, move || {
                tick = (tick + 1) % 6;
                let level = if tick < 2 { 0.15 } else { 0.0 };
                let _ = gain.gain().set_value_at_time(level, ctx.current_time());
            })
        });
        Self {
            audio,
            _cadence: cadence,
            _title_blink: title_blink,
            saved_title,
        }
    }
}

fn start_tone() -> Option<(AudioContext, GainNode)> {
    let ctx = AudioContext::new().ok()?;
    let gain = ctx.create_gain().ok()?;
    gain.gain().set_value(0.15);
    gain.connect_with_audio_node(&ctx.destination()).ok()?;
    for freq in [440.0, 480.0] {
        let osc = ctx.create_oscillator().ok()?;
        osc.set_type(OscillatorType::Sine);
        osc.frequency().set_value(freq);
        osc.connect_with_audio_node(&gain).ok()?;
        osc.start().ok()?;
    }
    Some((ctx, gain))
}

impl Drop for Ringer {
    fn drop(&mut self) {
        if let Some((ctx, _)) = self.audio.take() {
            let _ = ctx.close();
        }
        if let Some(d) = web_sys::window().and_then(|w| w.document()) {
            d.set_title(&self.saved_title);
        }
    }
}

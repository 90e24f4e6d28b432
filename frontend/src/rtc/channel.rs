//! A negotiated RTCDataChannel (same id on both sides) and the closures it calls back into.

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{
    MessageEvent, RtcDataChannel, RtcDataChannelInit, RtcDataChannelType, RtcPeerConnection,
};
use yew::Callback;

/// What a channel delivers.
pub struct ChannelEvents {
    pub text: Callback<String>,
    pub binary: Callback<js_sys::Uint8Array>,
    /// The send buffer drained below the low-water mark (for backpressure).
    pub drained: Callback<()>,
}

pub struct DataChannel {
    dc: RtcDataChannel,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_low: Closure<dyn FnMut()>,
}

/// Below this many buffered bytes the channel says it has drained.
pub const LOW_WATER: u32 = 1 << 20;

impl DataChannel {
    pub fn open(pc: &RtcPeerConnection, label: &str, id: u16, events: ChannelEvents) -> Self {
        let init = RtcDataChannelInit::new();
        init.set_negotiated(true);
        init.set_id(id);
        init.set_ordered(true);
        let dc = pc.create_data_channel_with_data_channel_dict(label, &init);
        dc.set_binary_type(RtcDataChannelType::Arraybuffer);
        dc.set_buffered_amount_low_threshold(LOW_WATER);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            if let Some(text) = data.as_string() {
                events.text.emit(text);
            } else if let Ok(buffer) = data.dyn_into::<js_sys::ArrayBuffer>() {
                events.binary.emit(js_sys::Uint8Array::new(&buffer));
            }
        });
        dc.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let drained = events.drained;
        let on_low = Closure::<dyn FnMut()>::new(move || drained.emit(()));
        dc.set_onbufferedamountlow(Some(on_low.as_ref().unchecked_ref()));
        Self {
            dc,
            _on_message: on_message,
            _on_low: on_low,
        }
    }

    pub fn is_open(&self) -> bool {
        self.dc.ready_state() == web_sys::RtcDataChannelState::Open
    }

    pub fn send_text(&self, text: &str) -> Result<(), String> {
        self.dc.send_with_str(text).map_err(|e| super::js_error(&e))
    }

    pub fn raw(&self) -> RtcDataChannel {
        self.dc.clone()
    }
}

impl Drop for DataChannel {
    fn drop(&mut self) {
        self.dc.set_onmessage(None);
        self.dc.set_onbufferedamountlow(None);
        self.dc.close();
    }
}

//! The ringing dialog: who is calling (name and key fingerprint) and accept / accept with audio only / decline.

use hearsay_shared::call::CallMedia;
use yew::prelude::*;

use crate::call::types::{CallInfo, Intent};

#[derive(Properties, PartialEq)]
pub struct IncomingCallProps {
    pub call: CallInfo,
    pub on_intent: Callback<Intent>,
}

#[function_component(IncomingCall)]
pub fn incoming_call(props: &IncomingCallProps) -> Html {
    let intent = |i: Intent| {
        let cb = props.on_intent.clone();
        Callback::from(move |_: MouseEvent| cb.emit(i.clone()))
    };
    let video = props.call.offered.video();
    html! {
        <div class="modal-backdrop">
            <div id="incoming-call" class="dialog ringing" role="alertdialog" aria-labelledby="incoming-title">
                <div class="ring-icon" aria-hidden="true">{ "📞" }</div>
                <h2 id="incoming-title">
                    <span id="caller-name">{ &props.call.peer.name }</span>{ " is calling" }
                </h2>
                <p class="fingerprint" title="Key fingerprint: compare it with what they read out to you">
                    { format!("key {}", props.call.peer.fingerprint) }
                </p>
                <p class="muted">{ if video { "Video call" } else { "Audio call" } }</p>
                <div class="actions">
                    <button id="reject-call" class="danger" onclick={intent(Intent::Reject)}>{ "Decline" }</button>
                    <button id="accept-audio" onclick={intent(Intent::Accept { media: CallMedia::AudioOnly })}>
                        { "Audio only" }
                    </button>
                    if video {
                        <button id="accept-call" class="primary"
                            onclick={intent(Intent::Accept { media: CallMedia::AudioVideo })}>
                            { "Accept" }
                        </button>
                    } else {
                        <button id="accept-call" class="primary"
                            onclick={intent(Intent::Accept { media: CallMedia::AudioOnly })}>
                            { "Accept" }
                        </button>
                    }
                </div>
            </div>
        </div>
    }
}

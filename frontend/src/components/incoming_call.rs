//! The ringing dialog: who is calling (name and key fingerprint) and accept / accept with audio only / decline; below
//! it, anyone else calling meanwhile, each with "answer instead" and "decline".

use hearsay_shared::call::CallMedia;
use yew::prelude::*;

use crate::call::types::{CallInfo, Intent, WaitingCall};

#[derive(Properties, PartialEq)]
pub struct IncomingCallProps {
    pub call: CallInfo,
    pub waiting: Vec<WaitingCall>,
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
                if !props.waiting.is_empty() {
                    <ul id="waiting-calls" class="waiting" aria-label="Also calling">
                        { for props.waiting.iter().map(|w| html! {
                            <li key={w.id.0.to_string()} class="waiting-call">
                                <span class="waiting-name">{ format!("Also calling: {}", w.peer.name) }</span>
                                <span class="fingerprint">{ format!(" key {}", w.peer.fingerprint) }</span>
                                <button class="answer-waiting" onclick={intent(Intent::AnswerWaiting {
                                    call: w.id,
                                    media: if w.media.video() { CallMedia::AudioVideo } else { CallMedia::AudioOnly },
                                })}>{ "Answer instead" }</button>
                                <button class="decline-waiting danger"
                                    onclick={intent(Intent::DeclineWaiting { call: w.id })}>{ "Decline" }</button>
                            </li>
                        }) }
                    </ul>
                }
            </div>
        </div>
    }
}

//! The main area: a greeting when idle; "calling…" while ringing out; the remote video, own preview, controls and
//! duration in a call; the reason when a call ends.

use gloo_timers::callback::Interval;
use yew::prelude::*;

use crate::call::runtime::CallAction;
use crate::call::types::{Intent, Phase};
use crate::call::view::CallView;

#[derive(Properties, PartialEq)]
pub struct CallStageProps {
    pub name: Option<String>,
    pub version: Option<String>,
    pub call: CallView,
    pub on_action: Callback<CallAction>,
}

fn format_duration(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[function_component(CallStage)]
pub fn call_stage(props: &CallStageProps) -> Html {
    let intent = |i: Intent| {
        props
            .on_action
            .reform(move |_: MouseEvent| CallAction::Intent(i.clone()))
    };
    let view = &props.call;
    let notice = view
        .notice
        .as_ref()
        .map(|n| html! { <p id="call-notice" class="call-notice">{ n }</p> });
    match (view.phase, &view.call) {
        (Phase::RingingOut, Some(call)) => html! {
            <main class="stage">
                <div class="idle" id="calling">
                    <h1>{ format!("Calling {}…", call.peer.name) }</h1>
                    <p class="fingerprint">{ format!("key {}", call.peer.fingerprint) }</p>
                    { notice.clone().unwrap_or_default() }
                    <button id="cancel-call" class="danger" onclick={intent(Intent::Cancel)}>{ "Cancel" }</button>
                </div>
            </main>
        },
        (Phase::Connecting | Phase::InCall | Phase::Reconnecting, Some(call)) => {
            let connected = view.phase != Phase::Connecting;
            let phase = match view.phase {
                Phase::InCall => "in_call",
                Phase::Reconnecting => "reconnecting",
                _ => "connecting",
            };
            html! {
                <main class="stage in-call" id="in-call" data-phase={phase} data-restarts={call.restarts.to_string()}
                    ondragover={Callback::from(|e: DragEvent| e.prevent_default())}
                    ondrop={props.on_action.reform(|e: DragEvent| {
                        e.prevent_default();
                        CallAction::OfferFiles(super::files_of(e.data_transfer().and_then(|d| d.files())))
                    })}>
                    <div class="remote">
                        <super::VideoView id="remote-video" stream={view.remote.clone()} />
                        if !call.peer_camera_on && !call.peer_screen_on {
                            <div class="camera-off" id="peer-camera-off">{ format!("{}'s camera is off", call.peer.name) }</div>
                        }
                        <div class="call-header">
                            <strong>{ &call.peer.name }</strong>
                            if call.peer_screen_on {
                                <span id="peer-sharing" class="muted">{ "is sharing their screen" }</span>
                            }
                            if !call.peer_mic_on {
                                <span id="peer-muted" class="muted">{ "is muted" }</span>
                            }
                            if view.phase == Phase::Reconnecting {
                                <span id="call-duration" class="muted reconnecting" role="status">
                                    { "Reconnecting…" }
                                </span>
                            } else if connected {
                                <CallDuration since={call.connected_at.unwrap_or_default()} />
                            } else {
                                <span id="call-duration" class="muted">{ "Connecting…" }</span>
                            }
                        </div>
                        if let Some(code) = &call.safety_code {
                            <div class="safety" title="Read this to each other: if it matches, nobody is in the middle">
                                { "Safety code " }<strong id="safety-code">{ code }</strong>
                            </div>
                        }
                        if view.local.is_some() && (call.camera_on || call.screen_on) {
                            <super::VideoView id="local-video" class="preview" stream={view.local.clone()} muted=true />
                        }
                    </div>
                    { notice.clone().unwrap_or_default() }
                    <div class="controls">
                        <button id="toggle-mic" disabled={!call.sending.audio()}
                            aria-pressed={(!call.mic_on).to_string()}
                            onclick={intent(Intent::SetMic(!call.mic_on))}>
                            { if call.mic_on { "Mute" } else { "Unmute" } }
                        </button>
                        <button id="toggle-camera" disabled={!call.sending.video()}
                            aria-pressed={(!call.camera_on).to_string()}
                            onclick={intent(Intent::SetCamera(!call.camera_on))}>
                            { if call.camera_on { "Camera off" } else { "Camera on" } }
                        </button>
                        <button id="toggle-screen" disabled={!connected}
                            aria-pressed={call.screen_on.to_string()}
                            onclick={intent(Intent::SetScreen(!call.screen_on))}>
                            { if call.screen_on { "Stop sharing" } else { "Share screen" } }
                        </button>
                        <super::FilesPanel
                            transfers={view.transfers.clone()}
                            downloads={view.downloads.clone()}
                            on_action={props.on_action.clone()}
                        />
                        <super::ChatPanel
                            log={view.chat.clone()}
                            peer_name={call.peer.name.clone()}
                            on_send={props.on_action.reform(CallAction::SendChat)}
                            on_open={props.on_action.reform(CallAction::SetChatOpen)}
                        />
                        <button id="hang-up" class="danger" onclick={intent(Intent::HangUp)}>{ "Hang up" }</button>
                    </div>
                    if let Some(stats) = &view.stats {
                        <p id="call-stats" class="fine-print"
                            data-frames-decoded={stats.video_frames_decoded.to_string()}
                            data-frame-width={stats.video_frame_width.to_string()}
                            data-frame-height={stats.video_frame_height.to_string()}
                            data-audio-packets={stats.audio_packets_received.to_string()}
                            data-local-candidate={stats.local_candidate.clone().unwrap_or_default()}
                            data-remote-candidate={stats.remote_candidate.clone().unwrap_or_default()}
                            data-local-address={stats.local_address.clone().unwrap_or_default()}
                            data-relay-protocol={stats.relay_protocol.clone().unwrap_or_default()}>
                            { format!(
                                "{} frames · {} audio packets · path {}{} → {}",
                                stats.video_frames_decoded,
                                stats.audio_packets_received,
                                stats.local_candidate.as_deref().unwrap_or("?"),
                                match (stats.local_candidate.as_deref(), &stats.local_address) {
                                    (Some("relay"), Some(addr)) => format!(" via {addr}"),
                                    _ => String::new(),
                                },
                                stats.remote_candidate.as_deref().unwrap_or("?"),
                            ) }
                        </p>
                    }
                </main>
            }
        }
        (Phase::Ended(reason), _) => html! {
            <main class="stage">
                <div class="idle" id="call-ended" data-reason={format!("{reason:?}")}>
                    <h1>{ reason.describe() }</h1>
                    { notice.unwrap_or_default() }
                    <button id="dismiss-call" onclick={intent(Intent::Dismiss)}>{ "OK" }</button>
                </div>
            </main>
        },
        _ => html! {
            <main class="stage">
                <div class="idle" id="idle">
                    <h1>{ props.name.as_ref().map_or_else(|| "Welcome".to_owned(), |n| format!("Hello, {n}")) }</h1>
                    <p>{ "Not in a call." }</p>
                    if let Some(version) = &props.version {
                        <p class="fine-print">{ format!("hearsay node {version}") }</p>
                    }
                </div>
            </main>
        },
    }
}

#[derive(Properties, PartialEq)]
struct CallDurationProps {
    since: u64,
}

/// The running time of the call, ticking every second.
#[function_component(CallDuration)]
fn call_duration(props: &CallDurationProps) -> Html {
    let now = use_state(js_sys::Date::now);
    {
        let now = now.clone();
        use_effect_with((), move |_| {
            let tick = Interval::new(1_000, move || now.set(js_sys::Date::now()));
            move || drop(tick)
        });
    }
    let elapsed = (*now as u64).saturating_sub(props.since);
    html! { <span id="call-duration">{ format_duration(elapsed) }</span> }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_like_a_clock() {
        assert_eq!(super::format_duration(0), "0:00");
        assert_eq!(super::format_duration(65_000), "1:05");
        assert_eq!(super::format_duration(3_725_000), "1:02:05");
    }
}

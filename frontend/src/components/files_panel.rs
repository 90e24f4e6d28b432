//! File sharing in a call: a picker (several files at once), and a row per transfer with progress, speed,
//! accept / decline for offers, cancel while moving, and a download link once a received file checked out.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::call::runtime::CallAction;
use crate::share::transfer::{Direction, Transfer, TransferState, Transfers};

#[derive(Properties, PartialEq)]
pub struct FilesPanelProps {
    pub transfers: Transfers,
    pub downloads: Vec<(u32, String)>,
    pub on_action: Callback<CallAction>,
}

/// The files of a FileList.
pub fn files_of(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else { return vec![] };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

fn human_bytes(n: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut n = n;
    let mut unit = 0;
    while n >= 1000.0 && unit < UNITS.len() - 1 {
        n /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n:.0} {}", UNITS[unit])
    } else {
        format!("{n:.1} {}", UNITS[unit])
    }
}

fn state_word(t: &Transfer) -> &'static str {
    match (&t.state, t.direction) {
        (TransferState::Offered, Direction::Outgoing) => "waiting",
        (TransferState::Offered, Direction::Incoming) => "offered",
        (TransferState::Moving, _) => "moving",
        (TransferState::Done, _) => "done",
        (TransferState::Declined, _) => "declined",
        (TransferState::Cancelled { .. }, _) => "cancelled",
        (TransferState::Failed(_), _) => "failed",
    }
}

#[function_component(FilesPanel)]
pub fn files_panel(props: &FilesPanelProps) -> Html {
    let input = use_node_ref();
    let pick = {
        let input = input.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(el) = input.cast::<HtmlInputElement>() {
                el.click();
            }
        })
    };
    let chosen = {
        let on_action = props.on_action.clone();
        Callback::from(move |e: Event| {
            let Some(el) = e.target_dyn_into::<HtmlInputElement>() else {
                return;
            };
            on_action.emit(CallAction::OfferFiles(files_of(el.files())));
            el.set_value("");
        })
    };
    let now = js_sys::Date::now() as u64;
    let rows = props.transfers.list.iter().rev().map(|t| {
        let (id, direction) = (t.id, t.direction);
        let on_action = props.on_action.clone();
        let answer = move |accept: bool| {
            on_action.reform(move |_: MouseEvent| CallAction::AnswerFile { id, accept })
        };
        let cancel = props
            .on_action
            .reform(move |_: MouseEvent| CallAction::CancelFile { id, direction });
        let download = props.downloads.iter().find(|(d, _)| *d == id && direction == Direction::Incoming);
        let arrow = if direction == Direction::Outgoing { "↑" } else { "↓" };
        let awaiting_answer = t.state == TransferState::Offered && direction == Direction::Incoming;
        let detail = match &t.state {
            TransferState::Moving => format!(
                "{} of {} · {}/s",
                human_bytes(t.bytes as f64),
                human_bytes(t.size as f64),
                human_bytes(t.rate(now))
            ),
            TransferState::Done => format!("{} · {}/s", human_bytes(t.size as f64), human_bytes(t.rate(now))),
            TransferState::Failed(why) => why.clone(),
            TransferState::Cancelled { by_peer: true } => "cancelled by them".into(),
            _ => human_bytes(t.size as f64),
        };
        html! {
            <li class="transfer" data-id={id.to_string()}
                data-direction={if direction == Direction::Outgoing { "out" } else { "in" }}
                data-state={state_word(t)} data-bytes={t.bytes.to_string()}>
                <div class="transfer-head">
                    <span class="arrow" aria-hidden="true">{ arrow }</span>
                    <span class="name" title={t.name.clone()}>{ &t.name }</span>
                    <span class="state">{ state_word(t) }</span>
                </div>
                <progress max="1" value={t.fraction().to_string()} />
                <div class="transfer-foot">
                    <span class="detail">{ detail }</span>
                    if awaiting_answer {
                        <button class="accept primary" onclick={answer(true)}>{ "Accept" }</button>
                        <button class="decline" onclick={answer(false)}>{ "Decline" }</button>
                    }
                    if !t.state.finished() && !awaiting_answer {
                        <button class="cancel" onclick={cancel}>{ "Cancel" }</button>
                    }
                    if let Some((_, url)) = download {
                        <a class="download" href={url.clone()} download={t.name.clone()}>{ "Save" }</a>
                    }
                </div>
            </li>
        }
    });
    html! {
        <>
            <button id="send-file" onclick={pick}>{ "Send files" }</button>
            <input id="file-input" ref={input} type="file" multiple=true hidden=true onchange={chosen} />
            if !props.transfers.list.is_empty() {
                <aside id="transfers" class="transfers" aria-label="File transfers">
                    <ul>{ for rows }</ul>
                </aside>
            }
        </>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_like_a_person_writes_them() {
        assert_eq!(super::human_bytes(999.0), "999 B");
        assert_eq!(super::human_bytes(20_000_000.0), "20.0 MB");
        assert_eq!(super::human_bytes(1_500_000_000.0), "1.5 GB");
    }
}

//! The in-call chat: a toggle with an unread count, the messages (own on the right, with times), and a box where
//! Enter sends.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::share::chat::ChatLog;

#[derive(Properties, PartialEq)]
pub struct ChatPanelProps {
    pub log: ChatLog,
    pub peer_name: String,
    /// Sends a message (a message that cannot go is explained in the call's notice).
    pub on_send: Callback<String>,
    pub on_open: Callback<bool>,
}

fn clock(at_ms: u64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at_ms as f64));
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

#[function_component(ChatPanel)]
pub fn chat_panel(props: &ChatPanelProps) -> Html {
    let input = use_node_ref();
    let send = {
        let (input, on_send) = (input.clone(), props.on_send.clone());
        move || {
            let Some(el) = input.cast::<HtmlInputElement>() else {
                return;
            };
            on_send.emit(el.value());
            el.set_value("");
        }
    };
    let on_key = {
        let send = send.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" && !e.shift_key() {
                e.prevent_default();
                send();
            }
        })
    };
    let on_click = Callback::from(move |_: MouseEvent| send());
    let toggle = {
        let (open, on_open) = (props.log.open, props.on_open.clone());
        Callback::from(move |_: MouseEvent| on_open.emit(!open))
    };
    html! {
        <>
            <button id="toggle-chat" aria-expanded={props.log.open.to_string()} onclick={toggle}>
                { "Chat" }
                if props.log.unread > 0 {
                    <span id="chat-unread" class="badge" aria-label="unread messages">{ props.log.unread }</span>
                }
            </button>
            if props.log.open {
                <aside id="chat-panel" class="chat-panel" aria-label="Chat">
                    <ol class="chat-messages">
                        { for props.log.messages.iter().map(|m| html! {
                            <li class={classes!("chat-msg", if m.mine { "mine" } else { "theirs" })}>
                                <span class="who">{ if m.mine { "You" } else { props.peer_name.as_str() } }</span>
                                <span class="text">{ &m.text }</span>
                                <time class="at">{ clock(m.at) }</time>
                            </li>
                        }) }
                    </ol>
                    <div class="chat-compose">
                        <input id="chat-input" ref={input} type="text" placeholder="Message — Enter to send"
                            maxlength="4000" onkeydown={on_key} />
                        <button id="chat-send" onclick={on_click}>{ "Send" }</button>
                    </div>
                </aside>
            }
        </>
    }
}

//! The users the node knows, as a searchable list that renders only the rows in view: a network of ten thousand
//! users costs the page a few dozen rows. Rows have a fixed height (`ROW_PX`, matched by `.user` in style.css), so
//! two spacers stand in for the rows above and below the window; their heights are set through the style object,
//! which the page's Content-Security-Policy allows where a `style` attribute would not be.

use std::rc::Rc;

use hearsay_shared::call::CallMedia;
use hearsay_shared::page::UserView;
use web_sys::{HtmlElement, HtmlInputElement};
use yew::prelude::*;

use crate::users::{UserList, window};

/// Height of one row in CSS pixels (`.users-viewport li.user` in style.css).
const ROW_PX: f64 = 64.0;
/// Assumed viewport height until the first scroll event measures it.
const DEFAULT_VIEWPORT_PX: f64 = 640.0;

#[derive(Properties, PartialEq)]
pub struct UsersListProps {
    pub users: Rc<UserList>,
    /// Whether a call is under way (Call buttons are then disabled).
    pub busy: bool,
    pub on_call: Callback<(UserView, CallMedia)>,
}

#[function_component(UsersList)]
pub fn users_list(props: &UsersListProps) -> Html {
    let query = use_state(String::new);
    let scroll = use_state(|| (0.0f64, DEFAULT_VIEWPORT_PX));
    let viewport = use_node_ref();
    let (above, below) = (use_node_ref(), use_node_ref());

    let matches = props.users.search(&query);
    let rows = window(matches.len(), ROW_PX, scroll.1, scroll.0);
    let (above_px, below_px) = (
        rows.start as f64 * ROW_PX,
        (matches.len() - rows.end) as f64 * ROW_PX,
    );
    {
        let (above, below) = (above.clone(), below.clone());
        use_effect_with((above_px as u64, below_px as u64), move |_| {
            for (spacer, px) in [(above, above_px), (below, below_px)] {
                if let Some(el) = spacer.cast::<HtmlElement>() {
                    let _ = el.style().set_property("height", &format!("{px}px"));
                }
            }
        });
    }
    let on_scroll = {
        let (scroll, viewport) = (scroll.clone(), viewport.clone());
        Callback::from(move |_: Event| {
            if let Some(el) = viewport.cast::<HtmlElement>() {
                let now = (f64::from(el.scroll_top()), f64::from(el.client_height()));
                // Re-render only when the window of rows moves.
                if (now.0 / ROW_PX) as i64 != (scroll.0 / ROW_PX) as i64 || now.1 != scroll.1 {
                    scroll.set(now);
                }
            }
        })
    };
    let on_search = {
        let (query, scroll, viewport) = (query.clone(), scroll.clone(), viewport.clone());
        Callback::from(move |e: InputEvent| {
            if let Some(input) = e.target_dyn_into::<HtmlInputElement>() {
                query.set(input.value());
                if let Some(el) = viewport.cast::<HtmlElement>() {
                    el.set_scroll_top(0);
                }
                scroll.set((0.0, scroll.1));
            }
        })
    };

    let row = |u: &UserView| {
        let call = |media: CallMedia| {
            let (on_call, user) = (props.on_call.clone(), u.clone());
            Callback::from(move |_: MouseEvent| on_call.emit((user.clone(), media)))
        };
        let can_call = u.reachable && !props.busy;
        // Names are anyone's choice: two users may both be "alice". Each shows its fingerprint, and a name shared
        // with another user says so.
        let same_name = props.users.shares_name(u);
        let key = u.key.to_hex();
        html! {
            <li class={classes!("user", (!u.reachable).then_some("unreachable"), same_name.then_some("same-name"))}
                key={key.clone()} data-key={key.clone()} data-reachable={u.reachable.to_string()}>
                <div class="who">
                    <span class="name">{ &u.name }</span>
                    if same_name {
                        <span class="same-name" title="Another user has this name: tell them apart by the fingerprint">
                            { "same name as another user" }
                        </span>
                    }
                    <details class="key">
                        <summary class="fingerprint" title="Show the whole key">{ &u.fingerprint }</summary>
                        <code class="full-key">{ key }</code>
                    </details>
                    <span class="hops">{
                        match (u.reachable, u.hops) {
                            (true, Some(1)) => "direct peer".to_owned(),
                            (true, Some(h)) => format!("{h} hops"),
                            (true, None) => "reachable".to_owned(),
                            (false, _) => "unreachable".to_owned(),
                        }
                    }</span>
                </div>
                <div class="call-buttons">
                    <button class="call-video primary" disabled={!can_call} title="Video call"
                        onclick={call(CallMedia::AudioVideo)}>{ "Video" }</button>
                    <button class="call-audio" disabled={!can_call} title="Audio call"
                        onclick={call(CallMedia::AudioOnly)}>{ "Audio" }</button>
                </div>
            </li>
        }
    };

    if props.users.is_empty() {
        return html! {
            <p class="empty">{ "No other users known yet. Add a peer below to join the network." }</p>
        };
    }
    html! {
        <>
            <input id="user-search" class="user-search" type="search" placeholder="Search by name or fingerprint"
                aria-label="Search users" autocomplete="off" spellcheck="false" value={(*query).clone()}
                oninput={on_search} />
            <p class="users-count" id="users-count">{
                if query.trim().is_empty() {
                    format!("{} users", props.users.len())
                } else {
                    format!("{} of {} users", matches.len(), props.users.len())
                }
            }</p>
            <div class="users-viewport" ref={viewport} onscroll={on_scroll}>
                <div class="spacer" ref={above} aria-hidden="true"></div>
                <ul class="users">{ for matches[rows.clone()].iter().map(|u| row(u)) }</ul>
                <div class="spacer" ref={below} aria-hidden="true"></div>
            </div>
        </>
    }
}

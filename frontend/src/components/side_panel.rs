//! The side panel: the users this node can reach and the peers it talks to. Filled by the gossip overlay; until
//! that runs it shows its empty state.

use yew::prelude::*;

#[function_component(SidePanel)]
pub fn side_panel() -> Html {
    html! {
        <aside class="side-panel">
            <section aria-labelledby="users-heading">
                <h2 id="users-heading">{ "Users" }</h2>
                <p class="empty">{ "No other users known yet." }</p>
            </section>
            <section aria-labelledby="peers-heading">
                <h2 id="peers-heading">{ "Peers" }</h2>
                <p class="empty">{ "No peers yet." }</p>
            </section>
        </aside>
    }
}

//! The main area: where a call will be shown. Outside a call it greets the user.

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct CallStageProps {
    pub name: Option<String>,
    pub version: Option<String>,
}

#[function_component(CallStage)]
pub fn call_stage(props: &CallStageProps) -> Html {
    html! {
        <main class="stage">
            <div class="idle">
                <h1>{ props.name.as_ref().map_or_else(|| "Welcome".to_owned(), |n| format!("Hello, {n}")) }</h1>
                <p>{ "Not in a call." }</p>
                if let Some(version) = &props.version {
                    <p class="fine-print">{ format!("hearsay node {version}") }</p>
                }
            </div>
        </main>
    }
}

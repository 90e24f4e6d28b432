//! A `<video>` showing a MediaStream (srcObject cannot be set from html!, so it is set after render).

use web_sys::{HtmlVideoElement, MediaStream};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct VideoViewProps {
    pub id: AttrValue,
    pub stream: Option<MediaStream>,
    /// The own preview is muted so a person does not hear themselves.
    #[prop_or_default]
    pub muted: bool,
    #[prop_or_default]
    pub class: Classes,
}

#[function_component(VideoView)]
pub fn video_view(props: &VideoViewProps) -> Html {
    let video = use_node_ref();
    {
        let video = video.clone();
        use_effect_with(props.stream.clone(), move |stream| {
            if let Some(el) = video.cast::<HtmlVideoElement>() {
                el.set_src_object(stream.as_ref());
            }
        });
    }
    html! {
        <video
            id={props.id.clone()}
            class={props.class.clone()}
            ref={video}
            autoplay=true
            playsinline=true
            muted={props.muted}
        />
    }
}

//! The page's components, one per file.

mod call_stage;
mod chat_panel;
mod files_panel;
mod incoming_call;
mod link_indicator;
mod needs_token;
mod network_panel;
mod side_panel;
mod users_list;
mod video_view;

pub use call_stage::CallStage;
pub use chat_panel::ChatPanel;
pub use files_panel::{FilesPanel, files_of};
pub use incoming_call::IncomingCall;
pub use link_indicator::LinkIndicator;
pub use needs_token::NeedsToken;
pub use network_panel::NetworkPanel;
pub use side_panel::SidePanel;
pub use users_list::UsersList;
pub use video_view::VideoView;

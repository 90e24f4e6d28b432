//! The page's components, one per file.

mod call_stage;
mod link_indicator;
mod side_panel;

pub use call_stage::CallStage;
pub use link_indicator::LinkIndicator;
pub use side_panel::SidePanel;

//! The users list as the page keeps it: every user the node knows, built from the node's [`ServerMsg::Users`]
//! frames (a reset, then additions, changes and removals), in display order — reachable first, then by name, then
//! by key — with which names are shared, and a search. A network may have ten thousand users, so components get
//! it behind an `Rc` and compare it by a version number, not user by user.
//!
//! [`ServerMsg::Users`]: hearsay_shared::page::ServerMsg::Users

use std::collections::HashMap;

use hearsay_shared::gossip::PublicKey;
use hearsay_shared::page::{UserDirectory, UserView};

#[derive(Debug, Clone, Default)]
pub struct UserList {
    directory: UserDirectory,
    /// Every user, in display order.
    ordered: Vec<UserView>,
    /// How many users carry each name (compared in lower case).
    names: HashMap<String, usize>,
    /// Bumped on every change: what equality compares.
    version: u64,
}

impl PartialEq for UserList {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version
    }
}

impl UserList {
    /// Applies one users frame from the node.
    pub fn apply(&mut self, reset: bool, upsert: &[UserView], remove: &[PublicKey]) {
        self.directory.apply(reset, upsert, remove);
        self.ordered = self.directory.iter().cloned().collect();
        self.ordered.sort_by(|a, b| {
            b.reachable
                .cmp(&a.reachable)
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.key.cmp(&b.key))
        });
        self.names.clear();
        for user in &self.ordered {
            *self.names.entry(user.name.to_lowercase()).or_default() += 1;
        }
        self.version += 1;
    }

    pub fn len(&self) -> usize {
        self.ordered.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ordered.is_empty()
    }

    /// Every user, in display order.
    #[cfg(test)]
    pub fn all(&self) -> &[UserView] {
        &self.ordered
    }

    /// Whether another user has the same name (ignoring case): the list then marks both.
    pub fn shares_name(&self, user: &UserView) -> bool {
        self.names
            .get(&user.name.to_lowercase())
            .is_some_and(|n| *n > 1)
    }

    /// The users whose name contains `query` (ignoring case), or whose fingerprint or key starts with it; all of
    /// them for an empty query. In display order.
    pub fn search(&self, query: &str) -> Vec<&UserView> {
        let query = query.trim().to_lowercase();
        if query.is_empty() {
            return self.ordered.iter().collect();
        }
        self.ordered
            .iter()
            .filter(|u| {
                u.name.to_lowercase().contains(&query)
                    || u.fingerprint.starts_with(&query)
                    || u.key.to_hex().starts_with(&query)
            })
            .collect()
    }
}

/// Which rows of a list of `total` rows, each `row_px` high, to render when the viewport of `viewport_px` is
/// scrolled to `scroll_px`: a few rows beyond each edge so scrolling shows no gap before the next render.
pub fn window(
    total: usize,
    row_px: f64,
    viewport_px: f64,
    scroll_px: f64,
) -> std::ops::Range<usize> {
    const SPARE_ROWS: usize = 4;
    if total == 0 || row_px <= 0.0 {
        return 0..0;
    }
    let first = ((scroll_px.max(0.0) / row_px) as usize).saturating_sub(SPARE_ROWS);
    let shown = (viewport_px.max(row_px) / row_px).ceil() as usize + 2 * SPARE_ROWS;
    let first = first.min(total.saturating_sub(1));
    first..(first + shown).min(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: u8, name: &str, reachable: bool) -> UserView {
        UserView {
            key: PublicKey([n; 32]),
            name: name.into(),
            fingerprint: PublicKey([n; 32]).fingerprint(),
            hops: reachable.then_some(1),
            reachable,
        }
    }

    #[test]
    fn users_are_listed_reachable_first_then_by_name_and_shared_names_are_seen() {
        let mut list = UserList::default();
        list.apply(
            true,
            &[
                user(1, "zed", true),
                user(2, "amy", false),
                user(3, "bob", true),
                user(4, "Bob", true),
            ],
            &[],
        );
        let names: Vec<&str> = list.all().iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["Bob", "bob", "zed", "amy"]);
        assert!(list.shares_name(&user(3, "bob", true)));
        assert!(!list.shares_name(&user(1, "zed", true)));
        let before = list.clone();
        list.apply(false, &[], &[PublicKey([4; 32])]);
        assert_ne!(list, before, "a change is a new version");
        assert!(!list.shares_name(&user(3, "bob", true)));
        assert_eq!(list.len(), 3);
    }

    #[test]
    fn search_finds_by_name_fingerprint_or_key() {
        let mut list = UserList::default();
        let users: Vec<UserView> = (0..200u8)
            .map(|i| user(i, &format!("user {i}"), true))
            .collect();
        list.apply(true, &users, &[]);
        assert_eq!(list.search("").len(), 200);
        let found: Vec<&str> = list
            .search("USER 19")
            .iter()
            .map(|u| u.name.as_str())
            .collect();
        assert_eq!(
            found,
            [
                "user 19", "user 190", "user 191", "user 192", "user 193", "user 194", "user 195",
                "user 196", "user 197", "user 198", "user 199"
            ]
        );
        let fp = user(7, "", true).fingerprint;
        assert_eq!(list.search(&fp).len(), 1);
        assert_eq!(list.search(&PublicKey([9; 32]).to_hex()).len(), 1);
        assert!(list.search("nobody").is_empty());
    }

    #[test]
    fn only_the_rows_in_view_are_rendered() {
        assert_eq!(window(10_000, 50.0, 500.0, 0.0), 0..18);
        assert_eq!(window(10_000, 50.0, 500.0, 50_000.0), 996..1014);
        assert_eq!(window(10_000, 50.0, 500.0, 1e9), 9_999..10_000);
        assert_eq!(window(5, 50.0, 500.0, 0.0), 0..5);
        assert_eq!(window(0, 50.0, 500.0, 0.0), 0..0);
    }
}

//! Text that people read and that others wrote: display names and file names. Some characters make text lie about
//! itself — controls, bidirectional overrides (`"evil\u{202E}txt.exe"` shows as `evilexe.txt`), zero-width and
//! other invisible characters (two "alice"s that differ invisibly). A node refuses to announce a name with them,
//! every receiving side shows them as `�`, and file names lose them along with path separators.

/// Whether `c` is a control, a bidirectional control, or an invisible formatting or filler character.
///
/// Zero-width joiner and non-joiner (U+200C, U+200D) and variation selectors are kept: scripts (Persian, the Indic
/// ones) and emoji sequences need them, and they cannot reorder or hide letters.
pub fn is_deceptive(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}' // soft hyphen
                | '\u{034F}' // combining grapheme joiner
                | '\u{061C}' // Arabic letter mark
                | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // Hangul fillers (blank "letters")
                | '\u{17B4}' | '\u{17B5}'
                | '\u{180E}' // Mongolian vowel separator
                | '\u{200B}' // zero-width space
                | '\u{200E}' | '\u{200F}' // LRM, RLM
                | '\u{2028}' | '\u{2029}' // line and paragraph separators
                | '\u{202A}'..='\u{202E}' // embeddings and overrides
                | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
                | '\u{2066}'..='\u{206F}' // isolates, deprecated format characters
                | '\u{FEFF}' // zero-width no-break space (BOM)
                | '\u{FFF9}'..='\u{FFFB}' // interlinear annotation
                | '\u{1D173}'..='\u{1D17A}' // musical format characters
                | '\u{E0000}'..='\u{E007F}' // tags
        )
}

/// Why a display name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the name is empty")]
    Empty,
    #[error("the name is longer than {max} characters")]
    TooLong { max: usize },
    #[error("the name holds {0:?} (U+{code:04X}), a control, direction-changing or invisible character", code = u32::from(*.0))]
    Deceptive(char),
}

/// Checks a display name this node would announce: trimmed, non-empty, at most `max` characters, nothing
/// [deceptive](is_deceptive).
pub fn check_name(name: &str, max: usize) -> Result<(), NameError> {
    if name.trim().is_empty() {
        return Err(NameError::Empty);
    }
    if name.chars().count() > max {
        return Err(NameError::TooLong { max });
    }
    match name.chars().find(|c| is_deceptive(*c)) {
        Some(c) => Err(NameError::Deceptive(c)),
        None => Ok(()),
    }
}

/// Someone else's text as it may be shown: every deceptive character replaced by `�`, so it is seen, not obeyed.
pub fn escape(text: &str) -> String {
    text.chars()
        .map(|c| if is_deceptive(c) { '\u{FFFD}' } else { c })
        .collect()
}

/// A file name someone else chose, made safe to show and to save under: no deceptive characters, no path
/// separators or other characters file systems refuse, no leading dots or trailing dots and spaces, at most 120
/// characters (the extension kept), never empty.
pub fn file_name(name: &str) -> String {
    const MAX_CHARS: usize = 120;
    let cleaned: String = name
        .chars()
        .map(|c| {
            if is_deceptive(c) || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
            {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' ']);
    let count = trimmed.chars().count();
    let shortened = if count <= MAX_CHARS {
        trimmed.to_owned()
    } else {
        // Keep a short extension: what the file is matters more than the end of its name.
        let ext = trimmed
            .rsplit_once('.')
            .map(|(_, e)| e)
            .filter(|e| !e.is_empty() && e.chars().count() <= 10);
        match ext {
            Some(ext) => {
                let keep = MAX_CHARS - ext.chars().count() - 1;
                format!("{}.{ext}", trimmed.chars().take(keep).collect::<String>())
            }
            None => trimmed.chars().take(MAX_CHARS).collect(),
        }
    };
    if shortened.is_empty() {
        "file".to_owned()
    } else {
        shortened
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_controls_overrides_or_invisible_characters_are_refused() {
        assert_eq!(check_name("alice", 64), Ok(()));
        assert_eq!(
            check_name("Zoë 👩‍👩‍👧 محمد", 64),
            Ok(()),
            "ZWJ emoji and other scripts are fine"
        );
        assert_eq!(check_name("  ", 64), Err(NameError::Empty));
        assert_eq!(
            check_name(&"a".repeat(65), 64),
            Err(NameError::TooLong { max: 64 })
        );
        for bad in [
            "al\u{200B}ice",
            "evil\u{202E}gnp",
            "a\u{0007}",
            "x\u{2066}y",
            "tag\u{E0041}",
            "\u{3164}",
        ] {
            assert!(
                matches!(check_name(bad, 64), Err(NameError::Deceptive(_))),
                "{bad:?}"
            );
        }
        let err = check_name("bob\u{202E}", 64).unwrap_err().to_string();
        assert!(err.contains("U+202E"), "{err}");
    }

    #[test]
    fn others_text_shows_its_tricks() {
        assert_eq!(escape("al\u{200B}ice\u{202E}"), "al\u{FFFD}ice\u{FFFD}");
        assert_eq!(escape("plain"), "plain");
    }

    #[test]
    fn file_names_are_safe_to_show_and_save() {
        assert_eq!(file_name("report.pdf"), "report.pdf");
        assert_eq!(file_name("../../.bashrc"), "_.._.bashrc");
        assert_eq!(file_name("..."), "file");
        assert_eq!(file_name("invoice\u{202E}fdp.exe"), "invoice_fdp.exe");
        assert_eq!(file_name("C:\\Windows\\x.dll"), "C__Windows_x.dll");
        let long = format!("{}.tar.gz", "n".repeat(300));
        let short = file_name(&long);
        assert_eq!(short.chars().count(), 120);
        assert!(short.ends_with(".gz"), "{short}");
    }
}

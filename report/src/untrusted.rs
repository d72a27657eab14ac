//! Showing text a submission controls (names, messages, archive entries, compiler output) to a person
//! without letting it steer the terminal or the page that shows it.
//!
//! A package name holding `ESC [2J` clears the screen; `ESC [1A` rewrites the findings printed above it; a
//! newline prints a fake `ACCEPTED:` line; a right-to-left override reorders what a reviewer reads (Trojan
//! Source). Every such character is shown as a Rust escape (`\u{1b}`) instead: visible, unambiguous and
//! harmless. Only the places a person reads escape; report.json keeps the exact text (JSON escapes it).

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every control character (C0, DEL, C1, line and paragraph separators) and every Unicode
/// bidirectional control shown as `\u{…}`; borrowed unchanged when there is none (the common case).
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            // Writing into a String cannot fail.
            let _ = write!(shown, "\\u{{{:x}}}", u32::from(c));
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}

/// Characters that move the cursor, change the terminal's state or reorder text.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}')
        // Bidirectional embeddings, overrides, isolates and marks.
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(escape("acme-connector 1.2.0 — ok"), Cow::Borrowed(_)));
    }

    #[test]
    fn terminal_escape_sequences_are_shown_not_sent() {
        assert_eq!(escape("evil\u{1b}[2Jname"), "evil\\u{1b}[2Jname");
        assert_eq!(escape("a\nACCEPTED: b\r"), "a\\u{a}ACCEPTED: b\\u{d}");
        assert_eq!(escape("\u{9b}31m"), "\\u{9b}31m", "the 8-bit CSI too");
    }

    #[test]
    fn bidirectional_overrides_are_shown() {
        assert_eq!(escape("admin\u{202e}gpj.exe"), "admin\\u{202e}gpj.exe");
        assert_eq!(escape("x\u{2066}y"), "x\\u{2066}y");
    }
}

//! Which characters text from outside may not carry: Unicode's general categories Cc (control:
//! line breaks, tabs, DEL) and Cf (format: zero-width characters, bidirectional overrides, the
//! soft hyphen, the byte-order mark, tags). Both are invisible or move other text, so a CRM id or
//! a name carrying one can look like another. One table (`unicode-general-category`) for every
//! check, so they move together with Unicode.

use unicode_general_category::{GeneralCategory, get_general_category};

/// Whether `c` is a Unicode format character (Cf).
pub(crate) fn is_format(c: char) -> bool {
    get_general_category(c) == GeneralCategory::Format
}

/// Whether `c` is a Unicode control (Cc) or format (Cf) character.
pub(crate) fn is_control_or_format(c: char) -> bool {
    c.is_control() || is_format(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_format_characters_are_told_from_visible_text() {
        for c in [
            '\n',
            '\t',
            '\u{7f}',
            '\u{ad}',
            '\u{200b}',
            '\u{202e}',
            '\u{feff}',
            '\u{e0041}',
        ] {
            assert!(is_control_or_format(c), "{:04x}", c as u32);
        }
        for c in ['a', ' ', 'é', '中', '\u{1f600}', '-'] {
            assert!(!is_control_or_format(c), "{:04x}", c as u32);
        }
        assert!(is_format('\u{200d}') && !is_format('\n'));
    }
}

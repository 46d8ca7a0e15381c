//! Text that came from a server (or a proxy in front of it) made safe to show:
//! no terminal control. A hostile message must not retitle the terminal,
//! recolour it, move the cursor over earlier lines or hide text. Core cleans
//! remote text where it enters (error envelopes, status snippets, redirect
//! targets), so the window and the CLI both get clean text; the CLI also
//! cleans what it prints from the server's data (tenant names).

/// `text` without control characters: C0 except newline and tab, DEL, C1,
/// whole escape sequences (CSI, OSC, DCS and the other strings, two-byte
/// escapes) and the Unicode bidirectional overrides that reorder what is
/// shown. Everything else is kept as it is.
pub fn remote(text: &str) -> String {
    if is_plain(text) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => out.push(c),
            '\u{1b}' => match chars.peek().copied() {
                Some('[') => {
                    chars.next();
                    skip_csi(&mut chars);
                }
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    chars.next();
                    skip_string(&mut chars);
                }
                Some(' '..='/') => {
                    chars.next();
                    // Intermediates, then one final byte.
                    while let Some(&n) = chars.peek() {
                        chars.next();
                        if !(' '..='/').contains(&n) {
                            break;
                        }
                    }
                }
                Some('0'..='~') => {
                    chars.next();
                }
                _ => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if is_bidi_control(c) => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Parameters and intermediates up to and including the final byte. A
/// control character ends the sequence early, as terminals do.
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(&c) = chars.peek() {
        if c.is_control() {
            return;
        }
        chars.next();
        if ('@'..='~').contains(&c) {
            return;
        }
    }
}

/// An OSC, DCS, SOS, PM or APC string, up to its terminator (BEL, ESC \ or
/// ST), or to the end when it has none.
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

/// Whether `text` is printable ASCII, newlines and tabs only: what
/// [`remote`] leaves as it is, checked a byte at a time (most remote text
/// is, and skips the character-by-character pass).
pub fn is_plain(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, b' '..=b'~' | b'\n' | b'\t'))
}

/// [`remote`] of a string the caller owns: returned as it is, without a
/// copy, when it is plain.
pub fn remote_owned(text: String) -> String {
    if is_plain(&text) {
        text
    } else {
        remote(&text)
    }
}

/// The Unicode controls that reorder how text around them is shown.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::remote;

    #[test]
    fn plain_text_is_kept_as_is_and_anything_else_takes_the_full_pass() {
        use super::{is_plain, remote_owned};
        assert!(is_plain("HighErrorRate on node-1\tjob=\"api\"\n"));
        for unplain in ["a\u{7f}", "a\u{1b}[0m", "Zürich", "\r"] {
            assert!(!is_plain(unplain), "{unplain:?}");
        }
        assert_eq!(remote_owned("x\u{1b}[31my".to_string()), "xy");
        assert_eq!(remote_owned("plain".to_string()), "plain");
    }

    #[test]
    fn escape_sequences_are_removed_whole() {
        let hostile = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[31mred\u{1b}[0m \u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{1b}\\ \u{1b}Pq#0\u{1b}\\done\u{1b}(B.";
        assert_eq!(remote(hostile), "red link done.");
    }

    #[test]
    fn c0_c1_and_del_go_but_newline_and_tab_stay() {
        let text = "a\r\nb\tc\u{7}\u{8}\u{7f}d\u{85}e\u{9b}31mf\u{9d}title\u{9c}g";
        assert_eq!(remote(text), "a\nb\tcdefg");
    }

    #[test]
    fn bidi_overrides_go_and_plain_unicode_stays() {
        assert_eq!(
            remote("Zürich \u{202e}gnp.exe\u{202c} 東京"),
            "Zürich gnp.exe 東京"
        );
    }

    #[test]
    fn an_unterminated_sequence_eats_no_more_than_itself() {
        assert_eq!(remote("ok\u{1b}["), "ok");
        assert_eq!(remote("ok\u{1b}[12\nnext"), "ok\nnext");
        assert_eq!(remote("ok\u{1b}"), "ok");
    }
}

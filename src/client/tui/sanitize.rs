//! Making received text safe for a terminal: anything that could be interpreted (escape sequences,
//! control characters, bidirectional overrides) becomes a visible placeholder.

/// Returns `text` with every control character as its Unicode control picture (ESC as `␛`, NUL as `␀`),
/// DEL as `␡`, C1 controls and bidirectional formatting as U+FFFD, and tabs as spaces.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\t' => out.push_str("    "),
            '\0'..='\x1f' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}')),
            '\x7f' => out.push('\u{2421}'),
            '\u{80}'..='\u{9f}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                out.push('\u{fffd}')
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_reaches_the_terminal_that_it_would_interpret() {
        let cases = [
            ("plain text", "plain text"),
            ("\x1b[2J\x1b[H", "␛[2J␛[H"),
            ("\x1b]0;pwned\x07", "␛]0;pwned␇"),
            ("nul\0byte", "nul␀byte"),
            ("back\x08space\r", "back␈space␍"),
            ("del\x7f", "del␡"),
            ("csi\u{9b}31m c1", "csi\u{fffd}31m c1"),
            ("abc\u{202e}fed\u{2066}x\u{2069}", "abc\u{fffd}fed\u{fffd}x\u{fffd}"),
            ("tab\there", "tab    here"),
            ("日本語 😀 e\u{301}", "日本語 😀 e\u{301}"),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize(input), want, "{input:?}");
        }
    }
}

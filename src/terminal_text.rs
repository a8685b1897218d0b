//! Text from other people made safe to show on a terminal: the one sanitizer that plain mode and the
//! full-screen client both use, so that nobody's text can move a cursor, hide itself, reorder a line
//! or pass for the server's own notices.

/// The longest run of blank columns a person's text keeps. A longer run of spaces could push text to
/// the start of the next row of an 80-column terminal, where it would look like a server notice.
pub const MAX_BLANK_RUN: usize = 8;

/// The terminal width that plain mode guards the rows of: the narrowest common terminal.
pub const GUARDED_COLUMNS: usize = 80;

/// How a line of plain mode begins: a notice, an error, an echo, a message, an action, a room.
const LINE_STARTS: [&str; 6] = ["--", "!!", "->", "<", "*", "["];

/// Put before text that would begin a wrapped row looking like the start of a line of its own.
const ROW_GUARD: char = '\u{b7}';

/// Columns a tab stands for.
const TAB_COLUMNS: usize = 4;

/// What the terminal is shown instead of a character that is invisible or changes how others are shown.
const REPLACEMENT: char = '\u{fffd}';

/// Returns `text` as it may reach a terminal: see [`push_sanitized`].
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_sanitized(&mut out, text);
    out
}

/// Appends `text` to `out` with every control character as its Unicode control picture (ESC as `␛`,
/// NUL as `␀`, a newline as `␊`), DEL as `␡`; C1 controls and invisible, zero-width and
/// direction-changing characters as U+FFFD; every kind of blank as spaces, a tab as four; and runs of
/// blanks cut to `MAX_BLANK_RUN` columns.
pub fn push_sanitized(out: &mut String, text: &str) {
    let mut blanks = 0;
    for c in text.chars() {
        let width = match c {
            '\t' => TAB_COLUMNS,
            c if c.is_whitespace() && !is_hidden(c) && !c.is_control() => 1,
            _ => 0,
        };
        if width > 0 {
            let room = MAX_BLANK_RUN.saturating_sub(blanks);
            let kept = width.min(room);
            out.extend(std::iter::repeat_n(' ', kept));
            blanks += kept;
            continue;
        }
        blanks = 0;
        out.push(visible(c));
    }
}

/// Appends one line of plain mode: `prefix` (the server's), then `text` (someone's) sanitized, and
/// where `text` would begin a row of a `GUARDED_COLUMNS`-wide terminal with what begins a line of its
/// own (`-- `, `<bob>` ...), a `·` first, so that a wrapped row never passes for the server's line
/// or someone else's.
pub fn push_line(out: &mut String, prefix: &str, text: &str) {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    let shown = sanitize(text);
    out.push_str(prefix);
    let mut column = prefix.width() % GUARDED_COLUMNS;
    for (at, c) in shown.char_indices() {
        let width = c.width().unwrap_or(0);
        if column + width > GUARDED_COLUMNS {
            column = 0;
            if LINE_STARTS.iter().any(|start| shown[at..].starts_with(start)) {
                out.push(ROW_GUARD);
                column = 1;
            }
        }
        out.push(c);
        column += width;
    }
    out.push('\n');
}

/// The character shown for `c`: itself when it is harmless.
fn visible(c: char) -> char {
    match c {
        '\0'..='\x1f' => char::from_u32(0x2400 + c as u32).unwrap_or(REPLACEMENT),
        '\x7f' => '\u{2421}',
        c if c.is_control() || is_hidden(c) => REPLACEMENT,
        c => c,
    }
}

/// Characters a terminal shows as nothing, or that change the direction or the lines of what follows.
fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{00ad}'                      // soft hyphen
        | '\u{034f}'                    // combining grapheme joiner
        | '\u{061c}'                    // Arabic letter mark
        | '\u{115f}' | '\u{1160}'       // Hangul fillers
        | '\u{17b4}' | '\u{17b5}'       // Khmer inherent vowels
        | '\u{180b}'..='\u{180f}'       // Mongolian variation selectors and vowel separator
        | '\u{200b}'..='\u{200f}'       // zero-width space, non-joiner, joiner; LRM, RLM
        | '\u{2028}'..='\u{202e}'       // line and paragraph separators; embeddings and overrides
        | '\u{2060}'..='\u{2064}'       // word joiner, invisible operators
        | '\u{2066}'..='\u{206f}'       // isolates; deprecated format characters
        | '\u{3164}' | '\u{ffa0}'       // Hangul fillers
        | '\u{feff}'                    // zero-width no-break space (BOM)
        | '\u{fff9}'..='\u{fffb}'       // interlinear annotation
        | '\u{1d173}'..='\u{1d17a}'     // musical formatting
        | '\u{e0000}'..='\u{e007f}'     // tags
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_reaches_the_terminal_that_it_would_interpret_or_hide() {
        let cases = [
            ("plain text", "plain text"),
            ("\x1b[2J\x1b[H", "␛[2J␛[H"),
            ("\x1b]0;pwned\x07", "␛]0;pwned␇"),
            ("nul\0byte", "nul␀byte"),
            ("back\x08space\r", "back␈space␍"),
            ("two\nlines", "two␊lines"),
            ("del\x7f", "del␡"),
            ("csi\u{9b}31m c1", "csi\u{fffd}31m c1"),
            ("abc\u{202e}fed\u{2066}x\u{2069}", "abc\u{fffd}fed\u{fffd}x\u{fffd}"),
            ("a\u{200b}b\u{200e}c\u{200f}d", "a\u{fffd}b\u{fffd}c\u{fffd}d"),
            ("a\u{061c}b\u{2060}c\u{feff}d", "a\u{fffd}b\u{fffd}c\u{fffd}d"),
            ("a\u{2028}b\u{2029}c", "a\u{fffd}b\u{fffd}c"),
            ("soft\u{ad}hy\u{e0041}", "soft\u{fffd}hy\u{fffd}"),
            ("tab\there", "tab    here"),
            ("nbsp\u{a0}em\u{2003}ideo\u{3000}x", "nbsp em ideo x"),
            ("日本語 😀 e\u{301}", "日本語 😀 e\u{301}"),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize(input), want, "{input:?}");
        }
    }

    #[test]
    fn runs_of_blanks_are_cut_short() {
        let eight = " ".repeat(MAX_BLANK_RUN);
        let cases = [
            (format!("a{}b", " ".repeat(150)), format!("a{eight}b")),
            (format!("a{}b", "\t".repeat(40)), format!("a{eight}b")),
            (format!("a{}b", "\u{3000}".repeat(40)), format!("a{eight}b")),
            (format!("a{eight}b{eight}c"), format!("a{eight}b{eight}c")),
            ("a   b".to_owned(), "a   b".to_owned()),
            (format!("{} x", " ".repeat(20)), format!("{eight}x")),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize(&input), want, "{input:?}");
        }
    }

    #[test]
    fn no_wrapped_row_passes_for_a_line_of_its_own() {
        let filler = "x".repeat(80 - "<mallory> ".len());
        let cases = [
            (
                format!("{filler}-- server: shutting down"),
                format!("<mallory> {filler}\u{b7}-- server: shutting down\n"),
            ),
            (
                format!("{filler}<bob> hi"),
                format!("<mallory> {filler}\u{b7}<bob> hi\n"),
            ),
            (format!("{filler}x-- fine"), format!("<mallory> {filler}x-- fine\n")),
            (
                format!("{filler}{filler}xxxxxxxxxx!! no"),
                format!("<mallory> {filler}{filler}xxxxxxxxxx\u{b7}!! no\n"),
            ),
            ("short -- fine".to_owned(), "<mallory> short -- fine\n".to_owned()),
        ];
        for (text, want) in cases {
            let mut out = String::new();
            push_line(&mut out, "<mallory> ", &text);
            assert_eq!(out, want, "{text:?}");
        }
    }

    #[test]
    fn no_text_can_start_a_row_of_an_80_column_terminal_with_a_notice() {
        let attack = format!("{}-- server: the server is shutting down", " ".repeat(150));
        let line = format!("<mallory> {}", sanitize(&attack));
        assert!(line.find("--").is_some_and(|at| at < 80), "{line:?}");
    }
}

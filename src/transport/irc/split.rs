//! A text cut into pieces that each fit one IRC line: at its line breaks, then at UTF-8 character
//! boundaries, so that nothing is lost and no character is cut.

/// The pieces of `text`, each at most `room` bytes (at least one character each, whatever `room`):
/// one per line of it (CR LF or LF), long lines cut further. An empty line becomes a single space,
/// since an IRC message cannot be empty.
pub fn pieces(text: &str, room: usize) -> Vec<&str> {
    let mut out = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            out.push(" ");
            continue;
        }
        let mut rest = line;
        while !rest.is_empty() {
            let end = cut_at(rest, room);
            out.push(&rest[..end]);
            rest = &rest[end..];
        }
    }
    out
}

/// The pieces of `text` for a draft/multiline batch: one per line (an empty line stays empty), long
/// lines cut further, each with whether it continues the piece before it (no line break between).
pub fn batch_pieces(text: &str, room: usize) -> Vec<(&str, bool)> {
    let mut out = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut rest = line;
        let mut continues = false;
        loop {
            let end = cut_at(rest, room);
            out.push((&rest[..end], continues));
            rest = &rest[end..];
            continues = true;
            if rest.is_empty() {
                break;
            }
        }
    }
    out
}

/// The longest prefix of `text` within `room` bytes that ends on a character boundary; at least one
/// character.
fn cut_at(text: &str, room: usize) -> usize {
    if text.len() <= room {
        return text.len();
    }
    let mut end = room;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    if end == 0 {
        end = text.chars().next().map_or(0, char::len_utf8);
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_fit_and_lose_nothing() {
        let cases: &[(&str, usize, &[&str])] = &[
            ("hello", 10, &["hello"]),
            ("hello world", 5, &["hello", " worl", "d"]),
            ("a\nb\r\nc", 10, &["a", "b", "c"]),
            ("a\n\nb", 10, &["a", " ", "b"]),
            ("ééé", 3, &["é", "é", "é"]),
            ("ééé", 4, &["éé", "é"]),
            ("日本", 1, &["日", "本"]),
            ("", 5, &[" "]),
        ];
        for (text, room, want) in cases {
            assert_eq!(pieces(text, *room), *want, "{text:?} in {room}");
        }
    }

    #[test]
    fn batch_pieces_keep_blank_lines_and_mark_continuations() {
        /// A text, the room for each piece, and the pieces with whether each continues the last.
        type Case<'a> = (&'a str, usize, &'a [(&'a str, bool)]);
        let cases: &[Case] = &[
            ("a\n\nb", 10, &[("a", false), ("", false), ("b", false)]),
            ("abcdef\ng", 4, &[("abcd", false), ("ef", true), ("g", false)]),
        ];
        for (text, room, want) in cases {
            assert_eq!(batch_pieces(text, *room), *want, "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn every_piece_fits_and_together_they_are_the_text(text in "\\PC{0,300}", room in 4usize..64) {
            let pieces = pieces(&text, room);
            for piece in &pieces {
                proptest::prop_assert!(piece.len() <= room);
                proptest::prop_assert!(!piece.is_empty());
            }
            let joined: String = pieces.concat();
            let without_breaks: String = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).map(|l| if l.is_empty() { " " } else { l }).collect();
            proptest::prop_assert_eq!(joined, without_breaks);
        }
    }
}

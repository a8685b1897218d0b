//! The complete lines at the front of a receive buffer, read in place: the bench's hot path splits
//! every arriving message this way, so nothing is copied or reference-counted per line.

/// Iterates the complete lines of `buf` (without their newlines); `consumed` is how far they reach,
/// for the caller to advance its buffer past once it is done with them.
pub struct Lines<'a> {
    buf: &'a [u8],
    pub consumed: usize,
}

impl<'a> Lines<'a> {
    pub fn new(buf: &'a [u8]) -> Lines<'a> {
        Lines { buf, consumed: 0 }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = &self.buf[self.consumed..];
        let end = memchr::memchr(b'\n', rest)?;
        self.consumed += end + 1;
        Some(&rest[..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_lines_only() {
        let cases: &[(&str, &[&str], usize)] = &[
            ("", &[], 0),
            ("partial", &[], 0),
            ("one\n", &["one"], 4),
            ("one\ntwo\nthr", &["one", "two"], 8),
            ("\n\n", &["", ""], 2),
        ];
        for &(buf, expected, consumed) in cases {
            let mut lines = Lines::new(buf.as_bytes());
            let got: Vec<&[u8]> = lines.by_ref().collect();
            let expected: Vec<&[u8]> = expected.iter().map(|l| l.as_bytes()).collect();
            assert_eq!(got, expected, "{buf:?}");
            assert_eq!(lines.consumed, consumed, "{buf:?}");
        }
    }
}

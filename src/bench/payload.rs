//! The bench's message body: who sent it, its number, and when, findable in any wire format without
//! parsing it (`~b~SENDER~SEQ~NANOS~` then padding).

/// What starts every bench payload.
pub const MARK: &[u8] = b"~b~";

/// One decoded payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub sender: u32,
    pub seq: u32,
    /// Nanoseconds since the bench started, when it was sent.
    pub sent_at: u64,
}

/// A payload of at least `size` bytes carrying `stamp`.
pub fn encode(stamp: Stamp, size: usize) -> String {
    let mut text = format!("~b~{}~{}~{}~", stamp.sender, stamp.seq, stamp.sent_at);
    while text.len() < size {
        text.push('x');
    }
    text
}

/// Finds and reads the stamps in the lines of one connection, whatever surrounds them. It looks first
/// where the last one was: the lines that carry them differ only in a few digits before the mark, so a
/// search per line is mostly not needed.
#[derive(Debug, Default)]
pub struct Finder {
    last: usize,
}

impl Finder {
    pub fn find(&mut self, line: &[u8]) -> Option<Stamp> {
        let start = if line.get(self.last..).is_some_and(|rest| rest.starts_with(MARK)) {
            self.last
        } else {
            search(line)?
        };
        self.last = start;
        read(&line[start + MARK.len()..])
    }
}

/// Where the first mark in `line` starts.
fn search(line: &[u8]) -> Option<usize> {
    memchr::memchr_iter(MARK[0], line).find(|&at| line[at..].starts_with(MARK))
}

/// The stamp's fields, after its mark.
fn read(mut rest: &[u8]) -> Option<Stamp> {
    Some(Stamp {
        sender: u32::try_from(field(&mut rest)?).ok()?,
        seq: u32::try_from(field(&mut rest)?).ok()?,
        sent_at: field(&mut rest)?,
    })
}

/// The most digits a field may have: nineteen always fit in a `u64`, so the sum needs no checks.
const MAX_DIGITS: usize = 19;

/// The value of the ASCII digits before the next `~`, if they are digits and fit; moves past the `~`.
fn field(rest: &mut &[u8]) -> Option<u64> {
    let mut value: u64 = 0;
    for (i, &byte) in rest.iter().enumerate().take(MAX_DIGITS + 1) {
        if byte == b'~' {
            *rest = &rest[i + 1..];
            return (i > 0).then_some(value);
        }
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 || i == MAX_DIGITS {
            return None;
        }
        value = value * 10 + u64::from(digit);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_survive_every_wire_format() {
        let stamp = Stamp {
            sender: 7,
            seq: 123,
            sent_at: 987_654_321,
        };
        let text = encode(stamp, 64);
        assert_eq!(text.len(), 64);
        let lines = [
            format!(r#"{{"type":"message","id":9,"ts":1,"from":"b7","room":"bench","text":"{text}"}}"#),
            format!("<b7> {text}"),
            format!(":b7!b7@127.0.0.1 PRIVMSG #bench :{text}\r"),
            text.clone(),
        ];
        let mut finder = Finder::default();
        for line in lines.iter().chain(lines.iter().rev()) {
            assert_eq!(finder.find(line.as_bytes()), Some(stamp), "{line}");
        }
        for junk in [
            "",
            "~b~",
            "~b~1~2",
            "~b~x~2~3~",
            "no mark at all",
            "~b~99999999999~1~1~",
            "~b~1~2~99999999999999999999~",
            "~b~1~+2~3~",
        ] {
            assert_eq!(Finder::default().find(junk.as_bytes()), None, "{junk}");
            assert_eq!(finder.find(junk.as_bytes()), None, "{junk}");
        }
    }

    #[test]
    fn fields_of_every_length_read_as_their_numbers() {
        let mut numbers: Vec<u64> = vec![0, 7, 10, 99_999_999, 100_000_000, 12_345_678_901, u64::MAX / 10];
        let mut n: u64 = 1;
        for _ in 0..19 {
            numbers.extend([n, n - 1, n + 1, n * 9 + 8, n / 7 * 3]);
            n = n.saturating_mul(10);
        }
        for number in numbers {
            let text = format!("{number}~rest");
            let mut rest = text.as_bytes();
            assert_eq!(field(&mut rest), Some(number), "{text}");
            assert_eq!(rest, b"rest", "{text}");
        }
        for bad in [
            "~",
            "12a45678~",
            "1234567/~",
            "123456789:~",
            "12345678901234567890~",
            "123",
        ] {
            assert_eq!(field(&mut bad.as_bytes()), None, "{bad}");
        }
    }
}

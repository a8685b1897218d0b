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

/// Finds and reads the stamp in a received line, whatever surrounds it.
pub fn find(line: &[u8]) -> Option<Stamp> {
    let start = memchr::memchr_iter(MARK[0], line).find(|&at| line[at..].starts_with(MARK))? + MARK.len();
    let mut fields = line[start..].split(|&b| b == b'~');
    let mut number = || decimal(fields.next()?);
    Some(Stamp {
        sender: u32::try_from(number()?).ok()?,
        seq: u32::try_from(number()?).ok()?,
        sent_at: number()?,
    })
}

/// The value of a field of ASCII digits, if it is one and fits.
fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |value, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d < 10)?;
        value.checked_mul(10)?.checked_add(u64::from(digit))
    })
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
        for line in lines {
            assert_eq!(find(line.as_bytes()), Some(stamp), "{line}");
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
            assert_eq!(find(junk.as_bytes()), None, "{junk}");
        }
    }
}

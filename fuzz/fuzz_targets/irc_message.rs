//! A line from an IRC client: it is a message or a clear error, never a panic; and a message written
//! back reads as the same message, where the line was text without CR, LF or NUL (which a written
//! parameter cannot hold) and the written line is within what a client may send (writing may add a
//! `:` before the last parameter).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockchat::transport::irc::message::{Message, ParseError};

fuzz_target!(|line: &[u8]| {
    let Ok(message) = Message::parse(line) else {
        return;
    };
    if std::str::from_utf8(line).is_err() || line.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)) {
        return;
    }
    let written = message.to_line();
    let again = match Message::parse(written.trim_end_matches("\r\n").as_bytes()) {
        Ok(again) => again,
        Err(ParseError::TooLong | ParseError::TagsTooLong) => return,
        Err(e) => panic!("{message:?} was written as {written:?}, which does not read: {e:?}"),
    };
    assert_eq!(again, message, "written as {written:?}");
});

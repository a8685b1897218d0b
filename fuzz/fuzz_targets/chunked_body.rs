//! A chunked body as `get` reads it: the payload, or a clear error; never more bytes than were sent,
//! and the same result however the bytes arrive.
#![no_main]

use std::io::{BufReader, Read};

use libfuzzer_sys::fuzz_target;
use sockchat::http::body::Body;
use sockchat::http::head::Framing;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the size of the reads the body arrives in.
    let Some((&step, input)) = data.split_first() else {
        return;
    };
    let whole = read_body(input, input.len().max(1));
    let split = read_body(input, usize::from(step) + 1);
    assert_eq!(whole, split, "the body depends on how it arrived");
    if let Ok(payload) = whole {
        assert!(payload.len() <= input.len());
    }
});

/// The payload read through a buffer of `capacity` bytes, or the error's kind.
fn read_body(input: &[u8], capacity: usize) -> Result<Vec<u8>, std::io::ErrorKind> {
    let mut body = Body::new(BufReader::with_capacity(capacity, input), Framing::Chunked);
    let mut payload = Vec::new();
    let mut buf = [0u8; 97];
    loop {
        match body.read(&mut buf) {
            Ok(0) => return Ok(payload),
            Ok(n) => payload.extend_from_slice(&buf[..n]),
            Err(e) => return Err(e.kind()),
        }
    }
}

//! A response head as `get` reads it: parsed from a part of the bytes, then from all of them, then its
//! framing and codings asked for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockchat::http::head;

fuzz_target!(|data: &[u8]| {
    // The head is parsed again each time bytes arrive, so a prefix is as likely an input as the whole.
    let half = data.len() / 2;
    if let Ok(Some((_, used))) = head::parse(&data[..half]) {
        assert!(used <= half);
    }
    let Ok(Some((head, used))) = head::parse(data) else {
        return;
    };
    assert!(used <= data.len());
    for request_was_head in [false, true] {
        let _ = head.framing(request_was_head);
    }
    let _ = head.content_length();
    let _ = head.transfer_codings();
    let _ = head.list("content-encoding").count();
});

//! A frame from a structured client: it is a request or a clear error, and a request renders to a
//! frame that reads back as the same request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockchat::transport::json;

fuzz_target!(|frame: &[u8]| {
    let Ok(request) = json::parse_request(frame) else {
        return;
    };
    let rendered = json::render_request(&request);
    let again = json::parse_request(&rendered[..rendered.len() - 1])
        .unwrap_or_else(|e| panic!("{request:?} rendered as {rendered:?}, which does not parse: {e:?}"));
    assert_eq!(again, request, "rendered as {rendered:?}");
});

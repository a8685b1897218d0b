//! Bytes from a plain (nc) client: newline framing with the cap, then each line through the plain-mode
//! parser. However the bytes are split into reads, the frames are the same and never over the cap.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use sockchat::transport::line::{Frame, LineCodec};
use sockchat::transport::text;
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the cap and the read size, so short caps and odd splits are explored too.
    let Some((&knobs, input)) = data.split_first() else {
        return;
    };
    let max = usize::from(knobs & 0x1f) + 1;
    let step = usize::from(knobs >> 5) + 1;
    let whole = frames(max, input, input.len().max(1));
    let split = frames(max, input, step);
    assert_eq!(whole, split, "frames depend on how the reads were split");
    for frame in whole {
        if let Frame::Line(line) = frame {
            assert!(
                line.len() <= max,
                "a frame of {} bytes passed a cap of {max}",
                line.len()
            );
            let _ = text::parse(&line);
        }
    }
});

/// The frames of `input` fed in reads of `step` bytes, then the end of the stream.
fn frames(max: usize, input: &[u8], step: usize) -> Vec<Frame> {
    let mut codec = LineCodec::new(max);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in input.chunks(step) {
        buf.extend_from_slice(piece);
        while let Some(frame) = codec.next_frame(&mut buf) {
            out.push(frame);
        }
    }
    while let Ok(Some(frame)) = codec.decode_eof(&mut buf) {
        out.push(frame);
    }
    out
}

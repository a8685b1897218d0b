//! Newline framing with a hard cap: frames of at most `max_bytes`, and an over-long line discarded up
//! to its newline without ever being buffered whole.

use bytes::{Buf, BytesMut};
use tokio_util::codec::Decoder;

/// One frame read off the wire.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A line without its `\n` or `\r\n`.
    Line(BytesMut),
    /// A line longer than the cap; its bytes were dropped.
    TooLong,
}

impl Frame {
    /// The bytes the frame kept (a too-long one kept none).
    pub fn wire_bytes(&self) -> usize {
        match self {
            Frame::Line(line) => line.len(),
            Frame::TooLong => 0,
        }
    }
}

#[derive(Debug)]
pub struct LineCodec {
    max_bytes: usize,
    /// How far the buffer has been searched for a newline already.
    scanned: usize,
    /// Dropping the rest of an over-long line.
    discarding: bool,
}

impl LineCodec {
    /// Lines of up to `max_bytes` bytes, not counting the line ending.
    pub fn new(max_bytes: usize) -> LineCodec {
        LineCodec {
            max_bytes,
            scanned: 0,
            discarding: false,
        }
    }

    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }
}

impl LineCodec {
    /// The next frame in `buf`, if a whole one is there. Framing cannot fail: only reading can.
    pub fn next_frame(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        loop {
            let newline = memchr::memchr(b'\n', &buf[self.scanned..]).map(|i| i + self.scanned);
            self.scanned = 0;
            match newline {
                Some(end) if self.discarding => {
                    buf.advance(end + 1);
                    self.discarding = false;
                }
                None if self.discarding => {
                    buf.clear();
                    return None;
                }
                Some(end) => {
                    let mut line = buf.split_to(end + 1);
                    line.truncate(end);
                    if line.last() == Some(&b'\r') {
                        line.truncate(end - 1);
                    }
                    if line.len() > self.max_bytes {
                        return Some(Frame::TooLong);
                    }
                    return Some(Frame::Line(line));
                }
                // One byte of slack: the `\r` of a `\r\n` that has not arrived whole.
                None if buf.len() > self.max_bytes + 1 => {
                    buf.clear();
                    self.discarding = true;
                    return Some(Frame::TooLong);
                }
                None => {
                    self.scanned = buf.len();
                    return None;
                }
            }
        }
    }
}

impl Decoder for LineCodec {
    type Item = Frame;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, Self::Error> {
        Ok(self.next_frame(buf))
    }

    /// A last line without a newline still counts.
    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, Self::Error> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        if buf.is_empty() || self.discarding {
            buf.clear();
            return Ok(None);
        }
        buf.extend_from_slice(b"\n");
        self.decode(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `step` bytes and collects the frames, `None` for a too-long line.
    fn frames(max: usize, input: &[u8], step: usize) -> (Vec<Option<String>>, usize) {
        let mut codec = LineCodec::new(max);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut peak = 0;
        for piece in input.chunks(step.max(1)) {
            buf.extend_from_slice(piece);
            peak = peak.max(buf.len());
            while let Some(frame) = codec.decode(&mut buf).unwrap() {
                out.push(frame);
            }
        }
        while let Some(frame) = codec.decode_eof(&mut buf).unwrap() {
            out.push(frame);
        }
        let text = out
            .into_iter()
            .map(|f| match f {
                Frame::Line(l) => Some(String::from_utf8(l.to_vec()).unwrap()),
                Frame::TooLong => None,
            })
            .collect();
        (text, peak)
    }

    #[test]
    fn framing_at_every_split() {
        let s = |t: &str| Some(t.to_owned());
        let cases: &[(&[u8], Vec<Option<String>>)] = &[
            (b"hello\n", vec![s("hello")]),
            (b"a\r\nb\n", vec![s("a"), s("b")]),
            (b"\n\n", vec![s(""), s("")]),
            (b"last", vec![s("last")]),
            (b"12345678\nok\n", vec![s("12345678"), s("ok")]),
            (b"123456789\nok\n", vec![None, s("ok")]),
            (b"12345678\r\n", vec![s("12345678")]),
            (b"123456789012345\nok", vec![None, s("ok")]),
            (b"1234567890123", vec![None]),
        ];
        for (input, want) in cases {
            for step in 1..=input.len() {
                let (got, _) = frames(8, input, step);
                assert_eq!(
                    &got,
                    want,
                    "input {:?} in steps of {step}",
                    String::from_utf8_lossy(input)
                );
            }
        }
    }

    #[test]
    fn an_endless_line_is_never_buffered_whole() {
        let mut input = vec![b'x'; 10_000_000];
        input.extend_from_slice(b"\nafter\n");
        let (got, peak) = frames(1024, &input, 4096);
        assert_eq!(got, vec![None, Some("after".to_owned())]);
        assert!(peak <= 1024 + 4096, "peak buffer {peak}");
    }

    /// The frames of `input` read in the pieces `cuts` marks, then the end of the stream.
    fn frames_cut_at(max: usize, input: &[u8], cuts: &[usize]) -> Vec<Frame> {
        let mut codec = LineCodec::new(max);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        points.push(input.len());
        points.sort_unstable();
        let mut start = 0;
        for end in points {
            buf.extend_from_slice(&input[start..end]);
            start = end;
            while let Some(frame) = codec.decode(&mut buf).unwrap() {
                out.push(frame);
            }
        }
        while let Some(frame) = codec.decode_eof(&mut buf).unwrap() {
            out.push(frame);
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn any_split_gives_the_same_frames(
            input in proptest::collection::vec(proptest::sample::select(b"ab\r\n\xff".to_vec()), 0..200),
            cuts in proptest::collection::vec(0usize..1000, 0..12),
            max in 1usize..24,
        ) {
            let whole = frames_cut_at(max, &input, &[]);
            proptest::prop_assert_eq!(frames_cut_at(max, &input, &cuts), whole);
        }
    }
}

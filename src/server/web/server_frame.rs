//! A server's WebSocket frame (final, unmasked), written straight after the bytes already waiting
//! to be sent, so a stage of events becomes one run of frames without a message or a copy per event.

/// The opcode of a text frame.
pub const TEXT: u8 = 0x1;
/// The opcode of a ping frame.
pub const PING: u8 = 0x9;
/// Bytes of a frame's header at most (2 + 8 for the length; the server does not mask).
pub const FRAME_HEADER_BYTES: usize = 10;

/// The bytes a frame of `payload_len` takes.
pub fn frame_len(payload_len: usize) -> usize {
    let length_bytes = match payload_len {
        0..126 => 0,
        126..=0xFFFF => 2,
        _ => 8,
    };
    2 + length_bytes + payload_len
}

/// Appends one final frame with `opcode` and `payload` to `out`.
pub fn put_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8]) {
    out.reserve(frame_len(payload.len()));
    out.push(0x80 | opcode);
    match payload.len() {
        n @ 0..126 => out.push(n as u8),
        n @ 126..=0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tungstenite::protocol::frame::Frame;
    use tungstenite::protocol::frame::coding::{Data, OpCode};

    #[test]
    fn frames_are_what_tungstenite_writes() {
        for len in [0, 1, 125, 126, 127, 0xFFFF, 0x1_0000, 0x1_0001] {
            let payload = vec![b'x'; len];
            let mut ours = Vec::new();
            put_frame(&mut ours, TEXT, &payload);
            let mut theirs = Vec::new();
            Frame::message(payload.clone(), OpCode::Data(Data::Text), true)
                .format(&mut theirs)
                .unwrap();
            assert_eq!(ours, theirs, "payload of {len} bytes");
            assert_eq!(frame_len(len), ours.len());
            assert!(ours.len() - len <= FRAME_HEADER_BYTES);
        }
        let mut ping = Vec::new();
        put_frame(&mut ping, PING, b"");
        let mut theirs = Vec::new();
        Frame::ping(Vec::new()).format(&mut theirs).unwrap();
        assert_eq!(ping, theirs);
    }
}

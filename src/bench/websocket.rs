//! The bench's side of a WebSocket (RFC 6455), as little as it needs: the upgrade request, its
//! frames written masked as a client's must be, and the server's frames turned back into lines, so
//! that the rest of the bench reads a WebSocket as it reads a TCP stream of JSON lines.

/// The upgrade request; the key is fixed, since the bench does not check the answer's accept key.
pub fn upgrade_request() -> Vec<u8> {
    b"GET /ws HTTP/1.1\r\nHost: sockchat\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
      Sec-WebSocket-Key: c29ja2NoYXQgYmVuY2ggIQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        .to_vec()
}

/// One text frame carrying `payload`, masked with the key 0, which leaves the payload as it is: a
/// masking key must be there, but the server cannot tell one key from another.
pub fn text_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 14);
    frame.push(0x81);
    match payload.len() {
        len @ 0..=125 => frame.push(0x80 | len as u8),
        len @ 126..=0xFFFF => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0; 4]);
    frame.extend_from_slice(payload);
    frame
}

/// What a server's Ping frame is read as, so that the dialect answers it.
pub const PING_LINE: &[u8] = b"{\"type\":\"ping\"}\n";

/// Where the reader is in the server's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    /// In the `101` response's head; `tail` is its last bytes, to find the blank line.
    Head { tail: u32 },
    /// In a frame's header, of which `got` bytes are in `header`.
    Header { header: [u8; 10], got: usize },
    /// In a frame's payload: `left` bytes to come; `text` if it is a data frame (else it is dropped).
    Payload { left: u64, text: bool },
}

/// The server's bytes turned into lines: the response head's lines as they are, each data frame's
/// payload with a `\n` after it (the server sends every event as one frame), each Ping as `PING_LINE`, other control frames as nothing.
#[derive(Debug, Clone)]
pub struct Deframer {
    place: Place,
}

impl Default for Deframer {
    fn default() -> Deframer {
        Deframer {
            place: Place::Head { tail: 0 },
        }
    }
}

impl Deframer {
    /// Appends to `out` the lines that `bytes` (the next bytes from the server) hold or end.
    pub fn unframe(&mut self, mut bytes: &[u8], out: &mut Vec<u8>) {
        while !bytes.is_empty() {
            match &mut self.place {
                Place::Head { tail } => {
                    let byte = bytes[0];
                    bytes = &bytes[1..];
                    out.push(byte);
                    *tail = (*tail << 8) | u32::from(byte);
                    if *tail == u32::from_be_bytes(*b"\r\n\r\n") {
                        self.place = Place::Header {
                            header: [0; 10],
                            got: 0,
                        };
                    }
                }
                Place::Header { header, got } => {
                    header[*got] = bytes[0];
                    *got += 1;
                    bytes = &bytes[1..];
                    if let Some(next) = Deframer::header_done(header, *got, out) {
                        self.place = next;
                    }
                }
                Place::Payload { left, text } => {
                    let n = (*left).min(bytes.len() as u64) as usize;
                    if *text {
                        out.extend_from_slice(&bytes[..n]);
                    }
                    bytes = &bytes[n..];
                    *left -= n as u64;
                    if *left == 0 {
                        self.end_payload(out);
                    }
                }
            }
        }
    }

    /// Once the header is whole, where its payload leads; `None` while bytes of it are missing.
    fn header_done(header: &[u8; 10], got: usize, out: &mut Vec<u8>) -> Option<Place> {
        if got < 2 {
            return None;
        }
        let needed = match header[1] & 0x7F {
            126 => 4,
            127 => 10,
            _ => 2,
        };
        if got < needed {
            return None;
        }
        let left = match needed {
            4 => u64::from(u16::from_be_bytes([header[2], header[3]])),
            10 => u64::from_be_bytes(header[2..10].try_into().unwrap_or([0; 8])),
            _ => u64::from(header[1] & 0x7F),
        };
        let opcode = header[0] & 0x0F;
        if opcode == 0x9 {
            out.extend_from_slice(PING_LINE);
        }
        // The server sends each event as one text frame; control frames carry no line.
        let text = opcode <= 0x2;
        if left == 0 {
            if text {
                out.push(b'\n');
            }
            return Some(Place::Header {
                header: [0; 10],
                got: 0,
            });
        }
        Some(Place::Payload { left, text })
    }

    fn end_payload(&mut self, out: &mut Vec<u8>) {
        if let Place::Payload { text: true, .. } = self.place {
            out.push(b'\n');
        }
        self.place = Place::Header {
            header: [0; 10],
            got: 0,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut frame = text_frame(payload);
        frame[0] = 0x80 | opcode;
        // A server's frames are not masked: drop the mask bit and the key.
        let at = match payload.len() {
            0..=125 => 2,
            126..=0xFFFF => 4,
            _ => 10,
        };
        frame[1] &= 0x7F;
        frame.drain(at..at + 4);
        frame
    }

    /// However the server's bytes are cut into reads, the same lines come out.
    #[test]
    fn frames_become_lines_whatever_the_reads() {
        let long = vec![b'x'; 70_000];
        let mut stream = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n".to_vec();
        stream.extend(server_frame(0x1, b"{\"type\":\"welcome\"}"));
        stream.extend(server_frame(0x9, b""));
        stream.extend(server_frame(0x1, &[b'y'; 300]));
        stream.extend(server_frame(0xA, b"pong data"));
        stream.extend(server_frame(0x1, &long));
        stream.extend(server_frame(0x8, &[0x03, 0xE8]));
        let mut expected =
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n{\"type\":\"welcome\"}\n".to_vec();
        expected.extend_from_slice(PING_LINE);
        expected.extend_from_slice(&[b'y'; 300]);
        expected.push(b'\n');
        expected.extend_from_slice(&long);
        expected.push(b'\n');
        for cut in [1, 2, 3, 7, 125, 4096, stream.len()] {
            let mut deframer = Deframer::default();
            let mut out = Vec::new();
            for chunk in stream.chunks(cut) {
                deframer.unframe(chunk, &mut out);
            }
            assert!(out == expected, "cut every {cut} bytes");
        }
    }

    #[test]
    fn frames_are_masked_with_their_lengths() {
        assert_eq!(text_frame(b"hi"), [0x81, 0x82, 0, 0, 0, 0, b'h', b'i']);
        assert_eq!(text_frame(&[0; 200])[..4], [0x81, 0x80 | 126, 0, 200]);
        assert_eq!(
            text_frame(&[0; 70_000])[..10],
            [0x81, 0xFF, 0, 0, 0, 0, 0, 1, 0x11, 0x70]
        );
    }
}

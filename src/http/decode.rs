//! Content and transfer codings (gzip, deflate, br, zstd), undone in reverse order of application as the
//! body streams.

use std::io::{self, Cursor, Read};

use flate2::read::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};

use crate::http::failure::{Failure, Kind};

/// What `--compressed` asks for.
pub const ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";

/// Which header field listed the codings, for naming it in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// Content-Encoding: undone only with `--compressed`, as curl does.
    Content,
    /// Transfer-Encoding (less the final `chunked`, which is framing): always undone.
    Transfer,
}

impl Layer {
    fn field(self) -> &'static str {
        match self {
            Layer::Content => "content encoding",
            Layer::Transfer => "transfer encoding",
        }
    }
}

/// Wraps `body` so that reading it yields the content with every coding in `codings` undone.
/// `codings` is in the order they were applied, as the header field lists them. An empty body is empty
/// whatever its codings say: there is nothing to undo (a gzip-encoded 204-like answer is not corrupt).
pub fn decoded<'a>(
    layer: Layer,
    codings: &[String],
    mut body: Box<dyn Read + 'a>,
) -> Result<Box<dyn Read + 'a>, Failure> {
    if codings.is_empty() {
        return Ok(body);
    }
    let mut first = [0u8; 1];
    if read_fully(&mut body, &mut first)? == 0 {
        return Ok(Box::new(io::empty()));
    }
    let body: Box<dyn Read + 'a> = Box::new(Cursor::new(first).chain(body));
    codings
        .iter()
        .rev()
        .try_fold(body, |inner, coding| undo(layer, coding, inner))
}

fn undo<'a>(layer: Layer, coding: &str, inner: Box<dyn Read + 'a>) -> Result<Box<dyn Read + 'a>, Failure> {
    Ok(match coding.to_ascii_lowercase().as_str() {
        "gzip" | "x-gzip" => Box::new(MultiGzDecoder::new(inner)),
        "deflate" => inflate(inner)?,
        "br" => Box::new(brotli_decompressor::Decompressor::new(inner, 64 * 1024)),
        "zstd" => Box::new(
            ruzstd::decoding::StreamingDecoder::new(inner)
                .map_err(|e| Failure::new(Kind::BadEncoding, format!("the zstd content is corrupt: {e}")))?,
        ),
        "identity" => inner,
        other => {
            return Err(Failure::new(
                Kind::BadEncoding,
                format!("unsupported {}: {other}", layer.field()),
            ));
        }
    })
}

/// `deflate` is zlib-wrapped by the RFC, but some servers send raw deflate: tell them apart by the header.
fn inflate<'a>(mut inner: Box<dyn Read + 'a>) -> Result<Box<dyn Read + 'a>, Failure> {
    let mut head = [0u8; 2];
    let got = read_fully(&mut inner, &mut head)?;
    let zlib = got == 2 && head[0] & 0x0f == 8 && (u16::from(head[0]) << 8 | u16::from(head[1])) % 31 == 0;
    let whole = Cursor::new(head).take(got as u64).chain(inner);
    Ok(if zlib {
        Box::new(ZlibDecoder::new(whole))
    } else {
        Box::new(DeflateDecoder::new(whole))
    })
}

/// Fills `buf` unless the body ends first; returns how much it got.
fn read_fully(source: &mut dyn Read, buf: &mut [u8]) -> Result<usize, Failure> {
    let mut got = 0;
    while got < buf.len() {
        match source.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(crate::http::failure::from_io(e, Kind::Receive, "reading the body")),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn undo_all(codings: &[&str], data: Vec<u8>) -> Result<Vec<u8>, String> {
        let codings: Vec<String> = codings.iter().map(|c| c.to_string()).collect();
        let mut reader = decoded(Layer::Content, &codings, Box::new(Cursor::new(data))).map_err(|e| e.message)?;
        let mut out = Vec::new();
        reader.read_to_end(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }

    #[test]
    fn codings_are_undone_in_reverse() {
        let text = b"the quick brown fox ".repeat(100);
        let cases: Vec<(&[&str], Vec<u8>)> = vec![
            (&["gzip"], gzip(&text)),
            (&["x-gzip"], gzip(&text)),
            (&["deflate"], zlib(&text)),
            (&["deflate"], raw_deflate(&text)),
            (&["identity"], text.clone()),
            (&[], text.clone()),
            (&["deflate", "gzip"], gzip(&zlib(&text))),
            (&["GZIP", "identity", "gzip"], gzip(&gzip(&text))),
            (&["gzip"], gzip(b"a")),
            (&["deflate"], zlib(b"a")),
        ];
        for (codings, data) in cases {
            let want = if data.len() < 40 { &b"a"[..] } else { &text[..] };
            assert_eq!(undo_all(codings, data).unwrap(), want, "{codings:?}");
        }
    }

    #[test]
    fn an_empty_body_is_empty_whatever_its_codings() {
        for codings in [
            &["gzip"][..],
            &["deflate"],
            &["br"],
            &["zstd"],
            &["deflate", "gzip"],
            &["compress"],
        ] {
            assert_eq!(undo_all(codings, Vec::new()).unwrap(), b"", "{codings:?}");
        }
    }

    #[test]
    fn corrupt_or_unknown_content_is_an_error() {
        assert!(undo_all(&["gzip"], b"not gzip at all".to_vec()).is_err());
        assert!(undo_all(&["br"], b"\xff\xff\xff not brotli".to_vec()).is_err());
        assert!(
            undo_all(&["zstd"], b"not zstd".to_vec())
                .unwrap_err()
                .contains("zstd content is corrupt")
        );
        let mut truncated = gzip(b"hello hello hello");
        truncated.truncate(truncated.len() - 6);
        assert!(undo_all(&["gzip"], truncated).is_err());
        assert_eq!(
            undo_all(&["compress"], b"x".to_vec()).unwrap_err(),
            "unsupported content encoding: compress"
        );
    }
}

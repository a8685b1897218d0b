//! A session's output side: whatever is queued is written in one vectored write, then flushed.

use std::io::{self, IoSlice};

use std::sync::Arc;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::outbox::{Batch, Outbox};

/// The most frames written by one vectored write (well under the system's IOV_MAX).
pub const WRITE_BATCH_FRAMES: usize = 256;

/// Writes queued frames until the outbox is closed and drained (then flushes and shuts the writer
/// down) or killed (then stops at once, even in the middle of a write).
pub async fn write_queued<W>(outbox: Arc<Outbox>, mut writer: W) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    let mut batch = Vec::new();
    loop {
        match outbox.next_batch(&mut batch, WRITE_BATCH_FRAMES).await {
            Batch::Frames => {}
            Batch::Closed => return writer.shutdown().await,
            Batch::Killed => return Err(too_slow()),
        }
        // Boxed: only a session that is writing needs the write's state; an idle one waits above.
        let written = Box::pin(async {
            tokio::select! {
                biased;
                () = outbox.killed() => Err(too_slow()),
                result = write_all(&mut writer, &mut batch) => result,
            }
        });
        written.await?;
        writer.flush().await?;
        // An idle session keeps no batch buffer.
        batch = Vec::new();
    }
}

fn too_slow() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "dropped for being too slow")
}

/// Writes every frame in `frames`, as few system calls as the writer allows, and empties it.
async fn write_all<W: AsyncWrite + Unpin>(writer: &mut W, frames: &mut Vec<Bytes>) -> io::Result<()> {
    let mut first = 0;
    while first < frames.len() {
        let slices: Vec<IoSlice<'_>> = frames[first..].iter().map(|f| IoSlice::new(f)).collect();
        let mut written = writer.write_vectored(&slices).await?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        while written > 0 {
            let frame = &mut frames[first];
            let step = written.min(frame.len());
            frame.advance(step);
            written -= step;
            if frame.is_empty() {
                first += 1;
            }
        }
    }
    frames.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_everything_queued_then_closes() {
        let outbox = Arc::new(Outbox::new(8));
        let (mut client, server) = tokio::io::duplex(7);
        let writer = tokio::spawn(write_queued(outbox.clone(), server));
        for frame in ["one\n", "two\n", "three\n"] {
            outbox.push(Bytes::from(frame));
        }
        outbox.close();
        let mut got = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut client, &mut got)
            .await
            .unwrap();
        assert_eq!(got, "one\ntwo\nthree\n");
        writer.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn kill_stops_a_blocked_writer() {
        let outbox = Arc::new(Outbox::new(8));
        let (_client, server) = tokio::io::duplex(4);
        let writer = tokio::spawn(write_queued(outbox.clone(), server));
        outbox.push(Bytes::from("more than four bytes"));
        outbox.kill();
        assert!(writer.await.unwrap().is_err());
    }
}

//! A session's output side: whatever is queued is copied together and written at once, then flushed.

use std::io;

use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use super::outbox::{Batch, Outbox};

/// The most frames taken from the outbox for one write.
pub const WRITE_BATCH_FRAMES: usize = 1024;
/// The most bytes copied together for one write; a session that is writing holds at most this much.
pub const STAGE_BYTES: usize = 64 * 1024;

/// Writes queued frames until the outbox is closed and drained (then flushes and shuts the writer
/// down) or killed (then stops at once, even in the middle of a write).
///
/// Writes to one client are at least `interval` apart: frames that arrive sooner wait and go out
/// together in the next write. A write costs the same system call and trip through the TCP stack
/// whether it carries one frame or fifty, so under a stream of messages this is what keeps the cost
/// per delivery low; a client that was quiet for `interval` gets its next frame at once.
pub async fn write_queued<W>(outbox: &Outbox, writer: &mut W, interval: Duration) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    let mut batch = Vec::new();
    let mut quiet_until: Option<Instant> = None;
    loop {
        let mut next = outbox.next_batch(&mut batch, WRITE_BATCH_FRAMES).await;
        let early = quiet_until.take().filter(|until| *until > Instant::now());
        if let (Batch::Frames, Some(until)) = (next, early) {
            Box::pin(tokio::time::sleep_until(until)).await;
            let room = WRITE_BATCH_FRAMES - batch.len();
            next = outbox.take(&mut batch, room).unwrap_or(next);
        }
        match next {
            Batch::Frames => {}
            Batch::Closed if !batch.is_empty() => {}
            Batch::Closed => return writer.shutdown().await,
            Batch::Killed => return Err(too_slow()),
        }
        // A full batch may have left more behind: that goes out at once, not after a pause.
        if !interval.is_zero() && batch.len() < WRITE_BATCH_FRAMES {
            quiet_until = Some(Instant::now() + interval);
        }
        // Boxed: only a session that is writing needs the write's state; an idle one waits above.
        let written = Box::pin(async {
            tokio::select! {
                biased;
                () = outbox.killed() => Err(too_slow()),
                result = write_all(writer, &mut batch) => result,
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

/// Writes every frame in `frames` and empties it. Frames are copied together into one buffer of up to
/// `STAGE_BYTES` and written from there: the kernel takes one contiguous buffer far faster than a
/// thousand small ones (measured: a fifth more deliveries a second in a burst). A frame too big for the
/// buffer is written straight from where it is.
async fn write_all<W: AsyncWrite + Unpin>(writer: &mut W, frames: &mut Vec<Bytes>) -> io::Result<()> {
    let total: usize = frames.iter().map(Bytes::len).sum();
    let mut stage = Vec::with_capacity(total.min(STAGE_BYTES));
    for frame in frames.drain(..) {
        if !stage.is_empty() && stage.len() + frame.len() > STAGE_BYTES {
            writer.write_all(&stage).await?;
            stage.clear();
        }
        if frame.len() >= STAGE_BYTES {
            writer.write_all(&frame).await?;
        } else {
            stage.extend_from_slice(&frame);
        }
    }
    if !stage.is_empty() {
        writer.write_all(&stage).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, DuplexStream};
    use tokio::task::JoinHandle;

    use super::*;

    fn spawn_writer(outbox: Arc<Outbox>, to: DuplexStream) -> JoinHandle<io::Result<()>> {
        spawn_paced_writer(outbox, to, Duration::ZERO)
    }

    fn spawn_paced_writer(outbox: Arc<Outbox>, mut to: DuplexStream, interval: Duration) -> JoinHandle<io::Result<()>> {
        tokio::spawn(async move { write_queued(&outbox, &mut to, interval).await })
    }

    async fn read_now(client: &mut DuplexStream, len: usize) -> (String, Duration) {
        let start = Instant::now();
        let mut got = vec![0; len];
        client.read_exact(&mut got).await.unwrap();
        (String::from_utf8(got).unwrap(), start.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn frames_close_behind_a_write_wait_for_the_interval_then_go_together() {
        let interval = Duration::from_millis(10);
        let outbox = Arc::new(Outbox::new(8));
        let (mut client, server) = tokio::io::duplex(64);
        spawn_paced_writer(outbox.clone(), server, interval);

        outbox.push(Bytes::from("a"));
        assert_eq!(
            read_now(&mut client, 1).await,
            ("a".to_owned(), Duration::ZERO),
            "the first goes at once"
        );
        outbox.push(Bytes::from("b"));
        outbox.push(Bytes::from("c"));
        let (got, waited) = read_now(&mut client, 2).await;
        assert_eq!(got, "bc");
        assert_eq!(waited, interval, "the next write waits out the interval");

        tokio::time::sleep(interval * 3).await;
        outbox.push(Bytes::from("d"));
        assert_eq!(
            read_now(&mut client, 1).await,
            ("d".to_owned(), Duration::ZERO),
            "after a quiet spell, at once"
        );
    }

    #[tokio::test]
    async fn writes_everything_queued_then_closes() {
        let outbox = Arc::new(Outbox::new(8));
        let (mut client, server) = tokio::io::duplex(7);
        let writer = spawn_writer(outbox.clone(), server);
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
    async fn frames_of_every_size_arrive_whole_and_in_order() {
        let sizes: &[&[usize]] = &[
            &[1],
            &[10, 20, 30],
            &[STAGE_BYTES],
            &[STAGE_BYTES + 1, 5],
            &[5, STAGE_BYTES - 5, 1, 3 * STAGE_BYTES, 7],
            &[STAGE_BYTES / 2 + 1, STAGE_BYTES / 2 + 1, STAGE_BYTES / 2 + 1],
        ];
        for (case, sizes) in sizes.iter().enumerate() {
            let mut frames: Vec<Bytes> = sizes
                .iter()
                .enumerate()
                .map(|(i, &n)| Bytes::from(vec![b'a' + (case + i) as u8 % 26; n]))
                .collect();
            let expected: Vec<u8> = frames.concat();
            let (mut client, mut server) = tokio::io::duplex(4096);
            let reading = tokio::spawn(async move {
                let mut got = Vec::new();
                client.read_to_end(&mut got).await.unwrap();
                got
            });
            write_all(&mut server, &mut frames).await.unwrap();
            drop(server);
            assert!(frames.is_empty());
            assert_eq!(reading.await.unwrap(), expected, "sizes {sizes:?}");
        }
    }

    #[tokio::test]
    async fn kill_stops_a_blocked_writer() {
        let outbox = Arc::new(Outbox::new(8));
        let (_client, server) = tokio::io::duplex(4);
        let writer = spawn_writer(outbox.clone(), server);
        outbox.push(Bytes::from("more than four bytes"));
        outbox.kill();
        assert!(writer.await.unwrap().is_err());
    }
}

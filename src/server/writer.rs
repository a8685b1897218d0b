//! A session's output side: whatever is published for it is staged and written at once, then flushed,
//! and writes to one client are paced.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, Sleep};

use super::backlog::{Backlog, Filled};
use super::outbox::Outbox;
use super::stage::Stage;
use crate::names::ConnId;

/// Writes the session's backlog until its outbox ends (then flushes and shuts the writer down) or is
/// killed (then stops at once, even in the middle of a write).
///
/// Writes to one client are at least `interval` apart: what is published meanwhile waits and goes out
/// together in the next write. A write costs the same system call and trip through the TCP stack
/// whether it carries one frame or fifty, so under a stream of messages this is what keeps the cost
/// per delivery low; a client that was quiet for `interval` gets its next frame at once.
///
/// Not an `async fn`: every connected client holds this future, and an async fn's future keeps its
/// arguments twice, once as arguments and once as locals.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn keeps its arguments twice in its future"
)]
pub fn write_queued<'a, W>(
    conn: ConnId,
    outbox: &'a Outbox,
    writer: &'a mut W,
    interval: Duration,
) -> impl Future<Output = io::Result<()>> + 'a
where
    W: AsyncWrite + Unpin,
{
    async move {
        let mut backlog = Backlog::new(conn, outbox);
        let mut stage = Stage::default();
        // Kept while the session is busy, so a stream of writes does not allocate a timer for each.
        let mut pause: Option<Pin<Box<Sleep>>> = None;
        loop {
            // Every wait below also watches for the outbox being killed, even in the middle of a write.
            poll_fn(|cx| -> Poll<io::Result<()>> {
                check_killed(outbox, cx)?;
                let ready = backlog.poll_ready(cx);
                if ready.is_pending() {
                    // An idle session holds no timer.
                    pause = None;
                }
                ready.map(Ok)
            })
            .await?;
            let mut wrote = false;
            let ended = loop {
                let filled = backlog.fill(&mut stage);
                wrote |= !stage.is_empty();
                poll_fn(|cx| {
                    check_killed(outbox, cx)?;
                    stage.poll_write(cx, writer)
                })
                .await?;
                match filled {
                    Filled::Full => {}
                    Filled::Drained => break false,
                    Filled::Ended => break true,
                }
            };
            writer.flush().await?;
            if ended {
                return writer.shutdown().await;
            }
            if wrote && !interval.is_zero() {
                let until = Instant::now() + interval;
                match &mut pause {
                    Some(sleep) => sleep.as_mut().reset(until),
                    None => pause = Some(Box::pin(tokio::time::sleep_until(until))),
                }
                if let Some(sleep) = &mut pause {
                    poll_fn(|cx| -> Poll<io::Result<()>> {
                        check_killed(outbox, cx)?;
                        sleep.as_mut().poll(cx).map(Ok)
                    })
                    .await?;
                }
            }
        }
    }
}

/// An error once the outbox is killed; until then the task is woken if it is.
fn check_killed(outbox: &Outbox, cx: &mut Context<'_>) -> io::Result<()> {
    match outbox.poll_killed(cx) {
        Poll::Ready(()) => Err(too_slow()),
        Poll::Pending => Ok(()),
    }
}

fn too_slow() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "dropped for being too slow")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use tokio::io::{AsyncReadExt, DuplexStream};
    use tokio::task::JoinHandle;

    use super::*;
    use crate::server::outbox::Item;
    use crate::server::sequence::{Published, Seq};

    /// The hub task's end of one outbox: push, publish, wake.
    struct Hub {
        outbox: Arc<Outbox>,
        published: Arc<Published>,
        last: Seq,
    }

    impl Hub {
        fn new() -> Hub {
            let published = Arc::new(Published::default());
            Hub {
                outbox: Arc::new(Outbox::new(8 * 1024, published.clone())),
                published,
                last: Seq(0),
            }
        }

        fn send(&mut self, frame: &'static str) {
            self.last = self.last.next();
            self.outbox.push(self.last, Item::Frame(Bytes::from(frame)));
            self.publish();
        }

        fn close(&mut self) {
            self.last = self.last.next();
            self.outbox.close(self.last);
            self.publish();
        }

        fn publish(&self) {
            self.published.set(self.last);
            self.outbox.wake();
        }

        fn spawn_writer(&self, mut to: DuplexStream, interval: Duration) -> JoinHandle<io::Result<()>> {
            let outbox = self.outbox.clone();
            tokio::spawn(async move { write_queued(ConnId(1), &outbox, &mut to, interval).await })
        }
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
        let mut hub = Hub::new();
        let (mut client, server) = tokio::io::duplex(64);
        hub.spawn_writer(server, interval);

        hub.send("a");
        assert_eq!(
            read_now(&mut client, 1).await,
            ("a".to_owned(), Duration::ZERO),
            "the first goes at once"
        );
        hub.send("b");
        hub.send("c");
        let (got, waited) = read_now(&mut client, 2).await;
        assert_eq!(got, "bc");
        assert_eq!(waited, interval, "the next write waits out the interval");

        tokio::time::sleep(interval * 3).await;
        hub.send("d");
        assert_eq!(
            read_now(&mut client, 1).await,
            ("d".to_owned(), Duration::ZERO),
            "after a quiet spell, at once"
        );
    }

    #[tokio::test]
    async fn writes_everything_queued_then_closes() {
        let mut hub = Hub::new();
        let (mut client, server) = tokio::io::duplex(7);
        let writer = hub.spawn_writer(server, Duration::ZERO);
        for frame in ["one\n", "two\n", "three\n"] {
            hub.send(frame);
        }
        hub.close();
        let mut got = String::new();
        client.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "one\ntwo\nthree\n");
        writer.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn kill_stops_a_blocked_writer() {
        let mut hub = Hub::new();
        let (_client, server) = tokio::io::duplex(4);
        let writer = hub.spawn_writer(server, Duration::ZERO);
        hub.send("more than four bytes");
        hub.outbox.kill();
        assert!(writer.await.unwrap().is_err());
    }
}

//! A session's queue of encoded events: bounded, filled by the hub task without ever waiting, drained
//! by the session's writer a batch at a time. It holds no memory while empty.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;

#[derive(Debug)]
pub struct Outbox {
    state: Mutex<State>,
    capacity: usize,
}

/// One writer drains an outbox, so one waker slot per thing it waits for is enough; an idle session
/// waits with no state of its own beyond them.
#[derive(Debug, Default)]
struct State {
    frames: VecDeque<Bytes>,
    closed: bool,
    killed: bool,
    /// Wakes the writer: frames arrived, or the queue was closed.
    ready: Option<Waker>,
    /// Wakes the writer to give up at once.
    kill: Option<Waker>,
}

/// What became of a pushed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Queued,
    /// The queue holds `capacity` frames already: the reader is too slow.
    Full,
    Closed,
}

/// What the writer gets next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batch {
    Frames,
    /// Closed and drained: finish.
    Closed,
    /// Killed: stop without writing anything more.
    Killed,
}

impl Outbox {
    pub fn new(capacity: usize) -> Outbox {
        Outbox {
            state: Mutex::default(),
            capacity: capacity.max(1),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn push(&self, frame: Bytes) -> Pushed {
        let mut state = self.lock();
        if state.closed {
            return Pushed::Closed;
        }
        if state.frames.len() >= self.capacity {
            return Pushed::Full;
        }
        state.frames.push_back(frame);
        // The writer empties the queue before it waits again, so only the first frame needs to wake it.
        let waker = if state.frames.len() == 1 {
            state.ready.take()
        } else {
            None
        };
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        Pushed::Queued
    }

    /// No more frames will come; what is queued is still written.
    pub fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        let ready = state.ready.take();
        drop(state);
        if let Some(waker) = ready {
            waker.wake();
        }
    }

    /// Drop everything: the writer stops at once.
    pub fn kill(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.killed = true;
        state.frames = VecDeque::new();
        let wakers = [state.ready.take(), state.kill.take()];
        drop(state);
        wakers.into_iter().flatten().for_each(Waker::wake);
    }

    /// Waits for frames and moves up to `max` of them into `into`.
    pub async fn next_batch(&self, into: &mut Vec<Bytes>, max: usize) -> Batch {
        poll_fn(|cx| self.poll_batch(cx, into, max)).await
    }

    fn poll_batch(&self, cx: &mut Context<'_>, into: &mut Vec<Bytes>, max: usize) -> Poll<Batch> {
        let mut state = self.lock();
        match state.take(into, max) {
            Some(batch) => Poll::Ready(batch),
            None => {
                remember(&mut state.ready, cx);
                Poll::Pending
            }
        }
    }

    /// Moves up to `max` queued frames into `into` without waiting; `None` if there is nothing to say.
    pub fn take(&self, into: &mut Vec<Bytes>, max: usize) -> Option<Batch> {
        self.lock().take(into, max)
    }

    /// Resolves once the outbox is killed.
    pub async fn killed(&self) {
        poll_fn(|cx| {
            let mut state = self.lock();
            if state.killed {
                return Poll::Ready(());
            }
            remember(&mut state.kill, cx);
            Poll::Pending
        })
        .await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("not poisoned")
    }
}

impl State {
    fn take(&mut self, into: &mut Vec<Bytes>, max: usize) -> Option<Batch> {
        if self.killed {
            return Some(Batch::Killed);
        }
        if !self.frames.is_empty() {
            let n = self.frames.len().min(max);
            into.extend(self.frames.drain(..n));
            if self.frames.is_empty() && self.frames.capacity() > 0 {
                self.frames = VecDeque::new();
            }
            return Some(Batch::Frames);
        }
        self.closed.then_some(Batch::Closed)
    }
}

fn remember(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(waker) if waker.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_batched_and_closable() {
        let outbox = Outbox::new(2);
        assert_eq!(outbox.push(Bytes::from("a")), Pushed::Queued);
        assert_eq!(outbox.push(Bytes::from("b")), Pushed::Queued);
        assert_eq!(outbox.push(Bytes::from("c")), Pushed::Full);
        let mut batch = Vec::new();
        assert_eq!(outbox.next_batch(&mut batch, 10).await, Batch::Frames);
        assert_eq!(batch, ["a", "b"]);
        outbox.push(Bytes::from("d"));
        outbox.close();
        assert_eq!(outbox.push(Bytes::from("e")), Pushed::Closed);
        batch.clear();
        assert_eq!(outbox.next_batch(&mut batch, 10).await, Batch::Frames);
        assert_eq!(batch, ["d"]);
        assert_eq!(outbox.next_batch(&mut batch, 10).await, Batch::Closed);
        outbox.kill();
        assert_eq!(outbox.next_batch(&mut batch, 10).await, Batch::Killed);
        outbox.killed().await;
    }
}

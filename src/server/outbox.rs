//! A session's queue of encoded events: bounded, filled by the hub task without ever waiting, drained
//! by the session's writer a batch at a time. It holds no memory while empty.

use std::collections::VecDeque;
use std::sync::Mutex;

use bytes::Bytes;
use tokio::sync::Notify;

#[derive(Debug)]
pub struct Outbox {
    state: Mutex<State>,
    /// Wakes the writer: frames arrived, or the queue was closed.
    ready: Notify,
    /// Wakes the writer to give up at once.
    kill: Notify,
    capacity: usize,
}

#[derive(Debug, Default)]
struct State {
    frames: VecDeque<Bytes>,
    closed: bool,
    killed: bool,
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
            ready: Notify::new(),
            kill: Notify::new(),
            capacity: capacity.max(1),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn push(&self, frame: Bytes) -> Pushed {
        let mut state = self.state.lock().expect("not poisoned");
        if state.closed {
            return Pushed::Closed;
        }
        if state.frames.len() >= self.capacity {
            return Pushed::Full;
        }
        state.frames.push_back(frame);
        drop(state);
        self.ready.notify_one();
        Pushed::Queued
    }

    /// No more frames will come; what is queued is still written.
    pub fn close(&self) {
        self.state.lock().expect("not poisoned").closed = true;
        self.ready.notify_one();
    }

    /// Drop everything: the writer stops at once.
    pub fn kill(&self) {
        let mut state = self.state.lock().expect("not poisoned");
        state.closed = true;
        state.killed = true;
        state.frames = VecDeque::new();
        drop(state);
        self.ready.notify_one();
        self.kill.notify_one();
    }

    /// Waits for frames and moves up to `max` of them into `into`.
    pub async fn next_batch(&self, into: &mut Vec<Bytes>, max: usize) -> Batch {
        loop {
            {
                let mut state = self.state.lock().expect("not poisoned");
                if state.killed {
                    return Batch::Killed;
                }
                if !state.frames.is_empty() {
                    let n = state.frames.len().min(max);
                    into.extend(state.frames.drain(..n));
                    if state.frames.is_empty() && state.frames.capacity() > 0 {
                        state.frames = VecDeque::new();
                    }
                    return Batch::Frames;
                }
                if state.closed {
                    return Batch::Closed;
                }
            }
            self.ready.notified().await;
        }
    }

    /// Resolves once the outbox is killed.
    pub async fn killed(&self) {
        loop {
            if self.state.lock().expect("not poisoned").killed {
                return;
            }
            self.kill.notified().await;
        }
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

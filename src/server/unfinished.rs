//! Frames that have begun to arrive but not ended: the rest of each must come within a deadline, and
//! what they hold beyond a small allowance per session comes out of one budget for the whole server.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// What a session may hold of unfinished frames without drawing on the budget: most frames are
/// short, and their sessions never touch the shared count.
pub const FREE_FRAME_BYTES: usize = 64 * 1024;

/// The server-wide bounds on unfinished frames, shared by every session.
#[derive(Debug)]
pub struct FrameBudget {
    bytes: Arc<Semaphore>,
    /// How long the rest of a frame may take once it has begun to arrive.
    pub timeout: Duration,
}

impl FrameBudget {
    /// `bytes` shared by all unfinished frames beyond each session's `FREE_FRAME_BYTES`.
    pub fn new(bytes: usize, timeout: Duration) -> FrameBudget {
        FrameBudget {
            bytes: Arc::new(Semaphore::new(bytes.min(Semaphore::MAX_PERMITS))),
            timeout,
        }
    }

    /// Without bounds: for the operator's console.
    pub fn unbounded() -> FrameBudget {
        FrameBudget::new(Semaphore::MAX_PERMITS, Duration::from_secs(365 * 24 * 3600))
    }
}

type Acquiring = Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send>>;

/// What a reader holds while a frame is unfinished; boxed, and only then, so idle sessions pay
/// nothing for it.
#[derive(Default)]
pub struct Unfinished {
    /// Kept between frames, and reset, so a stream of frames does not make a timer for each.
    deadline: Option<Pin<Box<Sleep>>>,
    /// The deadline counts for the frame now awaited.
    armed: bool,
    held: Option<OwnedSemaphorePermit>,
    acquiring: Option<Acquiring>,
}

impl Unfinished {
    /// Ready once the reader may grow its buffer to `capacity` bytes: it holds budget for all of it
    /// beyond the free allowance. Waits (not reading) while the budget is spent by others.
    pub fn poll_room(&mut self, budget: &FrameBudget, capacity: usize, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let held = self.held.as_ref().map_or(0, OwnedSemaphorePermit::num_permits);
            let needed = capacity.saturating_sub(FREE_FRAME_BYTES).saturating_sub(held);
            if needed == 0 {
                return Poll::Ready(Ok(()));
            }
            let acquiring = self.acquiring.get_or_insert_with(|| {
                let count = u32::try_from(needed).unwrap_or(u32::MAX);
                Box::pin(budget.bytes.clone().acquire_many_owned(count))
            });
            let permit = ready!(acquiring.as_mut().poll(cx));
            self.acquiring = None;
            let permit = permit.map_err(|_| io::Error::other("the server is shutting down"))?;
            match &mut self.held {
                Some(held) => held.merge(permit),
                None => self.held = Some(permit),
            }
        }
    }

    /// Ready with an error once the unfinished frame has taken longer than the budget's timeout since
    /// this wait for it began.
    pub fn poll_deadline(&mut self, budget: &FrameBudget, cx: &mut Context<'_>) -> Poll<io::Error> {
        let until = Instant::now() + budget.timeout;
        let deadline = self
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(until)));
        if !self.armed {
            deadline.as_mut().reset(until);
            self.armed = true;
        }
        ready!(deadline.as_mut().poll(cx));
        let secs = budget.timeout.as_secs_f64();
        Poll::Ready(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the rest of a message did not arrive within {secs} s"),
        ))
    }

    /// A frame ended: the next wait for one has a deadline of its own.
    pub fn frame_ended(&mut self) {
        self.armed = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll_room(unfinished: &mut Unfinished, budget: &FrameBudget, capacity: usize) -> Poll<io::Result<()>> {
        unfinished.poll_room(budget, capacity, &mut Context::from_waker(std::task::Waker::noop()))
    }

    #[tokio::test]
    async fn frames_beyond_the_allowance_share_one_budget() {
        let budget = FrameBudget::new(100_000, Duration::from_secs(1));
        let (mut a, mut b) = (Unfinished::default(), Unfinished::default());
        assert!(poll_room(&mut a, &budget, FREE_FRAME_BYTES).is_ready(), "free");
        assert!(poll_room(&mut a, &budget, FREE_FRAME_BYTES + 60_000).is_ready());
        assert!(
            poll_room(&mut b, &budget, FREE_FRAME_BYTES + 60_000).is_pending(),
            "40,000 left"
        );
        assert!(
            poll_room(&mut b, &budget, FREE_FRAME_BYTES + 40_000).is_pending(),
            "its first ask waits"
        );
        drop(a);
        assert!(
            poll_room(&mut b, &budget, FREE_FRAME_BYTES + 60_000).is_ready(),
            "a's bytes came back"
        );
        assert!(poll_room(&mut b, &budget, FREE_FRAME_BYTES + 100_000).is_ready());
        assert!(poll_room(&mut b, &budget, FREE_FRAME_BYTES + 100_001).is_pending());
    }

    #[tokio::test(start_paused = true)]
    async fn the_rest_of_a_frame_has_a_deadline() {
        let budget = FrameBudget::new(0, Duration::from_secs(30));
        let mut unfinished = Unfinished::default();
        let error = std::future::poll_fn(|cx| unfinished.poll_deadline(&budget, cx)).await;
        assert_eq!(error.to_string(), "the rest of a message did not arrive within 30 s");
    }
}

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

use super::metrics::{DropReason, METRICS};

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
    /// Ready once the reader holds `bytes` of the budget: all that its largest frame can need beyond
    /// the allowance, taken at once, so that two readers never each hold part of what both wait for.
    /// While others hold the budget it waits, and its deadline does not run: the wait is the server's.
    pub fn poll_budget(&mut self, budget: &FrameBudget, bytes: usize, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.held.is_some() {
            return Poll::Ready(Ok(()));
        }
        let acquiring = self.acquiring.get_or_insert_with(|| {
            let count = u32::try_from(bytes).unwrap_or(u32::MAX);
            Box::pin(budget.bytes.clone().acquire_many_owned(count))
        });
        let permit = ready!(acquiring.as_mut().poll(cx));
        self.acquiring = None;
        self.held = Some(permit.map_err(|_| io::Error::other("the server is shutting down"))?);
        Poll::Ready(Ok(()))
    }

    /// Whether this reader holds part of the server-wide budget.
    pub fn holds_budget(&self) -> bool {
        self.held.is_some()
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
        METRICS.dropped(DropReason::FrameTimeout);
        let secs = budget.timeout.as_secs_f64();
        Poll::Ready(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("a message took longer than {secs} s to arrive"),
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

    fn poll_budget(unfinished: &mut Unfinished, budget: &FrameBudget, bytes: usize) -> Poll<io::Result<()>> {
        unfinished.poll_budget(budget, bytes, &mut Context::from_waker(std::task::Waker::noop()))
    }

    #[tokio::test]
    async fn large_frames_share_one_budget_each_taking_its_whole_share_at_once() {
        let budget = FrameBudget::new(100_000, Duration::from_secs(1));
        let (mut a, mut b) = (Unfinished::default(), Unfinished::default());
        assert!(poll_budget(&mut a, &budget, 60_000).is_ready());
        assert!(a.holds_budget());
        assert!(poll_budget(&mut a, &budget, 60_000).is_ready(), "already held");
        assert!(poll_budget(&mut b, &budget, 60_000).is_pending(), "40,000 left");
        assert!(!b.holds_budget(), "no part of it is held while waiting");
        drop(a);
        assert!(poll_budget(&mut b, &budget, 60_000).is_ready(), "a's share came back");
    }

    #[tokio::test(start_paused = true)]
    async fn the_rest_of_a_frame_has_a_deadline() {
        let budget = FrameBudget::new(0, Duration::from_secs(30));
        let mut unfinished = Unfinished::default();
        let error = std::future::poll_fn(|cx| unfinished.poll_deadline(&budget, cx)).await;
        assert_eq!(error.to_string(), "a message took longer than 30 s to arrive");
    }
}

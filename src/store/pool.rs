//! A few threads serving one bounded queue of jobs, each thread with state of its own (a read
//! connection, say). A full queue refuses a job at once rather than making its caller wait.

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;

use super::StoreError;

/// A job for a thread owning an `S`.
pub type Job<S> = Box<dyn FnOnce(&mut S) + Send>;

/// The sending end; the threads end when it is dropped and the queue is drained.
pub struct Pool<S> {
    jobs: SyncSender<Job<S>>,
}

impl<S: 'static> Pool<S> {
    /// Start one thread per state, named `name`, serving a queue of at most `queue` waiting jobs.
    pub fn start(name: &str, states: Vec<S>, queue: usize) -> std::io::Result<Pool<S>>
    where
        S: Send,
    {
        let (jobs, waiting) = mpsc::sync_channel::<Job<S>>(queue);
        let waiting = Arc::new(Mutex::new(waiting));
        for mut state in states {
            let waiting = Arc::clone(&waiting);
            thread::Builder::new()
                .name(name.to_owned())
                .spawn(move || serve(&waiting, &mut state))?;
        }
        Ok(Pool { jobs })
    }

    /// Queue a job, or refuse it when the queue is full or the threads are gone.
    pub fn submit(&self, job: Job<S>) -> Result<(), StoreError> {
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => StoreError::Overloaded,
            TrySendError::Disconnected(_) => StoreError::Closed,
        })
    }
}

fn serve<S>(waiting: &Mutex<Receiver<Job<S>>>, state: &mut S) {
    loop {
        // Only the wait for the next job holds the lock; the job runs without it.
        let job = match waiting.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(state),
            Err(_) => return,
        }
    }
}

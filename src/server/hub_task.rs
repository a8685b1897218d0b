//! The actor that owns the `Hub`: it feeds it inputs, stamps the time, and has its effects carried
//! out: through the commit pipeline, then by the fan-out, which never waits on a session.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::commit::{Batch, Commits};
use super::fanout::{Fanout, Link};
use super::outbox::Outbox;
use super::store_requests::StoreRequests;
use crate::clock;
use crate::hub::{Arrival, Hub, Input, Refusal};
use crate::names::ConnId;

/// How many messages may wait for the hub before senders have to wait.
pub const HUB_INBOX_CAPACITY: usize = 4096;

/// What sessions tell the hub task.
pub enum HubMessage {
    /// A session is ready for events; `link` is how to reach it.
    Connect { arrival: Arrival, link: Link },
    /// Like `Connect`, for a client that chooses another nick itself if its own is refused: it is
    /// told whether it was let in, and a refused one is not connected.
    Choosing {
        arrival: Arrival,
        link: Link,
        answer: oneshot::Sender<Result<(), Refusal>>,
    },
    /// A session's requests, what it read together (at most `pacing::INPUT_BATCH` of them); it reads no more
    /// until told, through its outbox, that they were handled.
    Requests {
        conn: ConnId,
        outbox: Arc<Outbox>,
        inputs: Vec<Input>,
    },
    /// Time to ping the silent and drop the dead.
    Tick,
    /// Inputs in order, from the server or a session that is ending.
    Inputs(Vec<Input>),
}

/// The hub and what carries out its effects: the commit pipeline, the fan-out, the store's answers.
pub struct HubTask {
    pub hub: Hub,
    pub fanout: Fanout,
    pub commits: Commits,
    pub store_requests: StoreRequests,
}

/// Runs until told to shut down, or until every session and the server are gone.
pub async fn run(mut task: HubTask, mut inbox: mpsc::Receiver<HubMessage>) {
    loop {
        // Committed messages first: their senders wait for the acks, their readers for the messages.
        let woken = tokio::select! {
            biased;
            () = task.commits.settle() => Woken::Settled,
            input = task.store_requests.next() => Woken::Answered(input),
            message = inbox.recv() => Woken::Told(message),
        };
        let shutdown = match woken {
            Woken::Settled => false,
            Woken::Answered(input) => {
                let conn = match &input {
                    Input::Answer { conn, .. } => Some(*conn),
                    _ => None,
                };
                task.handle(vec![input], conn, None);
                false
            }
            Woken::Told(Some(message)) => task.receive(message),
            Woken::Told(None) => true,
        };
        task.deliver_ready();
        if shutdown {
            break;
        }
    }
    // What was decided before the end is still delivered (the goodbyes among it).
    while task.commits.in_flight() {
        task.commits.settle().await;
        task.deliver_ready();
    }
}

enum Woken {
    Settled,
    Answered(Input),
    Told(Option<HubMessage>),
}

impl HubTask {
    /// Hands a message's inputs to the hub; whether it was the last.
    fn receive(&mut self, message: HubMessage) -> bool {
        let now = Instant::now();
        match message {
            HubMessage::Connect { arrival, link } => {
                self.fanout.connect(arrival.conn, link, now);
                self.handle(vec![Input::Connect(arrival)], None, None);
            }
            HubMessage::Choosing { arrival, link, answer } => {
                // The hub task alone changes who holds which nick, so nothing can take it between.
                if let Some(refusal) = self.hub.arrival_refusal(&arrival) {
                    let _ = answer.send(Err(refusal));
                    return false;
                }
                let _ = answer.send(Ok(()));
                self.fanout.connect(arrival.conn, link, now);
                self.handle(vec![Input::Connect(arrival)], None, None);
            }
            HubMessage::Requests { conn, outbox, inputs } => {
                self.fanout.heard(conn, now);
                self.handle(inputs, Some(conn), Some(outbox));
            }
            HubMessage::Tick => {
                let dead = self.fanout.sweep(now);
                self.handle(dead, None, None);
            }
            HubMessage::Inputs(inputs) => {
                let shutdown = inputs.contains(&Input::Shutdown);
                self.handle(inputs, None, None);
                return shutdown;
            }
        }
        false
    }

    /// The hub decides now; what it decided waits in the commit pipeline behind what came before.
    fn handle(&mut self, inputs: Vec<Input>, requester: Option<ConnId>, release: Option<Arc<Outbox>>) {
        let mut effects = Vec::new();
        for input in inputs {
            effects.extend(self.hub.handle(input, clock::now()));
        }
        self.commits.push(Batch {
            effects,
            requester,
            release,
        });
    }

    /// Delivers every batch whose messages are settled, in order, then publishes them together.
    fn deliver_ready(&mut self) {
        while let Some(batch) = self.commits.ready() {
            let Batch {
                effects,
                requester,
                release,
            } = batch;
            let dropped = self.fanout.apply(effects, requester);
            let asks = self.fanout.take_asks();
            self.store_requests.start(asks, requester.zip(release));
            if !dropped.is_empty() {
                self.handle(dropped, None, None);
            }
        }
        // Published once for everything settled: writers wake to all of it together.
        self.fanout.publish();
    }
}

/// Tells the hub task every `interval` to look for silent sessions, until the hub task is gone.
pub async fn tick(hub: mpsc::Sender<HubMessage>, interval: std::time::Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if hub.send(HubMessage::Tick).await.is_err() {
            return;
        }
    }
}

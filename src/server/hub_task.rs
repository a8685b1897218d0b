//! The actor that owns the `Hub`: it feeds it inputs, stamps the time, and has the fan-out carry out
//! its effects, which never waits on a session.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::fanout::{Fanout, Link};
use super::outbox::Outbox;
use crate::clock;
use crate::hub::{Arrival, Hub, Input};
use crate::names::ConnId;

/// How many messages may wait for the hub before senders have to wait.
pub const HUB_INBOX_CAPACITY: usize = 4096;

/// What sessions tell the hub task.
pub enum HubMessage {
    /// A session is ready for events; `link` is how to reach it.
    Connect { arrival: Arrival, link: Link },
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

/// Runs until told to shut down, or until every session and the server are gone.
pub async fn run(mut hub: Hub, mut inbox: mpsc::Receiver<HubMessage>, mut fanout: Fanout) {
    while let Some(message) = inbox.recv().await {
        let now = Instant::now();
        let (inputs, requester) = match message {
            HubMessage::Connect { arrival, link } => {
                fanout.connect(arrival.conn, link, now);
                (vec![Input::Connect(arrival)], None)
            }
            HubMessage::Requests { conn, outbox, inputs } => {
                fanout.heard(conn, now);
                (inputs, Some((conn, outbox)))
            }
            HubMessage::Tick => (fanout.sweep(now), None),
            HubMessage::Inputs(inputs) => (inputs, None),
        };
        let shutdown = inputs.contains(&Input::Shutdown);
        let mut pending = VecDeque::from(inputs);
        while let Some(input) = pending.pop_front() {
            let effects = hub.handle(input, clock::now());
            pending.extend(fanout.apply(effects, requester.as_ref().map(|(conn, _)| *conn)));
        }
        // Published once for everything a message brought: writers wake to all of it together.
        fanout.publish();
        if let Some((_, outbox)) = requester {
            outbox.input_taken();
        }
        if shutdown {
            break;
        }
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

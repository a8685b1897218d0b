//! The actor that owns the `Hub`: it feeds it inputs, stamps the time, and has the fan-out carry out
//! its effects, which never waits on a session.

use std::collections::VecDeque;

use tokio::sync::mpsc;

use super::fanout::{Fanout, Link};
use crate::clock;
use crate::hub::{Arrival, Hub, Input};

/// How many messages may wait for the hub before senders have to wait.
pub const HUB_INBOX_CAPACITY: usize = 4096;

/// What sessions tell the hub task.
pub enum HubMessage {
    /// A session is ready for events; `link` is how to reach it.
    Connect { arrival: Arrival, link: Link },
    /// Inputs in order; a session hands over what it read together in one message (at most
    /// `INPUT_BATCH` of them).
    Inputs(Vec<Input>),
}

/// Runs until told to shut down, or until every session and the server are gone.
pub async fn run(mut hub: Hub, mut inbox: mpsc::Receiver<HubMessage>, mut fanout: Fanout) {
    while let Some(message) = inbox.recv().await {
        let inputs = match message {
            HubMessage::Connect { arrival, link } => {
                fanout.connect(arrival.conn, link);
                vec![Input::Connect(arrival)]
            }
            HubMessage::Inputs(inputs) => inputs,
        };
        let shutdown = inputs.contains(&Input::Shutdown);
        let mut pending = VecDeque::from(inputs);
        while let Some(input) = pending.pop_front() {
            let effects = hub.handle(input, clock::now());
            pending.extend(fanout.apply(effects));
        }
        // Published once for everything a message brought: writers wake to all of it together.
        fanout.publish();
        if shutdown {
            break;
        }
    }
}

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
    Connect {
        arrival: Arrival,
        link: Link,
    },
    Input(Input),
}

/// Runs until told to shut down, or until every session and the server are gone.
pub async fn run(mut hub: Hub, mut inbox: mpsc::Receiver<HubMessage>, mut fanout: Fanout) {
    while let Some(message) = inbox.recv().await {
        let input = match message {
            HubMessage::Connect { arrival, link } => {
                fanout.connect(arrival.conn, link);
                Input::Connect(arrival)
            }
            HubMessage::Input(input) => input,
        };
        let shutdown = input == Input::Shutdown;
        let mut pending = VecDeque::from([input]);
        while let Some(input) = pending.pop_front() {
            let effects = hub.handle(input, clock::now());
            pending.extend(fanout.apply(effects));
        }
        if shutdown {
            break;
        }
    }
}

//! The actor that owns the `Hub`: it feeds it inputs, stamps the time, and carries out its effects by
//! queueing encoded bytes to each session without ever waiting on one.

use std::collections::VecDeque;

use std::sync::Arc;

use tokio::sync::mpsc;
use tracing::warn;

use super::outbox::{Outbox, Pushed};

use crate::clock;
use crate::hub::{Addressee, Arrival, Effect, Hub, Input};
use crate::names::{ConnId, ConnMap};
use crate::protocol::Event;
use crate::transport::{Encoded, WireMode};

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

/// The hub task's end of one session.
pub struct Link {
    /// Encoded frames waiting to be written; bounded, so a client that does not read fills it.
    pub outbox: Arc<Outbox>,
    pub mode: WireMode,
}

/// Runs until told to shut down, or until every session and the server are gone.
pub async fn run(mut hub: Hub, mut inbox: mpsc::Receiver<HubMessage>) {
    let mut links = Links::default();
    while let Some(message) = inbox.recv().await {
        let input = match message {
            HubMessage::Connect { arrival, link } => {
                links.0.insert(arrival.conn, link);
                Input::Connect(arrival)
            }
            HubMessage::Input(input) => input,
        };
        let shutdown = input == Input::Shutdown;
        let mut pending = VecDeque::from([input]);
        while let Some(input) = pending.pop_front() {
            let effects = hub.handle(input, clock::now());
            pending.extend(links.apply(effects));
        }
        if shutdown {
            break;
        }
    }
}

#[derive(Default)]
struct Links(ConnMap<Link>);

impl Links {
    /// Carries out `effects`; returns the disconnections of sessions that could not keep up.
    fn apply(&mut self, effects: Vec<Effect>) -> Vec<Input> {
        let mut dropped = Vec::new();
        for effect in effects {
            match effect {
                Effect::Deliver { event, to } => self.deliver(&event, &to, &mut dropped),
                Effect::Close { conn } => {
                    if let Some(link) = self.0.remove(&conn) {
                        link.outbox.close();
                    }
                }
            }
        }
        dropped
    }

    fn deliver(&mut self, event: &Event, to: &[Addressee], dropped: &mut Vec<Input>) {
        let mut encoded = Encoded::new(event);
        for addressee in to {
            let Some(link) = self.0.get(&addressee.conn) else {
                continue;
            };
            let bytes = encoded.bytes(link.mode, addressee.focus);
            if bytes.is_empty() {
                continue;
            }
            if link.outbox.push(bytes) == Pushed::Full {
                dropped.push(self.drop_slow(addressee.conn));
            }
        }
    }

    fn drop_slow(&mut self, conn: ConnId) -> Input {
        let queued = self.0.remove(&conn).map(|link| {
            link.outbox.kill();
            link.outbox.capacity()
        });
        let reason = format!("too slow: {} events were waiting unread", queued.unwrap_or_default());
        warn!(%conn, "{reason}; disconnecting");
        Input::Disconnect { conn, reason }
    }
}

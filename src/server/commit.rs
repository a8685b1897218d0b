//! The commit pipeline: the hub's effects wait, in the hub's order, until the messages among them
//! are committed; then they are delivered with the ids the store gave. If the store fails, they go
//! without those messages, and each sender is told with an error in place of its ack. So nothing is
//! acknowledged that is not stored, and nobody is sent a message a restart would lose.
//!
//! Messages handled while appends are in flight are gathered into the next one, so however many
//! sessions send at once, the store sees a few large appends (and commits them together).

use std::collections::VecDeque;
use std::future::pending;
use std::sync::{Arc, OnceLock};

use super::metrics::METRICS;
use super::outbox::Outbox;
use crate::hub::{Effect, refusal_of};
use crate::names::ConnId;
use crate::protocol::{ErrorCode, Event, MessageId};
use crate::store::{NewMessage, Store, StoreError, Ticket};

/// How many appends may be in flight at once: one committing, one queued behind it, so the writer
/// starts the next transaction as soon as one commits.
pub const APPENDS_IN_FLIGHT: usize = 2;

/// What one message to the hub task brought: its effects, in order.
pub struct Batch {
    pub effects: Vec<Effect>,
    /// The session whose requests these effects answer.
    pub requester: Option<ConnId>,
    /// The outbox to tell, once the batch is delivered, that its session may read on.
    pub release: Option<Arc<Outbox>>,
}

/// The fate of an append: each provisional id with the id the store gave it, or the error.
type Outcome = Result<Vec<(MessageId, MessageId)>, StoreError>;

/// An append being gathered or in flight; batches that wait for it share its outcome.
#[derive(Default)]
struct Append {
    provisional: Vec<MessageId>,
    messages: Vec<NewMessage>,
    outcome: Arc<OnceLock<Outcome>>,
    /// When it went to the store, for the commit latency metric.
    submitted: Option<std::time::Instant>,
}

/// A batch waiting for its messages' append.
struct Waiting {
    batch: Batch,
    /// Its messages: the provisional id and who sent each.
    messages: Vec<(MessageId, ConnId)>,
    outcome: Option<Arc<OnceLock<Outcome>>>,
}

pub struct Commits {
    store: Arc<dyn Store>,
    waiting: VecDeque<Waiting>,
    in_flight: VecDeque<(Append, Ticket<Vec<MessageId>>)>,
    gathering: Option<Append>,
}

impl Commits {
    pub fn new(store: Arc<dyn Store>) -> Commits {
        Commits {
            store,
            waiting: VecDeque::new(),
            in_flight: VecDeque::new(),
            gathering: None,
        }
    }

    /// Queues a batch behind those before it; its messages go to the store now or with the next append.
    pub fn push(&mut self, mut batch: Batch) {
        let mut messages = Vec::new();
        let mut stored = Vec::new();
        let mut effects = Vec::with_capacity(batch.effects.len());
        for effect in std::mem::take(&mut batch.effects) {
            match effect {
                Effect::Persist {
                    provisional,
                    sender,
                    message,
                } => {
                    messages.push((provisional, sender));
                    stored.push((provisional, message));
                }
                other => effects.push(other),
            }
        }
        batch.effects = effects;
        let outcome = (!stored.is_empty()).then(|| self.gather(stored));
        self.waiting.push_back(Waiting {
            batch,
            messages,
            outcome,
        });
    }

    fn gather(&mut self, stored: Vec<(MessageId, NewMessage)>) -> Arc<OnceLock<Outcome>> {
        let append = self.gathering.get_or_insert_with(Append::default);
        for (provisional, message) in stored {
            append.provisional.push(provisional);
            append.messages.push(message);
        }
        let outcome = append.outcome.clone();
        if self.in_flight.len() < APPENDS_IN_FLIGHT {
            self.submit();
        }
        outcome
    }

    fn submit(&mut self) {
        if let Some(mut append) = self.gathering.take() {
            append.submitted = Some(std::time::Instant::now());
            let ticket = self.store.append(std::mem::take(&mut append.messages));
            self.in_flight.push_back((append, ticket));
        }
    }

    /// Waits for the oldest append in flight to settle (forever, when none is). Cancel-safe: nothing
    /// changes until the store has answered.
    pub async fn settle(&mut self) {
        let Some((_, ticket)) = self.in_flight.front_mut() else {
            return pending().await;
        };
        let result = ticket.await;
        let Some((append, _)) = self.in_flight.pop_front() else {
            return;
        };
        if let (Ok(_), Some(submitted)) = (&result, append.submitted) {
            METRICS.committed(append.provisional.len(), submitted.elapsed());
        }
        let outcome = result.map(|ids| append.provisional.iter().copied().zip(ids).collect());
        let _ = append.outcome.set(outcome);
        self.submit();
    }

    /// Whether an append is in flight.
    pub fn in_flight(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// The oldest batch, once its messages are settled, with the store's ids in its effects (or the
    /// store's error in place of its messages).
    pub fn ready(&mut self) -> Option<Batch> {
        let front = self.waiting.front()?;
        if front.outcome.as_ref().is_some_and(|o| o.get().is_none()) {
            return None;
        }
        let Waiting {
            mut batch,
            messages,
            outcome,
        } = self.waiting.pop_front()?;
        match outcome.as_ref().and_then(|o| o.get()) {
            None => {}
            Some(Ok(ids)) => with_ids(&mut batch.effects, ids),
            Some(Err(error)) => refused(&mut batch.effects, &messages, error),
        }
        Some(batch)
    }
}

/// Puts the store's ids in place of the provisional ones.
fn with_ids(effects: &mut [Effect], ids: &[(MessageId, MessageId)]) {
    let real = |provisional: MessageId| {
        ids.binary_search_by_key(&provisional, |(p, _)| *p)
            .map_or(provisional, |at| ids[at].1)
    };
    for effect in effects {
        match effect {
            Effect::Broadcast { event, .. } | Effect::Deliver { event, .. } => match event {
                Event::Message(message) | Event::Echo(message) => message.id = real(message.id),
                Event::Ack { message: Some(id), .. } => *id = real(*id),
                _ => {}
            },
            _ => {}
        }
    }
}

/// Takes out the failed messages and turns their acks into errors; a sender who asked for no ack
/// is told too.
fn refused(effects: &mut Vec<Effect>, messages: &[(MessageId, ConnId)], error: &StoreError) {
    let failed = |id: &MessageId| messages.iter().any(|(p, _)| p == id);
    let (_, why) = refusal_of(error);
    let why = format!("not sent: {why}");
    let mut acked = Vec::new();
    effects.retain_mut(|effect| match effect {
        Effect::Broadcast { event, .. } | Effect::Deliver { event, .. } => match event {
            Event::Message(message) | Event::Echo(message) => !failed(&message.id),
            Event::Ack {
                id,
                message: Some(message),
                ..
            } if failed(message) => {
                acked.push(*message);
                *event = Event::Error {
                    id: Some(id.clone()),
                    code: ErrorCode::Unavailable,
                    message: why.clone(),
                };
                true
            }
            _ => true,
        },
        _ => true,
    });
    for (provisional, sender) in messages {
        if !acked.contains(provisional) {
            effects.push(Effect::Deliver {
                event: Event::Error {
                    id: None,
                    code: ErrorCode::Unavailable,
                    message: why.clone(),
                },
                to: vec![crate::hub::Addressee {
                    conn: *sender,
                    focus: crate::hub::Focus::Elsewhere,
                }],
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::{Addressee, Focus};
    use crate::names::{Nick, RoomName};
    use crate::protocol::{Message, RequestId};

    fn message(id: u64) -> Event {
        Event::Message(Message {
            id: MessageId(id),
            ts: 1,
            from: Nick::parse("ann").unwrap(),
            account: None,
            room: Some(RoomName::lobby()),
            to: None,
            text: "hi".to_owned(),
            action: false,
        })
    }

    fn ack(request: u64, message: u64) -> Event {
        Event::Ack {
            id: RequestId::Number(request),
            message: Some(MessageId(message)),
            ts: Some(1),
        }
    }

    fn to(conn: u64, event: Event) -> Effect {
        Effect::Deliver {
            event,
            to: vec![Addressee {
                conn: ConnId(conn),
                focus: Focus::Elsewhere,
            }],
        }
    }

    fn broadcast(event: Event) -> Effect {
        Effect::Broadcast {
            room: RoomName::lobby(),
            event,
            except: Some(ConnId(1)),
        }
    }

    fn events(effects: &[Effect]) -> Vec<String> {
        effects
            .iter()
            .map(|effect| match effect {
                Effect::Broadcast { event, .. } => format!("room {}", serde_json::to_string(event).unwrap()),
                Effect::Deliver { event, to } => format!("{} {}", to[0].conn, serde_json::to_string(event).unwrap()),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn committed_messages_take_the_stores_ids() {
        let mut effects = vec![broadcast(message(1)), to(1, ack(7, 1)), broadcast(message(2))];
        with_ids(
            &mut effects,
            &[(MessageId(1), MessageId(501)), (MessageId(2), MessageId(502))],
        );
        assert_eq!(
            events(&effects),
            [
                r#"room {"type":"message","id":501,"ts":1,"from":"ann","room":"lobby","text":"hi"}"#,
                r#"#1 {"type":"ack","id":7,"message":501,"ts":1}"#,
                r#"room {"type":"message","id":502,"ts":1,"from":"ann","room":"lobby","text":"hi"}"#,
            ]
        );
    }

    #[test]
    fn failed_messages_go_to_nobody_and_their_senders_are_told() {
        let mut effects = vec![
            broadcast(message(1)),
            to(1, ack(7, 1)),
            broadcast(message(2)),
            to(3, Event::Pong),
        ];
        let messages = [(MessageId(1), ConnId(1)), (MessageId(2), ConnId(2))];
        refused(&mut effects, &messages, &StoreError::Full);
        let why = "not sent: the database is full, so nothing new can be stored";
        assert_eq!(
            events(&effects),
            [
                format!(r#"#1 {{"type":"error","id":7,"code":"unavailable","message":"{why}"}}"#),
                r#"#3 {"type":"pong"}"#.to_owned(),
                format!(r#"#2 {{"type":"error","id":null,"code":"unavailable","message":"{why}"}}"#),
            ]
        );
    }
}

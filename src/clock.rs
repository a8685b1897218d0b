//! The wall clock, read at the edges (the hub task, the client's event loop) and passed into the pure
//! core as `Millis`.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::protocol::Millis;

/// Milliseconds since the Unix epoch now.
pub fn now() -> Millis {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    since_epoch.as_millis().try_into().unwrap_or(Millis::MAX)
}

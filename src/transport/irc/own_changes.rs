//! What a client's own lines change in how it is served once registered: capabilities it asks for
//! or drops (`CAP REQ`) and its user modes (`MODE nick +i`). The fan-out applies them when their
//! answer is delivered, so they take effect at their place in the session's order.

use super::asked;
use super::caps::{self, Caps};
use super::user_modes::{self, UserModes};
use crate::names::Nick;
use crate::protocol::{Event, RequestId};

/// How `me`'s capabilities and user modes stand after `event` is delivered to it; `None` if it
/// changes neither.
pub fn after(caps: Caps, modes: UserModes, event: &Event, me: &Nick) -> Option<(Caps, UserModes)> {
    let Event::Ack { id, .. } = event else {
        return None;
    };
    // Most acks answer a PRIVMSG: look at the id's reply tag before reading the whole line.
    let RequestId::Text(text) = id else {
        return None;
    };
    if !["@reply=CAP ", "@reply=CAP;", "@reply=USER-MODE ", "@reply=USER-MODE;"]
        .iter()
        .any(|prefix| text.starts_with(prefix))
    {
        return None;
    }
    let asked = asked::read(id)?;
    match asked.reply.as_deref()? {
        "CAP" if asked.param(0).eq_ignore_ascii_case("REQ") => Some((caps::requested(caps, asked.param(1))?, modes)),
        "USER-MODE" if !asked.param(1).is_empty() && is_me(asked.param(0), me) => {
            Some((caps, user_modes::apply(modes, asked.param(1)).modes))
        }
        _ => None,
    }
}

/// Whether a MODE's target is the client itself (nicks compare case-insensitively).
pub fn is_me(target: &str, me: &Nick) -> bool {
    Nick::parse(target).is_ok_and(|nick| nick == *me)
}

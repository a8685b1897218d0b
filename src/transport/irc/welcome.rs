//! What a client is told once registered: 001 to 005, with ISUPPORT, and the MOTD (422: there is
//! none).

use super::SERVER_NAME;
use super::message::Message;
use crate::hub::MAX_TOPIC_BYTES;
use crate::names::{MAX_NICK_CHARS, MAX_ROOM_CHARS, Nick};

/// The network's name in ISUPPORT.
pub const NETWORK: &str = "sockchat";

/// The ISUPPORT tokens (005): how this server's names, channels and modes work.
pub fn isupport() -> Vec<String> {
    vec![
        "CASEMAPPING=ascii".to_owned(),
        "CHANTYPES=#".to_owned(),
        format!("NICKLEN={MAX_NICK_CHARS}"),
        // The `#` counts.
        format!("CHANNELLEN={}", MAX_ROOM_CHARS + 1),
        format!("TOPICLEN={MAX_TOPIC_BYTES}"),
        "PREFIX=(o)@".to_owned(),
        "CHANMODES=b,,,n".to_owned(),
        format!("NETWORK={NETWORK}"),
        format!("CHATHISTORY={}", super::chathistory::MAX_MESSAGES),
        "MSGREFTYPES=msgid".to_owned(),
    ]
}

/// 001 to 005 and the MOTD's absence, for `nick` on `server` (its name and version).
pub fn lines(nick: &Nick, server: &str, out: &mut Vec<Message>) {
    let me = nick.as_str();
    let version = server.replace(' ', "-");
    let numeric = |number: &str, params: &[&str]| {
        let mut all = vec![me];
        all.extend_from_slice(params);
        Message {
            source: Some(SERVER_NAME.to_owned()),
            ..Message::new(number, &all)
        }
    };
    out.push(numeric(
        "001",
        &[&format!("Welcome to the {NETWORK} IRC network, {me}")],
    ));
    out.push(numeric(
        "002",
        &[&format!("Your host is {SERVER_NAME}, running version {version}")],
    ));
    out.push(numeric("003", &["This server's rooms are sockchat's rooms"]));
    out.push(numeric("004", &[SERVER_NAME, &version, "o", "bn", "bo"]));
    let tokens = isupport();
    let mut params: Vec<&str> = tokens.iter().map(String::as_str).collect();
    params.push("are supported by this server");
    out.push(numeric("005", &params));
    out.push(numeric("422", &["MOTD File is missing"]));
}

//! An IRC client's lines, as registration and then as a registered session reads them: never a panic,
//! and every request they make carries an id that the renderer reads back as the line that asked,
//! whose ack and refusal render within IRC's bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockchat::names::Nick;
use sockchat::protocol::{ErrorCode, Event};
use sockchat::transport::irc::asked;
use sockchat::transport::irc::caps::Caps;
use sockchat::transport::irc::commands::{State, requests};
use sockchat::transport::irc::message::Message;
use sockchat::transport::irc::own_changes;
use sockchat::transport::irc::registration::Registration;
use sockchat::transport::irc::render;
use sockchat::transport::irc::user_modes::UserModes;

fuzz_target!(|bytes: &[u8]| {
    let mut registration = Registration::default();
    let mut state = State::default();
    let me = Nick::parse("me").unwrap();
    let mut replies = Vec::new();
    for line in bytes.split(|&b| b == b'\n').take(64) {
        let Ok(message) = Message::parse(line.strip_suffix(b"\r").unwrap_or(line)) else {
            continue;
        };
        let _ = registration.feed(&message, &mut replies);
        replies.clear();
        let mut made = Vec::new();
        requests(&message, &mut state, &mut made);
        for request in made {
            let Some(id) = request.id else { continue };
            assert!(asked::read(&id).is_some(), "{id:?} does not read back");
            for event in [
                Event::Ack {
                    id: id.clone(),
                    message: None,
                    ts: None,
                },
                Event::Error {
                    id: Some(id.clone()),
                    code: ErrorCode::NotInRoom,
                    message: "no".to_owned(),
                },
            ] {
                let _ = render::reply(&event, (Caps::default(), UserModes::default()), &me, None);
                let _ = own_changes::after(Caps::default(), UserModes::default(), &event, &me);
            }
        }
    }
});

//! Account commands pass through to the server, their answers show as notices, and no password typed
//! stays anywhere the user could see it again.

use super::*;
use crate::protocol::ErrorCode;

#[test]
fn account_commands_are_sent_as_typed() {
    let cases = [
        (
            "/register hunter22",
            r#"{"id":3,"type":"register","password":"hunter22"}"#,
        ),
        (
            "/login ann hunter22",
            r#"{"id":3,"type":"login","nick":"ann","password":"hunter22"}"#,
        ),
        (
            "/passwd n3w-secret",
            r#"{"id":3,"type":"passwd","password":"n3w-secret"}"#,
        ),
        (
            "/unregister hunter22",
            r#"{"id":3,"type":"unregister","password":"hunter22"}"#,
        ),
    ];
    for (line, request) in cases {
        let mut app = connected();
        assert_eq!(sent(&typed(&mut app, line)), [request], "{line}");
    }
}

#[test]
fn a_password_is_not_shown_nor_recalled_and_the_answers_are_notices() {
    let mut app = connected();
    typed(&mut app, "hello");
    typed(&mut app, "/login ann hunter22");
    app.update(
        Msg::Server(Event::Error {
            id: Some(RequestId::Number(4)),
            code: ErrorCode::WrongPassword,
            message: "wrong account name or password".into(),
        }),
        NOW,
    );
    typed(&mut app, "/register s3cret-pw");
    app.update(
        Msg::Server(Event::Notice {
            text: "warning: this connection is not encrypted".into(),
        }),
        NOW,
    );
    app.update(
        Msg::Server(Event::Account {
            account: Some(nick("ann")),
            operator: false,
        }),
        NOW,
    );
    app.update(ack(5), NOW);
    let shown = texts(app.active());
    assert_eq!(
        shown[shown.len() - 3..],
        [
            "-- wrong account name or password",
            "-- warning: this connection is not encrypted",
            "-- logged in to ann",
        ]
    );
    for window in &app.windows {
        for text in texts(window) {
            assert!(!text.contains("hunter22") && !text.contains("s3cret"), "{text}");
        }
    }
    app.update(key(KeyCode::Up), NOW);
    assert_eq!(app.editor.text(), "hello", "Up skips the lines that held a password");
}

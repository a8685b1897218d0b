//! `sockchat account`: administering accounts in a database file, as an operator types it.

use crate::support::run;

/// Runs `sockchat account ARGS --db DB` with `input` on stdin: success, stdout, stderr.
fn account(db: &std::path::Path, args: &[&str], input: &str) -> (bool, String, String) {
    let db = db.to_string_lossy();
    let argv: Vec<&str> = ["account"]
        .into_iter()
        .chain(args.iter().copied())
        .chain(["--db", &db])
        .collect();
    let output = run(&argv, input.as_bytes());
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

#[test]
fn accounts_are_administered_offline_and_passwords_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    let steps: &[(&[&str], &str, bool, &str)] = &[
        (&["create", "alice"], "correct horse\n", true, "created account alice\n"),
        (
            &["create", "Alice"],
            "another one\n",
            false,
            "sockchat: an account named Alice already exists\n",
        ),
        (
            &["create", "bob"],
            "short\n",
            false,
            "sockchat: a password needs at least 8 characters\n",
        ),
        (&["create", "bob"], "battery staple", true, "created account bob\n"),
        (&["oper", "alice"], "", true, "alice is an operator\n"),
        (
            &["passwd", "bob"],
            "tr0ub4dor&3\n",
            true,
            "changed the password of bob\n",
        ),
        (&["delete", "carol"], "", false, "sockchat: no account is named carol\n"),
        (&["oper", "bob", "--revoke"], "", true, "bob is no longer an operator\n"),
        (&["delete", "bob"], "", true, "deleted account bob\n"),
    ];
    for (args, input, ok, said) in steps {
        let (success, stdout, stderr) = account(&db, args, input);
        assert_eq!(success, *ok, "{args:?}: {stdout}{stderr}");
        assert_eq!(if *ok { &stdout } else { &stderr }, said, "{args:?}");
    }
    let (success, listing, _) = account(&db, &["list"], "");
    assert!(success);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 1, "{listing}");
    assert!(lines[0].starts_with("alice"), "{listing}");
    assert!(lines[0].contains(" operator "), "{listing}");
    let file = std::fs::read(&db).unwrap();
    let needle = b"correct horse";
    assert!(
        !file.windows(needle.len()).any(|w| w == needle),
        "the password is stored in the clear"
    );
}

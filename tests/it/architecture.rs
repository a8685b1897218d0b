//! Architecture invariants that a grep can check.

use std::fs;
use std::path::Path;

/// The hub and the protocol are pure: no I/O, no runtime, no clock, no database.
#[test]
fn the_core_does_no_io_and_reads_no_clock() {
    let forbidden = [
        "tokio",
        "std::net",
        "std::fs",
        "std::io",
        "rusqlite",
        "SystemTime",
        "Instant",
        "std::thread",
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![root.join("hub.rs"), root.join("protocol.rs"), root.join("names.rs")];
    for entry in fs::read_dir(root.join("hub")).unwrap() {
        files.push(entry.unwrap().path());
    }
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        for word in forbidden {
            assert!(!text.contains(word), "{} mentions {word}", file.display());
        }
    }
}

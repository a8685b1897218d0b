//! `sockchat bench` against the real server: its counts must add up.

use std::process::Stdio;

use serde_json::Value;

use crate::support::{TestServer, binary};

fn bench(server: &TestServer, args: &[&str]) -> Value {
    let output = binary()
        .arg("bench")
        .arg(server.addr.to_string())
        .args(args)
        .args(["--json", "--join-timeout", "20", "--run-timeout", "20"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn structured_counts_add_up() {
    let server = TestServer::start(&[]);
    let pid = server.pid().to_string();
    let report = bench(&server, &["-c", "20", "-s", "4", "-m", "50", "--pid", &pid]);
    // 16 listeners hear 4 senders, and each sender hears the other 3: (16 x 4 + 4 x 3) x 50.
    assert_eq!(report["expected"], 3800);
    assert_eq!(report["counts"]["received"], 3800);
    assert_eq!(
        (report["lost"].clone(), report["counts"]["duplicates"].clone()),
        (0.into(), 0.into())
    );
    assert_eq!(report["counts"]["out_of_order"], 0);
    assert_eq!(report["joined"], 20);
    assert!(
        report["server"]["rss_connected_bytes"].as_u64().unwrap() > 0,
        "{report}"
    );
    assert!(report["latency_ms"]["max"].as_f64().unwrap() >= report["latency_ms"]["p50"].as_f64().unwrap());
}

#[test]
fn idle_clients_stay_out_of_the_count() {
    let server = TestServer::start(&[]);
    let report = bench(
        &server,
        &["-c", "30", "--members", "5", "-s", "2", "-m", "20", "--rate", "400"],
    );
    assert_eq!(report["members"], 5);
    assert_eq!(report["expected"], (3 * 2 + 2) * 20);
    assert_eq!(report["counts"]["received"], report["expected"]);
}

#[test]
fn plain_lines_are_counted_too() {
    let server = TestServer::start(&[]);
    let report = bench(
        &server,
        &[
            "--proto",
            "plain",
            "--plain-ready",
            "welcome to sockchat",
            "-c",
            "10",
            "-s",
            "3",
            "-m",
            "30",
        ],
    );
    assert_eq!(report["expected"], (7 * 3 + 3 * 2) * 30);
    assert_eq!(report["counts"]["received"], report["expected"]);
    assert_eq!(report["counts"]["foreign"], 0);
}

/// What an idle connection may cost the server at most, as a user reading the report would check.
const MOST_BYTES_PER_IDLE_CONNECTION: f64 = 4096.0;

#[test]
fn memory_per_connection_is_never_shown_implausible_without_a_caveat() {
    let server = TestServer::start(&[]);
    let pid = server.pid().to_string();
    for run in 0..2 {
        // Enough idle connections that what the server holds anyway does not count for much.
        let args = ["-c", "2000", "--members", "2", "-s", "1", "-m", "10", "--pid", &pid];
        let report = bench(&server, &args);
        let memory = &report["server"];
        let per_connection = memory["bytes_per_connection"].as_f64().unwrap();
        if memory["memory_caveat"] == "reused" {
            continue;
        }
        assert!(per_connection >= 256.0, "run {run}: {memory}");
        assert!(
            per_connection < MOST_BYTES_PER_IDLE_CONNECTION,
            "run {run}: an idle connection costs {per_connection} bytes: {memory}"
        );
    }
}

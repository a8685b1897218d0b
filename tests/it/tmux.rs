//! A terminal for programs driven as a person would drive them: a pane of a tmux server of its own,
//! typed into with send-keys and read with capture-pane.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::support::{TIMEOUT, outside_program};

/// How often the screen is looked at while waiting for something to appear on it.
const LOOK_EVERY: Duration = Duration::from_millis(50);

/// A pane's size, in columns and rows.
#[derive(Clone, Copy)]
pub struct Size {
    pub columns: u16,
    pub rows: u16,
}

/// A tmux server of its own (`tmux -L NAME`), killed when dropped.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Runs the shell command `command` in a pane of `size`; when it exits, the shell prints
    /// `EXIT=code` on the (then normal) screen. `None` (the test is skipped) where tmux is missing.
    pub fn start(size: Size, command: &str) -> Option<Tmux> {
        if !outside_program("tmux", "tmux") {
            return None;
        }
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let socket = format!(
            "sockchat-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let tmux = Tmux { socket };
        let program = format!("{command}; echo EXIT=$?; read wait");
        tmux.run(&[
            "new-session",
            "-d",
            "-x",
            &size.columns.to_string(),
            "-y",
            &size.rows.to_string(),
            "-s",
            "t",
            "-e",
            "TERM=xterm-256color",
            "sh",
            "-c",
            &program,
        ]);
        Some(tmux)
    }

    /// The program's process id: the shell's child.
    pub fn client_pid(&self) -> String {
        let shell = self.show("#{pane_pid}");
        let output = Command::new("ps")
            .args(["-o", "pid=", "--ppid", &shell])
            .output()
            .expect("ps runs");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    fn run(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "t"])
    }

    pub fn show(&self, format: &str) -> String {
        self.run(&["display-message", "-p", "-t", "t", format])
            .trim()
            .to_owned()
    }

    /// Waits until the screen shows `text`, and returns the screen.
    pub fn wait_for(&self, text: &str) -> String {
        self.wait_until(|screen| screen.contains(text), &format!("{text:?} never appeared"))
    }

    /// Waits until the screen no longer shows `text`, and returns the screen.
    pub fn wait_gone(&self, text: &str) -> String {
        self.wait_until(|screen| !screen.contains(text), &format!("{text:?} never went away"))
    }

    /// Waits until `done` holds for the screen, and returns the screen; panics with `failure` and
    /// the screen after `TIMEOUT`.
    pub fn wait_until(&self, done: impl Fn(&str) -> bool, failure: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(Instant::now() < deadline, "{failure}; the screen:\n{screen}");
            std::thread::sleep(LOOK_EVERY);
        }
    }

    /// Waits until the program has exited; returns its exit code as the shell printed it.
    pub fn wait_exit(&self) -> String {
        let screen = self.wait_for("EXIT=");
        let code = screen
            .split("EXIT=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next());
        code.unwrap_or_default().to_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    pub fn type_line(&self, text: &str) {
        self.keys(&["-l", text]);
        self.keys(&["Enter"]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// `word` quoted for `sh`, so that it stays one word whatever it holds.
pub fn shell_quoted(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

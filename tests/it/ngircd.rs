//! ngIRCd, an IRC server written elsewhere, as the known-good peer that the IRC client harness is
//! proved against: when a test of sockchat's IRC listener fails, this one says whether the harness
//! or the server is to blame.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};

use tempfile::TempDir;

use crate::irc_clients::irssi_and_weechat_converse;
use crate::support::{Lines, outside_program};

/// A running ngIRCd on loopback, killed when dropped.
struct Ngircd {
    child: Child,
    addr: SocketAddr,
    _dir: TempDir,
}

impl Ngircd {
    /// Starts ngIRCd with a configuration of its own on a free port and waits until it listens.
    /// `None` (the test is skipped) where it is missing.
    fn start() -> Option<Ngircd> {
        if !outside_program("ngircd", "ngircd") {
            return None;
        }
        // ngIRCd cannot be told port 0, so it is given one the system has just handed out.
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("ngircd.conf");
        std::fs::write(&config, ngircd_config(port)).unwrap();
        let mut child = Command::new("ngircd")
            .arg("--nodaemon")
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("ngircd starts");
        let mut log = Lines::spawn("ngircd", child.stdout.take().unwrap());
        log.until(|line| line.contains(&format!("Now listening on [127.0.0.1]:{port}")));
        std::thread::spawn(move || log.rest());
        Some(Ngircd {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            _dir: dir,
        })
    }
}

impl Drop for Ngircd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ngircd_config(port: u16) -> String {
    format!(
        "[Global]\n\tName = irc.test.local\n\tInfo = the IRC client harness's peer\n\
         \tListen = 127.0.0.1\n\tPorts = {port}\n\tMotdPhrase = welcome to the peer\n\
         [Limits]\n\tMaxNickLength = 30\n\tMaxPenaltyTime = 0\n\
         [Options]\n\tDNS = no\n\tIdent = no\n\tPAM = no\n"
    )
}

#[test]
fn irssi_and_weechat_talk_through_ngircd() {
    let Some(server) = Ngircd::start() else {
        return;
    };
    irssi_and_weechat_converse(server.addr);
}

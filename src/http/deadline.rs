//! `--max-time` on the socket: every read and write of a connection ends by the transfer's deadline,
//! however the bytes trickle in (a socket timeout alone restarts at every byte received).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

/// A TCP connection whose reads and writes fail with `TimedOut` once the deadline has passed.
pub struct TimedTcp {
    tcp: TcpStream,
    deadline: Option<Instant>,
}

impl TimedTcp {
    pub fn new(tcp: TcpStream, deadline: Option<Instant>) -> TimedTcp {
        TimedTcp { tcp, deadline }
    }

    /// The socket timeout for the next operation: what is left of the transfer's time.
    fn time_left(&self) -> io::Result<Option<std::time::Duration>> {
        let Some(deadline) = self.deadline else {
            return Ok(None);
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "the maximum time has passed"));
        }
        Ok(Some(left))
    }
}

impl Read for TimedTcp {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(left) = self.time_left()? {
            self.tcp.set_read_timeout(Some(left))?;
        }
        self.tcp.read(buf)
    }
}

impl Write for TimedTcp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(left) = self.time_left()? {
            self.tcp.set_write_timeout(Some(left))?;
        }
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_passed_deadline_fails_every_operation_at_once() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let mut timed = TimedTcp::new(tcp, Some(Instant::now() - Duration::from_millis(1)));
        assert_eq!(timed.read(&mut [0u8; 8]).unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert_eq!(timed.write(b"x").unwrap_err().kind(), io::ErrorKind::TimedOut);
    }
}

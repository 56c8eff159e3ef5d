//! The one QMP client every server is driven by.

use super::*;

/// A QMP client that does no more work than it must: commands are prepared
/// bytes, replies are lines read (std's memchr finds the line end) into one
/// reused buffer.
pub(crate) struct Client {
    pub(crate) stream: UnixStream,
    pub(crate) reader: BufReader<UnixStream>,
    pub(crate) line: Vec<u8>,
    /// Asynchronous events skipped while waiting for replies.
    pub(crate) events: usize,
}

impl Client {
    pub(crate) fn connect(path: &Path, server: &mut Child) -> Client {
        let start = Instant::now();
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(e) => {
                    if let Ok(Some(st)) = server.try_wait() {
                        panic!("server exited ({st}) before its QMP socket was ready");
                    }
                    assert!(
                        start.elapsed() < Duration::from_secs(20),
                        "connect {}: {e}",
                        path.display()
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let reader = BufReader::with_capacity(1 << 20, stream.try_clone().unwrap());
        let mut c = Client {
            stream,
            reader,
            line: Vec::with_capacity(1 << 20),
            events: 0,
        };
        let greeting = c.line().to_vec();
        assert!(
            greeting.starts_with(b"{\"QMP\""),
            "greeting {:?}",
            String::from_utf8_lossy(&greeting)
        );
        let r = c.cmd(b"{\"execute\": \"qmp_capabilities\"}", None);
        assert_eq!(r, b"{\"return\": {}}\r\n", "qmp_capabilities");
        c
    }

    /// The next line (with its line end).
    pub(crate) fn line(&mut self) -> &[u8] {
        self.line.clear();
        let n = self
            .reader
            .read_until(b'\n', &mut self.line)
            .expect("read a reply");
        assert!(n > 0, "the server closed the connection");
        &self.line
    }

    /// The reply line to `command` (sent with `fd` in the same message).
    pub(crate) fn cmd(&mut self, command: &[u8], fd: Option<RawFd>) -> &[u8] {
        match fd {
            Some(fd) => send_fds(self.stream.as_raw_fd(), &[fd], command).expect("sendmsg"),
            None => self.stream.write_all(command).expect("send a command"),
        }
        loop {
            let l = self.line();
            if l.starts_with(b"{\"return\"") || l.starts_with(b"{\"error\"") {
                break;
            }
            self.events += 1;
        }
        &self.line
    }
}

/// The number after `"key": ` in a reply.
pub(crate) fn number_after(reply: &[u8], key: &str) -> Option<i64> {
    let pat = format!("\"{key}\": ");
    let i = reply.windows(pat.len()).position(|w| w == pat.as_bytes())?;
    let digits: String = reply[i + pat.len()..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .map(|&b| b as char)
        .collect();
    digits.parse().ok()
}

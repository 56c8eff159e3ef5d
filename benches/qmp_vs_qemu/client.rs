//! The one QMP client every server is driven by.

use super::*;

/// A QMP client that does no more work than it must: commands are prepared
/// bytes, replies are lines read into one reused buffer.
///
/// It waits for a reply with `poll(POLLIN)`, as libvirt's event loop does,
/// and reads only when something is there. A thread asleep in a plain
/// blocking `read` is woken each time the server takes a command off the
/// socket (the kernel frees the command's buffer, charged to this socket,
/// and wakes every sleeper there "for write space"); a `poll` for input
/// only is not, so neither server pays for waking a client that finds
/// nothing to read.
pub(crate) struct Client {
    pub(crate) stream: UnixStream,
    /// Bytes read and not yet taken: `buf[start..end]`.
    buf: Box<[u8]>,
    start: usize,
    end: usize,
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
        let mut c = Client {
            stream,
            buf: vec![0; 1 << 20].into_boxed_slice(),
            start: 0,
            end: 0,
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
        loop {
            let rest = &self.buf[self.start..self.end];
            if let Some(i) = find_newline(rest) {
                self.line.extend_from_slice(&rest[..=i]);
                self.start += i + 1;
                return &self.line;
            }
            self.line.extend_from_slice(rest);
            self.wait_readable();
            let n = self.stream.read(&mut self.buf).expect("read a reply");
            assert!(n > 0, "the server closed the connection");
            (self.start, self.end) = (0, n);
        }
    }

    /// Until the socket has input (the read timeout's 60 s at most).
    fn wait_readable(&self) {
        let mut p = libc::pollfd {
            fd: self.stream.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        loop {
            // SAFETY: one valid pollfd.
            let r = unsafe { libc::poll(&mut p, 1, 60_000) };
            match r {
                1 => return,
                0 => panic!("no reply within 60 s"),
                _ if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {}
                _ => panic!("poll: {}", std::io::Error::last_os_error()),
            }
        }
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

/// libc's `memchr` (a byte loop is slow over a 400 KiB reply).
fn find_newline(bytes: &[u8]) -> Option<usize> {
    // SAFETY: `bytes` is valid for its length.
    let p = unsafe { libc::memchr(bytes.as_ptr().cast(), b'\n' as i32, bytes.len()) };
    (!p.is_null()).then(|| p as usize - bytes.as_ptr() as usize)
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

//! A tiny HTTP/1.0 server on 127.0.0.1 for the download tests: it serves
//! files by path, and can misbehave on purpose (a 404, a body cut short, a
//! server that stalls) the way real mirrors do.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server answers on one path.
#[derive(Clone)]
pub enum Reply {
    /// 200 with the whole body and its Content-Length.
    Body(Vec<u8>),
    /// 200 announcing the whole length, then closing after this many bytes.
    Truncated(Vec<u8>, usize),
    /// 200, this many bytes, then nothing for a long time.
    Stall(Vec<u8>, usize),
}

pub struct Server {
    pub base: String,
    routes: Arc<Mutex<BTreeMap<String, Reply>>>,
}

impl Server {
    pub fn start() -> Server {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", l.local_addr().unwrap());
        let routes: Arc<Mutex<BTreeMap<String, Reply>>> = Arc::default();
        let r = routes.clone();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                let r = r.clone();
                std::thread::spawn(move || {
                    let mut rd = BufReader::new(s.try_clone().unwrap());
                    let mut first = String::new();
                    rd.read_line(&mut first).ok();
                    loop {
                        let mut h = String::new();
                        if rd.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                            break;
                        }
                    }
                    let path = first.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let reply = r.lock().unwrap().get(&path).cloned();
                    let mut s = s;
                    let head = |len: usize| {
                        format!(
                            "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {len}\r\n\r\n"
                        )
                    };
                    let _ = match reply {
                        None => s.write_all(
                            b"HTTP/1.0 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found",
                        ),
                        Some(Reply::Body(b)) => s
                            .write_all(head(b.len()).as_bytes())
                            .and_then(|_| s.write_all(&b)),
                        Some(Reply::Truncated(b, n)) => s
                            .write_all(head(b.len()).as_bytes())
                            .and_then(|_| s.write_all(&b[..n])),
                        Some(Reply::Stall(b, n)) => {
                            let r = s
                                .write_all(head(b.len()).as_bytes())
                                .and_then(|_| s.write_all(&b[..n]));
                            std::thread::sleep(Duration::from_secs(60));
                            r
                        }
                    };
                });
            }
        });
        Server { base, routes }
    }

    /// Serve `reply` at `path` (starting with '/'); returns its URL.
    pub fn route(&self, path: &str, reply: Reply) -> String {
        self.routes.lock().unwrap().insert(path.to_string(), reply);
        format!("{}{path}", self.base)
    }
}

/// The SHA-256 of `data` as sha256sum prints it.
pub fn sha256(data: &[u8]) -> String {
    use std::io::Write as _;
    let mut c = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(data).unwrap();
    let out = c.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)[..64].to_string()
}

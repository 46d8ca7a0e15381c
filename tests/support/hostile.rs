//! A hostile HTTP server on loopback: it answers each request with whatever
//! the test scripts, including what no honest server sends (cursors that go
//! round, endless bodies, redirects, silence, terminal escapes). It records
//! what it was sent, so a test can tell whether a token went where it must
//! not. Standard library only, on its own threads, so core's unit tests use
//! the same file (`crates/core/src/lib.rs` includes it) and async tests can
//! run it without blocking their runtime.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The longest the server holds a silent connection or streams a body: a
/// test that forgets to drop it still ends.
const HOLD_AT_MOST: Duration = Duration::from_secs(120);

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key` in the query string, undecoded.
    pub fn query(&self, key: &str) -> Option<String> {
        let (_, query) = self.target.split_once('?')?;
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_string())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }
}

/// What the server does with one request.
pub enum Reply {
    /// Writes these bytes as they are, then closes.
    Raw(Vec<u8>),
    /// Reads the request and never answers, holding the connection open.
    Hang,
    /// A `200` with no length, then `total` bytes of JSON whitespace, sent
    /// until the client goes away.
    Endless { total: u64 },
}

impl Reply {
    /// A response with `status`, the extra `headers`, and `body` (its length
    /// declared).
    pub fn with(status: u16, headers: &[(&str, &str)], body: impl AsRef<[u8]>) -> Self {
        let body = body.as_ref();
        let mut head = format!(
            "HTTP/1.1 {status} {}\r\nconnection: close\r\ncontent-length: {}\r\n",
            reason(status),
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        Reply::Raw(bytes)
    }

    pub fn json(status: u16, body: &str) -> Self {
        Self::with(status, &[("content-type", "application/json")], body)
    }

    pub fn redirect(status: u16, location: &str) -> Self {
        Self::with(status, &[("location", location)], "")
    }

    /// An error envelope with `message`, as the Admin API sends one.
    pub fn envelope(status: u16, code: &str, message: &str) -> Self {
        let body = format!(
            "{{\"code\":{},\"message\":{}}}",
            json_string(code),
            json_string(message)
        );
        Self::json(status, &body)
    }
}

/// `text` as a JSON string literal, every control character escaped.
pub fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        _ => "Whatever",
    }
}

type Script = dyn Fn(&Request) -> Reply + Send + Sync;

/// The server; stopped when dropped.
pub struct Hostile {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    requests: Arc<Mutex<Vec<Request>>>,
    sent: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Hostile {
    /// On a free loopback port.
    pub fn start(
        script: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> std::io::Result<Self> {
        Self::start_on("127.0.0.1:0", script)
    }

    /// On `addr` (a loopback address), e.g. where a real server just stopped.
    pub fn start_on(
        addr: &str,
        script: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        let local = listener.local_addr()?;
        if !local.ip().is_loopback() {
            return Err(std::io::Error::other(
                "the hostile server is for loopback only",
            ));
        }
        listener.set_nonblocking(true)?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let sent = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let script: Arc<Script> = Arc::new(script);
        let accept = {
            let (requests, sent, stop) = (requests.clone(), sent.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let conn = Conn {
                                script: script.clone(),
                                requests: requests.clone(),
                                sent: sent.clone(),
                                stop: stop.clone(),
                            };
                            std::thread::spawn(move || conn.serve(stream));
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            })
        };
        Ok(Self {
            url: format!("http://{local}"),
            requests,
            sent,
            stop,
            accept: Some(accept),
        })
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Bytes of [`Reply::Endless`] bodies the client took before it went away.
    pub fn body_bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

struct Conn {
    script: Arc<Script>,
    requests: Arc<Mutex<Vec<Request>>>,
    sent: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Conn {
    fn serve(self, mut stream: TcpStream) {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
        let Some(request) = read_request(&mut stream) else {
            return;
        };
        if let Ok(mut requests) = self.requests.lock() {
            requests.push(request.clone());
        }
        let started = Instant::now();
        let holding = || !self.stop.load(Ordering::Relaxed) && started.elapsed() < HOLD_AT_MOST;
        match (self.script)(&request) {
            Reply::Raw(bytes) => {
                let _ = stream.write_all(&bytes);
                let _ = stream.flush();
            }
            Reply::Hang => {
                while holding() {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            Reply::Endless { total } => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n";
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let chunk = vec![b' '; 64 * 1024];
                let mut left = total;
                while left > 0 && holding() {
                    let n = left.min(chunk.len() as u64) as usize;
                    if stream.write_all(&chunk[..n]).is_err() {
                        break;
                    }
                    self.sent.fetch_add(n as u64, Ordering::Relaxed);
                    left -= n as u64;
                }
            }
        }
    }
}

/// The request line and headers, and the body (read and dropped), or `None`
/// when the client sent no whole request.
fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if buf.len() > 64 * 1024 || stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&buf);
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length.min(1024 * 1024)];
    stream.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
    })
}

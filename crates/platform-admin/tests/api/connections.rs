//! What a client can hold without finishing a request: the real
//! `platform-admin` binary against raw sockets that send half a request.
//! The database plays no part here, so these run on SQLite only.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::process::Served;
use crate::support::{Backend, TestDb};

/// Headers without the blank line that ends them.
const HALF_REQUEST: &[u8] = b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

/// A server on a fresh SQLite database, with its arguments after `serve`.
async fn serve(test: &str, open_files: Option<u32>, args: &[&str]) -> Served {
    let db = TestDb::new(Backend::Sqlite, test).await;
    Served::start(db, open_files, args).await
}

async fn connect(addr: &str) -> TcpStream {
    tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(addr))
        .await
        .expect("connected within 10 s")
        .expect("connect")
}

/// Opens `count` connections that each send half a request and then wait.
async fn half_requests(addr: &str, count: usize) -> Vec<TcpStream> {
    let mut held = Vec::with_capacity(count);
    for _ in 0..count {
        let mut stream = connect(addr).await;
        // Writes land in the kernel's buffers even while the server has
        // not accepted the connection yet.
        tokio::time::timeout(Duration::from_secs(10), stream.write_all(HALF_REQUEST))
            .await
            .expect("written within 10 s")
            .expect("write");
        held.push(stream);
    }
    held
}

/// Sends the headers of a create and a part of its body, then waits.
async fn trickled_body(served: &Served) -> TcpStream {
    let mut stream = connect(&served.addr).await;
    let request = format!(
        "POST /v1/tenants HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"slug\"",
        served.addr, served.token
    );
    tokio::time::timeout(
        Duration::from_secs(10),
        stream.write_all(request.as_bytes()),
    )
    .await
    .expect("written within 10 s")
    .expect("write");
    stream
}

async fn health(addr: &str, limit: Duration) -> (reqwest::StatusCode, Duration) {
    let client = reqwest::Client::builder()
        .timeout(limit)
        .build()
        .expect("client");
    let started = Instant::now();
    let response = client
        .get(format!("http://{addr}/v1/health"))
        .send()
        .await
        .unwrap_or_else(|err| panic!("no health answer within {limit:?}: {err}"));
    (response.status(), started.elapsed())
}

/// Reads until the server closes the connection; how long that took.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut buffer = [0u8; 1024];
    loop {
        let read = tokio::time::timeout(limit, stream.read(&mut buffer))
            .await
            .unwrap_or_else(|_| panic!("the connection was still open after {limit:?}"));
        match read {
            Ok(0) | Err(_) => return started.elapsed(),
            Ok(_) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_at_once_while_more_half_requests_are_held_than_files_allow() {
    // 256 open files leave room for fewer connections than are held here;
    // a server that accepts until it runs out of files never answers again,
    // and one that only waits for header timeouts answers a minute late.
    let served = serve(
        "health_answers_while_half_requests_are_held",
        Some(256),
        &["--header-read-timeout", "60"],
    )
    .await;
    let held = half_requests(&served.addr, 400).await;
    for _ in 0..5 {
        let (status, latency) = health(&served.addr, Duration::from_secs(20)).await;
        assert_eq!(status, reqwest::StatusCode::OK);
        assert!(latency < Duration::from_secs(2), "{latency:?}");
    }
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_at_once_while_a_flood_reconnects_beyond_the_connection_limit() {
    let served = serve(
        "health_answers_while_a_flood_reconnects",
        None,
        &["--max-connections", "50", "--header-read-timeout", "60"],
    )
    .await;
    // Each attacker sends half a request, waits to be closed, and comes back.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut attackers = tokio::task::JoinSet::new();
    for _ in 0..150 {
        let addr = served.addr.clone();
        let mut stopped = stopped.clone();
        attackers.spawn(async move {
            let mut reconnects = 0u32;
            while !*stopped.borrow() {
                let attempt = async {
                    let mut stream = TcpStream::connect(&addr).await.ok()?;
                    stream.write_all(HALF_REQUEST).await.ok()?;
                    let mut sink = Vec::new();
                    stream.read_to_end(&mut sink).await.ok()
                };
                tokio::select! {
                    _ = tokio::time::timeout(Duration::from_secs(5), attempt) => reconnects += 1,
                    _ = stopped.changed() => break,
                }
            }
            reconnects
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..5 {
        let (status, latency) = health(&served.addr, Duration::from_secs(20)).await;
        assert_eq!(status, reqwest::StatusCode::OK);
        assert!(latency < Duration::from_secs(1), "{latency:?}");
    }
    let _ = stop.send(true);
    let mut reconnects = 0;
    while let Some(done) = attackers.join_next().await {
        reconnects += done.expect("attacker");
    }
    // The flood did go beyond the limit: attackers were closed to make room.
    assert!(reconnects >= 100, "{reconnects}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_at_once_while_hundreds_of_half_requests_are_held() {
    let served = serve("health_answers_at_once", None, &[]).await;
    let held = half_requests(&served.addr, 500).await;
    for _ in 0..5 {
        let (status, latency) = health(&served.addr, Duration::from_secs(10)).await;
        assert_eq!(status, reqwest::StatusCode::OK);
        assert!(latency < Duration::from_secs(1), "{latency:?}");
    }
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_request_and_a_silent_connection_are_closed_after_the_header_timeout() {
    let served = serve("header_timeout", None, &["--header-read-timeout", "1"]).await;
    let mut half = half_requests(&served.addr, 1).await.remove(0);
    let mut silent = connect(&served.addr).await;
    let half_closed = until_closed(&mut half, Duration::from_secs(5)).await;
    let silent_closed = until_closed(&mut silent, Duration::from_secs(5)).await;
    assert!(half_closed >= Duration::from_millis(800), "{half_closed:?}");
    assert!(silent_closed < Duration::from_secs(2), "{silent_closed:?}");
    // The server itself is fine.
    let (status, _) = health(&served.addr, Duration::from_secs(5)).await;
    assert_eq!(status, reqwest::StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_body_is_refused_after_the_body_timeout() {
    let served = serve("body_timeout", None, &["--body-read-timeout", "1"]).await;
    let mut stream = trickled_body(&served).await;
    let started = Instant::now();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("answered and closed within 5 s")
        .expect("read");
    let took = started.elapsed();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(took >= Duration::from_millis(800), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drops_held_connections_at_its_deadline() {
    let mut served = serve(
        "shutdown_deadline",
        None,
        &[
            "--header-read-timeout",
            "120",
            "--body-read-timeout",
            "120",
            "--shutdown-timeout",
            "1",
        ],
    )
    .await;
    let mut held = half_requests(&served.addr, 3).await;
    held.push(trickled_body(&served).await);
    // Let the server accept them before it is told to stop.
    let (status, _) = health(&served.addr, Duration::from_secs(5)).await;
    assert_eq!(status, reqwest::StatusCode::OK);

    let pid = served.child.id().expect("running");
    let pid = rustix::process::Pid::from_raw(i32::try_from(pid).expect("pid")).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
    let started = Instant::now();
    let exited = tokio::time::timeout(Duration::from_secs(15), served.child.wait())
        .await
        .expect("exited within 15 s of SIGTERM")
        .expect("wait");
    let took = started.elapsed();
    assert!(exited.success(), "{exited:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    for stream in &mut held {
        until_closed(stream, Duration::from_secs(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_connections_wait_in_the_listen_queue_while_every_served_one_is_busy() {
    // The one connection served is busy with a request whose body never
    // comes, so every later one waits in the kernel's listen queue. A queue
    // of 128 (what `TcpListener::bind` asks for) drops the SYNs beyond it,
    // and their clients send them again only after a second: a health
    // check among them would wait that long.
    let served = serve("listen_queue", None, &["--max-connections", "1"]).await;
    let busy = trickled_body(&served).await;
    let mut waiting = Vec::new();
    for n in 0..600 {
        let connected =
            tokio::time::timeout(Duration::from_millis(900), TcpStream::connect(&served.addr))
                .await
                .unwrap_or_else(|_| panic!("connection {n} was not let into the listen queue"))
                .expect("connect");
        waiting.push(connected);
    }
    drop(busy);
}

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::disallowed_methods)]
//! Every receiver bounds what a client may hold: 2,000 connections that
//! send nothing or half a request head are held open while genuine Douyin
//! pushes keep being answered in time; the held ones are closed by the
//! header timeout, and a body that never comes is answered by the body
//! timeout.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use airbridge_feeds::config::DouyinConfig;
use airbridge_feeds::server::{BODY_TIMEOUT, HEADER_TIMEOUT};
use airbridge_feeds::{Feeds, FeedsConfig, douyin};
use common::{audience, http, open_journal};

#[test]
fn genuine_pushes_are_answered_while_2000_idle_connections_are_held_and_then_closed() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open_journal(dir.path());
    let feeds = Feeds::start(
        FeedsConfig {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            douyin: Some(DouyinConfig {
                secret: "s3cret".into(),
                replay_window_secs: None,
            }),
            ..FeedsConfig::default()
        },
        journal.clone(),
    )
    .unwrap();
    let addr = feeds.local_addr().unwrap();
    // 1,000 that send nothing, 1,000 that send half a request head
    let mut held = Vec::new();
    for i in 0..2000 {
        let mut s = TcpStream::connect(addr).unwrap();
        if i % 2 == 1 {
            s.write_all(b"POST /douyin HTTP/1.1\r\nHost: x\r\nx-msg-type: live_comment\r\n")
                .unwrap();
        }
        held.push(s);
    }
    // and one whose body never comes
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.write_all(b"POST /douyin HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        .unwrap();
    let held_at = Instant::now();
    // genuine pushes are answered well inside Douyin's 2 s
    let mut worst = Duration::ZERO;
    for i in 0..20 {
        let body = format!(
            r#"[{{"msg_id":"b{i}","sec_openid":"u","content":"第{i}个问题：社保怎么交？","nickname":"观众","timestamp":1}}]"#
        );
        let hs = [
            ("x-nonce-str", "n"),
            ("x-timestamp", "1735689600000"),
            ("x-roomid", "1"),
            ("x-msg-type", "live_comment"),
        ];
        let sig = douyin::signature(hs.iter().copied(), body.as_bytes(), "s3cret");
        let mut all: Vec<(&str, &str)> = hs.to_vec();
        all.push(("x-signature", &sig));
        let t = Instant::now();
        let (status, _) = http(addr, "POST", "/douyin", &all, body.as_bytes());
        worst = worst.max(t.elapsed());
        assert_eq!(status, 200);
    }
    eprintln!("worst answer with 2,000 held connections: {worst:?}");
    assert!(worst < Duration::from_secs(2), "{worst:?}");
    // the held connections are closed by the header timeout
    let deadline = held_at + HEADER_TIMEOUT + Duration::from_secs(5);
    let mut closed = 0;
    for mut s in held {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(10));
        s.set_read_timeout(Some(left)).unwrap();
        let mut buf = [0u8; 256];
        match s.read(&mut buf) {
            Ok(_) => closed += 1, // EOF, or a 408 before the close
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => closed += 1,
            Err(e) => panic!("a held connection still open after the timeout: {e}"),
        }
    }
    assert_eq!(closed, 2000);
    // the slow body is answered (not held for ever)
    slow.set_read_timeout(Some(BODY_TIMEOUT + Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 64];
    let n = slow.read(&mut buf).unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(head.is_empty() || head.starts_with("HTTP/1.1 4"), "{head}");
    feeds.shutdown();
    assert_eq!(audience(&journal).len(), 20);
}

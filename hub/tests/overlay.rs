//! The live-stream overlay in a real browser: headless Chromium (Debian's
//! `chromium`) loads `/overlay` from the seats listener; the producer pins
//! a question and the page shows it — masked, with its count and channel —
//! within 1 s; another pin replaces it. Driven over the DevTools protocol.
#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::disallowed_methods)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use airbridge_runtime::{Action, Runtime};
use airbridge_show::{ItemRef, MessageKind, ShowEvent};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

mod common;
use common::*;

struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn message(rt: &Runtime, source: &str, id: &str, text: &str, cluster: u64) {
    rt.journal()
        .append(
            "feeds",
            ShowEvent::AudienceMessage {
                source: source.into(),
                id: id.into(),
                kind: MessageKind::Question,
                author: "用户**".into(),
                text: text.into(),
                cluster: Some(cluster),
                test: false,
                moderation: Default::default(),
                author_key: String::new(),
            },
        )
        .unwrap();
}

/// A plain HTTP GET; the body ("" when nothing answers).
fn get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    // until the body is complete (Content-Length) or the server closes
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
        let text = String::from_utf8_lossy(&out);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse::<usize>().ok());
            if len.is_some_and(|n| body.len() >= n) {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    text.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default()
}

/// Evaluates `expr` in the page over the DevTools WebSocket.
async fn eval(ws_url: &str, expr: &str) -> String {
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    let req = serde_json::json!({"id": 1, "method": "Runtime.evaluate",
        "params": {"expression": expr, "returnByValue": true}});
    ws.send(Message::text(req.to_string())).await.unwrap();
    while let Some(Ok(m)) = ws.next().await {
        if let Message::Text(t) = m {
            let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
            if v["id"] == 1 {
                return match v["result"]["result"]["value"].as_str() {
                    Some(x) => x.to_owned(),
                    None => format!("(no value: {v})"),
                };
            }
        }
    }
    String::new()
}

#[test]
fn the_pinned_question_appears_on_the_overlay_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let hub = hub(&rt, "127.0.0.1:0".parse().unwrap());
    message(&rt, "douyin", "douyin:1", "公积金怎么提取？", 7);
    message(&rt, "wechat", "wechat:2", "公积金如何提取", 7);
    message(&rt, "wechat", "wechat:3", "我叫张**，社保卡怎么补办？", 8);

    let port = free_port();
    let profile = tempfile::tempdir().unwrap();
    let url = format!("http://{}/overlay", hub.local_addr());
    let _browser = Browser(
        Command::new("chromium")
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                &format!("--remote-debugging-port={port}"),
                &format!("--user-data-dir={}", profile.path().display()),
                &url,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium (scripts/install-deps.sh installs it)"),
    );
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // the page's DevTools socket
    let end = Instant::now() + Duration::from_secs(30);
    let ws_url = loop {
        assert!(Instant::now() < end, "chromium did not open the overlay");
        let list = get(&format!("127.0.0.1:{port}"), "/json/list");
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&list)
            && let Some(p) = v.as_array().and_then(|a| {
                a.iter()
                    .find(|p| p["url"].as_str().is_some_and(|u| u.contains("/overlay")))
            })
        {
            break p["webSocketDebuggerUrl"].as_str().unwrap().to_owned();
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let text = |tokio: &tokio::runtime::Runtime| {
        tokio.block_on(eval(
            &ws_url,
            "document.getElementById('text').textContent + '|' + document.getElementById('meta').textContent",
        ))
    };
    // nothing pinned yet: an empty (invisible) card
    let end = Instant::now() + Duration::from_secs(10);
    while tokio.block_on(eval(
        &ws_url,
        "String(document.readyState === 'complete' && !!document.getElementById('text'))",
    )) != "true"
    {
        assert!(Instant::now() < end);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(text(&tokio), "|");

    for (item, want) in [
        (ItemRef::Cluster(7), "公积金如何提取|抖音 · 微信 · ×2"),
        (
            ItemRef::Message("wechat:3".into()),
            "我叫张**，社保卡怎么补办？|微信",
        ),
    ] {
        let pinned = Instant::now();
        rt.execute("control", Action::Pin(item)).unwrap();
        loop {
            let got = text(&tokio);
            if got == want {
                break;
            }
            assert!(
                pinned.elapsed() < Duration::from_secs(1),
                "the overlay shows {got:?} 1 s after the pin (want {want:?})"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "on the overlay {:?} after the pin: {want}",
            pinned.elapsed()
        );
    }
    hub.stop();
    rt.stop();
}

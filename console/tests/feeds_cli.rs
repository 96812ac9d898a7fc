//! `airbridge feeds …` end to end: `replay --print` pushes the demo trace
//! through triage and prints masked JSON lines; `serve --print` answers a
//! signed Douyin push on a real socket and prints the accepted message.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn airbridge(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_airbridge"));
    c.env("AIRBRIDGE_DATA_DIR", data)
        .env_remove("AIRBRIDGE_CONFIG")
        .env_remove("AIRBRIDGE_JOURNAL");
    c
}

#[test]
fn replay_prints_masked_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let trace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../feeds/demo/trace.jsonl");
    let out = airbridge(dir.path())
        .args([
            "feeds",
            "replay",
            trace.to_str().unwrap(),
            "--rate",
            "0",
            "--print",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 531, "every unique non-spam message once");
    for l in &lines {
        for field in ["source", "id", "text", "kind"] {
            assert!(l.get(field).is_some(), "{l}");
        }
        assert!(
            !airbridge_feeds::pii::contains_unmasked_number(l["text"].as_str().unwrap()),
            "{l}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l["kind"] == "question" && l["cluster"].is_u64())
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("531 accepted"), "{stderr}");
    assert!(dir.path().join("feeds/raw-messages.db").exists());
}

struct Killed(std::process::Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_answers_a_signed_douyin_push_and_prints_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Killed(
        airbridge(dir.path())
            .args([
                "feeds",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--douyin-secret",
                "cli-secret",
                "--wechat-token",
                "cli-token",
                "--print",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stderr = BufReader::new(child.0.stderr.take().unwrap());
    let addr: SocketAddr = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "serve exited early"
        );
        if let Some(rest) = line.trim().strip_prefix("feeds listening on http://") {
            break rest.parse().unwrap();
        }
    };
    let (tx, rx) = crossbeam_channel::bounded::<String>(16);
    let stdout = child.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });

    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    let body = r#"[{"msg_id":"cli-1","sec_openid":"u1","content":"电话13800001234，公积金怎么提取？","nickname":"观众A","timestamp":1}]"#;
    let headers = [
        ("x-msg-type", "live_comment"),
        ("x-nonce-str", "abc"),
        ("x-roomid", "1"),
        ("x-timestamp", now_ms.as_str()),
    ];
    let sig =
        airbridge_feeds::douyin::signature(headers.iter().copied(), body.as_bytes(), "cli-secret");
    let mut req = format!(
        "POST /douyin HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\nx-signature: {sig}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");

    let line = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["source"], "douyin");
    assert_eq!(v["id"], "douyin:cli-1");
    assert_eq!(v["kind"], "question");
    assert_eq!(v["text"], "电话138****1234，公积金怎么提取？");

    // WeChat URL verification is served too
    let mut s = TcpStream::connect(addr).unwrap();
    let sig = airbridge_feeds::wechat::signature(&["cli-token", "1", "n"]);
    write!(s, "GET /wechat?signature={sig}&timestamp=1&nonce=n&echostr=hi HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(
        reply.starts_with("HTTP/1.1 200") && reply.ends_with("hi"),
        "{reply}"
    );
}

//! Shared helpers for the socket tests: a tiny blocking HTTP/1.1 client and
//! journal readers.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;

use airbridge_show::{Journal, MessageKind, ShowEvent};

/// One HTTP/1.1 request over a real socket; returns (status, body).
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    // chunked bodies: good enough for short replies
    let body = if text
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body.split("\r\n").nth(1).unwrap_or("").to_owned()
    } else {
        body
    };
    (status, body)
}

/// Every AudienceMessage in the journal: (id, kind, text, cluster).
pub fn audience(journal: &Journal) -> Vec<(String, MessageKind, String, Option<u64>)> {
    journal
        .replay(1)
        .unwrap()
        .filter_map(|e| match e.unwrap().event {
            ShowEvent::AudienceMessage {
                id,
                kind,
                text,
                cluster,
                ..
            } => Some((id, kind, text, cluster)),
            _ => None,
        })
        .collect()
}

pub fn open_journal(dir: &Path) -> Journal {
    Journal::open(&dir.join("journal.db")).unwrap()
}

pub fn fixture(name: &str) -> serde_json::Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

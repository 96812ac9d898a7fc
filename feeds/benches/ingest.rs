//! Feeds benchmark (not a test): prints figures side by side.
//!
//! 1. Throughput over N messages (default 1,000,000; `FEEDS_BENCH_N=10000000`
//!    for the 10M run), baseline first:
//!    - `journal only`: the same AudienceMessage events appended in batches
//!      of 2048 with no triage (the floor set by the journal),
//!    - `pipeline`: channel → dedupe → mask/classify/cluster → journal,
//!    - `pipeline + raw store`: the same plus the back-office SQLite copy.
//!
//!    Peak RSS is sampled during each run (bounded memory).
//! 2. Socket → journal latency: signed Douyin pushes over real HTTP to the
//!    running server at a steady rate; the client's request → `200` time
//!    (the reply is sent only after the journal commit) and the pipeline's
//!    own histogram.
//!
//! Run: `cargo bench -p airbridge-feeds --bench ingest`

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use airbridge_feeds::config::DouyinConfig;
use airbridge_feeds::{
    AudienceMessage, Feeds, FeedsConfig, Hint, Inbound, Pipeline, PipelineConfig, douyin,
};
use airbridge_show::{Journal, MessageKind, ShowEvent};

const QUESTIONS: &[&str] = &[
    "公积金怎么提取？",
    "请问住房公积金如何提取",
    "社保卡丢了怎么补办",
    "异地就医备案在哪里办？",
    "新生儿落户需要什么材料",
    "营业执照能网上办吗",
    "二手房过户交哪些税",
    "退休金几号发",
    "失业金怎么领",
    "医保码怎么激活？",
];
const CHATTER: &[&str] = &["主持人好", "666", "哈哈哈", "来了来了", "讲得真好", "打卡"];

fn message(i: u64) -> AudienceMessage {
    let r = i.wrapping_mul(2654435761) % 100;
    let (text, hint) = match r {
        0..=39 => {
            let q = QUESTIONS[(i % QUESTIONS.len() as u64) as usize];
            // varied wording so clustering does real work
            (
                format!(
                    "{}{q}",
                    ["", "主持人，", "你好，", "想问下"][(i % 4) as usize]
                ),
                Hint::Text,
            )
        }
        40..=44 => (
            format!(
                "我叫王小明，电话138 0000 {:04}，社保卡怎么补办？",
                i % 10_000
            ),
            Hint::Text,
        ),
        45..=74 => (
            CHATTER[(i % CHATTER.len() as u64) as usize].to_owned(),
            Hint::Text,
        ),
        75..=89 => (String::new(), Hint::Like { count: 1 + i % 20 }),
        _ => (
            String::new(),
            Hint::Gift {
                name: "玫瑰".into(),
                count: 1,
                value_fen: 10,
            },
        ),
    };
    AudienceMessage {
        source: "douyin".into(),
        id: format!("b-{i}"),
        author: format!("观众{}", i % 5000),
        text,
        hint,
        ts_ms: i as i64,
        test: false,
        author_id: String::new(),
    }
}

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Samples current RSS while `f` runs; returns (result, max RSS MiB seen).
fn with_rss<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let (s, p) = (Arc::clone(&stop), Arc::clone(&peak));
    let sampler = std::thread::spawn(move || {
        while !s.load(Ordering::Relaxed) {
            p.fetch_max(rss_kib("VmRSS:"), Ordering::Relaxed);
            #[allow(clippy::disallowed_methods)] // sampling pace in a bench binary
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let out = f();
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    (out, peak.load(Ordering::Relaxed) as f64 / 1024.0)
}

fn journal_only(n: u64, dir: &std::path::Path) -> f64 {
    let journal = Journal::open(&dir.join("baseline.db")).unwrap();
    let start = Instant::now();
    let mut batch = Vec::with_capacity(2048);
    for i in 0..n {
        let m = message(i);
        batch.push(ShowEvent::AudienceMessage {
            source: m.source,
            id: format!("douyin:{}", m.id),
            kind: MessageKind::Chatter,
            author: m.author,
            text: m.text,
            cluster: None,
            test: false,
            moderation: Default::default(),
            author_key: String::new(),
        });
        if batch.len() == 2048 {
            journal
                .append_all("feeds", std::mem::take(&mut batch))
                .unwrap();
        }
    }
    if !batch.is_empty() {
        journal.append_all("feeds", batch).unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn pipeline(n: u64, dir: &std::path::Path, raw: bool) -> (f64, u64, u64) {
    let journal = Journal::open(&dir.join(if raw { "raw-j.db" } else { "pipe-j.db" })).unwrap();
    let p = Pipeline::start(
        PipelineConfig {
            raw_store: raw.then(|| dir.join("raw.db")),
            ..PipelineConfig::default()
        },
        journal.clone(),
    )
    .unwrap();
    let tx = p.sender();
    let stats = p.stats();
    let start = Instant::now();
    for i in 0..n {
        tx.blocking_send(Inbound::new(message(i))).unwrap();
    }
    drop(tx);
    p.shutdown();
    let rate = n as f64 / start.elapsed().as_secs_f64();
    (
        rate,
        stats.accepted.load(Ordering::Relaxed),
        stats.latency_percentile_us(0.99),
    )
}

fn socket_latency(total: u64, per_push: u64, rate_msgs: u64, dir: &std::path::Path) {
    let journal = Journal::open(&dir.join("socket.db")).unwrap();
    let secret = "bench-secret";
    let feeds = Feeds::start(
        FeedsConfig {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            douyin: Some(DouyinConfig {
                secret: secret.into(),
                replay_window_secs: None,
            }),
            ..FeedsConfig::default()
        },
        journal,
    )
    .unwrap();
    let addr = feeds.local_addr().unwrap();
    let pushes = total / per_push;
    let interval = Duration::from_secs_f64(per_push as f64 / rate_msgs as f64);
    let mut lat_us: Vec<u64> = Vec::with_capacity(pushes as usize);
    let start = Instant::now();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    for k in 0..pushes {
        let due = start + interval * k as u32;
        let now = Instant::now();
        if due > now {
            #[allow(clippy::disallowed_methods)] // pacing the load generator
            std::thread::sleep(due - now);
        }
        let items: Vec<String> = (0..per_push)
            .map(|j| {
                let i = k * per_push + j;
                let m = message(i);
                format!(
                    r#"{{"msg_id":"s-{i}","sec_openid":"u{}","content":"{}","nickname":"{}","timestamp":{i}}}"#,
                    i % 5000,
                    if m.text.is_empty() { "主持人好".to_owned() } else { m.text },
                    m.author
                )
            })
            .collect();
        let body = format!("[{}]", items.join(","));
        let headers = [
            ("x-nonce-str", "n"),
            ("x-timestamp", "1735689600000"),
            ("x-roomid", "1"),
            ("x-msg-type", "live_comment"),
        ];
        let sig = douyin::signature(headers.iter().copied(), body.as_bytes(), secret);
        let mut req = format!(
            "POST /douyin HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nx-signature: {sig}\r\n",
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        let t0 = Instant::now();
        stream.write_all(req.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
        // read one response (Content-Length framed)
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk).unwrap();
            assert!(n > 0, "server closed");
            buf.extend_from_slice(&chunk[..n]);
            if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..pos]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if buf.len() >= pos + 4 + len {
                    assert!(head.starts_with("http/1.1 200"), "{head}");
                    break;
                }
            }
        }
        lat_us.push(t0.elapsed().as_micros() as u64);
    }
    let elapsed = start.elapsed().as_secs_f64();
    lat_us.sort_unstable();
    let pct =
        |p: f64| lat_us[((lat_us.len() as f64 * p) as usize).min(lat_us.len() - 1)] as f64 / 1000.0;
    let stats = feeds.stats();
    println!(
        "socket → journal: {} pushes × {per_push} msgs at {:.0} msg/s offered ({:.0} achieved): request→200 p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; pipeline histogram p99 ≤ {:.2} ms",
        pushes,
        rate_msgs,
        (pushes * per_push) as f64 / elapsed,
        pct(0.5),
        pct(0.99),
        *lat_us.last().unwrap() as f64 / 1000.0,
        stats.latency_percentile_us(0.99) as f64 / 1000.0
    );
    feeds.shutdown();
}

fn main() {
    let n: u64 = std::env::var("FEEDS_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    println!("feeds ingest benchmark, N = {n} messages");
    let (base, base_rss) = with_rss(|| journal_only(n, dir.path()));
    println!("  journal only (baseline)   {base:>10.0} msg/s   peak RSS {base_rss:>7.1} MiB");
    let ((rate, accepted, p99), rss) = with_rss(|| pipeline(n, dir.path(), false));
    println!(
        "  pipeline (triage+journal) {rate:>10.0} msg/s   peak RSS {rss:>7.1} MiB   accepted {accepted}   queue→journal p99 ≤ {:.1} ms",
        p99 as f64 / 1000.0
    );
    if std::env::var("FEEDS_BENCH_SKIP_RAW").is_err() {
        let ((rate, accepted, p99), rss) = with_rss(|| pipeline(n, dir.path(), true));
        println!(
            "  pipeline + raw store      {rate:>10.0} msg/s   peak RSS {rss:>7.1} MiB   accepted {accepted}   queue→journal p99 ≤ {:.1} ms",
            p99 as f64 / 1000.0
        );
    }
    socket_latency(20_000, 20, 2_000, dir.path());
}

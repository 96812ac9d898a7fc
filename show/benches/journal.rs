//! Journal throughput and replay speed, each beside a baseline, in one run.
//!
//! `cargo bench -p airbridge-show --bench journal` (add `-- --events N` to
//! change the replay size, default 1,000,000). Prints figures; asserts
//! only that every event was stored and read back.

use std::time::{Duration, Instant};

use airbridge_show::{Journal, MessageKind, Projection, ShowBoard, ShowEvent};

fn message(i: u64) -> ShowEvent {
    ShowEvent::AudienceMessage {
        source: ["douyin", "wechat", "sms", "bilibili"][(i % 4) as usize].into(),
        id: format!("m{i}"),
        kind: if i.is_multiple_of(3) {
            MessageKind::Chatter
        } else {
            MessageKind::Question
        },
        author: "用户****".into(),
        text: format!("请问异地就医备案需要什么材料？第{i}条"),
        cluster: Some(i % 97),
        test: false,
        moderation: Default::default(),
        author_key: String::new(),
    }
}

fn per_sec(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() {
    let mut replay_events: u64 = 1_000_000;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--events"
            && let Some(n) = args.next().and_then(|v| v.parse().ok())
        {
            replay_events = n;
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");

    // 1. Durable appends: one transaction per event (baseline) vs group commit.
    let single_n = 2_000u64;
    let j = Journal::open(&dir.path().join("single.db")).expect("open");
    let t = Instant::now();
    for i in 0..single_n {
        j.append("bench", message(i)).expect("append");
    }
    let single = t.elapsed();
    drop(j);

    let batched_n = 200_000u64;
    let j = Journal::open(&dir.path().join("batched.db")).expect("open");
    let t = Instant::now();
    // Eight producers each keep a few acks in flight: the writer commits
    // whatever is queued in one transaction.
    std::thread::scope(|s| {
        for p in 0..8u64 {
            let j = j.clone();
            s.spawn(move || {
                let mut pending = std::collections::VecDeque::new();
                for i in (p..batched_n).step_by(8) {
                    pending.push_back(j.submit("bench", vec![message(i)]).expect("submit"));
                    if pending.len() >= 64
                        && let Some(ack) = pending.pop_front()
                    {
                        ack.wait().expect("ack");
                    }
                }
                for ack in pending {
                    ack.wait().expect("ack");
                }
            });
        }
    });
    let batched = t.elapsed();
    assert_eq!(j.last_seq(), batched_n);
    drop(j);

    println!(
        "journal append (durable: WAL, synchronous=FULL), each event acknowledged individually"
    );
    println!(
        "  baseline  one transaction per event : {:>10.0} events/s  ({single_n} events)",
        per_sec(single_n, single)
    );
    println!(
        "  group commit, 8 producers           : {:>10.0} events/s  ({batched_n} events)",
        per_sec(batched_n, batched)
    );

    // 2. Replay: fill a journal, then replay it into the board projection,
    //    beside a baseline that only reads the rows with SQLite.
    let path = dir.path().join("replay.db");
    let j = Journal::open(&path).expect("open");
    let t = Instant::now();
    let mut i = 0;
    while i < replay_events {
        let n = 10_000.min(replay_events - i);
        j.append_all("bench", (i..i + n).map(message).collect())
            .expect("append");
        i += n;
    }
    let fill = t.elapsed();
    let file_mb = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;

    let conn = rusqlite::Connection::open(&path).expect("open raw");
    let t = Instant::now();
    let mut stmt = conn
        .prepare("SELECT seq, at_ms, seat, kind, payload FROM events ORDER BY seq")
        .expect("prepare");
    let mut rows = stmt.query([]).expect("query");
    let mut raw_count = 0u64;
    let mut raw_bytes = 0usize;
    while let Some(row) = rows.next().expect("row") {
        let payload: String = row.get(4).expect("payload");
        raw_bytes += payload.len();
        raw_count += 1;
    }
    let raw = t.elapsed();
    assert_eq!(raw_count, replay_events);

    let t = Instant::now();
    let mut board = ShowBoard::default();
    let mut n = 0u64;
    for ev in j.replay(1).expect("replay") {
        board.apply(&ev.expect("decode"));
        n += 1;
    }
    let replay = t.elapsed();
    assert_eq!(n, replay_events);
    assert_eq!(board.audience.total, replay_events);

    println!(
        "journal replay of {replay_events} events ({file_mb:.0} MB file; filled in {:.2} s)",
        fill.as_secs_f64()
    );
    println!(
        "  baseline  raw SQLite row scan       : {:>8.2} s  {:>10.0} events/s  ({raw_bytes} payload bytes)",
        raw.as_secs_f64(),
        per_sec(raw_count, raw)
    );
    println!(
        "  replay + decode + ShowBoard fold    : {:>8.2} s  {:>10.0} events/s",
        replay.as_secs_f64(),
        per_sec(n, replay)
    );
}

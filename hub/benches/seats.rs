//! Seats on other PCs, measured on loopback, each figure beside a baseline
//! in the same run:
//!
//! 1. **Command → every other seat's model.** A screener seat sends a
//!    command; the time until each of 7 other seats has the event it made.
//!    Baseline: a subscriber in the runtime's own process (what the window
//!    on the runtime's PC gets). Goal: p99 ≤ 50 ms with 8 seats.
//! 2. **20,000 audience messages/s to 8 seats** for 5 s: how far behind
//!    the journal each seat falls (worst event: received − committed).
//!    Baseline: 1 seat. Goal: no seat behind by more than 1 s.
//! 3. **Cost per seat:** the runtime process's resident memory and the CPU
//!    of its seat threads (`hub-*`), idle and under the message load, with
//!    0, 8 and 32 seats — the seats themselves run in a child process, so
//!    their cost is not counted.
//!
//! `cargo bench -p airbridge-hub --bench seats`. Prints figures; asserts
//! only that every seat received every event.
#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::disallowed_methods)]

use std::io::Write;
use std::time::{Duration, Instant};

use airbridge_configs::ConfigSet;
use airbridge_hub::{ClientOptions, Hub, HubOptions, SeatClient, Tokens};
use airbridge_runtime::{Action, DeskSource, KbSource, Runtime, RuntimeOptions, StationPaths};
use airbridge_show::{MessageKind, ShowEvent};

fn tokens(n: usize) -> (String, Vec<String>) {
    let mut file = String::new();
    let mut list = Vec::new();
    for i in 0..n {
        let t = format!("token-of-seat-{i:04}-xxxxxxxx");
        let role = if i == 0 { "screener" } else { "host" };
        file.push_str(&format!("seat{i} {role} {t}\n"));
        list.push(t);
    }
    (file, list)
}

fn client(url: &str, token: &str) -> SeatClient {
    SeatClient::connect(
        ClientOptions {
            url: url.to_owned(),
            token: token.to_owned(),
            ca_file: None,
            from: 0,
            meters: false,
        },
        || {},
    )
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

fn message(i: u64) -> ShowEvent {
    ShowEvent::AudienceMessage {
        source: "douyin".into(),
        id: format!("douyin:{i}"),
        kind: MessageKind::Question,
        author: "用户****".into(),
        text: format!("请问异地就医备案需要什么材料？第{i}条"),
        cluster: Some(i % 97),
        test: false,
        moderation: Default::default(),
        author_key: String::new(),
    }
}

/// Resident memory of this process, KiB.
fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// CPU seconds used by this process's threads whose name starts with `hub-`.
fn hub_cpu_secs() -> f64 {
    let tick = 100.0; // USER_HZ on Linux
    let mut total = 0u64;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for t in dir.flatten() {
            let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
            if !comm.starts_with("hub-") {
                continue;
            }
            let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
            // fields after the ")" : state is field 3; utime 14, stime 15
            if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
                let f: Vec<&str> = rest.split_whitespace().collect();
                let ut: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0);
                let st: u64 = f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
                total += ut + st;
            }
        }
    }
    total as f64 / tick
}

fn start(dir: &std::path::Path, seats: usize) -> (Runtime, Hub, Vec<String>) {
    let config = ConfigSet::embedded_demo().unwrap();
    let paths = StationPaths::under(dir, &config);
    let rt = Runtime::start(RuntimeOptions {
        kb: KbSource::None,
        speech: false,
        desk: DeskSource::None,
        ..RuntimeOptions::new(config, paths, Default::default())
    })
    .unwrap();
    let (file, list) = tokens(seats.max(1));
    let hub = Hub::start(
        rt.clone(),
        HubOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            tls: None,
            tokens: Tokens::parse("bench", &file).unwrap(),
            overlay: Default::default(),
        },
    )
    .unwrap();
    (rt, hub, list)
}

/// Figure 1: a command → visible in every other seat.
fn command_latency(seats: usize, rounds: usize) -> (Vec<f64>, Vec<f64>) {
    let dir = tempfile::tempdir().unwrap();
    let (rt, hub, tokens) = start(dir.path(), seats);
    let url = hub.url();
    let clients: Vec<SeatClient> = tokens.iter().map(|t| client(&url, t)).collect();
    for c in &clients {
        c.wait_connected(Duration::from_secs(10)).unwrap();
    }
    let mut local = rt.journal().subscribe(rt.journal().last_seq() + 1).unwrap();
    let (mut remote, mut baseline) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        let text = format!("提示 {i}");
        let sent = Instant::now();
        let id = clients[0]
            .act(Action::Message { text: text.clone() })
            .unwrap();
        let _ = id;
        // baseline: the runtime's own subscriber
        loop {
            let ev = local.next_timeout(Duration::from_secs(5)).unwrap().unwrap();
            if matches!(&ev.event, ShowEvent::ProducerMessage { text: t } if *t == text) {
                baseline.push(sent.elapsed().as_secs_f64() * 1000.0);
                break;
            }
        }
        for c in &clients[1..] {
            loop {
                let ev = c.events.recv_timeout(Duration::from_secs(5)).unwrap();
                if matches!(&ev.event, ShowEvent::ProducerMessage { text: t } if *t == text) {
                    remote.push(sent.elapsed().as_secs_f64() * 1000.0);
                    break;
                }
            }
        }
        while clients[0].replies.try_recv().is_ok() {}
        while clients[0].events.try_recv().is_ok() {}
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(clients);
    hub.stop();
    rt.stop();
    (remote, baseline)
}

/// Figure 2: messages at `rate`/s for `secs` to `seats` seats; each
/// seat's worst lag (ms).
fn message_flow(seats: usize, rate: u64, secs: u64) -> (Vec<f64>, f64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let (rt, hub, tokens) = start(dir.path(), seats);
    let url = hub.url();
    let mut handles = Vec::new();
    let total = rate * secs;
    let first = rt.journal().last_seq() + 1;
    for t in tokens.iter().take(seats) {
        let c = client(&url, t);
        c.wait_connected(Duration::from_secs(10)).unwrap();
        handles.push(std::thread::spawn(move || {
            let mut worst = 0.0f64;
            let mut got = 0u64;
            while got < total {
                let Ok(ev) = c.events.recv_timeout(Duration::from_secs(20)) else {
                    break;
                };
                if ev.seq < first {
                    continue;
                }
                got += 1;
                let lag = chrono::Utc::now().timestamp_millis() - ev.at_ms;
                worst = worst.max(lag as f64);
            }
            (worst, got)
        }));
    }
    let batch = rate / 100; // every 10 ms
    let started = Instant::now();
    let mut n = 0u64;
    while n < total {
        let due = started + Duration::from_millis(10 * (n / batch));
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let events: Vec<ShowEvent> = (n..n + batch).map(message).collect();
        rt.journal().append_all("feeds", events).unwrap();
        n += batch;
    }
    let wrote = started.elapsed().as_secs_f64();
    let mut worst = Vec::new();
    let mut received = u64::MAX;
    for h in handles {
        let (w, got) = h.join().unwrap();
        worst.push(w);
        received = received.min(got);
    }
    hub.stop();
    rt.stop();
    (worst, wrote, received)
}

/// Figure 3: the runtime's memory and seat-thread CPU with `seats` seats
/// in a child process, idle for `idle` then under 20,000 messages/s for
/// `busy` seconds.
fn cost(seats: usize, idle: Duration, busy: u64) -> (u64, f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let (rt, hub, tokens) = start(dir.path(), seats.max(1));
    let before = rss_kib();
    let mut child = if seats > 0 {
        Some(
            std::process::Command::new(std::env::current_exe().unwrap())
                .env(
                    "SEATS_BENCH_CLIENTS",
                    tokens
                        .iter()
                        .take(seats)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(","),
                )
                .env("SEATS_BENCH_URL", hub.url())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        )
    } else {
        None
    };
    let end = Instant::now() + Duration::from_secs(20);
    while hub
        .stats()
        .connected
        .load(std::sync::atomic::Ordering::Relaxed)
        < seats
    {
        assert!(Instant::now() < end, "seats did not connect");
        std::thread::sleep(Duration::from_millis(50));
    }
    // let the seats' welcome and catch-up finish before measuring idle
    std::thread::sleep(Duration::from_secs(1));
    let cpu0 = hub_cpu_secs();
    std::thread::sleep(idle);
    let cpu_idle = (hub_cpu_secs() - cpu0) / idle.as_secs_f64();
    let rss_idle = rss_kib().saturating_sub(before);
    let cpu1 = hub_cpu_secs();
    let t = Instant::now();
    for s in 0..busy * 100 {
        let events: Vec<ShowEvent> = (s * 200..(s + 1) * 200).map(message).collect();
        rt.journal().append_all("feeds", events).unwrap();
        let due = t + Duration::from_millis(10 * (s + 1));
        if let Some(w) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(w);
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let cpu_busy = (hub_cpu_secs() - cpu1) / t.elapsed().as_secs_f64();
    if let Some(c) = &mut child {
        let _ = c.kill();
        let _ = c.wait();
    }
    hub.stop();
    rt.stop();
    (rss_idle, cpu_idle, cpu_busy)
}

fn clients_process(tokens: &str, url: &str) {
    let clients: Vec<SeatClient> = tokens.split(',').map(|t| client(url, t)).collect();
    let threads: Vec<_> = clients
        .into_iter()
        .map(|c| std::thread::spawn(move || while c.events.recv().is_ok() {}))
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

fn main() {
    if let (Ok(t), Ok(u)) = (
        std::env::var("SEATS_BENCH_CLIENTS"),
        std::env::var("SEATS_BENCH_URL"),
    ) {
        clients_process(&t, &u);
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "# seats benchmark (loopback, one process for the runtime)"
    )
    .unwrap();

    let (mut remote, mut base) = command_latency(8, 200);
    writeln!(
        out,
        "command → other seats' models, 8 seats, 200 commands × 7 seats: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (goal p99 ≤ 50)",
        pct(&mut remote, 0.5),
        pct(&mut remote, 0.99),
        pct(&mut remote, 1.0)
    )
    .unwrap();
    writeln!(
        out,
        "  baseline, a subscriber in the runtime's process: p50 {:.2} ms, p99 {:.2} ms",
        pct(&mut base, 0.5),
        pct(&mut base, 0.99)
    )
    .unwrap();
    out.flush().unwrap();

    for seats in [1usize, 8] {
        let (worst, wrote, received) = message_flow(seats, 20_000, 5);
        let max = worst.iter().copied().fold(0.0, f64::max);
        writeln!(
            out,
            "20,000 messages/s for 5 s to {seats} seat(s): written in {wrote:.2} s, every seat received {received}/100000, worst lag {max:.0} ms (per seat: {}) (goal ≤ 1000 ms)",
            worst.iter().map(|w| format!("{w:.0}")).collect::<Vec<_>>().join(", ")
        )
        .unwrap();
        out.flush().unwrap();
        assert_eq!(received, 100_000, "a seat missed events");
    }

    let (rss0, idle0, busy0) = cost(0, Duration::from_secs(3), 3);
    for seats in [8usize, 32] {
        let (rss, idle, busy) = cost(seats, Duration::from_secs(3), 3);
        writeln!(
            out,
            "{seats} seats: runtime memory +{} KiB (+{:.0} KiB/seat); seat threads' CPU idle {:.2}% of a core, under 20,000 msg/s {:.1}% ({:.2}%/seat)",
            rss.saturating_sub(rss0),
            rss.saturating_sub(rss0) as f64 / seats as f64,
            (idle - idle0) * 100.0,
            (busy - busy0) * 100.0,
            (busy - busy0) * 100.0 / seats as f64
        )
        .unwrap();
        out.flush().unwrap();
    }
}

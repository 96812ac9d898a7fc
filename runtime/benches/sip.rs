//! SIP lines benchmark (not a test; needs `sipp`):
//!
//! 1. **INVITE → ringing**: sipp times each INVITE to its `180 Ringing`
//!    (sent only after the line rings: the call journaled, the line's state
//!    moved and journaled); 200 calls at 10 a second over 8 lines, a
//!    screener thread clearing each line after its caller gives up
//!    (CANCEL). Baseline, side by side: the SIP lines alone, with a desk
//!    that rings at once (no runtime, journal or engine). A third row: the
//!    runtime with `auth_user` set, each call challenged (401) and ringing
//!    on its second INVITE, timed from the first (the round trip included).
//! 2. **16 calls at once**: 8 SIP calls on air (G.711 audio from sipp's
//!    pcap) and 8 ringing, the engine on its internal clock: late engine
//!    ticks and xruns over 10 s, and process CPU beside the same show idle.
//!
//! `cargo bench -p airbridge-runtime --bench sip`
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::disallowed_methods,
    clippy::cast_precision_loss
)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use airbridge_configs::ConfigSet;
use airbridge_configs::studio::parse_studio;
use airbridge_runtime::{Action, KbSource, Role, Runtime, RuntimeOptions, StationPaths};
use airbridge_show::LineState;
use airbridge_sip::testing::{Sipp, free_port, installed, sipp_dir};

/// The password calls give when the show asks them to authenticate.
const AUTH_PASSWORD: &str = "bench-s3cret";

fn show(dir: &Path, lines: u8) -> (Runtime, SocketAddr) {
    show_with(dir, lines, "")
}

/// A show whose callers must authenticate as `trunk`.
fn show_with_auth(dir: &Path, lines: u8) -> (Runtime, SocketAddr) {
    let secret = dir.join("sip-auth");
    std::fs::write(&secret, AUTH_PASSWORD).unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    show_with(
        dir,
        lines,
        "auth_user = \"trunk\"\nauth_password_file = \"sip-auth\"\n",
    )
}

fn show_with(dir: &Path, lines: u8, sip_extra: &str) -> (Runtime, SocketAddr) {
    let port = free_port();
    let mut studio = format!(
        "[audio]\noutput_device = \"none\"\n[sip]\nbind = \"127.0.0.1:{port}\"\ncodecs = [\"pcma\"]\ninvites_per_10s = 1000\n{sip_extra}"
    );
    for n in 1..=lines {
        studio.push_str(&format!("[[line]]\nnumber = {n}\nkind = \"sip\"\n"));
    }
    let mut config = ConfigSet::embedded_demo().unwrap();
    config.show.lines = lines;
    let paths = StationPaths::under(dir, &config);
    let studio = parse_studio("studio.toml", &studio, dir, lines);
    assert!(studio.issues.is_empty(), "{:?}", studio.issues);
    let rt = Runtime::start(RuntimeOptions {
        kb: KbSource::None,
        speech: false,
        ..RuntimeOptions::new(config, paths, studio)
    })
    .unwrap();
    (rt, SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Response times (ms) from sipp's `-trace_rtt` file in `dir`.
fn rtts(dir: &Path) -> Vec<f64> {
    let mut out = Vec::new();
    for f in std::fs::read_dir(dir).unwrap().flatten() {
        let name = f.file_name().to_string_lossy().into_owned();
        if name.ends_with("_rtt.csv") {
            for line in std::fs::read_to_string(f.path()).unwrap().lines().skip(1) {
                // Date_ms;response_time_ms;rtd_no
                if let Some(ms) = line.split(';').nth(1).and_then(|v| v.trim().parse().ok()) {
                    out.push(ms);
                }
            }
        }
    }
    out.sort_by(f64::total_cmp);
    out
}

fn pct(v: &[f64], p: f64) -> f64 {
    v[(((v.len() - 1) as f64) * p).round() as usize]
}

const CALLS: u32 = 200;

/// [`CALLS`] callers at 10 a second, each timed from INVITE to `180`.
fn ringing_calls(at: SocketAddr) -> Sipp {
    Sipp::new("ring_rtd.xml")
        .to(at)
        .calls(CALLS)
        .timeout_s(120)
        .args(&["-r", "10", "-l", "4", "-trace_rtt", "-rtt_freq", "1", "-nd"])
}

fn ringing_latency_runtime(auth: bool) -> Vec<f64> {
    let data = tempfile::tempdir().unwrap();
    let (rt, at) = if auth {
        show_with_auth(data.path(), 8)
    } else {
        show(data.path(), 8)
    };
    let rt = Arc::new(rt);
    let stop = Arc::new(AtomicBool::new(false));
    // the screener clears each line whose caller gave up
    let clearer = {
        let (rt, stop) = (Arc::clone(&rt), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for line in 1..=8 {
                    if rt.board().line_state(line) == LineState::Ended {
                        let _ = rt.execute_as(
                            "screener",
                            Role::Screener,
                            Action::Move {
                                line,
                                to: LineState::Idle,
                            },
                        );
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let dir = sipp_dir();
    let calls = if auth {
        Sipp::new("ring_rtd_auth.xml")
            .to(at)
            .calls(CALLS)
            .timeout_s(120)
            .args(&["-r", "10", "-l", "4", "-trace_rtt", "-rtt_freq", "1", "-nd"])
            .args(&["-au", "trunk", "-ap", AUTH_PASSWORD])
    } else {
        ringing_calls(at)
    };
    calls.spawn(dir.path()).wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    clearer.join().unwrap();
    rt.stop();
    rtts(dir.path())
}

fn ringing_latency_baseline() -> Vec<f64> {
    use airbridge_sip::{SipEvent, SipLines};
    let (tx, rx) = crossbeam_channel::bounded(1024);
    let sip = SipLines::start(
        airbridge_sip::Settings {
            invites_per_window: 1000,
            ..airbridge_sip::Settings::new("127.0.0.1:0".parse().unwrap())
        },
        tx,
    )
    .unwrap();
    let desk = std::thread::spawn(move || {
        while let Ok(ev) = rx.recv_timeout(Duration::from_secs(5)) {
            if let SipEvent::Incoming(call) = ev {
                call.ring();
            }
        }
    });
    let dir = sipp_dir();
    ringing_calls(sip.local_addr())
        .spawn(dir.path())
        .wait()
        .unwrap();
    drop(sip);
    desk.join().unwrap();
    rtts(dir.path())
}

/// Process CPU seconds (user + system) from /proc/self/stat.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn sixteen_calls() {
    let data = tempfile::tempdir().unwrap();
    let (rt, at) = show(data.path(), 16);
    let dir = sipp_dir();
    std::thread::sleep(Duration::from_secs(2));
    // the same show idle, first
    let window = Duration::from_secs(10);
    let (c0, t0, d0) = (cpu_secs(), Instant::now(), rt.driver_stats().unwrap());
    std::thread::sleep(window);
    let (c1, t1, d1) = (cpu_secs(), Instant::now(), rt.driver_stats().unwrap());
    let idle = (c1 - c0) / (t1 - t0).as_secs_f64();
    // 8 callers put on air as they ring
    let mut talkers = Sipp::new("call.xml")
        .to(at)
        .calls(8)
        .timeout_s(120)
        .args(&["-l", "8", "-r", "20", "-d", "40000", "-nd"])
        .spawn(dir.path());
    let t = Instant::now();
    let mut on_air = 0;
    while on_air < 8 && t.elapsed() < Duration::from_secs(30) {
        for line in 1..=16 {
            if rt.board().line_state(line) == LineState::Ringing {
                for to in [LineState::Screening, LineState::Hold, LineState::OnAir] {
                    rt.execute_as("screener", Role::Screener, Action::Move { line, to })
                        .unwrap();
                }
                on_air += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // 8 more that ring and wait
    let mut waiting = Sipp::new("ringing.xml")
        .to(at)
        .calls(8)
        .timeout_s(120)
        .args(&["-l", "8", "-r", "20", "-d", "30000", "-nd"])
        .spawn(dir.path());
    let t = Instant::now();
    let ringing = |rt: &Runtime| {
        (1..=16)
            .filter(|l| rt.board().line_state(*l) == LineState::Ringing)
            .count()
    };
    while ringing(&rt) < 8 && t.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let on = (1..=16)
        .filter(|l| rt.board().line_state(*l) == LineState::OnAir)
        .count();
    let rang = ringing(&rt);
    let (c2, t2, d2) = (cpu_secs(), Instant::now(), rt.driver_stats().unwrap());
    std::thread::sleep(window);
    let (c3, t3, d3) = (cpu_secs(), Instant::now(), rt.driver_stats().unwrap());
    let busy = (c3 - c2) / (t3 - t2).as_secs_f64();
    let packets: u64 = (1..=16)
        .filter_map(|l| rt.rtp_packets(l))
        .map(|(i, _)| i)
        .sum();
    println!(
        "== 16 SIP calls at once: {on} on air, {rang} ringing (G.711 A-law), engine on its internal clock, 10 s each"
    );
    println!("state | CPU (cores) | late engine ticks | xruns | engine blocks");
    println!(
        "same show idle (baseline) | {idle:.3} | {} | {} | {}",
        d1.late_callbacks - d0.late_callbacks,
        d1.xruns - d0.xruns,
        d1.clock_blocks - d0.clock_blocks
    );
    println!(
        "8 on air + 8 ringing | {busy:.3} | {} | {} | {}",
        d3.late_callbacks - d2.late_callbacks,
        d3.xruns - d2.xruns,
        d3.clock_blocks - d2.clock_blocks
    );
    println!(
        "CPU per call: {:.4} cores ({:.1} % of one core); RTP packets received on the lines so far: {packets}",
        (busy - idle) / 16.0,
        (busy - idle) / 16.0 * 100.0
    );
    let _ = talkers.kill();
    let _ = waiting.kill();
    let _ = talkers.wait();
    let _ = waiting.wait();
    rt.stop();
}

fn main() {
    if !installed(&["sipp"]) {
        return;
    }
    let base = ringing_latency_baseline();
    let full = ringing_latency_runtime(false);
    let authed = ringing_latency_runtime(true);
    println!(
        "== INVITE → 180 Ringing (the line ringing, journaled), {CALLS} calls at 10/s, sipp on 127.0.0.1"
    );
    println!("path | calls | p50 ms | p99 ms | max ms");
    for (name, v) in [
        ("SIP lines alone, desk rings at once (baseline)", &base),
        ("runtime: line rings, call and state journaled", &full),
        (
            "runtime, calls must authenticate (401, then INVITE with credentials)",
            &authed,
        ),
    ] {
        println!(
            "{name} | {} | {:.2} | {:.2} | {:.2}",
            v.len(),
            pct(v, 0.5),
            pct(v, 0.99),
            v.last().copied().unwrap_or(0.0)
        );
    }
    println!("goal: p99 ≤ 100 ms");
    sixteen_calls();
}

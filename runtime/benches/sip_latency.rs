//! Mouth-to-ear latency AirBridge adds on a SIP line (not a test; needs
//! `sipp`): two callers on air; the bench is both callers' phones (its own
//! UDP sockets send and receive their G.711 A-law RTP, 20 ms packets), sipp
//! does the signalling with SDP naming those sockets. Once per trial caller
//! B's packet starts with a click; the time until caller A hears it is B →
//! program → A (caller → program plus program → caller; each direction's
//! goal is ≤ 60 ms, so the round trip's is ≤ 120 ms). Side by side in the
//! same run: the same two callers on `kind = "rtp"` lines (no SIP), the
//! baseline.
//!
//! `cargo bench -p airbridge-runtime --bench sip_latency`
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::disallowed_methods,
    clippy::cast_precision_loss
)]

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use airbridge_configs::ConfigSet;
use airbridge_configs::studio::parse_studio;
use airbridge_runtime::{Action, KbSource, Role, Runtime, RuntimeOptions, StationPaths};
use airbridge_show::LineState;
use airbridge_sip::testing::{Sipp, free_port, installed};

const TRIALS: usize = 40;
/// A-law silence and full scale.
const SILENCE: u8 = 0xD5;
const CLICK: u8 = 0xAA;

/// G.711 A-law to linear (−1 … 1).
fn alaw(b: u8) -> f32 {
    let a = b ^ 0x55;
    let seg = (a & 0x70) >> 4;
    let mant = i32::from(a & 0x0F);
    let mag = if seg == 0 {
        (mant << 4) + 8
    } else {
        ((mant << 4) + 0x108) << (seg - 1)
    };
    let v = if a & 0x80 != 0 { mag } else { -mag };
    v as f32 / 32768.0
}

fn rtp_packet(seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, 8];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// A phone on `socket`: sends 20 ms A-law packets to where the line's
/// packets come from (with `click` set, the next packet starts with a click
/// and its sending time is noted), and notes when a received packet has a
/// loud sample (its offset in the packet added).
fn phone_threads(
    socket: &UdpSocket,
    stop: &Arc<AtomicBool>,
    click: Option<(Arc<AtomicBool>, Arc<AtomicU64>)>,
    heard: Option<Arc<AtomicU64>>,
    epoch: Instant,
) -> Vec<std::thread::JoinHandle<()>> {
    let peer: Arc<std::sync::Mutex<Option<SocketAddr>>> = Arc::default();
    let rx = socket.try_clone().unwrap();
    rx.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let tx = socket.try_clone().unwrap();
    let (p1, p2) = (Arc::clone(&peer), Arc::clone(&peer));
    let (s1, s2) = (Arc::clone(stop), Arc::clone(stop));
    let recv = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while !s1.load(Ordering::Relaxed) {
            if let Ok((n, from)) = rx.recv_from(&mut buf) {
                *p1.lock().unwrap() = Some(from);
                if let Some(h) = &heard
                    && n > 12
                    && let Some(i) = buf[12..n].iter().position(|b| alaw(*b).abs() > 0.3)
                {
                    // the phone plays the packet from its first sample on
                    let at = epoch.elapsed() + Duration::from_micros(i as u64 * 125);
                    let us = u64::try_from(at.as_micros()).unwrap_or(u64::MAX);
                    let _ = h.compare_exchange(0, us, Ordering::AcqRel, Ordering::Acquire);
                }
            }
        }
    });
    let send = std::thread::spawn(move || {
        let (mut seq, mut ts) = (0u16, 0u32);
        let start = Instant::now();
        let mut n = 0u32;
        while !s2.load(Ordering::Relaxed) {
            let mut payload = [SILENCE; 160];
            let clicked = click
                .as_ref()
                .is_some_and(|(c, _)| c.swap(false, Ordering::AcqRel));
            if clicked {
                payload[..8].fill(CLICK);
            }
            if let Some(to) = *p2.lock().unwrap() {
                let _ = tx.send_to(&rtp_packet(seq, ts, 0x1234_5678, &payload), to);
            }
            if clicked && let Some((_, sent)) = &click {
                let us = u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
                sent.store(us, Ordering::Release);
            }
            seq = seq.wrapping_add(1);
            ts = ts.wrapping_add(160);
            n += 1;
            // paced on the wall clock, as a phone's sound card
            let next = start + Duration::from_millis(20 * u64::from(n));
            if let Some(d) = next.checked_duration_since(Instant::now()) {
                std::thread::sleep(d);
            }
        }
    });
    vec![recv, send]
}

/// A caller whose RTP goes to the bench's socket at `mport`.
fn sipp(dir: &Path, target: SocketAddr, mport: u16) -> Child {
    Sipp::new("media_at.xml")
        .to(target)
        .timeout_s(60)
        .args(&["-set", "mport", &mport.to_string(), "-nd"])
        .spawn(dir)
}

fn show(dir: &Path, lines: &str) -> Runtime {
    let studio = format!("[audio]\noutput_device = \"none\"\n{lines}");
    let config = ConfigSet::embedded_demo().unwrap();
    let paths = StationPaths::under(dir, &config);
    let studio = parse_studio("studio.toml", &studio, dir, config.show.lines);
    assert!(studio.issues.is_empty(), "{:?}", studio.issues);
    Runtime::start(RuntimeOptions {
        kb: KbSource::None,
        speech: false,
        ..RuntimeOptions::new(config, paths, studio)
    })
    .unwrap()
}

fn on_air(rt: &Runtime, line: u8) {
    let t = Instant::now();
    while rt.board().line_state(line) != LineState::Ringing {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "line {line} did not ring"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    for to in [LineState::Screening, LineState::Hold, LineState::OnAir] {
        rt.execute_as("screener", Role::Screener, Action::Move { line, to })
            .unwrap();
    }
}

/// Trials of B → program → A on lines 1 (A) and 2 (B); `a`, `b` are the
/// phones' sockets, already known to the lines.
fn trials(a: &UdpSocket, b: &UdpSocket, rt: &Runtime) -> Vec<f64> {
    let stop = Arc::new(AtomicBool::new(false));
    let click = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let heard = Arc::new(AtomicU64::new(0));
    let epoch = Instant::now();
    let mut threads = phone_threads(a, &stop, None, Some(Arc::clone(&heard)), epoch);
    threads.extend(phone_threads(
        b,
        &stop,
        Some((Arc::clone(&click), Arc::clone(&sent))),
        None,
        epoch,
    ));
    // both lines learn their phones, the rings fill
    let t = Instant::now();
    while !(rt.rtp_packets(1).is_some_and(|(i, _)| i > 50)
        && rt.rtp_packets(2).is_some_and(|(i, _)| i > 50))
    {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "no audio on the lines"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    let mut out = Vec::new();
    for _ in 0..TRIALS {
        heard.store(0, Ordering::Release);
        sent.store(0, Ordering::Release);
        // the click leaves with B's next packet
        click.store(true, Ordering::Release);
        let t = Instant::now();
        while heard.load(Ordering::Acquire) == 0 && t.elapsed() < Duration::from_secs(1) {
            std::thread::sleep(Duration::from_micros(200));
        }
        let (h, s) = (heard.load(Ordering::Acquire), sent.load(Ordering::Acquire));
        if h > s && s > 0 {
            out.push((h - s) as f64 / 1000.0);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    out.sort_by(f64::total_cmp);
    out
}

fn report(name: &str, v: &[f64]) {
    let p = |q: f64| v[(((v.len() - 1) as f64) * q).round() as usize];
    println!(
        "{name} | {}/{TRIALS} | {:.1} | {:.1} | {:.1}",
        v.len(),
        p(0.5),
        p(0.95),
        v.last().copied().unwrap_or(0.0)
    );
}

fn main() {
    if !installed(&["sipp"]) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    // baseline: the same phones on RTP lines (no SIP)
    let rtp = {
        let data = tempfile::tempdir().unwrap();
        let (a, b) = (
            UdpSocket::bind("127.0.0.1:0").unwrap(),
            UdpSocket::bind("127.0.0.1:0").unwrap(),
        );
        let (la, lb) = (free_port(), free_port());
        let rt = show(
            data.path(),
            &format!(
                "[[line]]\nnumber = 1\nkind = \"rtp\"\nlisten = \"127.0.0.1:{la}\"\ncodec = \"pcma\"\nreply_to = \"{}\"\n\
                 [[line]]\nnumber = 2\nkind = \"rtp\"\nlisten = \"127.0.0.1:{lb}\"\ncodec = \"pcma\"\nreply_to = \"{}\"\n",
                a.local_addr().unwrap(),
                b.local_addr().unwrap()
            ),
        );
        // an RTP line rings when packets come: prime each with one packet
        for (s, port) in [(&a, la), (&b, lb)] {
            s.send_to(&rtp_packet(0, 0, 1, &[SILENCE; 160]), ("127.0.0.1", port))
                .unwrap();
        }
        on_air(&rt, 1);
        on_air(&rt, 2);
        let v = trials(&a, &b, &rt);
        rt.stop();
        v
    };
    let sip = {
        let data = tempfile::tempdir().unwrap();
        let port = free_port();
        let rt = show(
            data.path(),
            &format!(
                "[sip]\nbind = \"127.0.0.1:{port}\"\ncodecs = [\"pcma\"]\n\
                 [[line]]\nnumber = 1\nkind = \"sip\"\n[[line]]\nnumber = 2\nkind = \"sip\"\n"
            ),
        );
        let at = SocketAddr::from(([127, 0, 0, 1], port));
        let (a, b) = (
            UdpSocket::bind("127.0.0.1:0").unwrap(),
            UdpSocket::bind("127.0.0.1:0").unwrap(),
        );
        let mut ca = sipp(work.path(), at, a.local_addr().unwrap().port());
        on_air(&rt, 1);
        let mut cb = sipp(work.path(), at, b.local_addr().unwrap().port());
        on_air(&rt, 2);
        let v = trials(&a, &b, &rt);
        for line in [1, 2] {
            let _ = rt.execute_as(
                "screener",
                Role::Screener,
                Action::Move {
                    line,
                    to: LineState::Ended,
                },
            );
        }
        let _ = ca.wait();
        let _ = cb.wait();
        rt.stop();
        v
    };
    println!(
        "== mouth to ear through AirBridge: caller B → program → caller A, G.711 A-law 20 ms, 127.0.0.1, engine on its internal clock"
    );
    println!("lines | trials heard | median ms | p95 ms | max ms");
    report("two rtp lines (baseline)", &rtp);
    report("two sip lines", &sip);
    println!("goal: ≤ 60 ms each way (≤ 120 ms B → program → A)");
}

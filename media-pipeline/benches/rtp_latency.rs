//! Latency AirBridge adds on an RTP (G.711 µ-law) line, measured with an
//! impulse over real sockets on 127.0.0.1, the engine on its internal
//! clock (no sound card, so no device buffer is counted; a station adds its
//! `buffer_ms` to caller → program).
//!
//! Two callers, both on air. A phone gateway written here sends 20 ms µ-law
//! packets of silence; once per trial one packet of caller B starts with a
//! click. Measured per trial:
//! - **caller → program**: from sending that packet to the click on the
//!   program bus (a program tap read every 0.2 ms);
//! - **program → caller**: from the click on program to the moment caller A
//!   hears it: A's return packet arrives, and the click's place in it is
//!   added (a phone plays a packet from its first sample);
//! - **round trip**: caller B → caller A, the sum.
//!
//! The same run is made with the line settings before this change (jitter
//! buffer 60 ms, ring prefill 60 ms) as the baseline, side by side.
//!
//! Run: `cargo bench -p airbridge-media --bench rtp_latency -- [TRIALS]`

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::disallowed_methods)]

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use airbridge_media::LineState;
use airbridge_media::core::TapPoint;
use airbridge_media::live::{Engine, EngineOptions};
use airbridge_media::rtp::{RtpCodec, RtpLineConfig};

const PACKET: usize = 160; // 20 ms at 8 kHz

/// G.711 µ-law encoding of one 16-bit sample.
fn ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32635;
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(CLIP) + BIAS;
    let mut exp = 7;
    let mut mask = 0x4000;
    while exp > 0 && s & mask == 0 {
        exp -= 1;
        mask >>= 1;
    }
    let mantissa = (s >> (exp + 3)) & 0x0f;
    !((sign | (exp << 4) | mantissa) as u8)
}

/// G.711 µ-law decoding.
fn linear(u: u8) -> f32 {
    let u = !u;
    let exp = (u >> 4) & 7;
    let mantissa = i32::from(u & 0x0f);
    let s = (((mantissa << 3) + 0x84) << exp) - 0x84;
    let s = if u & 0x80 != 0 { -s } else { s };
    s as f32 / 32768.0
}

fn rtp(seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, 0];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

struct Trial {
    to_program: f64,
    to_caller: f64,
}

fn on_air(engine: &Engine, line: u8) {
    for s in [
        LineState::Ringing,
        LineState::Screening,
        LineState::Ready,
        LineState::OnAir,
    ] {
        engine.set_state(line, s).unwrap();
    }
}

fn run(label: &str, jitter_ms: u32, prefill_ms: u32, trials: usize) -> Vec<Trial> {
    let engine = Engine::start(
        EngineOptions {
            lines: 2,
            no_device: true,
            ..EngineOptions::default()
        },
        None,
    )
    .unwrap();
    let mut cfg = RtpLineConfig::new("127.0.0.1:0".parse().unwrap(), RtpCodec::Pcmu);
    cfg.jitter_ms = jitter_ms;
    cfg.prefill_ms = prefill_ms;
    let a_line = engine.add_rtp_line(1, &cfg).unwrap().local_addr();
    let b_line = engine.add_rtp_line(2, &cfg).unwrap().local_addr();
    on_air(&engine, 1);
    on_air(&engine, 2);
    let (_, mut program) = engine.add_tap(TapPoint::Program, 2.0).unwrap();
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    a.set_read_timeout(Some(Duration::from_millis(5))).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    // When the click left B, reached program, reached A.
    let sent: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let at_program: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let at_caller: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));

    // Program watcher.
    let prog_thread = {
        let (stop, at_program) = (Arc::clone(&stop), Arc::clone(&at_program));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let n = program.slots();
                if n > 0 {
                    let chunk = program.read_chunk(n).unwrap();
                    let (x, y) = chunk.as_slices();
                    let hit = x.iter().chain(y).any(|v| v.abs() > 0.2);
                    chunk.commit_all();
                    if hit {
                        let mut p = at_program.lock().unwrap();
                        if p.is_none() {
                            *p = Some(Instant::now());
                        }
                    }
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        })
    };
    // Caller A: sends silence, listens to its mix-minus.
    let a_thread = {
        let (stop, at_caller) = (Arc::clone(&stop), Arc::clone(&at_caller));
        let a = a.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !stop.load(Ordering::Relaxed) {
                if let Ok((n, _)) = a.recv_from(&mut buf) {
                    let now = Instant::now();
                    if n > 12
                        && let Some(j) = buf[12..n].iter().position(|u| linear(*u).abs() > 0.2)
                    {
                        let heard = now + Duration::from_secs_f64(j as f64 / 8000.0);
                        let mut c = at_caller.lock().unwrap();
                        if c.is_none() {
                            *c = Some(heard);
                        }
                    }
                }
            }
        })
    };
    // Both callers talk in 20 ms packets; every 25th packet of B clicks.
    let silence = [ulaw(0); PACKET];
    let mut click = silence;
    for s in click.iter_mut().take(8) {
        *s = ulaw(29_000);
    }
    let mut results = Vec::new();
    let start = Instant::now();
    let mut k: u32 = 0;
    let mut trial_open = false;
    while results.len() < trials {
        let due = start + Duration::from_millis(20 * u64::from(k));
        while Instant::now() < due {
            std::thread::sleep(Duration::from_micros(200));
        }
        let seq = k as u16;
        let ts = k * PACKET as u32;
        let _ = a.send_to(&rtp(seq, ts, 0xA, &silence), a_line);
        let clicks = k >= 50 && k.is_multiple_of(25);
        let payload = if clicks { &click } else { &silence };
        let _ = b.send_to(&rtp(seq, ts, 0xB, payload), b_line);
        if clicks {
            if trial_open {
                // the previous trial: collect it
                let s = sent.lock().unwrap().take();
                let p = at_program.lock().unwrap().take();
                let c = at_caller.lock().unwrap().take();
                if let (Some(s), Some(p), Some(c)) = (s, p, c) {
                    results.push(Trial {
                        to_program: (p - s).as_secs_f64() * 1000.0,
                        to_caller: (c.saturating_duration_since(p)).as_secs_f64() * 1000.0,
                    });
                }
            }
            *sent.lock().unwrap() = Some(Instant::now());
            *at_program.lock().unwrap() = None;
            *at_caller.lock().unwrap() = None;
            trial_open = true;
        }
        k += 1;
        if k > 25 * (trials as u32 + 10) + 100 {
            println!(
                "{label}: gave up after {k} packets with {} trials",
                results.len()
            );
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    prog_thread.join().unwrap();
    a_thread.join().unwrap();
    engine.stop();
    results
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or(f64::NAN)
}

fn report(label: &str, r: &[Trial]) {
    let mut prog: Vec<f64> = r.iter().map(|t| t.to_program).collect();
    let mut back: Vec<f64> = r.iter().map(|t| t.to_caller).collect();
    let mut round: Vec<f64> = r.iter().map(|t| t.to_program + t.to_caller).collect();
    println!(
        "{label:<34} {:>3} trials | caller→program median {:>5.1} ms p95 {:>5.1} | program→caller median {:>5.1} ms p95 {:>5.1} | round trip median {:>5.1} ms",
        r.len(),
        pct(&mut prog, 0.5),
        pct(&mut prog, 0.95),
        pct(&mut back, 0.5),
        pct(&mut back, 0.95),
        pct(&mut round, 0.5),
    );
}

fn main() {
    let trials = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(40);
    println!(
        "RTP line latency, G.711 µ-law, 127.0.0.1, engine on its internal clock (10 ms blocks)"
    );
    let now = run("now (jitter 20 ms, prefill 20 ms)", 20, 20, trials);
    let before = run("before (jitter 60 ms, prefill 60 ms)", 60, 60, trials);
    report("now (jitter 20 ms, prefill 20 ms)", &now);
    report("before (jitter 60 ms, prefill 60 ms)", &before);
    println!("goal: each direction ≤ 60 ms including the jitter buffer");
}

//! Broadcast-delay benchmark (not a test), side by side with the engine
//! without a delay:
//! - cost of one 10 ms block (8 lines, taps on program and air) with no
//!   delay and with an 8 s delay (full, and while rebuilding after a dump);
//! - dump → output clean: blocks from the dump command until what goes
//!   out no longer carries the dumped audio (a 1 kHz tone said just before).
//!
//! Run: `cargo bench -p airbridge-media --bench delay`
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use airbridge_media::core::{Input, TapPoint};
use airbridge_media::dsp::goertzel_power;
use airbridge_media::source::Tone;
use airbridge_media::{MixerConfig, build};

const BLOCKS: usize = 3000; // 30 s of audio

fn per_block(delay_ms: u32, dump_every: Option<usize>) -> (f64, f64) {
    let mut cfg = MixerConfig::new(8);
    cfg.delay_ms = delay_ms;
    let parts = build(cfg).unwrap();
    let (mut ctl, mut core) = (parts.controller, parts.core);
    ctl.set_source(Input::Host, Box::new(Tone::new(48_000, 300.0, 0.2)))
        .unwrap();
    let (_, mut prog) = ctl.add_tap(TapPoint::Program, 1.0).unwrap();
    let (_, mut air) = ctl.add_tap(TapPoint::Air, 1.0).unwrap();
    let mut times = Vec::with_capacity(BLOCKS);
    for i in 0..BLOCKS {
        if dump_every.is_some_and(|n| i % n == 0) {
            ctl.delay_dump(Some(2.0)).unwrap();
        }
        let t = Instant::now();
        core.process_block();
        times.push(t.elapsed());
        while prog.pop().is_ok() {}
        while air.pop().is_ok() {}
        black_box(core.air());
    }
    times.sort();
    let total: Duration = times.iter().sum();
    (
        total.as_secs_f64() * 1e6 / BLOCKS as f64,
        times[BLOCKS * 99 / 100].as_secs_f64() * 1e6,
    )
}

fn dump_to_clean() -> usize {
    let mut cfg = MixerConfig::new(1);
    cfg.delay_ms = 8_000;
    let parts = build(cfg).unwrap();
    let (mut ctl, mut core) = (parts.controller, parts.core);
    // 12 s of air: then the host says something (a 1 kHz tone) for 1 s
    for _ in 0..1200 {
        core.process_block();
    }
    ctl.set_source(Input::Host, Box::new(Tone::new(48_000, 1_000.0, 0.3)))
        .unwrap();
    for _ in 0..100 {
        core.process_block();
    }
    ctl.clear_source(Input::Host).unwrap();
    core.process_block();
    ctl.delay_dump(None).unwrap();
    for n in 1..=1000 {
        core.process_block();
        if goertzel_power(core.air(), 48_000, 1_000.0) < 1e-6 {
            // and it stays clean: the tone must never come out later
            for _ in 0..1000 {
                core.process_block();
                assert!(goertzel_power(core.air(), 48_000, 1_000.0) < 1e-6);
            }
            return n;
        }
    }
    usize::MAX
}

fn main() {
    println!("== broadcast delay, {BLOCKS} blocks of 10 ms, 8 lines, taps on program and air");
    println!("case | mean µs/block | p99 µs/block");
    for (name, delay, dump) in [
        ("no delay (baseline)", 0, None),
        ("8 s delay, full", 8_000, None),
        ("8 s delay, dump every 5 s (rebuilding)", 8_000, Some(500)),
    ] {
        let (mean, p99) = per_block(delay, dump);
        println!("{name} | {mean:.1} | {p99:.1}");
    }
    let n = dump_to_clean();
    println!("dump → output clean: {n} block(s) of 10 ms after the dump command");
}

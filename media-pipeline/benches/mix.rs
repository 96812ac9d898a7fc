//! Benchmark of the mixing core: CPU per 10 ms block for 8, 16 and 32 caller
//! lines with every bus, a mix-minus per caller, program loudness, and a
//! speech tap + call-recording tap per line; allocations counted on the
//! audio path with a counting global allocator. Side by side: a naive mixer
//! that allocates its buffers every block and builds each mix-minus by
//! summing all other lines.
//!
//! Run: `cargo bench -p airbridge-media --bench mix`

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use airbridge_media::core::TapPoint;
use airbridge_media::source::Tone;
use airbridge_media::{LineState, MixerConfig, build};

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);

// Delegates to the system allocator and counts; benchmark-only, so the
// workspace's unsafe_code rule is waived here.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const BLOCKS: usize = 3000; // 30 s of audio
const BLOCK: usize = 480;

struct Figures {
    mean_us: f64,
    p99_us: f64,
    allocs: u64,
}

fn summarise(mut times: Vec<Duration>, allocs: u64) -> Figures {
    let total: Duration = times.iter().sum();
    times.sort();
    Figures {
        mean_us: total.as_secs_f64() * 1e6 / times.len() as f64,
        p99_us: times[times.len() * 99 / 100].as_secs_f64() * 1e6,
        allocs,
    }
}

fn engine(lines: usize, taps_on: bool) -> Figures {
    let parts = build(MixerConfig::new(lines)).unwrap();
    let (mut ctl, mut core) = (parts.controller, parts.core);
    let mut taps = Vec::new();
    for i in 0..lines {
        let line = u8::try_from(i + 1).unwrap();
        ctl.set_line_source(
            line,
            Box::new(Tone::new(48_000, 150.0 + 37.0 * i as f32, 0.1)),
        )
        .unwrap();
        let path: &[LineState] = match i % 4 {
            0 | 1 => &[
                LineState::Ringing,
                LineState::Screening,
                LineState::Ready,
                LineState::OnAir,
            ],
            2 => &[LineState::Ringing, LineState::Screening, LineState::Hold],
            _ => &[LineState::Ringing, LineState::Screening],
        };
        for s in path {
            ctl.set_state(line, *s).unwrap();
        }
        if taps_on {
            taps.push(ctl.stt_tap(line).unwrap().1);
            taps.push(ctl.add_tap(TapPoint::Call(i), 1.0).unwrap().1);
        }
    }
    ctl.set_source(
        airbridge_media::Input::Host,
        Box::new(Tone::new(48_000, 100.0, 0.1)),
    )
    .unwrap();
    ctl.set_source(
        airbridge_media::Input::Hold,
        Box::new(Tone::new(48_000, 1500.0, 0.1)),
    )
    .unwrap();
    if taps_on {
        taps.push(ctl.add_tap(TapPoint::Program, 1.0).unwrap().1);
        taps.push(ctl.add_tap(TapPoint::Cue, 1.0).unwrap().1);
    }
    for _ in 0..200 {
        core.process_block();
        for t in &mut taps {
            let n = t.slots();
            t.read_chunk(n).unwrap().commit_all();
        }
    }
    let mut times = Vec::with_capacity(BLOCKS);
    let mut allocs = 0;
    for _ in 0..BLOCKS {
        let a0 = ALLOCS.load(Ordering::Relaxed);
        let t0 = Instant::now();
        core.process_block();
        times.push(t0.elapsed());
        allocs += ALLOCS.load(Ordering::Relaxed) - a0;
        // the readers (recorder, speech worker) run elsewhere: not timed
        for t in &mut taps {
            let n = t.slots();
            t.read_chunk(n).unwrap().commit_all();
        }
    }
    black_box(core.mixer().program());
    summarise(times, allocs)
}

/// The obvious way: fresh buffers every block, each mix-minus re-summed.
fn naive(lines: usize) -> Figures {
    let mut tones: Vec<Tone> = (0..lines)
        .map(|i| Tone::new(48_000, 150.0 + 37.0 * i as f32, 0.1))
        .collect();
    let on_air: Vec<bool> = (0..lines).map(|i| i % 4 < 2).collect();
    let mut times = Vec::with_capacity(BLOCKS);
    let mut allocs = 0;
    for _ in 0..BLOCKS {
        let a0 = ALLOCS.load(Ordering::Relaxed);
        let t0 = Instant::now();
        let inputs: Vec<Vec<f32>> = tones
            .iter_mut()
            .map(|t| {
                let mut v = vec![0.0; BLOCK];
                airbridge_media::source::Source::fill(t, &mut v);
                v
            })
            .collect();
        let program: Vec<f32> = (0..BLOCK)
            .map(|k| {
                let s: f32 = (0..lines)
                    .filter(|&i| on_air[i])
                    .map(|i| inputs[i][k])
                    .sum();
                s.clamp(-0.966, 0.966)
            })
            .collect();
        let mix_minus: Vec<Vec<f32>> = (0..lines)
            .map(|me| {
                (0..BLOCK)
                    .map(|k| {
                        (0..lines)
                            .filter(|&i| i != me && on_air[i])
                            .map(|i| inputs[i][k])
                            .sum::<f32>()
                            .clamp(-0.966, 0.966)
                    })
                    .collect()
            })
            .collect();
        black_box((&program, &mix_minus));
        times.push(t0.elapsed());
        allocs += ALLOCS.load(Ordering::Relaxed) - a0;
    }
    summarise(times, allocs)
}

fn main() {
    println!("mixing core, 48 kHz, 10 ms blocks, {BLOCKS} blocks per figure (release build)");
    println!(
        "{:>5} {:<34} | {:>9} {:>9} {:>7} {:>8}",
        "lines", "mixer", "mean µs", "p99 µs", "% core", "allocs"
    );
    for lines in [8, 16, 32] {
        let rows = [
            ("engine, all buses + taps", engine(lines, true)),
            ("engine, no taps", engine(lines, false)),
            ("naive allocating (baseline)", naive(lines)),
        ];
        for (name, f) in rows {
            println!(
                "{lines:>5} {name:<34} | {:>9.1} {:>9.1} {:>7.2} {:>8}",
                f.mean_us,
                f.p99_us,
                f.mean_us / 100.0,
                f.allocs
            );
        }
    }
    println!(
        "engine: program + cue + mix-minus per caller, program and per-return limiters, host/talkback/hold inputs,"
    );
    println!(
        "        gain ramps, peak/RMS meters on every line and bus, R128 momentary/short-term on program;"
    );
    println!(
        "        'all buses + taps' adds a 16 kHz speech tap and a stereo call-recording tap per line, program and cue taps"
    );
    println!(
        "naive: program and mix-minus only, buffers allocated each block, each mix-minus re-summed over all callers"
    );
}

#![allow(clippy::unwrap_used)]
//! The broadcast delay keeps the audio thread's rules: a block with a dump,
//! a rebuild, an exit and an enter allocates nothing. Alone in its test
//! binary so that the counting allocator sees no other test's work.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use airbridge_media::core::{Input, TapPoint};
use airbridge_media::source::Tone;
use airbridge_media::{MixerConfig, build};

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);

// Delegates to the system allocator and counts while asked to; test-only,
// so the workspace's unsafe_code rule is waived here.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn the_delay_path_allocates_nothing_on_the_audio_thread() {
    let mut cfg = MixerConfig::new(2);
    cfg.delay_ms = 8_000;
    let parts = build(cfg).unwrap();
    let (mut ctl, mut core) = (parts.controller, parts.core);
    ctl.set_source(Input::Host, Box::new(Tone::new(48_000, 300.0, 0.2)))
        .unwrap();
    let (_, mut air) = ctl.add_tap(TapPoint::Air, 1.0).unwrap();
    // let the commands land, then count only the blocks
    core.process_block();
    let mut total = 0;
    for round in 0..4 {
        // commands are queued here (control side), processed in the blocks
        match round {
            0 => ctl.delay_dump(Some(3.0)).unwrap(),
            1 => ctl.delay_dump(None).unwrap(),
            2 => ctl.delay_exit(true).unwrap(),
            _ => ctl.delay_exit(false).unwrap(),
        }
        COUNTING.store(true, Ordering::Relaxed);
        for _ in 0..1_000 {
            core.process_block();
        }
        COUNTING.store(false, Ordering::Relaxed);
        total += ALLOCS.swap(0, Ordering::Relaxed);
        while air.pop().is_ok() {}
    }
    assert_eq!(total, 0, "allocations on the audio path");
}

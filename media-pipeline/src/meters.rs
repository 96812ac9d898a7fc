//! Meters: written by the audio thread into atomics once per block, read
//! lock-free by the UI every frame (`Relaxed` loads; values are independent).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// An `f32` stored in an `AtomicU32`.
#[derive(Debug, Default)]
pub struct AtomicF32(AtomicU32);

impl AtomicF32 {
    pub fn new(v: f32) -> Self {
        Self(AtomicU32::new(v.to_bits()))
    }
    pub fn load(&self) -> f32 {
        f32::from_bits(self.0.load(Ordering::Relaxed))
    }
    pub fn store(&self, v: f32) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }
}

/// Peak and RMS of the last block (linear, 0..=1 for full scale).
#[derive(Debug, Default)]
pub struct Level {
    peak: AtomicF32,
    rms: AtomicF32,
}

/// A plain copy of a [`Level`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LevelReading {
    pub peak: f32,
    pub rms: f32,
}

impl Level {
    /// Measures `block` and stores the result (audio thread).
    pub fn measure(&self, block: &[f32]) {
        let mut peak = 0.0f32;
        let mut sum = 0.0f32;
        for &x in block {
            peak = peak.max(x.abs());
            sum += x * x;
        }
        let rms = if block.is_empty() {
            0.0
        } else {
            (sum / block.len() as f32).sqrt()
        };
        self.peak.store(peak);
        self.rms.store(rms);
    }

    pub fn read(&self) -> LevelReading {
        LevelReading {
            peak: self.peak.load(),
            rms: self.rms.load(),
        }
    }
}

/// Every meter the engine keeps. Shared as `Arc<Meters>`.
#[derive(Debug)]
pub struct Meters {
    /// Per caller line (index = line number − 1), after gain/fader/mute.
    pub lines: Vec<Level>,
    /// Per caller line: that caller's mix-minus return.
    pub mix_minus: Vec<Level>,
    pub program: Level,
    pub cue: Level,
    /// Program loudness (EBU R128), LUFS; −inf / very low when silent.
    pub momentary_lufs: AtomicF32,
    pub short_term_lufs: AtomicF32,
    /// Program limiter gain reduction of the last block, in dB (≥ 0).
    pub limiter_reduction_db: AtomicF32,
    /// Blocks processed since start (a heartbeat for the UI).
    pub blocks: AtomicU64,
    /// Output callbacks that found no audio ready (live engine only).
    pub xruns: AtomicU64,
    /// The broadcast delay on what goes out.
    pub delay: crate::delay::DelayMeter,
}

impl Meters {
    pub fn new(lines: usize) -> Self {
        Self {
            lines: (0..lines).map(|_| Level::default()).collect(),
            mix_minus: (0..lines).map(|_| Level::default()).collect(),
            program: Level::default(),
            cue: Level::default(),
            momentary_lufs: AtomicF32::new(f32::NEG_INFINITY),
            short_term_lufs: AtomicF32::new(f32::NEG_INFINITY),
            limiter_reduction_db: AtomicF32::new(0.0),
            blocks: AtomicU64::new(0),
            xruns: AtomicU64::new(0),
            delay: crate::delay::DelayMeter::default(),
        }
    }

    /// A copy of everything, for a UI frame or a test.
    pub fn snapshot(&self) -> MeterSnapshot {
        MeterSnapshot {
            lines: self.lines.iter().map(Level::read).collect(),
            mix_minus: self.mix_minus.iter().map(Level::read).collect(),
            program: self.program.read(),
            cue: self.cue.read(),
            momentary_lufs: self.momentary_lufs.load(),
            short_term_lufs: self.short_term_lufs.load(),
            limiter_reduction_db: self.limiter_reduction_db.load(),
            blocks: self.blocks.load(Ordering::Relaxed),
            xruns: self.xruns.load(Ordering::Relaxed),
            delay: self.delay.read(),
        }
    }
}

/// A copy of [`Meters`] at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct MeterSnapshot {
    pub lines: Vec<LevelReading>,
    pub mix_minus: Vec<LevelReading>,
    pub program: LevelReading,
    pub cue: LevelReading,
    pub momentary_lufs: f32,
    pub short_term_lufs: f32,
    pub limiter_reduction_db: f32,
    pub blocks: u64,
    pub xruns: u64,
    pub delay: crate::delay::DelayReading,
}

//! The broadcast delay ("profanity delay") on what goes out: program in,
//! air out, N seconds later. The studio keeps hearing program live; FM,
//! streams and the air recording take the delayed signal.
//!
//! - **Dump** removes the newest unaired audio (up to `dump` frames, by
//!   default the whole delay) so that it never reaches the output. The
//!   output continues from what was said *after* the dump button, with a
//!   2.5 ms crossfade across the cut (the fading tail is inaudible as
//!   speech and keeps the cut free of a click).
//! - **Rebuild** after a dump (or after "enter" from no delay): the delay
//!   grows back by reading the buffer slower than real time. Silent blocks
//!   (below −45 dBFS RMS) are read at half speed, which stretches pauses and
//!   cannot be heard; program with sound is read 3 % slow (varispeed, about
//!   half a semitone, below what listeners notice on speech). Worst case
//!   (no pause at all) the delay is full again after `N / 0.03` seconds;
//!   with the pauses of talk radio (about a fifth of the time) after about
//!   `N / 0.12` seconds.
//! - **Exit** runs the delay down to zero before the show ends the same way
//!   in reverse: pauses are read at 1.5× and sound at 1.03×.
//!
//! Real-time rules: the ring and the output block are allocated in
//! [`BroadcastDelay::new`]; [`BroadcastDelay::process`] neither allocates
//! nor locks. The control side sees the state through [`DelayMeter`]
//! atomics.

use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};

/// How far the delay is from its target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DelayMode {
    /// No delay configured, or run down to zero by "exit".
    #[default]
    Off,
    /// Growing back towards the target (after a dump or "enter").
    Building,
    /// At the target: what goes out is exactly N seconds old.
    Full,
    /// Running down to zero before the end of the show.
    Exiting,
}

impl DelayMode {
    fn to_u8(self) -> u8 {
        match self {
            DelayMode::Off => 0,
            DelayMode::Building => 1,
            DelayMode::Full => 2,
            DelayMode::Exiting => 3,
        }
    }
    fn from_u8(v: u8) -> DelayMode {
        match v {
            1 => DelayMode::Building,
            2 => DelayMode::Full,
            3 => DelayMode::Exiting,
            _ => DelayMode::Off,
        }
    }

    /// Word for screens and the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            DelayMode::Off => "off",
            DelayMode::Building => "building",
            DelayMode::Full => "full",
            DelayMode::Exiting => "exiting",
        }
    }

    /// The same in Chinese, for the console.
    pub fn zh(self) -> &'static str {
        match self {
            DelayMode::Off => "无延时",
            DelayMode::Building => "延时重建中",
            DelayMode::Full => "延时已满",
            DelayMode::Exiting => "退出延时中",
        }
    }
}

/// Highest delay a station may configure, in seconds.
pub const MAX_DELAY_SECS: u32 = 40;
/// RMS below which a block counts as a pause (−45 dBFS).
const SILENCE_RMS: f32 = 0.005_6;
/// Read-speed change while a block has sound (3 %).
const SOUND_STRETCH: f64 = 0.03;
/// Read-speed change while a block is a pause (50 %).
const PAUSE_STRETCH: f64 = 0.5;
/// Crossfade across a dump cut, milliseconds.
const CROSSFADE_MS: f64 = 2.5;

/// The delay state shared with the control side (lock-free).
#[derive(Debug, Default)]
pub struct DelayMeter {
    mode: AtomicU8,
    /// Delay now, in milliseconds.
    now_ms: AtomicU32,
    /// Target delay, in milliseconds (0 = no delay configured).
    target_ms: AtomicU32,
    /// Dumps done since start.
    dumps: AtomicU32,
}

/// A plain copy of [`DelayMeter`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DelayReading {
    pub mode: DelayMode,
    pub now_ms: u32,
    pub target_ms: u32,
    pub dumps: u32,
}

impl DelayReading {
    /// Whether a delay is configured at all.
    pub fn configured(&self) -> bool {
        self.target_ms > 0
    }
}

impl DelayMeter {
    pub fn read(&self) -> DelayReading {
        DelayReading {
            mode: DelayMode::from_u8(self.mode.load(Ordering::Relaxed)),
            now_ms: self.now_ms.load(Ordering::Relaxed),
            target_ms: self.target_ms.load(Ordering::Relaxed),
            dumps: self.dumps.load(Ordering::Relaxed),
        }
    }
}

/// What one block of [`BroadcastDelay::process`] changed, for events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DelayChange {
    /// The mode changed to this.
    pub mode: Option<DelayMode>,
    /// A dump cut this many frames out of the output in this block.
    pub dumped_frames: Option<u64>,
}

/// The delay line (audio thread).
#[derive(Debug)]
pub struct BroadcastDelay {
    rate: u32,
    ring: Vec<f32>,
    /// Frames written since start (absolute position of the next write).
    w: u64,
    /// Absolute read position (fractional while stretching).
    r: f64,
    /// Configured delay, frames.
    configured: u64,
    /// Delay aimed at now (the configured one, or 0 while exiting / off).
    target: u64,
    mode: DelayMode,
    /// A pending dump: output jumps from `.0` to `.1`.
    cut: Option<(u64, u64)>,
    /// Crossfade in progress across a cut: frames left, and the offset back
    /// to the audio being faded out.
    fade_left: usize,
    fade_back: u64,
    fade_len: usize,
    /// Dumps cut so far.
    dumps: u32,
    out: Vec<f32>,
}

impl BroadcastDelay {
    /// A delay of `delay_ms` at `rate`, processing blocks of `block`
    /// frames; starts full (the first N seconds of air are silence).
    pub fn new(rate: u32, block: usize, delay_ms: u32) -> BroadcastDelay {
        let configured = u64::from(delay_ms.min(MAX_DELAY_SECS * 1000)) * u64::from(rate) / 1000;
        // room for the delay, the block just written and the slack of stretching
        let cap = configured as usize + 4 * block + 16;
        let mode = if configured > 0 {
            DelayMode::Full
        } else {
            DelayMode::Off
        };
        BroadcastDelay {
            rate,
            ring: vec![0.0; cap],
            w: configured,
            r: 0.0,
            configured,
            target: configured,
            mode,
            cut: None,
            fade_left: 0,
            fade_back: 0,
            fade_len: ((f64::from(rate) * CROSSFADE_MS / 1000.0) as usize).max(1),
            dumps: 0,
            out: vec![0.0; block],
        }
    }

    /// Current mode.
    pub fn mode(&self) -> DelayMode {
        self.mode
    }

    /// Delay now, in frames.
    pub fn delay_frames(&self) -> u64 {
        (self.w as f64 - self.r).max(0.0).round() as u64
    }

    /// Configured delay, in frames.
    pub fn configured_frames(&self) -> u64 {
        self.configured
    }

    /// The last block that goes out.
    pub fn air(&self) -> &[f32] {
        &self.out
    }

    /// Cuts the newest `frames` of unaired audio (at most what is in the
    /// delay). Returns the frames that will be cut (0: nothing to dump).
    pub fn dump(&mut self, frames: u64) -> u64 {
        let r = self.r.ceil() as u64;
        let newest = self.w;
        let start = newest.saturating_sub(frames).max(r);
        let start = match self.cut {
            Some((s, _)) => s.min(start),
            None => start,
        };
        if start >= newest {
            return 0;
        }
        self.cut = Some((start, newest));
        newest - start
    }

    /// Runs the delay down to zero.
    pub fn exit(&mut self) {
        if self.configured == 0 {
            return;
        }
        self.target = 0;
        self.mode = if self.delay_frames() == 0 {
            DelayMode::Off
        } else {
            DelayMode::Exiting
        };
    }

    /// Builds the delay back up to the configured length.
    pub fn enter(&mut self) {
        if self.configured == 0 {
            return;
        }
        self.target = self.configured;
        if self.delay_frames() < self.configured {
            self.mode = DelayMode::Building;
        }
    }

    fn at(&self, pos: u64) -> f32 {
        self.ring[(pos % self.ring.len() as u64) as usize]
    }

    /// Linear interpolation at absolute position `p`.
    fn sample(&self, p: f64) -> f32 {
        let i = p.floor();
        let frac = (p - i) as f32;
        let i = i as u64;
        let a = self.at(i);
        if frac == 0.0 {
            a
        } else {
            a + (self.at(i + 1) - a) * frac
        }
    }

    fn block_is_pause(&self, n: usize) -> bool {
        let start = self.r.floor() as u64;
        let avail = (self.w - start.min(self.w)) as usize;
        let n = n.min(avail);
        if n == 0 {
            return true;
        }
        let mut sum = 0.0f32;
        for k in 0..n as u64 {
            let x = self.at(start + k);
            sum += x * x;
        }
        (sum / n as f32).sqrt() < SILENCE_RMS
    }

    /// Takes one block of program, produces one block of air. Real-time safe.
    pub fn process(&mut self, program: &[f32]) -> DelayChange {
        let n = program.len().min(self.out.len());
        let cap = self.ring.len() as u64;
        for (k, &x) in program[..n].iter().enumerate() {
            let pos = self.w + k as u64;
            self.ring[(pos % cap) as usize] = x;
        }
        self.w += n as u64;
        let before = self.mode;
        let mut change = DelayChange::default();

        let d = self.w as f64 - self.r;
        let nb = n as f64;
        // how many frames of the buffer this block consumes
        let consume = match self.mode {
            DelayMode::Off | DelayMode::Full => nb,
            DelayMode::Building => {
                let s = if self.block_is_pause(n) {
                    PAUSE_STRETCH
                } else {
                    SOUND_STRETCH
                };
                let c = nb * (1.0 - s);
                // stop exactly at the target
                if d - c >= self.target as f64 {
                    self.mode = DelayMode::Full;
                    (d - self.target as f64).max(0.0)
                } else {
                    c
                }
            }
            DelayMode::Exiting => {
                let s = if self.block_is_pause(n) {
                    PAUSE_STRETCH
                } else {
                    SOUND_STRETCH
                };
                let c = nb * (1.0 + s);
                if d - c <= 0.0 {
                    self.mode = DelayMode::Off;
                    d.max(0.0)
                } else {
                    c
                }
            }
        };
        let step = consume / nb;
        for i in 0..n {
            let mut p = self.r + i as f64 * step;
            if let Some((start, end)) = self.cut
                && p >= start as f64
            {
                // jump over the dumped audio; the rest of the block and the
                // read position move with it
                let skip = end - start;
                self.r += skip as f64;
                p += skip as f64;
                self.cut = None;
                self.fade_left = self.fade_len;
                self.fade_back = skip;
                change.dumped_frames = Some(skip);
                self.dumps = self.dumps.saturating_add(1);
                if self.mode == DelayMode::Full && self.target > 0 {
                    self.mode = DelayMode::Building;
                }
            }
            let mut x = self.sample(p);
            if self.fade_left > 0 {
                let g = 1.0 - self.fade_left as f32 / (self.fade_len + 1) as f32;
                let old = self.sample(p - self.fade_back as f64);
                x = x * g + old * (1.0 - g);
                self.fade_left -= 1;
            }
            self.out[i] = x;
        }
        self.r += consume;
        if self.mode == DelayMode::Full {
            // no drift: the delay is exactly the target in whole frames
            self.r = (self.w - self.target.min(self.w)) as f64;
        }
        if self.mode == DelayMode::Off {
            self.r = self.w as f64;
        }
        if self.mode != before {
            change.mode = Some(self.mode);
        }
        change
    }

    /// Publishes the state for the control side.
    pub fn publish(&self, meter: &DelayMeter) {
        let ms = |f: u64| (f * 1000 / u64::from(self.rate.max(1))) as u32;
        meter.mode.store(self.mode.to_u8(), Ordering::Relaxed);
        meter
            .now_ms
            .store(ms(self.delay_frames()), Ordering::Relaxed);
        meter
            .target_ms
            .store(ms(self.configured), Ordering::Relaxed);
        meter.dumps.store(self.dumps, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 1000;
    const BLOCK: usize = 10;

    /// A ramp that says which input frame each output sample came from.
    fn run(delay: &mut BroadcastDelay, from: &mut u64, blocks: usize, out: &mut Vec<f32>) {
        for _ in 0..blocks {
            let block: Vec<f32> = (0..BLOCK as u64).map(|k| (*from + k + 1) as f32).collect();
            *from += BLOCK as u64;
            delay.process(&block);
            out.extend_from_slice(delay.air());
        }
    }

    #[test]
    fn full_delay_is_exact() {
        let mut d = BroadcastDelay::new(RATE, BLOCK, 2000);
        assert_eq!(d.mode(), DelayMode::Full);
        let (mut from, mut out) = (0, Vec::new());
        run(&mut d, &mut from, 300, &mut out);
        // the first 2 s are silence, then input frame k comes out at k + 2000
        assert!(out[..2000].iter().all(|&x| x == 0.0));
        for (i, &x) in out.iter().enumerate().skip(2000) {
            assert_eq!(x, (i - 2000 + 1) as f32);
        }
        assert_eq!(d.delay_frames(), 2000);
    }

    #[test]
    fn no_delay_passes_through() {
        let mut d = BroadcastDelay::new(RATE, BLOCK, 0);
        let (mut from, mut out) = (0, Vec::new());
        run(&mut d, &mut from, 5, &mut out);
        assert_eq!(out[0], 1.0);
        assert_eq!(out[49], 50.0);
        assert_eq!(d.mode(), DelayMode::Off);
        assert_eq!(d.dump(100), 0);
    }

    #[test]
    fn dump_never_airs_the_newest_seconds_then_rebuilds() {
        let mut d = BroadcastDelay::new(RATE, BLOCK, 2000);
        let (mut from, mut out) = (0, Vec::new());
        run(&mut d, &mut from, 300, &mut out); // 3 s written, 1 s aired
        // the newest second (input frames 2001..=3000) must never go out
        assert_eq!(d.dump(1000), 1000);
        // the older second (1001..=2000) still goes out, then the cut
        run(&mut d, &mut from, 200, &mut out);
        assert_eq!(d.mode(), DelayMode::Building);
        // before the cut: the older second, in order
        let aired_after = &out[3000..];
        let cut = aired_after
            .windows(2)
            .position(|w| (w[1] - w[0] - 1.0).abs() > 0.5)
            .map_or(aired_after.len(), |i| i + 1);
        assert_eq!(cut, 1000, "the older second plays out before the cut");
        assert_eq!(aired_after[cut - 1], 2000.0);
        // after the crossfade (fade_len samples) audio continues from
        // input frame 3001 on; no dumped frame ever goes out
        let fade = d.fade_len;
        assert_eq!(aired_after[cut + fade], (3001 + fade) as f32);
        for &x in &aired_after[cut + fade..] {
            assert!(x > 3000.0, "dumped frame {x} went out");
        }
        assert!(d.delay_frames() < 2000);
    }

    #[test]
    fn rebuild_reaches_full_within_the_stated_time() {
        // worst case: sound everywhere → at 3 % per block, N / 0.03 seconds
        let mut d = BroadcastDelay::new(RATE, BLOCK, 1000);
        let (mut from, mut out) = (0, Vec::new());
        run(&mut d, &mut from, 200, &mut out);
        d.dump(1000);
        run(&mut d, &mut from, 1, &mut out); // the cut is at the read position
        assert_eq!(d.mode(), DelayMode::Building);
        let mut blocks = 1;
        while d.mode() != DelayMode::Full {
            run(&mut d, &mut from, 1, &mut out);
            blocks += 1;
            assert!(blocks < 4000, "still {:?} after {blocks} blocks", d.mode());
        }
        let secs = blocks as f64 * BLOCK as f64 / f64::from(RATE);
        assert!(secs <= 1.0 / SOUND_STRETCH + 0.1, "{secs} s");
        assert_eq!(d.delay_frames(), 1000);
        // and it stays exact afterwards: the last frame out is the input
        // frame written exactly 1 s before
        run(&mut d, &mut from, 10, &mut out);
        assert_eq!(*out.last().unwrap_or(&0.0), (from - 1000) as f32);
    }

    #[test]
    fn pauses_rebuild_faster_than_sound() {
        let mut d = BroadcastDelay::new(RATE, BLOCK, 1000);
        d.dump(1000);
        d.process(&[0.0; BLOCK]);
        assert_eq!(d.mode(), DelayMode::Building);
        let mut blocks = 1;
        while d.mode() != DelayMode::Full && blocks < 1000 {
            d.process(&[0.0; BLOCK]);
            blocks += 1;
        }
        // silence is read at half speed: a 1 s delay is back after ~2 s
        assert!(blocks <= 210, "{blocks} blocks");
    }

    #[test]
    fn exit_runs_down_to_zero_and_enter_builds_back() {
        let mut d = BroadcastDelay::new(RATE, BLOCK, 500);
        let (mut from, mut out) = (0, Vec::new());
        run(&mut d, &mut from, 100, &mut out);
        d.exit();
        assert_eq!(d.mode(), DelayMode::Exiting);
        let mut blocks = 0;
        while d.mode() != DelayMode::Off {
            run(&mut d, &mut from, 1, &mut out);
            blocks += 1;
            assert!(blocks < 2000);
        }
        assert_eq!(d.delay_frames(), 0);
        // output is now the input of the same block
        run(&mut d, &mut from, 1, &mut out);
        assert_eq!(*out.last().unwrap_or(&0.0), from as f32);
        d.enter();
        assert_eq!(d.mode(), DelayMode::Building);
    }
}

//! The mixing core: caller lines with states, gain/mute/fader, the program
//! and cue buses, a mix-minus return per caller, the program limiter, meters.
//!
//! [`Mixer::process`] is pure and allocation-free: every buffer is allocated
//! in [`Mixer::new`]. Inputs are written into the mixer's own buffers
//! ([`Mixer::line_input_mut`] …), outputs are read back after `process`.
//! The live engine and the headless renderer both drive this same code.

use std::sync::Arc;

use airbridge_show::line::LineState;

use crate::dsp::{Limiter, to_dbfs};
use crate::meters::Meters;

/// What a caller on hold hears.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldFeed {
    /// The hold-audio loop (music, station promo).
    #[default]
    HoldAudio,
    /// The program (the show as it goes out).
    Program,
}

/// Fixed shape of a mixer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MixerConfig {
    pub sample_rate: u32,
    /// Frames per block (e.g. 480 = 10 ms at 48 kHz).
    pub block_frames: usize,
    /// Number of caller lines.
    pub lines: usize,
    /// Program limiter ceiling, linear.
    pub limiter_ceiling: f32,
    /// Broadcast delay on what goes out (air), ms; 0 = none.
    pub delay_ms: u32,
}

impl MixerConfig {
    /// 48 kHz, 10 ms blocks, `lines` caller lines, ceiling −0.3 dBFS.
    pub fn new(lines: usize) -> Self {
        Self {
            sample_rate: 48_000,
            block_frames: 480,
            lines,
            limiter_ceiling: 0.966,
            delay_ms: 0,
        }
    }
}

/// Per-line settings the control side can change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineControl {
    pub state: LineState,
    /// Input trim, linear.
    pub gain: f32,
    /// Fader position, linear 0..=1.
    pub fader: f32,
    pub mute: bool,
    pub hold_feed: HoldFeed,
}

impl Default for LineControl {
    fn default() -> Self {
        Self {
            state: LineState::Idle,
            gain: 1.0,
            fader: 1.0,
            mute: false,
            hold_feed: HoldFeed::HoldAudio,
        }
    }
}

impl LineControl {
    fn effective_gain(&self) -> f32 {
        if self.mute {
            0.0
        } else {
            self.gain * self.fader
        }
    }
}

/// The mixer: see the module docs.
#[derive(Debug)]
pub struct Mixer {
    cfg: MixerConfig,
    controls: Vec<LineControl>,
    /// Gain used in the previous block, for click-free ramps.
    prev_gain: Vec<f32>,
    line_in: Vec<f32>,
    /// Line audio after gain (what the line contributes where it is routed).
    line_post: Vec<f32>,
    mix_minus: Vec<f32>,
    host_in: Vec<f32>,
    talkback_in: Vec<f32>,
    hold_in: Vec<f32>,
    program: Vec<f32>,
    /// Program before the limiter (mix-minus is derived from it).
    program_sum: Vec<f32>,
    limiter_gain: Vec<f32>,
    mm_gain_scratch: Vec<f32>,
    cue: Vec<f32>,
    limiter: Limiter,
    /// One limiter per mix-minus: following the program limiter's gain would
    /// modulate the return with the caller's own voice.
    mm_limiters: Vec<Limiter>,
    host_gain: f32,
    meters: Arc<Meters>,
    loudness: Option<ebur128::EbuR128>,
    block_count: u64,
    loudness_every: u64,
}

impl Mixer {
    pub fn new(cfg: MixerConfig) -> Self {
        let b = cfg.block_frames;
        let n = cfg.lines;
        // Momentary + short-term only: no integrated history, so adding
        // frames never allocates.
        let loudness =
            ebur128::EbuR128::new(1, cfg.sample_rate, ebur128::Mode::M | ebur128::Mode::S).ok();
        Self {
            cfg,
            controls: vec![LineControl::default(); n],
            prev_gain: vec![0.0; n],
            line_in: vec![0.0; n * b],
            line_post: vec![0.0; n * b],
            mix_minus: vec![0.0; n * b],
            host_in: vec![0.0; b],
            talkback_in: vec![0.0; b],
            hold_in: vec![0.0; b],
            program: vec![0.0; b],
            program_sum: vec![0.0; b],
            limiter_gain: vec![1.0; b],
            mm_gain_scratch: vec![1.0; b],
            cue: vec![0.0; b],
            limiter: Limiter::new(cfg.sample_rate, cfg.limiter_ceiling, 150.0),
            mm_limiters: vec![Limiter::new(cfg.sample_rate, cfg.limiter_ceiling, 150.0); n],
            host_gain: 1.0,
            meters: Arc::new(Meters::new(n)),
            loudness,
            block_count: 0,
            loudness_every: (cfg.sample_rate as usize / 10 / cfg.block_frames.max(1)).max(1) as u64,
        }
    }

    pub fn config(&self) -> &MixerConfig {
        &self.cfg
    }

    pub fn meters(&self) -> &Arc<Meters> {
        &self.meters
    }

    /// Settings of a line (index 0-based).
    pub fn control(&self, idx: usize) -> Option<&LineControl> {
        self.controls.get(idx)
    }

    /// Changes a line's settings. The mixer does not judge state transitions:
    /// the control side checks them (see [`LineState::check`]).
    pub fn control_mut(&mut self, idx: usize) -> Option<&mut LineControl> {
        self.controls.get_mut(idx)
    }

    pub fn set_host_gain(&mut self, gain: f32) {
        self.host_gain = gain;
    }

    fn span(&self, idx: usize) -> std::ops::Range<usize> {
        let b = self.cfg.block_frames;
        idx * b..(idx + 1) * b
    }

    /// Input buffer of caller line `idx` for the next block.
    pub fn line_input_mut(&mut self, idx: usize) -> &mut [f32] {
        let r = self.span(idx);
        &mut self.line_in[r]
    }
    /// Studio (host microphone) input: always on program.
    pub fn host_input_mut(&mut self) -> &mut [f32] {
        &mut self.host_in
    }
    /// Screener talkback: what a caller being screened hears.
    pub fn talkback_input_mut(&mut self) -> &mut [f32] {
        &mut self.talkback_in
    }
    /// Hold audio for callers on hold.
    pub fn hold_input_mut(&mut self) -> &mut [f32] {
        &mut self.hold_in
    }

    /// The program bus after the limiter.
    pub fn program(&self) -> &[f32] {
        &self.program
    }
    /// The cue (screening) bus.
    pub fn cue(&self) -> &[f32] {
        &self.cue
    }
    /// What caller line `idx` hears.
    pub fn mix_minus(&self, idx: usize) -> &[f32] {
        &self.mix_minus[self.span(idx)]
    }
    /// Caller line `idx` as it arrived (before gain and mute).
    pub fn line_input(&self, idx: usize) -> &[f32] {
        &self.line_in[self.span(idx)]
    }
    /// Caller line `idx` after gain (what it contributes where routed).
    pub fn line_output(&self, idx: usize) -> &[f32] {
        &self.line_post[self.span(idx)]
    }

    /// Mixes one block. Allocation-free, lock-free.
    pub fn process(&mut self) {
        let b = self.cfg.block_frames;
        let n = self.cfg.lines;
        let inv_b = 1.0 / b as f32;

        // 1. line gains (ramped over the block), program sum and cue.
        for (p, h) in self.program_sum.iter_mut().zip(&self.host_in) {
            *p = h * self.host_gain;
        }
        self.cue.fill(0.0);
        for i in 0..n {
            let ctl = self.controls[i];
            let audible = ctl.state.is_connected();
            let target = if audible { ctl.effective_gain() } else { 0.0 };
            let start = self.prev_gain[i];
            self.prev_gain[i] = target;
            let step = (target - start) * inv_b;
            let r = i * b..(i + 1) * b;
            let (input, post) = (&self.line_in[r.clone()], &mut self.line_post[r]);
            for (k, (o, x)) in post.iter_mut().zip(input).enumerate() {
                *o = x * (start + step * (k as f32 + 1.0));
            }
            match ctl.state {
                LineState::OnAir => {
                    for (p, x) in self.program_sum.iter_mut().zip(post.iter()) {
                        *p += x;
                    }
                }
                LineState::Screening => {
                    for (c, x) in self.cue.iter_mut().zip(post.iter()) {
                        *c += x;
                    }
                }
                _ => {}
            }
            self.meters.lines[i].measure(post);
        }

        // 2. program limiter.
        self.program.copy_from_slice(&self.program_sum);
        self.limiter
            .process(&mut self.program, &mut self.limiter_gain);
        let ceiling = self.cfg.limiter_ceiling;
        for c in &mut self.cue {
            *c = c.clamp(-ceiling, ceiling);
        }

        // 3. mix-minus returns.
        for i in 0..n {
            let ctl = self.controls[i];
            let r = i * b..(i + 1) * b;
            let own = &self.line_post[r.clone()];
            let out = &mut self.mix_minus[r];
            match ctl.state {
                LineState::OnAir => {
                    // program minus this caller, with its own limiter
                    for ((o, p), x) in out.iter_mut().zip(&self.program_sum).zip(own) {
                        *o = p - x;
                    }
                    self.mm_limiters[i].process(out, &mut self.mm_gain_scratch);
                }
                LineState::Ready => out.copy_from_slice(&self.program),
                LineState::Hold => match ctl.hold_feed {
                    HoldFeed::Program => out.copy_from_slice(&self.program),
                    HoldFeed::HoldAudio => {
                        for (o, h) in out.iter_mut().zip(&self.hold_in) {
                            *o = h.clamp(-ceiling, ceiling);
                        }
                    }
                },
                LineState::Screening => {
                    for (o, t) in out.iter_mut().zip(&self.talkback_in) {
                        *o = t.clamp(-ceiling, ceiling);
                    }
                }
                LineState::Idle | LineState::Ringing | LineState::Ended => out.fill(0.0),
            }
            self.meters.mix_minus[i].measure(out);
        }

        // 4. bus meters and loudness.
        self.meters.program.measure(&self.program);
        self.meters.cue.measure(&self.cue);
        let min_gain = self.limiter_gain.iter().copied().fold(1.0f32, f32::min);
        self.meters.limiter_reduction_db.store(-to_dbfs(min_gain));
        // loudness is read over 0.4 s / 3 s windows: refresh it every 100 ms
        // (R128 asks for at least 10 Hz), feeding every block
        self.block_count = self.block_count.wrapping_add(1);
        let refresh = self.block_count.is_multiple_of(self.loudness_every);
        if let Some(l) = self.loudness.as_mut()
            && l.add_frames_f32(&self.program).is_ok()
            && refresh
        {
            if let Ok(m) = l.loudness_momentary() {
                self.meters.momentary_lufs.store(m as f32);
            }
            if let Ok(s) = l.loudness_shortterm() {
                self.meters.short_term_lufs.store(s as f32);
            }
        }
        self.meters
            .blocks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

//! Headless rendering of a scripted scenario: sources from files or tones,
//! timed line-state changes, run block by block through the same
//! [`Core`](crate::core::Core) the live engine uses, as fast as the CPU
//! allows. Writes `program.wav`, `cue.wav` and `mix-minus-line<N>.wav`
//! (32-bit float) to an output directory.
//!
//! Scenario file (TOML):
//! ```toml
//! sample_rate = 48000      # optional, default 48000
//! block_ms = 10            # optional
//! duration_secs = 4.0
//! lines = 3
//!
//! [host]                   # optional: studio microphone, always on program
//! tone_hz = 200.0
//! [talkback]               # optional: what a screened caller hears
//! tone_hz = 300.0
//! [hold]                   # optional: hold audio (a file loops by default)
//! file = "hold.wav"
//!
//! [[line]]
//! line = 1
//! tone_hz = 500.0          # or: file = "caller1.wav" (relative to the scenario)
//! amplitude = 0.2
//! call_ref = 17            # journal reference used to name the call recording
//!
//! [[at]]
//! secs = 0.0
//! line = 1
//! state = "ringing"        # and/or gain, fader, mute, hold_feed
//!
//! # with `delay_secs = N` (0–40) at the top, `air.wav` is what goes out
//! # after the broadcast delay; a step can dump it:
//! [[at]]
//! secs = 6.0
//! dump = true              # or dump_secs = 2.0; delay_exit = true / false
//! ```

use std::path::{Path, PathBuf};

use airbridge_show::event::LineNo;
use airbridge_show::line::LineState;
use serde::Deserialize;

use crate::MediaError;
use crate::core::{Input, MediaEvent, build};
use crate::mixer::{HoldFeed, MixerConfig};
use crate::record::{Recorded, Recorder};
use crate::source::{Clip, Silence, Source, Tone};

/// A scripted scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default = "default_rate")]
    pub sample_rate: u32,
    #[serde(default = "default_block_ms")]
    pub block_ms: u32,
    pub duration_secs: f64,
    pub lines: usize,
    /// Broadcast delay on what goes out (`air.wav`), seconds.
    #[serde(default)]
    pub delay_secs: f64,
    #[serde(default)]
    pub host: Option<SourceSpec>,
    #[serde(default)]
    pub talkback: Option<SourceSpec>,
    #[serde(default)]
    pub hold: Option<SourceSpec>,
    #[serde(default, rename = "line")]
    pub line_sources: Vec<LineSpec>,
    #[serde(default, rename = "at")]
    pub steps: Vec<Step>,
}

fn default_rate() -> u32 {
    48_000
}
fn default_block_ms() -> u32 {
    10
}

/// Where an input's audio comes from.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    pub tone_hz: Option<f32>,
    #[serde(default = "default_amp")]
    pub amplitude: f32,
    pub file: Option<PathBuf>,
    /// Loop a file (default: hold audio loops, callers play once).
    #[serde(rename = "loop")]
    pub looping: Option<bool>,
}

fn default_amp() -> f32 {
    0.25
}

/// The source of one caller line.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineSpec {
    pub line: LineNo,
    #[serde(flatten)]
    pub source: SourceSpec,
    /// Journal reference of the call (names its recording); default: the line number.
    pub call_ref: Option<u64>,
}

/// A timed change.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub secs: f64,
    pub line: Option<LineNo>,
    pub state: Option<LineState>,
    pub gain: Option<f32>,
    pub fader: Option<f32>,
    pub mute: Option<bool>,
    pub hold_feed: Option<HoldFeed>,
    pub host_gain: Option<f32>,
    /// Dump the whole delay.
    #[serde(default)]
    pub dump: bool,
    /// Dump only the newest this many seconds.
    pub dump_secs: Option<f32>,
    /// Run the delay down (`true`) or build it back up (`false`).
    pub delay_exit: Option<bool>,
}

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> Result<(Self, PathBuf), MediaError> {
        let text = std::fs::read_to_string(path).map_err(|e| MediaError::Io {
            op: "read",
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        let sc: Scenario = toml::from_str(&text).map_err(|e| MediaError::Scenario {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        sc.check().map_err(|reason| MediaError::Scenario {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok((sc, base))
    }

    /// Checks values that TOML cannot.
    pub fn check(&self) -> Result<(), String> {
        if !(self.duration_secs > 0.0 && self.duration_secs <= 24.0 * 3600.0) {
            return Err(format!(
                "duration_secs {} must be > 0 and at most a day",
                self.duration_secs
            ));
        }
        let max_delay = f64::from(crate::delay::MAX_DELAY_SECS);
        if !(0.0..=max_delay).contains(&self.delay_secs) {
            return Err(format!(
                "delay_secs {} must be 0 to {max_delay}",
                self.delay_secs
            ));
        }
        if self.block_ms == 0 || self.block_ms > 100 {
            return Err(format!("block_ms {} must be 1 to 100", self.block_ms));
        }
        for l in &self.line_sources {
            if l.line == 0 || usize::from(l.line) > self.lines {
                return Err(format!(
                    "[[line]] line = {}: lines are 1 to {}",
                    l.line, self.lines
                ));
            }
        }
        for s in &self.steps {
            if s.secs < 0.0 || !s.secs.is_finite() {
                return Err(format!("[[at]] secs = {}: must be ≥ 0", s.secs));
            }
            let per_line = s.state.is_some()
                || s.gain.is_some()
                || s.fader.is_some()
                || s.mute.is_some()
                || s.hold_feed.is_some();
            let delay_step = s.dump || s.dump_secs.is_some() || s.delay_exit.is_some();
            if delay_step && self.delay_secs == 0.0 {
                return Err(format!(
                    "[[at]] secs = {}: a dump or delay exit needs delay_secs > 0",
                    s.secs
                ));
            }
            if per_line && s.line.is_none() {
                return Err(format!(
                    "[[at]] secs = {}: a line change needs `line`",
                    s.secs
                ));
            }
        }
        Ok(())
    }

    pub fn config(&self) -> MixerConfig {
        MixerConfig {
            sample_rate: self.sample_rate,
            block_frames: (self.sample_rate as usize * self.block_ms as usize / 1000).max(1),
            lines: self.lines,
            limiter_ceiling: MixerConfig::new(1).limiter_ceiling,
            delay_ms: (self.delay_secs * 1000.0).round() as u32,
        }
    }
}

/// Makes the source an input spec describes (files are loaded here).
pub fn make_source(
    spec: &SourceSpec,
    base: &Path,
    sample_rate: u32,
    loop_default: bool,
) -> Result<Box<dyn Source>, MediaError> {
    if let Some(file) = &spec.file {
        let path = base.join(file);
        let clip = Clip::from_wav(&path, sample_rate, spec.looping.unwrap_or(loop_default))?;
        return Ok(Box::new(clip));
    }
    if let Some(f) = spec.tone_hz {
        return Ok(Box::new(Tone::new(sample_rate, f, spec.amplitude)));
    }
    Ok(Box::new(Silence))
}

/// What to render.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Also record program and every call through the recorder (as the
    /// live engine does), into this directory.
    pub record_dir: Option<PathBuf>,
}

/// What a render produced.
#[derive(Debug, Clone)]
pub struct RenderReport {
    pub blocks: u64,
    pub audio_secs: f64,
    pub files: Vec<PathBuf>,
    pub recorded: Vec<Recorded>,
    /// Line changes and source events, in order.
    pub events: Vec<MediaEvent>,
}

fn float_writer(
    path: &Path,
    rate: u32,
) -> Result<hound::WavWriter<std::io::BufWriter<std::fs::File>>, MediaError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    hound::WavWriter::create(path, spec).map_err(|e| MediaError::Io {
        op: "create",
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

/// Renders `sc` into `out_dir`. Invalid line transitions in the script fail
/// the render with the line, the time and the reason.
pub fn render(
    sc: &Scenario,
    base: &Path,
    out_dir: &Path,
    opts: &RenderOptions,
) -> Result<RenderReport, MediaError> {
    let cfg = sc.config();
    let parts = build(cfg)?;
    let (mut ctl, mut core, mut feed) = (parts.controller, parts.core, parts.events);
    let rate = cfg.sample_rate;

    for (input, spec, loop_default) in [
        (Input::Host, &sc.host, false),
        (Input::Talkback, &sc.talkback, false),
        (Input::Hold, &sc.hold, true),
    ] {
        if let Some(spec) = spec {
            ctl.set_source(input, make_source(spec, base, rate, loop_default)?)?;
        }
    }
    for l in &sc.line_sources {
        ctl.set_line_source(l.line, make_source(&l.source, base, rate, false)?)?;
    }

    std::fs::create_dir_all(out_dir).map_err(|e| MediaError::Io {
        op: "create directory",
        path: out_dir.to_path_buf(),
        detail: e.to_string(),
    })?;
    let io = |op, path: &Path, e: hound::Error| MediaError::Io {
        op,
        path: path.to_path_buf(),
        detail: e.to_string(),
    };
    let mut files = vec![out_dir.join("program.wav"), out_dir.join("cue.wav")];
    for i in 1..=cfg.lines {
        files.push(out_dir.join(format!("mix-minus-line{i}.wav")));
    }
    let air = (cfg.delay_ms > 0).then(|| out_dir.join("air.wav"));
    let mut air_writer = match &air {
        Some(p) => Some(float_writer(p, rate)?),
        None => None,
    };
    let mut writers = files
        .iter()
        .map(|p| float_writer(p, rate))
        .collect::<Result<Vec<_>, _>>()?;

    let recorder = match &opts.record_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| MediaError::Io {
                op: "create directory",
                path: dir.clone(),
                detail: e.to_string(),
            })?;
            let rec = Recorder::start()?;
            rec.record_program(&mut ctl, dir, "render")?;
            for i in 1..=cfg.lines {
                let line = LineNo::try_from(i).unwrap_or(LineNo::MAX);
                let call_ref = sc
                    .line_sources
                    .iter()
                    .find(|l| l.line == line)
                    .and_then(|l| l.call_ref)
                    .unwrap_or(i as u64);
                rec.record_call(&mut ctl, dir, line, call_ref)?;
            }
            Some(rec)
        }
        None => None,
    };

    let mut steps = sc.steps.clone();
    steps.sort_by(|a, b| a.secs.total_cmp(&b.secs));
    let mut next = 0;
    let total_blocks = (sc.duration_secs * f64::from(rate) / cfg.block_frames as f64).ceil() as u64;
    let mut events = Vec::new();
    for blk in 0..total_blocks {
        let t = blk as f64 * cfg.block_frames as f64 / f64::from(rate);
        while next < steps.len() && steps[next].secs <= t + 1e-9 {
            apply_step(&mut ctl, &steps[next])?;
            next += 1;
        }
        // not real time: let the recorder thread keep up instead of dropping
        while core
            .min_tap_room()
            .is_some_and(|room| room < 2 * cfg.block_frames * 2)
        {
            std::thread::yield_now();
        }
        core.process_block();
        let m = core.mixer();
        let outs = [m.program(), m.cue()];
        for (w, (k, path)) in writers.iter_mut().zip(files.iter().enumerate()) {
            let data = if k < 2 { outs[k] } else { m.mix_minus(k - 2) };
            for &x in data {
                w.write_sample(x).map_err(|e| io("write", path, e))?;
            }
        }
        if let (Some(w), Some(path)) = (air_writer.as_mut(), &air) {
            for &x in core.air() {
                w.write_sample(x).map_err(|e| io("write", path, e))?;
            }
        }
        feed.drain(|e| events.push(e));
        ctl.collect_garbage();
    }
    for (w, path) in writers.into_iter().zip(&files) {
        w.finalize().map_err(|e| io("finish", path, e))?;
    }
    if let (Some(w), Some(path)) = (air_writer, air) {
        w.finalize().map_err(|e| io("finish", &path, e))?;
        files.push(path);
    }
    drop(core); // releases the tap rings: recordings finish
    feed.drain(|e| events.push(e));
    let recorded = match recorder {
        Some(r) => r.finish()?,
        None => Vec::new(),
    };
    Ok(RenderReport {
        blocks: total_blocks,
        audio_secs: total_blocks as f64 * cfg.block_frames as f64 / f64::from(rate),
        files,
        recorded,
        events,
    })
}

fn apply_step(ctl: &mut crate::core::Controller, s: &Step) -> Result<(), MediaError> {
    if let Some(g) = s.host_gain {
        ctl.set_host_gain(g)?;
    }
    if s.dump || s.dump_secs.is_some() {
        ctl.delay_dump(s.dump_secs)?;
    }
    if let Some(exit) = s.delay_exit {
        ctl.delay_exit(exit)?;
    }
    let Some(line) = s.line else { return Ok(()) };
    let at = |e: MediaError| MediaError::Scenario {
        path: PathBuf::from(format!("step at {:.3} s", s.secs)),
        reason: e.to_string(),
    };
    if let Some(g) = s.gain {
        ctl.set_gain(line, g).map_err(at)?;
    }
    if let Some(f) = s.fader {
        ctl.set_fader(line, f).map_err(at)?;
    }
    if let Some(m) = s.mute {
        ctl.set_mute(line, m).map_err(at)?;
    }
    if let Some(h) = s.hold_feed {
        ctl.set_hold_feed(line, h).map_err(at)?;
    }
    if let Some(st) = s.state {
        ctl.set_state(line, st).map_err(at)?;
    }
    Ok(())
}

//! The engine core shared by the live engine and the headless renderer:
//! [`Core`] runs on the audio thread (sources → [`Mixer`] → taps), and
//! [`Controller`] is its control side (validates line transitions, sends
//! commands over a lock-free SPSC queue, receives finished objects back so
//! they are freed off the audio thread).
//!
//! Real-time rules kept by [`Core::process_block`]: no locks, no allocation,
//! no logging, no I/O. Problems are reported as small `Copy` values on a
//! ring ([`AudioEvent`]) that an event thread turns into journal events.

use std::sync::Arc;

use airbridge_show::event::LineNo;
use airbridge_show::line::LineState;

use crate::MediaError;
use crate::dsp::Decimator;
use crate::meters::Meters;
use crate::mixer::{HoldFeed, Mixer, MixerConfig};
use crate::source::{Fill, Source};

/// Most taps open at once (recorders, speech, stream outputs).
pub const MAX_TAPS: usize = 128;
/// Sample rate of the speech (STT) tap.
pub const SPEECH_RATE: u32 = 16_000;
/// Blocks without any input before a source is reported as stalled (0.5 s at 10 ms).
const STALL_BLOCKS: u32 = 50;

/// A mixer input that a [`Source`] can feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Input {
    /// Caller line, 0-based index.
    Line(usize),
    /// Studio microphone (always on program).
    Host,
    /// Screener talkback (what a screened caller hears).
    Talkback,
    /// Hold audio.
    Hold,
}

impl Input {
    /// Short name used in health components, e.g. `line3`, `host`.
    pub fn name(self) -> String {
        match self {
            Input::Line(i) => format!("line{}", i + 1),
            Input::Host => "host".into(),
            Input::Talkback => "talkback".into(),
            Input::Hold => "hold".into(),
        }
    }
}

/// Where a tap reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapPoint {
    /// Program bus (mono, engine rate): what the studio hears.
    Program,
    /// What goes out (FM, streams): program after the broadcast delay;
    /// the same as program when no delay is configured.
    Air,
    /// Cue bus (mono, engine rate).
    Cue,
    /// What a caller hears (mono, engine rate).
    MixMinus(usize),
    /// A call for recording: stereo interleaved, left = caller (after gain),
    /// right = what the caller hears.
    Call(usize),
    /// The caller's raw input, 16 kHz mono, for speech-to-text.
    Speech(usize),
}

/// Identifies an open tap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TapId(pub usize);

/// Control messages to the audio thread.
#[derive(Debug)]
pub enum Command {
    SetState {
        line: usize,
        state: LineState,
    },
    SetGain {
        line: usize,
        gain: f32,
    },
    SetFader {
        line: usize,
        fader: f32,
    },
    SetMute {
        line: usize,
        mute: bool,
    },
    SetHoldFeed {
        line: usize,
        feed: HoldFeed,
    },
    SetHostGain(f32),
    SetSource {
        input: Input,
        source: Box<dyn Source>,
    },
    ClearSource {
        input: Input,
    },
    AddTap {
        slot: usize,
        point: TapPoint,
        tx: rtrb::Producer<f32>,
    },
    RemoveTap {
        slot: usize,
    },
    /// Cut the newest `frames` of unaired audio out of the delay.
    DelayDump {
        frames: u64,
    },
    /// Run the delay down to zero (end of show).
    DelayExit,
    /// Build the delay back up to its configured length.
    DelayEnter,
}

/// Objects handed back by the audio thread to be dropped elsewhere.
#[derive(Debug)]
pub enum Garbage {
    Source(Box<dyn Source>),
    Tap(rtrb::Producer<f32>),
}

/// What the audio thread reports (no strings, no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioEvent {
    /// A file played out or a stream closed; the input is silent now.
    SourceEnded(Input),
    /// No audio from a source for a while (network caller gone quiet, device gone).
    SourceStalled(Input),
    /// Audio flows again after a stall.
    SourceRecovered(Input),
    /// A tap's reader is behind; samples were dropped.
    TapOverflow(TapId),
    /// The broadcast delay changed mode.
    Delay(crate::delay::DelayMode),
    /// A dump cut this many milliseconds out of what goes out.
    DelayDumped { ms: u32 },
}

/// What happened, as the control side reports it (line changes and audio events).
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    LineState {
        line: LineNo,
        from: LineState,
        to: LineState,
    },
    Audio(AudioEvent),
    /// A device or pipeline problem found off the audio thread.
    Health {
        component: String,
        ok: bool,
        detail: String,
    },
}

impl MediaEvent {
    /// The show-journal event for this, if it belongs in the journal.
    pub fn to_show_event(&self) -> Option<airbridge_show::ShowEvent> {
        use airbridge_show::ShowEvent;
        let health = |input: Input, ok: bool, detail: &str| ShowEvent::Health {
            component: format!("audio/{}", input.name()),
            ok,
            detail: detail.to_owned(),
        };
        Some(match self {
            MediaEvent::LineState { line, from, to } => ShowEvent::LineStateChanged {
                line: *line,
                from: *from,
                to: *to,
            },
            MediaEvent::Audio(AudioEvent::SourceEnded(i)) => health(*i, true, "source ended"),
            MediaEvent::Audio(AudioEvent::SourceStalled(i)) => health(
                *i,
                false,
                "no audio from source; the program continues without it",
            ),
            MediaEvent::Audio(AudioEvent::SourceRecovered(i)) => {
                health(*i, true, "audio flows again")
            }
            MediaEvent::Audio(AudioEvent::TapOverflow(_)) => return None,
            MediaEvent::Audio(AudioEvent::Delay(mode)) => ShowEvent::Health {
                component: "audio/delay".into(),
                ok: true,
                detail: format!("broadcast delay {}", mode.as_str()),
            },
            MediaEvent::Audio(AudioEvent::DelayDumped { ms }) => ShowEvent::Health {
                component: "audio/delay".into(),
                ok: true,
                detail: format!(
                    "dump cut {:.1} s out of what goes out",
                    f64::from(*ms) / 1000.0
                ),
            },
            MediaEvent::Health {
                component,
                ok,
                detail,
            } => ShowEvent::Health {
                component: component.clone(),
                ok: *ok,
                detail: detail.clone(),
            },
        })
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct SourceHealth {
    empty_blocks: u32,
    stalled: bool,
    ended: bool,
}

#[derive(Debug)]
struct TapSlot {
    point: TapPoint,
    tx: rtrb::Producer<f32>,
    decim: Decimator,
    overflowed: bool,
}

/// The audio-thread half. Owns the mixer, the sources and the taps.
#[derive(Debug)]
pub struct Core {
    mixer: Mixer,
    /// lines, then host, talkback, hold
    sources: Vec<Option<Box<dyn Source>>>,
    health: Vec<SourceHealth>,
    taps: Vec<Option<TapSlot>>,
    cmd_rx: rtrb::Consumer<Command>,
    garbage_tx: rtrb::Producer<Garbage>,
    event_tx: rtrb::Producer<AudioEvent>,
    speech_ratio: usize,
    delay: crate::delay::BroadcastDelay,
}

/// The three halves made by [`build`].
#[derive(Debug)]
pub struct Parts {
    pub controller: Controller,
    pub core: Core,
    pub events: EventFeed,
}

/// Makes a core and its controller. Rejects rates and block sizes it cannot run.
pub fn build(cfg: MixerConfig) -> Result<Parts, MediaError> {
    if !(8_000..=192_000).contains(&cfg.sample_rate) {
        return Err(MediaError::Config(format!(
            "unsupported engine sample rate {} Hz (8000 to 192000)",
            cfg.sample_rate
        )));
    }
    if cfg.block_frames == 0 || cfg.block_frames > 8192 {
        return Err(MediaError::Config(format!(
            "block of {} frames: use 1 to 8192",
            cfg.block_frames
        )));
    }
    if cfg.delay_ms > crate::delay::MAX_DELAY_SECS * 1000 {
        return Err(MediaError::Config(format!(
            "broadcast delay of {} ms: use 0 to {} s",
            cfg.delay_ms,
            crate::delay::MAX_DELAY_SECS
        )));
    }
    if cfg.lines == 0 || cfg.lines > usize::from(LineNo::MAX) {
        return Err(MediaError::Config(format!(
            "{} caller lines: use 1 to 255",
            cfg.lines
        )));
    }
    let (cmd_tx, cmd_rx) = rtrb::RingBuffer::new(1024);
    let (garbage_tx, garbage_rx) = rtrb::RingBuffer::new(1024);
    let (event_tx, event_rx) = rtrb::RingBuffer::new(1024);
    let (notice_tx, notice_rx) = crossbeam_channel::bounded(4096);
    let mixer = Mixer::new(cfg);
    let meters = Arc::clone(mixer.meters());
    let n_inputs = cfg.lines + 3;
    let speech_ratio = if cfg.sample_rate.is_multiple_of(SPEECH_RATE) {
        (cfg.sample_rate / SPEECH_RATE) as usize
    } else {
        0
    };
    let core = Core {
        mixer,
        sources: (0..n_inputs).map(|_| None).collect(),
        health: vec![SourceHealth::default(); n_inputs],
        taps: (0..MAX_TAPS).map(|_| None).collect(),
        cmd_rx,
        garbage_tx,
        event_tx,
        speech_ratio,
        delay: crate::delay::BroadcastDelay::new(cfg.sample_rate, cfg.block_frames, cfg.delay_ms),
    };
    // the control side sees the delay's shape before the first block
    core.delay.publish(&meters.delay);
    let controller = Controller {
        cfg,
        cmd_tx,
        garbage_rx,
        states: vec![LineState::Idle; cfg.lines],
        taps_used: vec![false; MAX_TAPS],
        meters,
        notice_tx,
    };
    Ok(Parts {
        controller,
        core,
        events: EventFeed {
            audio: event_rx,
            notices: notice_rx,
        },
    })
}

impl Core {
    fn input_index(&self, input: Input) -> Option<usize> {
        let n = self.mixer.config().lines;
        match input {
            Input::Line(i) if i < n => Some(i),
            Input::Line(_) => None,
            Input::Host => Some(n),
            Input::Talkback => Some(n + 1),
            Input::Hold => Some(n + 2),
        }
    }

    fn input_of(&self, idx: usize) -> Input {
        let n = self.mixer.config().lines;
        match idx.checked_sub(n) {
            None => Input::Line(idx),
            Some(0) => Input::Host,
            Some(1) => Input::Talkback,
            _ => Input::Hold,
        }
    }

    pub fn mixer(&self) -> &Mixer {
        &self.mixer
    }

    /// What went out in the last block: program after the broadcast delay.
    pub fn air(&self) -> &[f32] {
        self.delay.air()
    }

    /// Free space of the fullest tap ring, in samples (`None` without taps).
    /// Faster-than-real-time drivers (the renderer) wait on this so that
    /// their recorders keep up; the live engine never waits.
    pub fn min_tap_room(&self) -> Option<usize> {
        self.taps.iter().flatten().map(|t| t.tx.slots()).min()
    }

    fn discard(&mut self, g: Garbage) {
        // If the garbage ring is full the object is dropped here: that can
        // free memory on this thread, so the ring is sized to make it rare.
        let _ = self.garbage_tx.push(g);
    }

    fn apply(&mut self, cmd: Command) {
        match cmd {
            Command::SetState { line, state } => {
                if let Some(c) = self.mixer.control_mut(line) {
                    c.state = state;
                }
            }
            Command::SetGain { line, gain } => {
                if let Some(c) = self.mixer.control_mut(line) {
                    c.gain = gain;
                }
            }
            Command::SetFader { line, fader } => {
                if let Some(c) = self.mixer.control_mut(line) {
                    c.fader = fader;
                }
            }
            Command::SetMute { line, mute } => {
                if let Some(c) = self.mixer.control_mut(line) {
                    c.mute = mute;
                }
            }
            Command::SetHoldFeed { line, feed } => {
                if let Some(c) = self.mixer.control_mut(line) {
                    c.hold_feed = feed;
                }
            }
            Command::SetHostGain(g) => self.mixer.set_host_gain(g),
            Command::SetSource { input, source } => match self.input_index(input) {
                Some(i) => {
                    self.health[i] = SourceHealth::default();
                    if let Some(old) = self.sources[i].replace(source) {
                        self.discard(Garbage::Source(old));
                    }
                }
                None => self.discard(Garbage::Source(source)),
            },
            Command::ClearSource { input } => {
                if let Some(i) = self.input_index(input)
                    && let Some(old) = self.sources[i].take()
                {
                    self.discard(Garbage::Source(old));
                }
            }
            Command::AddTap { slot, point, tx } => {
                let decim = Decimator::new(self.speech_ratio.max(1));
                match self.taps.get_mut(slot) {
                    Some(s) => {
                        let old = s.replace(TapSlot {
                            point,
                            tx,
                            decim,
                            overflowed: false,
                        });
                        if let Some(old) = old {
                            self.discard(Garbage::Tap(old.tx));
                        }
                    }
                    None => self.discard(Garbage::Tap(tx)),
                }
            }
            Command::RemoveTap { slot } => {
                if let Some(old) = self.taps.get_mut(slot).and_then(Option::take) {
                    self.discard(Garbage::Tap(old.tx));
                }
            }
            Command::DelayDump { frames } => {
                self.delay.dump(frames);
            }
            Command::DelayExit => self.delay.exit(),
            Command::DelayEnter => self.delay.enter(),
        }
    }

    /// Processes one block: commands, sources, mix, taps. Real-time safe.
    pub fn process_block(&mut self) {
        while let Ok(cmd) = self.cmd_rx.pop() {
            self.apply(cmd);
        }
        self.pull_sources();
        self.mixer.process();
        let before = self.delay.mode();
        let change = self.delay.process(self.mixer.program());
        let meters = self.mixer.meters();
        self.delay.publish(&meters.delay);
        if let Some(frames) = change.dumped_frames {
            let rate = u64::from(self.mixer.config().sample_rate.max(1));
            let ms = u32::try_from(frames * 1000 / rate).unwrap_or(u32::MAX);
            let _ = self.event_tx.push(AudioEvent::DelayDumped { ms });
        }
        let after = self.delay.mode();
        if after != before {
            let _ = self.event_tx.push(AudioEvent::Delay(after));
        }
        self.push_taps();
    }

    fn pull_sources(&mut self) {
        let n = self.mixer.config().lines;
        for idx in 0..self.sources.len() {
            let input = self.input_of(idx);
            let buf = match input {
                Input::Line(i) => self.mixer.line_input_mut(i),
                Input::Host => self.mixer.host_input_mut(),
                Input::Talkback => self.mixer.talkback_input_mut(),
                Input::Hold => self.mixer.hold_input_mut(),
            };
            let Some(src) = self.sources[idx].as_mut() else {
                buf.fill(0.0);
                continue;
            };
            let fill = src.fill(buf);
            let connected = match input {
                Input::Line(i) => self
                    .mixer
                    .control(i)
                    .is_some_and(|c| c.state.is_connected()),
                _ => true,
            };
            let h = &mut self.health[idx];
            let event = match fill {
                Fill::Ok | Fill::Underrun(1..) => {
                    h.empty_blocks = 0;
                    if h.stalled {
                        h.stalled = false;
                        Some(AudioEvent::SourceRecovered(input))
                    } else {
                        None
                    }
                }
                // An idle network line is silent by nature: a stall only
                // matters while a caller is connected.
                Fill::Underrun(0) if !connected => {
                    h.empty_blocks = 0;
                    None
                }
                Fill::Underrun(0) => {
                    h.empty_blocks = h.empty_blocks.saturating_add(1);
                    if h.empty_blocks == STALL_BLOCKS && !h.stalled {
                        h.stalled = true;
                        Some(AudioEvent::SourceStalled(input))
                    } else {
                        None
                    }
                }
                Fill::Ended => {
                    if h.ended {
                        None
                    } else {
                        h.ended = true;
                        Some(AudioEvent::SourceEnded(input))
                    }
                }
            };
            if let Some(e) = event {
                let _ = self.event_tx.push(e);
            }
        }
        debug_assert!(n + 3 == self.sources.len());
    }

    fn push_taps(&mut self) {
        let lines = self.mixer.config().lines;
        for (slot, tap) in self.taps.iter_mut().enumerate() {
            let Some(tap) = tap.as_mut() else { continue };
            let full = match tap.point {
                TapPoint::Program => push_all(&mut tap.tx, self.mixer.program()),
                TapPoint::Air => push_all(&mut tap.tx, self.delay.air()),
                TapPoint::Cue => push_all(&mut tap.tx, self.mixer.cue()),
                TapPoint::MixMinus(i) if i < lines => {
                    push_all(&mut tap.tx, self.mixer.mix_minus(i))
                }
                TapPoint::Call(i) if i < lines => {
                    let caller = self.mixer.line_output(i);
                    let ret = self.mixer.mix_minus(i);
                    let need = caller.len() * 2;
                    match tap.tx.write_chunk_uninit(need) {
                        Ok(chunk) => {
                            let it = caller.iter().zip(ret).flat_map(|(a, b)| [*a, *b]);
                            chunk.fill_from_iter(it);
                            false
                        }
                        Err(_) => true,
                    }
                }
                TapPoint::Speech(i) if i < lines => {
                    let mut full = false;
                    let tx = &mut tap.tx;
                    tap.decim.process(self.mixer.line_input(i), |x| {
                        if tx.push(x).is_err() {
                            full = true;
                        }
                    });
                    full
                }
                _ => false,
            };
            if full && !tap.overflowed {
                let _ = self.event_tx.push(AudioEvent::TapOverflow(TapId(slot)));
            }
            tap.overflowed = full;
        }
    }
}

fn push_all(tx: &mut rtrb::Producer<f32>, data: &[f32]) -> bool {
    match tx.write_chunk_uninit(data.len()) {
        Ok(chunk) => {
            chunk.fill_from_iter(data.iter().copied());
            false
        }
        Err(_) => true,
    }
}

/// Control side of a [`Core`]: use from any one non-real-time thread.
#[derive(Debug)]
pub struct Controller {
    cfg: MixerConfig,
    cmd_tx: rtrb::Producer<Command>,
    garbage_rx: rtrb::Consumer<Garbage>,
    states: Vec<LineState>,
    taps_used: Vec<bool>,
    meters: Arc<Meters>,
    notice_tx: crossbeam_channel::Sender<MediaEvent>,
}

impl Controller {
    pub fn config(&self) -> &MixerConfig {
        &self.cfg
    }

    /// Meters, readable lock-free from any thread.
    pub fn meters(&self) -> &Arc<Meters> {
        &self.meters
    }

    fn index(&self, line: LineNo) -> Result<usize, MediaError> {
        let idx = usize::from(line).wrapping_sub(1);
        if idx < self.cfg.lines {
            Ok(idx)
        } else {
            Err(MediaError::NoSuchLine {
                line,
                lines: self.cfg.lines,
            })
        }
    }

    fn send(&mut self, cmd: Command) -> Result<(), MediaError> {
        self.collect_garbage();
        self.cmd_tx.push(cmd).map_err(|_| MediaError::QueueFull)
    }

    /// Frees objects the audio thread handed back.
    pub fn collect_garbage(&mut self) {
        while let Ok(g) = self.garbage_rx.pop() {
            drop(g);
        }
    }

    /// The state of a line as last set.
    pub fn state(&self, line: LineNo) -> Result<LineState, MediaError> {
        Ok(self.states[self.index(line)?])
    }

    /// Moves a line to a new state if the transition is allowed; the change
    /// is reported as a [`MediaEvent::LineState`] (a journal event).
    pub fn set_state(&mut self, line: LineNo, to: LineState) -> Result<LineState, MediaError> {
        let idx = self.index(line)?;
        let from = self.states[idx];
        from.check(to)
            .map_err(|e| MediaError::Transition { line, source: e })?;
        self.send(Command::SetState {
            line: idx,
            state: to,
        })?;
        self.states[idx] = to;
        // Blocks only if the event thread is far behind.
        let _ = self
            .notice_tx
            .send(MediaEvent::LineState { line, from, to });
        Ok(from)
    }

    pub fn set_gain(&mut self, line: LineNo, gain: f32) -> Result<(), MediaError> {
        let line = self.index(line)?;
        self.send(Command::SetGain {
            line,
            gain: gain.max(0.0),
        })
    }

    pub fn set_fader(&mut self, line: LineNo, fader: f32) -> Result<(), MediaError> {
        let line = self.index(line)?;
        self.send(Command::SetFader {
            line,
            fader: fader.clamp(0.0, 1.0),
        })
    }

    pub fn set_mute(&mut self, line: LineNo, mute: bool) -> Result<(), MediaError> {
        let line = self.index(line)?;
        self.send(Command::SetMute { line, mute })
    }

    pub fn set_hold_feed(&mut self, line: LineNo, feed: HoldFeed) -> Result<(), MediaError> {
        let line = self.index(line)?;
        self.send(Command::SetHoldFeed { line, feed })
    }

    pub fn set_host_gain(&mut self, gain: f32) -> Result<(), MediaError> {
        self.send(Command::SetHostGain(gain.max(0.0)))
    }

    /// Dumps the newest `secs` of unaired audio (`None`: all of it). Fails
    /// when no broadcast delay is configured; the cut itself is reported as
    /// an [`AudioEvent::DelayDumped`] from the audio thread.
    pub fn delay_dump(&mut self, secs: Option<f32>) -> Result<(), MediaError> {
        if self.cfg.delay_ms == 0 {
            return Err(MediaError::Config(
                "no broadcast delay is configured ([delay] secs in studio.toml)".into(),
            ));
        }
        let rate = u64::from(self.cfg.sample_rate);
        let frames = match secs {
            Some(s) if s.is_finite() && s > 0.0 => (f64::from(s) * rate as f64) as u64,
            Some(s) => {
                return Err(MediaError::Config(format!(
                    "dump of {s} s: give a positive number of seconds"
                )));
            }
            None => u64::from(crate::delay::MAX_DELAY_SECS) * rate * 2,
        };
        self.send(Command::DelayDump { frames })
    }

    /// Runs the broadcast delay down to zero (before the show ends), or
    /// builds it back up (`exit = false`).
    pub fn delay_exit(&mut self, exit: bool) -> Result<(), MediaError> {
        if self.cfg.delay_ms == 0 {
            return Err(MediaError::Config(
                "no broadcast delay is configured ([delay] secs in studio.toml)".into(),
            ));
        }
        self.send(if exit {
            Command::DelayExit
        } else {
            Command::DelayEnter
        })
    }

    /// Connects a source to a caller line.
    pub fn set_line_source(
        &mut self,
        line: LineNo,
        source: Box<dyn Source>,
    ) -> Result<(), MediaError> {
        let idx = self.index(line)?;
        self.set_source(Input::Line(idx), source)
    }

    /// Connects a source to any input (see [`Input`]).
    pub fn set_source(&mut self, input: Input, source: Box<dyn Source>) -> Result<(), MediaError> {
        if let Input::Line(i) = input
            && i >= self.cfg.lines
        {
            return Err(MediaError::NoSuchLine {
                line: u8::try_from(i + 1).unwrap_or(u8::MAX),
                lines: self.cfg.lines,
            });
        }
        self.send(Command::SetSource { input, source })
    }

    pub fn clear_source(&mut self, input: Input) -> Result<(), MediaError> {
        self.send(Command::ClearSource { input })
    }

    /// Opens a tap; returns its id and the reading end. `seconds` of audio
    /// fit in the ring before the tap overflows.
    pub fn add_tap(
        &mut self,
        point: TapPoint,
        seconds: f32,
    ) -> Result<(TapId, rtrb::Consumer<f32>), MediaError> {
        let (rate, channels) = match point {
            TapPoint::Program | TapPoint::Air | TapPoint::Cue => (self.cfg.sample_rate, 1),
            TapPoint::MixMinus(i) | TapPoint::Call(i) | TapPoint::Speech(i) => {
                if i >= self.cfg.lines {
                    return Err(MediaError::NoSuchLine {
                        line: u8::try_from(i + 1).unwrap_or(u8::MAX),
                        lines: self.cfg.lines,
                    });
                }
                match point {
                    TapPoint::Call(_) => (self.cfg.sample_rate, 2),
                    TapPoint::Speech(_) => {
                        if !self.cfg.sample_rate.is_multiple_of(SPEECH_RATE) {
                            return Err(MediaError::Config(format!(
                                "the speech tap needs an engine rate that is a multiple of 16000 Hz, not {}",
                                self.cfg.sample_rate
                            )));
                        }
                        (SPEECH_RATE, 1)
                    }
                    _ => (self.cfg.sample_rate, 1),
                }
            }
        };
        let slot = self
            .taps_used
            .iter()
            .position(|u| !u)
            .ok_or(MediaError::TooManyTaps(MAX_TAPS))?;
        let min = self.cfg.block_frames * channels * 4;
        let cap = ((seconds.max(0.0) * rate as f32) as usize * channels).max(min);
        let (tx, rx) = rtrb::RingBuffer::new(cap);
        self.send(Command::AddTap { slot, point, tx })?;
        self.taps_used[slot] = true;
        Ok((TapId(slot), rx))
    }

    /// The 16 kHz mono speech feed of a caller line (raw input, before gain
    /// and mute), as the speech worker expects it. Holds 10 s of audio.
    pub fn stt_tap(&mut self, line: LineNo) -> Result<(TapId, rtrb::Consumer<f32>), MediaError> {
        let idx = self.index(line)?;
        self.add_tap(TapPoint::Speech(idx), 10.0)
    }

    /// Closes a tap; its reader sees the ring abandoned once the audio
    /// thread has let go of it.
    pub fn remove_tap(&mut self, id: TapId) -> Result<(), MediaError> {
        if self.taps_used.get(id.0).copied() != Some(true) {
            return Ok(());
        }
        self.send(Command::RemoveTap { slot: id.0 })?;
        self.taps_used[id.0] = false;
        Ok(())
    }

    /// Reports a problem found off the audio thread (device lost, pipeline error).
    pub fn report_health(&self, component: &str, ok: bool, detail: &str) {
        let _ = self.notice_tx.send(MediaEvent::Health {
            component: component.to_owned(),
            ok,
            detail: detail.to_owned(),
        });
    }

    /// A second sender for health reports from other threads.
    pub fn notice_sender(&self) -> crossbeam_channel::Sender<MediaEvent> {
        self.notice_tx.clone()
    }
}

/// Events from the control side and the audio thread, in one place.
#[derive(Debug)]
pub struct EventFeed {
    audio: rtrb::Consumer<AudioEvent>,
    notices: crossbeam_channel::Receiver<MediaEvent>,
}

impl EventFeed {
    /// Takes every waiting event.
    pub fn drain(&mut self, mut f: impl FnMut(MediaEvent)) {
        while let Ok(n) = self.notices.try_recv() {
            f(n);
        }
        while let Ok(e) = self.audio.pop() {
            f(MediaEvent::Audio(e));
        }
    }

    /// Waits up to `timeout` for a control-side event, then drains everything.
    pub fn wait(&mut self, timeout: std::time::Duration, mut f: impl FnMut(MediaEvent)) {
        if let Ok(n) = self.notices.recv_timeout(timeout) {
            f(n);
        }
        self.drain(f);
    }

    /// True once every controller is gone and nothing is left to read.
    pub fn is_closed(&self) -> bool {
        self.audio.is_abandoned()
            && self.audio.is_empty()
            && self.notices.is_empty()
            && matches!(
                self.notices.try_recv(),
                Err(crossbeam_channel::TryRecvError::Disconnected)
            )
    }
}

/// Runs an [`EventFeed`] on its own thread, appending to a show journal as
/// seat `media`. Returns when the feed is closed.
pub fn spawn_journal_bridge(
    mut feed: EventFeed,
    journal: airbridge_show::Journal,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("media-events".into())
        .spawn(move || {
            loop {
                let mut batch = Vec::new();
                feed.wait(std::time::Duration::from_millis(50), |e| {
                    if let Some(ev) = e.to_show_event() {
                        batch.push(ev);
                    }
                });
                if !batch.is_empty() {
                    match journal.submit("media", batch).and_then(|ack| ack.wait()) {
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "media events not journaled"),
                    }
                }
                if feed.is_closed() {
                    break;
                }
            }
        })
}

//! The live engine: the [`Core`] driven by a cpal output device.
//!
//! A supervisor thread owns the cpal streams. The output callback pulls
//! whole blocks from the core (a small FIFO absorbs the difference between
//! the device's buffer size and the engine's block). Inputs from sound-card
//! devices reach their line through SPSC rings. When the output device is
//! lost the supervisor gets the core back (it is handed over when the dead
//! stream is dropped), keeps the show running on an internal clock — taps,
//! recordings and meters keep going — reports `audio/output` in the journal,
//! and retries the device every two seconds.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use airbridge_show::event::LineNo;
use airbridge_show::line::LineState;
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};

use crate::MediaError;
use crate::core::{Controller, Core, Input, MediaEvent, TapId, build};
use crate::meters::Meters;
use crate::mixer::{HoldFeed, MixerConfig};
use crate::source::{Clip, RingSource, Source, Tone};

/// How the live engine starts.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub lines: usize,
    pub sample_rate: u32,
    pub block_frames: usize,
    /// Output device for program (and cue on the right channel when
    /// `cue_on_right`); a name or part of one; `None` = the default device.
    pub output_device: Option<String>,
    /// Put cue on the second output channel (producer's headphones).
    pub cue_on_right: bool,
    /// Run on the internal clock without any sound card.
    pub no_device: bool,
    /// Device buffer in frames (latency vs. robustness against a busy
    /// machine); `None` = the device's default. Falls back to the default
    /// when the device refuses it.
    pub buffer_frames: Option<u32>,
    /// Output channels of the program device that carry something else than
    /// program (0-based channel → feed): cue for the screener's headphones,
    /// a hybrid's mix-minus. Every other channel carries program.
    pub channel_feeds: Vec<(u16, OutFeed)>,
    /// Broadcast delay on what goes out (stream and file outputs, `Air`
    /// channels), ms; 0 = none. The studio hears program undelayed.
    pub delay_ms: u32,
}

/// What an output channel carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFeed {
    Program,
    /// Program after the broadcast delay (the FM transmitter's feed).
    Air,
    Cue,
    /// The mix-minus of a line (0-based index).
    MixMinus(usize),
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            lines: 8,
            sample_rate: 48_000,
            block_frames: 480,
            output_device: None,
            cue_on_right: false,
            no_device: false,
            buffer_frames: Some(1920), // 40 ms at 48 kHz
            channel_feeds: Vec::new(),
            delay_ms: 0,
        }
    }
}

/// Statistics of the output driver.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DriverStats {
    /// Output callbacks run.
    pub callbacks: u64,
    /// Xruns reported by the device.
    pub xruns: u64,
    /// Callbacks that came more than two buffer periods after the previous one.
    pub late_callbacks: u64,
    /// Blocks processed on the internal clock (no device).
    pub clock_blocks: u64,
    /// True while a device drives the engine.
    pub on_device: bool,
}

enum Supervise {
    AddInput {
        device: Option<String>,
        channel: u16,
        reply: Sender<Result<(String, RingSource), MediaError>>,
    },
    AddOutput {
        name: String,
        device: Option<String>,
        channels: Vec<(u16, rtrb::Consumer<f32>)>,
        reply: Sender<Result<String, MediaError>>,
    },
    Stats(Sender<DriverStats>),
    Stop,
}

/// A running part the engine keeps alive (an RTP line) and the tap it reads.
struct OwnedPart {
    name: String,
    tap: Option<TapId>,
    _part: Box<dyn std::any::Any + Send>,
}

impl std::fmt::Debug for OwnedPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedPart")
            .field("name", &self.name)
            .finish()
    }
}

/// Handle on the running engine. Cheap to share behind an `Arc`; every
/// method is callable from any non-real-time thread.
#[derive(Debug)]
pub struct Engine {
    /// `None` once the engine is dropped (closes the event feed).
    ctl: Mutex<Option<Controller>>,
    /// GStreamer pipelines owned by the engine: network lines and outputs.
    pipelines: Mutex<Vec<(String, crate::gst::GstPipeline)>>,
    /// Other running parts (RTP lines), by name, with the tap they read.
    parts: Mutex<Vec<OwnedPart>>,
    meters: Arc<Meters>,
    sup_tx: Sender<Supervise>,
    supervisor: Mutex<Option<JoinHandle<()>>>,
    events: Mutex<Option<JoinHandle<()>>>,
    cfg: MixerConfig,
}

impl Engine {
    /// Starts the engine. With a journal, line changes and health go there
    /// (seat `media`); without one they are logged.
    pub fn start(
        opts: EngineOptions,
        journal: Option<airbridge_show::Journal>,
    ) -> Result<Self, MediaError> {
        let cfg = MixerConfig {
            sample_rate: opts.sample_rate,
            block_frames: opts.block_frames,
            lines: opts.lines,
            limiter_ceiling: MixerConfig::new(1).limiter_ceiling,
            delay_ms: opts.delay_ms,
        };
        let parts = build(cfg)?;
        let meters = Arc::clone(parts.controller.meters());
        let notices = parts.controller.notice_sender();
        let events = match journal {
            Some(j) => crate::core::spawn_journal_bridge(parts.events, j),
            None => spawn_log_bridge(parts.events),
        }
        .map_err(|e| MediaError::Device(format!("cannot start event thread: {e}")))?;
        let (sup_tx, sup_rx) = bounded(16);
        let (ready_tx, ready_rx) = bounded(1);
        let sup_meters = Arc::clone(&meters);
        let core = parts.core;
        let supervisor = std::thread::Builder::new()
            .name("media-supervisor".into())
            .spawn(move || {
                supervise(core, &opts, &sup_rx, &notices, &sup_meters, &ready_tx);
            })
            .map_err(|e| MediaError::Device(format!("cannot start supervisor thread: {e}")))?;
        // first start: a device that cannot open is an error unless no_device
        let first = ready_rx
            .recv()
            .unwrap_or(Err(MediaError::Device("supervisor stopped".into())));
        let engine = Self {
            ctl: Mutex::new(Some(parts.controller)),
            pipelines: Mutex::new(Vec::new()),
            parts: Mutex::new(Vec::new()),
            meters,
            sup_tx,
            supervisor: Mutex::new(Some(supervisor)),
            events: Mutex::new(Some(events)),
            cfg,
        };
        first?;
        Ok(engine)
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&mut Controller) -> Result<R, MediaError>,
    ) -> Result<R, MediaError> {
        let mut guard = self.ctl.lock().unwrap_or_else(PoisonError::into_inner);
        match guard.as_mut() {
            Some(c) => f(c),
            None => Err(MediaError::Device("engine stopped".into())),
        }
    }

    /// The engine's fixed shape.
    pub fn config(&self) -> MixerConfig {
        self.cfg
    }

    /// Lock-free meters (call `snapshot()` or read fields every UI frame).
    pub fn meters(&self) -> &Arc<Meters> {
        &self.meters
    }

    pub fn state(&self, line: LineNo) -> Result<LineState, MediaError> {
        self.with(|c| c.state(line))
    }

    /// Changes a line's state (refused with a reason if not allowed).
    pub fn set_state(&self, line: LineNo, to: LineState) -> Result<LineState, MediaError> {
        self.with(|c| c.set_state(line, to))
    }

    pub fn set_gain(&self, line: LineNo, gain: f32) -> Result<(), MediaError> {
        self.with(|c| c.set_gain(line, gain))
    }
    pub fn set_fader(&self, line: LineNo, fader: f32) -> Result<(), MediaError> {
        self.with(|c| c.set_fader(line, fader))
    }
    pub fn set_mute(&self, line: LineNo, mute: bool) -> Result<(), MediaError> {
        self.with(|c| c.set_mute(line, mute))
    }
    pub fn set_hold_feed(&self, line: LineNo, feed: HoldFeed) -> Result<(), MediaError> {
        self.with(|c| c.set_hold_feed(line, feed))
    }

    /// Any source for any input.
    pub fn set_source(&self, input: Input, source: Box<dyn Source>) -> Result<(), MediaError> {
        self.with(|c| c.set_source(input, source))
    }

    /// Plays a WAV file as a caller line (once, then the line's source
    /// reports ended — a `Health` event — or looped).
    pub fn play_wav(&self, line: LineNo, path: &Path, looping: bool) -> Result<(), MediaError> {
        let clip = Clip::from_wav(path, self.cfg.sample_rate, looping)?;
        self.with(|c| c.set_line_source(line, Box::new(clip)))
    }

    /// A test tone on a line.
    pub fn play_tone(&self, line: LineNo, freq_hz: f32, amplitude: f32) -> Result<(), MediaError> {
        let tone = Tone::new(self.cfg.sample_rate, freq_hz, amplitude);
        self.with(|c| c.set_line_source(line, Box::new(tone)))
    }

    /// Hold audio from a file, looped.
    pub fn set_hold_audio(&self, path: &Path) -> Result<(), MediaError> {
        let clip = Clip::from_wav(path, self.cfg.sample_rate, true)?;
        self.with(|c| c.set_source(Input::Hold, Box::new(clip)))
    }

    /// The 16 kHz mono speech feed of a line for the speech worker.
    pub fn stt_tap(&self, line: LineNo) -> Result<rtrb::Consumer<f32>, MediaError> {
        self.with(|c| c.stt_tap(line)).map(|(_, rx)| rx)
    }

    /// Any tap (see [`crate::core::TapPoint`]).
    pub fn add_tap(
        &self,
        point: crate::core::TapPoint,
        seconds: f32,
    ) -> Result<(TapId, rtrb::Consumer<f32>), MediaError> {
        self.with(|c| c.add_tap(point, seconds))
    }

    pub fn remove_tap(&self, id: TapId) -> Result<(), MediaError> {
        self.with(|c| c.remove_tap(id))
    }

    /// Runs `f` with the controller (e.g. for [`crate::record::Recorder`]).
    pub fn with_controller<R>(
        &self,
        f: impl FnOnce(&mut Controller) -> Result<R, MediaError>,
    ) -> Result<R, MediaError> {
        self.with(f)
    }

    /// Feeds a line from a network or file source through GStreamer
    /// (replaces an earlier one on the same line). Problems are reported as
    /// `audio/line<N>` health events; a source that goes quiet is reported
    /// as stalled and the program goes on.
    pub fn add_network_line(
        &self,
        line: LineNo,
        source: &crate::gst::NetSource,
    ) -> Result<(), MediaError> {
        self.with(|c| c.state(line))?;
        let name = format!("line{line}");
        let notices = self.with(|c| Ok(c.notice_sender()))?;
        let (pipe, src) =
            crate::gst::open_source(source, self.cfg.sample_rate, &name, Some(notices))?;
        self.with(|c| c.set_line_source(line, Box::new(src)))?;
        self.keep_pipeline(name, pipe);
        Ok(())
    }

    /// Makes `line` an RTP line: binds its socket, decodes what the caller
    /// sends into the line and sends the line's mix-minus back (see
    /// [`crate::rtp`]). The activity counters tell when a call starts
    /// (packets after a silence) and ends (packets stop). Replaces an
    /// earlier RTP line on the same line.
    pub fn add_rtp_line(
        &self,
        line: LineNo,
        cfg: &crate::rtp::RtpLineConfig,
    ) -> Result<Arc<crate::rtp::RtpActivity>, MediaError> {
        self.with(|c| c.state(line))?;
        let name = format!("line{line}");
        self.remove_part(&name);
        let idx = usize::from(line) - 1;
        let (tap, mix_minus) =
            self.with(|c| c.add_tap(crate::core::TapPoint::MixMinus(idx), 1.0))?;
        let notices = self.with(|c| Ok(c.notice_sender()))?;
        let opened = crate::rtp::open(cfg, self.cfg.sample_rate, &name, Some(notices), mix_minus)
            .and_then(|(rtp, src)| {
                self.with(|c| c.set_line_source(line, Box::new(src)))?;
                Ok(rtp)
            });
        match opened {
            Ok(rtp) => {
                let activity = rtp.activity();
                self.parts
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(OwnedPart {
                        name,
                        tap: Some(tap),
                        _part: Box::new(rtp),
                    });
                Ok(activity)
            }
            Err(e) => {
                let _ = self.with(|c| c.remove_tap(tap));
                Err(e)
            }
        }
    }

    /// Stops a part started by name (an RTP line `line<N>`) and frees its tap.
    pub fn remove_part(&self, name: &str) {
        let removed: Vec<OwnedPart> = {
            let mut p = self.parts.lock().unwrap_or_else(PoisonError::into_inner);
            let (gone, kept) = std::mem::take(&mut *p)
                .into_iter()
                .partition(|o| o.name == name);
            *p = kept;
            gone
        };
        for part in removed {
            if let Some(tap) = part.tap {
                let _ = self.with(|c| c.remove_tap(tap));
            }
            drop(part); // threads join and pipelines stop outside the lock
        }
    }

    /// Plays a sound file on a line after `pause` of silence: WAV files
    /// from memory, other formats decoded by GStreamer in real time (they
    /// start at once). `looping` repeats a WAV file (with its pause).
    pub fn play_file(
        &self,
        line: LineNo,
        path: &Path,
        looping: bool,
        pause: Duration,
    ) -> Result<(), MediaError> {
        let is_wav = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("wav"));
        if is_wav {
            let rate = self.cfg.sample_rate;
            let mut samples = vec![0.0f32; (pause.as_secs_f64() * f64::from(rate)) as usize];
            samples.extend(crate::source::load_wav_mono(path, rate)?);
            let clip = Clip::new(samples.into(), looping);
            self.with(|c| c.set_line_source(line, Box::new(clip)))
        } else {
            self.add_network_line(line, &crate::gst::NetSource::File(path.to_path_buf()))
        }
    }

    /// Silences a line's input (its source is dropped off the audio thread).
    pub fn clear_line_source(&self, line: LineNo) -> Result<(), MediaError> {
        self.remove_pipeline(&format!("line{line}"));
        let idx = usize::from(line).wrapping_sub(1);
        self.with(|c| c.clear_source(Input::Line(idx)))
    }

    /// The studio microphones: several sources summed on the host input.
    pub fn set_host_sources(&self, sources: Vec<Box<dyn Source>>) -> Result<(), MediaError> {
        let mix = crate::source::Mix::new(sources);
        self.with(|c| c.set_source(Input::Host, Box::new(mix)))
    }

    /// Host microphone level (0 mutes it).
    /// Dumps the newest `secs` of audio not yet gone out (`None`: the
    /// whole delay). See [`crate::delay`].
    pub fn delay_dump(&self, secs: Option<f32>) -> Result<(), MediaError> {
        self.with(|c| c.delay_dump(secs))
    }

    /// Runs the broadcast delay down to zero (`true`) or back up (`false`).
    pub fn delay_exit(&self, exit: bool) -> Result<(), MediaError> {
        self.with(|c| c.delay_exit(exit))
    }

    /// The broadcast delay now.
    pub fn delay(&self) -> crate::delay::DelayReading {
        self.meters.delay.read()
    }

    pub fn set_host_gain(&self, gain: f32) -> Result<(), MediaError> {
        self.with(|c| c.set_host_gain(gain))
    }

    /// Opens a sound-card input channel as a source (for a microphone,
    /// talkback); the caller puts it where it belongs.
    pub fn open_input(
        &self,
        device: Option<&str>,
        channel: u16,
    ) -> Result<(String, RingSource), MediaError> {
        let (reply, rx) = bounded(1);
        self.sup_tx
            .send(Supervise::AddInput {
                device: device.map(str::to_owned),
                channel,
                reply,
            })
            .map_err(|_| MediaError::Device("engine stopped".into()))?;
        rx.recv()
            .unwrap_or(Err(MediaError::Device("engine stopped".into())))
    }

    /// Plays feeds on channels of another sound device than program's (the
    /// screener's headphones on their own card, a hybrid's send): each
    /// `(channel, tap point)` reads a tap through a drift-corrected ring.
    /// Problems with the device are reported as `audio/<name>` health.
    /// Returns the device's name.
    pub fn add_device_output(
        &self,
        name: &str,
        device: Option<&str>,
        feeds: &[(u16, crate::core::TapPoint)],
    ) -> Result<String, MediaError> {
        let mut taps = Vec::with_capacity(feeds.len());
        let mut channels = Vec::with_capacity(feeds.len());
        for (ch, point) in feeds {
            match self.with(|c| c.add_tap(*point, 0.5)) {
                Ok((id, rx)) => {
                    taps.push(id);
                    channels.push((*ch, rx));
                }
                Err(e) => {
                    for id in taps {
                        let _ = self.with(|c| c.remove_tap(id));
                    }
                    return Err(e);
                }
            }
        }
        let (reply, rx) = bounded(1);
        let sent = self.sup_tx.send(Supervise::AddOutput {
            name: name.to_owned(),
            device: device.map(str::to_owned),
            channels,
            reply,
        });
        let result = match sent {
            Ok(()) => rx
                .recv()
                .unwrap_or(Err(MediaError::Device("engine stopped".into()))),
            Err(_) => Err(MediaError::Device("engine stopped".into())),
        };
        if result.is_err() {
            for id in taps {
                let _ = self.with(|c| c.remove_tap(id));
            }
        }
        result
    }

    /// Sends program to a GStreamer sink (file, Icecast, RTMP) under `name`
    /// (health component `audio/<name>`). Replaces an output of that name.
    pub fn add_program_output(
        &self,
        name: &str,
        sink: &crate::gst::NetSink,
    ) -> Result<TapId, MediaError> {
        let (id, tap) = self.with(|c| c.add_tap(crate::core::TapPoint::Air, 2.0))?;
        let notices = self.with(|c| Ok(c.notice_sender()))?;
        match crate::gst::open_sink(sink, tap, self.cfg.sample_rate, name, Some(notices)) {
            Ok(pipe) => {
                self.keep_pipeline(name.to_owned(), pipe);
                Ok(id)
            }
            Err(e) => {
                let _ = self.with(|c| c.remove_tap(id));
                Err(e)
            }
        }
    }

    /// Stops a network line or program output started by name (`line<N>`
    /// or the output's name).
    pub fn remove_pipeline(&self, name: &str) {
        let removed: Vec<_> = {
            let mut p = self
                .pipelines
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let (gone, kept) = std::mem::take(&mut *p)
                .into_iter()
                .partition(|(n, _)| n == name);
            *p = kept;
            gone
        };
        drop(removed); // pipelines go to Null outside the lock
    }

    fn keep_pipeline(&self, name: String, pipe: crate::gst::GstPipeline) {
        self.remove_pipeline(&name);
        self.pipelines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((name, pipe));
    }

    /// Feeds a line from a sound-card input (`device`: name or part of one,
    /// `None` = default input; `channel` 0-based). Returns the device name.
    pub fn add_input_line(
        &self,
        line: LineNo,
        device: Option<&str>,
        channel: u16,
    ) -> Result<String, MediaError> {
        self.with(|c| c.state(line))?; // checks the line number
        let (reply, rx) = bounded(1);
        self.sup_tx
            .send(Supervise::AddInput {
                device: device.map(str::to_owned),
                channel,
                reply,
            })
            .map_err(|_| MediaError::Device("engine stopped".into()))?;
        let (name, src) = rx
            .recv()
            .unwrap_or(Err(MediaError::Device("engine stopped".into())))?;
        self.with(|c| c.set_line_source(line, Box::new(src)))?;
        Ok(name)
    }

    /// Driver statistics (callbacks, xruns, late callbacks).
    pub fn driver_stats(&self) -> DriverStats {
        let (tx, rx) = bounded(1);
        if self.sup_tx.send(Supervise::Stats(tx)).is_err() {
            return DriverStats::default();
        }
        rx.recv_timeout(Duration::from_secs(2)).unwrap_or_default()
    }

    /// After [`Engine::stop`]: lets every output pipeline write what it had
    /// (a file output gets its end and header) for up to `limit` each, then
    /// stops it. Returns the names of those that did not finish in time.
    pub fn finish_pipelines(&self, limit: Duration) -> Vec<String> {
        let pipes = std::mem::take(
            &mut *self
                .pipelines
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        pipes
            .into_iter()
            .filter_map(|(name, p)| (!p.finish_within(limit)).then_some(name))
            .collect()
    }

    /// Frees what the audio thread handed back (replaced sources, removed
    /// taps): a removed tap's reader sees its end only then, so a recorder
    /// can finish its file. Cheap; call it now and then from a control thread.
    pub fn collect_garbage(&self) {
        let _ = self.with(|c| {
            c.collect_garbage();
            Ok(())
        });
    }

    /// Stops the streams; taps are released, so recordings finish.
    pub fn stop(&self) {
        let _ = self.sup_tx.send(Supervise::Stop);
        if let Some(h) = self
            .supervisor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = h.join();
        }
        // the audio thread is gone: what it handed back can all be freed
        self.collect_garbage();
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop();
        self.parts
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.pipelines
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        // dropping the controller closes the event feed; the event thread
        // drains what is left and ends
        self.ctl
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let h = self
            .events
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(h) = h {
            let _ = h.join();
        }
    }
}

fn spawn_log_bridge(mut feed: crate::core::EventFeed) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("media-events".into())
        .spawn(move || {
            loop {
                feed.wait(Duration::from_millis(50), |e| match e.to_show_event() {
                    Some(airbridge_show::ShowEvent::Health {
                        component,
                        ok,
                        detail,
                    }) => tracing::info!(%component, ok, %detail, "audio health"),
                    Some(ev) => tracing::debug!(?ev, "media event"),
                    None => {}
                });
                if feed.is_closed() {
                    break;
                }
            }
        })
}

/// Hands the core back to the supervisor when an output stream (and this
/// holder inside its callback) is dropped.
struct CoreHolder {
    core: Option<Core>,
    back: Sender<Core>,
}

impl Drop for CoreHolder {
    fn drop(&mut self) {
        if let Some(c) = self.core.take() {
            let _ = self.back.try_send(c);
        }
    }
}

/// Counters shared between the output callback and the supervisor.
#[derive(Debug, Default)]
struct CallbackCounters {
    callbacks: std::sync::atomic::AtomicU64,
    late: std::sync::atomic::AtomicU64,
    xruns: std::sync::atomic::AtomicU64,
}

fn find_device(
    host: &cpal::Host,
    name: Option<&str>,
    output: bool,
) -> Result<cpal::Device, MediaError> {
    let Some(name) = name else {
        let d = if output {
            host.default_output_device()
        } else {
            host.default_input_device()
        };
        return d.ok_or_else(|| {
            MediaError::Device(format!(
                "no default {} device",
                if output { "output" } else { "input" }
            ))
        });
    };
    let devices = if output {
        host.output_devices().map(|d| d.collect::<Vec<_>>())
    } else {
        host.input_devices().map(|d| d.collect::<Vec<_>>())
    }
    .map_err(|e| MediaError::Device(format!("looking for {name:?}: {e}")))?;
    devices
        .into_iter()
        .find(|d| d.to_string().contains(name))
        .ok_or_else(|| MediaError::Device(format!("no audio device named like {name:?}")))
}

/// Lists the devices of the default host: (is_input, name, default config).
pub fn list_devices() -> Result<Vec<(bool, String, String)>, MediaError> {
    let host = cpal::default_host();
    let mut out = Vec::new();
    for (is_input, devs) in [
        (true, host.input_devices().map(|d| d.collect::<Vec<_>>())),
        (false, host.output_devices().map(|d| d.collect::<Vec<_>>())),
    ] {
        for d in devs.map_err(|e| MediaError::Device(e.to_string()))? {
            let cfg = if is_input {
                d.default_input_config()
            } else {
                d.default_output_config()
            };
            let cfg = match cfg {
                Ok(c) => format!(
                    "{} ch, {} Hz, {:?}",
                    c.channels(),
                    c.sample_rate(),
                    c.sample_format()
                ),
                Err(e) => format!("unusable: {e}"),
            };
            out.push((is_input, d.to_string(), cfg));
        }
    }
    Ok(out)
}

struct OutputStream {
    _stream: cpal::Stream,
    name: String,
}

// The core travels back to the caller on failure; it is moved once per
// device (re)open, so its size does not matter.
#[allow(clippy::result_large_err)]
fn open_output(
    core: Core,
    opts: &EngineOptions,
    back: (&Sender<Core>, &Receiver<Core>),
    err_tx: &Sender<(u64, cpal::Error)>,
    stream_gen: u64,
    counters: &Arc<CallbackCounters>,
) -> Result<OutputStream, (Core, MediaError)> {
    let host = cpal::default_host();
    let device = match find_device(&host, opts.output_device.as_deref(), true) {
        Ok(d) => d,
        Err(e) => return Err((core, e)),
    };
    let name = device.to_string();
    let channels = match device.default_output_config() {
        Ok(c) => c.channels().max(1),
        Err(e) => return Err((core, MediaError::Device(format!("{name}: {e}")))),
    };
    // the requested buffer size first; if the device refuses, its default
    let mut sizes = Vec::with_capacity(2);
    if let Some(frames) = opts.buffer_frames {
        sizes.push(cpal::BufferSize::Fixed(frames));
    }
    sizes.push(cpal::BufferSize::Default);
    let mut core = core;
    let mut last_err = None;
    for buffer_size in sizes {
        let config = cpal::StreamConfig {
            channels,
            sample_rate: opts.sample_rate,
            buffer_size,
        };
        match start_output(
            core, opts, back, err_tx, stream_gen, counters, &device, &name, config,
        ) {
            Ok(o) => return Ok(o),
            Err((c, e)) => {
                core = c;
                last_err = Some(e);
            }
        }
    }
    Err((
        core,
        last_err.unwrap_or_else(|| MediaError::Device(format!("{name}: cannot open"))),
    ))
}

#[allow(clippy::result_large_err, clippy::too_many_arguments)]
fn start_output(
    core: Core,
    opts: &EngineOptions,
    back: (&Sender<Core>, &Receiver<Core>),
    err_tx: &Sender<(u64, cpal::Error)>,
    stream_gen: u64,
    counters: &Arc<CallbackCounters>,
    device: &cpal::Device,
    name: &str,
    config: cpal::StreamConfig,
) -> Result<OutputStream, (Core, MediaError)> {
    let name = name.to_owned();
    let channels = config.channels;
    let block = opts.block_frames;
    let ch = usize::from(channels);
    // What each output channel carries: program, unless mapped otherwise.
    let mut chan_feed = vec![OutFeed::Program; ch];
    if opts.cue_on_right && ch >= 2 {
        chan_feed[1] = OutFeed::Cue;
    }
    for (c, feed) in &opts.channel_feeds {
        if let Some(slot) = chan_feed.get_mut(usize::from(*c)) {
            *slot = *feed;
        }
    }
    // The mix-minus buses the map needs, each with its own FIFO.
    let mut mm_lines: Vec<usize> = chan_feed
        .iter()
        .filter_map(|f| match f {
            OutFeed::MixMinus(i) => Some(*i),
            _ => None,
        })
        .collect();
    mm_lines.sort_unstable();
    mm_lines.dedup();
    let chan_src: Vec<usize> = chan_feed
        .iter()
        .map(|f| match f {
            OutFeed::Program => 0,
            OutFeed::Cue => 1,
            OutFeed::Air => 2,
            OutFeed::MixMinus(i) => 3 + mm_lines.iter().position(|x| x == i).unwrap_or(0),
        })
        .collect();
    let lines = core.mixer().config().lines;
    let mut holder = CoreHolder {
        core: Some(core),
        back: back.0.clone(),
    };
    // rendered frames not yet played: program, cue, air, then each mapped mix-minus
    let mut fifo: Vec<Vec<f32>> = (0..3 + mm_lines.len())
        .map(|_| vec![0.0f32; block])
        .collect();
    let mut fifo_pos = block;
    let counters_cb = Arc::clone(counters);
    let mut last: Option<Instant> = None;
    let rate = f64::from(opts.sample_rate);
    let data_cb = move |out: &mut [f32], _: &cpal::OutputCallbackInfo| {
        let now = Instant::now();
        counters_cb.callbacks.fetch_add(1, Ordering::Relaxed);
        let frames = out.len() / ch;
        // a callback later than two of its own periods (plus slack) is late
        let budget = Duration::from_secs_f64(2.0 * frames as f64 / rate) + Duration::from_millis(5);
        if let Some(prev) = last
            && now.duration_since(prev) > budget
        {
            counters_cb.late.fetch_add(1, Ordering::Relaxed);
        }
        last = Some(now);
        let Some(core) = holder.core.as_mut() else {
            out.fill(0.0);
            return;
        };
        for frame in out.chunks_exact_mut(ch) {
            if fifo_pos >= block {
                core.process_block();
                let m = core.mixer();
                fifo[0].copy_from_slice(m.program());
                fifo[1].copy_from_slice(m.cue());
                fifo[2].copy_from_slice(core.air());
                for (k, line) in mm_lines.iter().enumerate() {
                    if *line < lines {
                        fifo[3 + k].copy_from_slice(m.mix_minus(*line));
                    }
                }
                fifo_pos = 0;
            }
            for (s, src) in frame.iter_mut().zip(&chan_src) {
                *s = fifo[*src][fifo_pos];
            }
            fifo_pos += 1;
        }
    };
    let err_tx = err_tx.clone();
    let err_cb = move |e: cpal::Error| {
        let _ = err_tx.try_send((stream_gen, e));
    };
    let take_back = |e: String| -> (Core, MediaError) {
        // the callback (and the core inside it) was dropped: it is in the channel
        match back.1.recv_timeout(Duration::from_secs(2)) {
            Ok(core) => (core, MediaError::Device(e)),
            Err(_) => (
                // cannot happen: the holder always hands the core back on drop
                lost_core(),
                MediaError::Device(format!("{e}; engine core lost")),
            ),
        }
    };
    let stream = match device.build_output_stream::<f32, _, _>(config, data_cb, err_cb, None) {
        Ok(s) => s,
        Err(e) => return Err(take_back(format!("{name}: {e}"))),
    };
    if let Err(e) = stream.play() {
        drop(stream);
        return Err(take_back(format!("{name}: {e}")));
    }
    Ok(OutputStream {
        _stream: stream,
        name,
    })
}

#[allow(clippy::panic)]
fn lost_core() -> Core {
    panic!("the output callback did not hand the engine core back")
}

fn open_input(
    device: Option<&str>,
    channel: u16,
    sample_rate: u32,
    err_tx: &Sender<(usize, cpal::Error)>,
    id: usize,
) -> Result<(cpal::Stream, String, RingSource), MediaError> {
    let host = cpal::default_host();
    let device = find_device(&host, device, false)?;
    let name = device.to_string();
    let def = device
        .default_input_config()
        .map_err(|e| MediaError::Device(format!("{name}: {e}")))?;
    let channels = def.channels().max(1);
    if channel >= channels {
        return Err(MediaError::Device(format!(
            "{name}: unsupported channel {} (the device has {channels})",
            channel + 1
        )));
    }
    let supported = device
        .supported_input_configs()
        .map_err(|e| MediaError::Device(format!("{name}: {e}")))?
        .any(|c| c.min_sample_rate() <= sample_rate && sample_rate <= c.max_sample_rate());
    if !supported {
        return Err(MediaError::Device(format!(
            "{name}: unsupported sample rate {sample_rate} Hz for this input"
        )));
    }
    let config = cpal::StreamConfig {
        channels,
        sample_rate,
        buffer_size: cpal::BufferSize::Default,
    };
    let (mut tx, rx) = rtrb::RingBuffer::new(sample_rate as usize);
    let ch = usize::from(channels);
    let pick = usize::from(channel);
    let data_cb = move |data: &[f32], _: &cpal::InputCallbackInfo| {
        for frame in data.chunks_exact(ch) {
            if tx.push(frame[pick]).is_err() {
                break; // the engine is behind: drop the rest of this buffer
            }
        }
    };
    let err_tx = err_tx.clone();
    let err_cb = move |e: cpal::Error| {
        let _ = err_tx.try_send((id, e));
    };
    let stream = device
        .build_input_stream::<f32, _, _>(config, data_cb, err_cb, None)
        .map_err(|e| MediaError::Device(format!("{name}: {e}")))?;
    stream
        .play()
        .map_err(|e| MediaError::Device(format!("{name}: {e}")))?;
    // two blocks of prefill absorb the input/output callback phase
    Ok((
        stream,
        name,
        RingSource::with_prefill(rx, sample_rate as usize / 50),
    ))
}

/// How long an output error is given to see whether callbacks go on.
const SUSPECT_WAIT: Duration = Duration::from_millis(500);

/// Longest piece an extra output's callback fills per channel at once.
const AUX_SCRATCH: usize = 8192;

/// An output stream on another device than program's: each mapped channel
/// plays a tap through a drift-corrected ring (that device runs on its own
/// clock); the others are silent.
fn open_aux_output(
    device: Option<&str>,
    sample_rate: u32,
    buffer_frames: Option<u32>,
    feeds: Vec<(u16, rtrb::Consumer<f32>)>,
    err_tx: &Sender<(usize, cpal::Error)>,
    id: usize,
) -> Result<(cpal::Stream, String), MediaError> {
    let host = cpal::default_host();
    let device = find_device(&host, device, true)?;
    let name = device.to_string();
    let def = device
        .default_output_config()
        .map_err(|e| MediaError::Device(format!("{name}: {e}")))?;
    let channels = def.channels().max(1);
    if let Some((c, _)) = feeds.iter().find(|(c, _)| *c >= channels) {
        return Err(MediaError::Device(format!(
            "{name}: there is no channel {c} (the device has {channels}, numbered from 0)"
        )));
    }
    let supported = device
        .supported_output_configs()
        .map_err(|e| MediaError::Device(format!("{name}: {e}")))?
        .any(|c| c.min_sample_rate() <= sample_rate && sample_rate <= c.max_sample_rate());
    if !supported {
        return Err(MediaError::Device(format!(
            "{name}: unsupported sample rate {sample_rate} Hz for this output"
        )));
    }
    // Two engine blocks plus the device buffer ride out the two clocks' phase.
    let prefill = sample_rate as usize / 50 + buffer_frames.unwrap_or(0) as usize;
    let ch = usize::from(channels);
    // The device's own buffer size: a failed attempt would take the rings
    // (they live in the callback) with it, so there is one attempt.
    let config = cpal::StreamConfig {
        channels,
        sample_rate,
        buffer_size: cpal::BufferSize::Default,
    };
    let mut sources: Vec<(usize, RingSource)> = feeds
        .into_iter()
        .map(|(c, rx)| (usize::from(c), RingSource::with_prefill(rx, prefill)))
        .collect();
    let mut scratch = vec![0.0f32; AUX_SCRATCH];
    let data_cb = move |out: &mut [f32], _: &cpal::OutputCallbackInfo| {
        out.fill(0.0);
        let frames = out.len() / ch;
        for (c, src) in &mut sources {
            let mut done = 0;
            while done < frames {
                let n = (frames - done).min(AUX_SCRATCH);
                src.fill(&mut scratch[..n]);
                for (i, x) in scratch[..n].iter().enumerate() {
                    out[(done + i) * ch + *c] = *x;
                }
                done += n;
            }
        }
    };
    let err_tx = err_tx.clone();
    let err_cb = move |e: cpal::Error| {
        let _ = err_tx.try_send((id, e));
    };
    let stream = device
        .build_output_stream::<f32, _, _>(config, data_cb, err_cb, None)
        .map_err(|e| MediaError::Device(format!("{name}: {e}")))?;
    stream
        .play()
        .map_err(|e| MediaError::Device(format!("{name}: {e}")))?;
    Ok((stream, name))
}

fn health(notices: &Sender<MediaEvent>, component: &str, ok: bool, detail: String) {
    let _ = notices.send(MediaEvent::Health {
        component: component.to_owned(),
        ok,
        detail,
    });
}

fn supervise(
    core: Core,
    opts: &EngineOptions,
    rx: &Receiver<Supervise>,
    notices: &Sender<MediaEvent>,
    meters: &Arc<Meters>,
    ready: &Sender<Result<(), MediaError>>,
) {
    let (back_tx, back_rx) = bounded::<Core>(1);
    // Errors carry the generation of the stream they came from: a dead
    // stream's last errors must not take down the one that replaced it.
    let (err_tx, err_rx) = bounded::<(u64, cpal::Error)>(64);
    let mut stream_gen: u64 = 0;
    // input devices report separately: losing a microphone never stops the output
    let (in_err_tx, in_err_rx) = bounded::<(usize, cpal::Error)>(64);
    let counters = Arc::new(CallbackCounters::default());
    let mut inputs: Vec<(cpal::Stream, String)> = Vec::new();
    // extra outputs on other devices: (stream, device name, health name)
    let (aux_err_tx, aux_err_rx) = bounded::<(usize, cpal::Error)>(64);
    let mut aux: Vec<(cpal::Stream, String, String)> = Vec::new();
    let mut output: Option<OutputStream> = None;
    let mut clock: Option<Core> = None;
    let mut clock_blocks = 0u64;
    let retry_every = Duration::from_secs(2);
    let mut next_retry = Instant::now() + retry_every;
    if opts.no_device {
        clock = Some(core);
        let _ = ready.send(Ok(()));
    } else {
        match open_output(
            core,
            opts,
            (&back_tx, &back_rx),
            &err_tx,
            stream_gen,
            &counters,
        ) {
            Ok(o) => {
                health(
                    notices,
                    "audio/output",
                    true,
                    format!("playing on {}", o.name),
                );
                output = Some(o);
                let _ = ready.send(Ok(()));
            }
            Err((_core, e)) => {
                let _ = ready.send(Err(e));
                return;
            }
        }
    }
    let period = Duration::from_secs_f64(opts.block_frames as f64 / f64::from(opts.sample_rate));
    let mut next_tick = Instant::now() + period;
    let mut watchdog = (counters.callbacks.load(Ordering::Relaxed), Instant::now());
    let mut pending_ok: Option<(String, Instant)> = None;
    // An error reported by the output stream, waiting to see whether the
    // stream goes on: (error, when, callbacks then).
    let mut suspect: Option<(String, Instant, u64)> = None;
    loop {
        let timeout = if clock.is_some() {
            next_tick.saturating_duration_since(Instant::now())
        } else {
            Duration::from_millis(100)
        };
        match rx.recv_timeout(timeout) {
            Ok(Supervise::Stop) | Err(RecvTimeoutError::Disconnected) => break,
            Ok(Supervise::Stats(tx)) => {
                let _ = tx.send(DriverStats {
                    callbacks: counters.callbacks.load(Ordering::Relaxed),
                    xruns: counters.xruns.load(Ordering::Relaxed),
                    late_callbacks: counters.late.load(Ordering::Relaxed),
                    clock_blocks,
                    on_device: output.is_some(),
                });
            }
            Ok(Supervise::AddInput {
                device,
                channel,
                reply,
            }) => {
                let r = open_input(
                    device.as_deref(),
                    channel,
                    opts.sample_rate,
                    &in_err_tx,
                    inputs.len(),
                )
                .map(|(stream, name, src)| {
                    inputs.push((stream, name.clone()));
                    (name, src)
                });
                // the engine handle puts the source on the line
                let _ = reply.send(r);
            }
            Ok(Supervise::AddOutput {
                name,
                device,
                channels,
                reply,
            }) => {
                let r = open_aux_output(
                    device.as_deref(),
                    opts.sample_rate,
                    opts.buffer_frames,
                    channels,
                    &aux_err_tx,
                    aux.len(),
                )
                .map(|(stream, dev)| {
                    aux.push((stream, dev.clone(), name));
                    dev
                });
                let _ = reply.send(r);
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        while let Ok((id, e)) = in_err_rx.try_recv() {
            let name = inputs.get(id).map(|(_, n)| n.as_str()).unwrap_or("input");
            match e.kind() {
                cpal::ErrorKind::Xrun => {
                    counters.xruns.fetch_add(1, Ordering::Relaxed);
                }
                _ => health(
                    notices,
                    "audio/input",
                    false,
                    format!("{name}: {e}; its line falls silent, the show goes on"),
                ),
            }
        }
        while let Ok((id, e)) = aux_err_rx.try_recv() {
            if e.kind() == cpal::ErrorKind::Xrun {
                counters.xruns.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if let Some((_, dev, name)) = aux.get(id) {
                health(
                    notices,
                    &format!("audio/{name}"),
                    false,
                    format!("{dev}: {e}; the program goes on"),
                );
            }
        }
        let mut lost: Option<String> = None;
        while let Ok((from, e)) = err_rx.try_recv() {
            if from != stream_gen {
                continue; // from a stream already replaced
            }
            match e.kind() {
                cpal::ErrorKind::Xrun => {
                    counters.xruns.fetch_add(1, Ordering::Relaxed);
                    meters.xruns.fetch_add(1, Ordering::Relaxed);
                }
                cpal::ErrorKind::DeviceChanged | cpal::ErrorKind::RealtimeDenied => {
                    tracing::info!(error = %e, "audio device note");
                }
                // An error the stream may survive (the ALSA PulseAudio
                // plugin reports a failed delay query while a sink resumes):
                // the device is lost only if callbacks stop after it.
                _ if output.is_some() && suspect.is_none() => {
                    suspect = Some((
                        e.to_string(),
                        Instant::now(),
                        counters.callbacks.load(Ordering::Relaxed),
                    ));
                }
                _ if output.is_some() => {}
                _ => lost = Some(e.to_string()),
            }
        }
        if let Some((why, at, calls)) = &suspect
            && at.elapsed() > SUSPECT_WAIT
        {
            if counters.callbacks.load(Ordering::Relaxed) > *calls + 2 {
                tracing::warn!(error = %why, "audio output reported an error and kept playing");
            } else {
                lost = Some(why.clone());
            }
            suspect = None;
        }
        // a device that stops calling back is lost too
        if output.is_some() {
            let n = counters.callbacks.load(Ordering::Relaxed);
            if n != watchdog.0 {
                watchdog = (n, Instant::now());
                // back for real once callbacks have kept coming for a second
                if pending_ok
                    .as_ref()
                    .is_some_and(|(_, since)| since.elapsed() > Duration::from_secs(1))
                    && let Some((msg, _)) = pending_ok.take()
                {
                    health(notices, "audio/output", true, msg);
                }
            } else if watchdog.1.elapsed() > Duration::from_secs(2) && lost.is_none() {
                lost = Some("no callbacks for 2 s".into());
            }
        }
        if let Some(why) = lost
            && let Some(o) = output.take()
        {
            suspect = None;
            let was_back = pending_ok.take().is_none();
            let name = o.name.clone();
            drop(o);
            match back_rx.recv_timeout(Duration::from_secs(2)) {
                Ok(core) => {
                    clock = Some(core);
                    next_tick = Instant::now() + period;
                    next_retry = Instant::now() + retry_every;
                    // a reopened device that never ran is not reported lost twice
                    if was_back {
                        health(
                            notices,
                            "audio/output",
                            false,
                            format!(
                                "{name} lost ({why}); the show continues on the internal clock"
                            ),
                        );
                    }
                }
                Err(_) => {
                    health(
                        notices,
                        "audio/output",
                        false,
                        format!("{name} lost ({why}); engine stopped"),
                    );
                    break;
                }
            }
        }
        if let Some(core) = clock.as_mut() {
            let now = Instant::now();
            if now.duration_since(next_tick) > Duration::from_secs(1) {
                next_tick = now; // far behind (machine suspended): do not burst
            }
            while next_tick <= now {
                core.process_block();
                clock_blocks += 1;
                next_tick += period;
            }
            if !opts.no_device && now >= next_retry {
                next_retry = now + retry_every;
                if let Some(core) = clock.take() {
                    stream_gen += 1;
                    match open_output(
                        core,
                        opts,
                        (&back_tx, &back_rx),
                        &err_tx,
                        stream_gen,
                        &counters,
                    ) {
                        Ok(o) => {
                            health(
                                notices,
                                "audio/output",
                                true,
                                format!("playing on {} again", o.name),
                            );
                            watchdog = (counters.callbacks.load(Ordering::Relaxed), Instant::now());
                            output = Some(o);
                        }
                        Err((core, _)) => clock = Some(core),
                    }
                }
            }
        }
    }
    drop(output);
    drop(aux);
    drop(inputs);
    drop(clock);
    // a core handed back by a dropped stream is dropped here too
    drop(back_rx.try_recv());
}

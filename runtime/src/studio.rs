//! The studio of `studio.toml` brought up (and down): the audio engine on
//! the configured devices, every line, microphones, talkback, hold, cue,
//! recording and program outputs. Each part is tried on its own; a part
//! that fails is reported and the others go on.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError};

use airbridge_configs::ConfigSet;
use airbridge_configs::studio::{
    AudioSource, DeviceChannel, LineKind, OutputDevice, OutputKind, STUDIO_FILE, Studio, StudioLoad,
};
use airbridge_media::core::{TapId, TapPoint};
use airbridge_media::gst::NetSink;
use airbridge_media::live::{Engine, EngineOptions, OutFeed};
use airbridge_media::record::{Recorded, Recorder};
use airbridge_media::rtp::{RtpCodec, RtpLineConfig};
use airbridge_media::source::{Clip, Source};
use airbridge_media::{MediaError, MixerConfig};
use airbridge_show::{Journal, LineNo, ShowEvent};
use airbridge_tickets::TicketDesk;
use crossbeam_channel::Receiver;

use crate::lines::{LineSlot, Lines};
use crate::paths::{StationPaths, TicketStoreSpec};
use crate::{Inner, PartReport, failed, ok};

/// The engine's rate and block: 48 kHz, 10 ms.
pub(crate) const SAMPLE_RATE: u32 = 48_000;

/// What bringing up the studio gave.
pub(crate) struct StudioParts {
    pub engine: Option<Arc<Engine>>,
    pub lines: Lines,
    pub recording: Option<Recording>,
    pub outputs: Vec<String>,
    pub reports: Vec<PartReport>,
}

/// The recorder and what it is writing.
pub(crate) struct Recording {
    recorder: Recorder,
    pub calls_dir: PathBuf,
    pub calls: bool,
    program: Option<TapId>,
    notices: Receiver<Result<Recorded, MediaError>>,
    /// File → (what, call, line), to journal it when finished.
    pending: Pending,
}

impl Recording {
    /// Starts recording a call; returns its tap (removed when the call ends).
    pub fn record_call(
        &mut self,
        engine: &Engine,
        line: LineNo,
        call: u64,
    ) -> Result<TapId, String> {
        std::fs::create_dir_all(&self.calls_dir)
            .map_err(|e| format!("{}: {e}", self.calls_dir.display()))?;
        let dir = self.calls_dir.clone();
        let (id, path) = engine
            .with_controller(|ctl| self.recorder.record_call(ctl, &dir, line, call))
            .map_err(|e| e.to_string())?;
        self.pending
            .insert(path, ("call".into(), Some(call), Some(line)));
        Ok(id)
    }

    /// Journals every recording finished since the last call.
    /// Journals the recordings finished since last asked; returns them
    /// (the call each belongs to, and its file).
    pub fn journal_finished(&mut self, journal: &Journal) -> Vec<(Option<u64>, PathBuf)> {
        journal_finished(&self.notices, &mut self.pending, journal)
    }
}

type Pending = HashMap<PathBuf, (String, Option<u64>, Option<LineNo>)>;

fn journal_finished(
    notices: &Receiver<Result<Recorded, MediaError>>,
    pending: &mut Pending,
    journal: &Journal,
) -> Vec<(Option<u64>, PathBuf)> {
    let mut done = Vec::new();
    {
        while let Ok(r) = notices.try_recv() {
            match r {
                Ok(rec) => {
                    let (what, call, line) = pending
                        .remove(&rec.path)
                        .unwrap_or_else(|| ("program".into(), None, None));
                    done.push((call, rec.path.clone()));
                    let _ = journal.append(
                        crate::SEAT,
                        ShowEvent::Recorded {
                            what,
                            call,
                            line,
                            path: rec.path.display().to_string(),
                            secs: (rec.secs() * 100.0).round() / 100.0,
                        },
                    );
                }
                Err(e) => {
                    let _ = journal.append(
                        crate::SEAT,
                        ShowEvent::Health {
                            component: "recording".into(),
                            ok: false,
                            detail: e.to_string(),
                        },
                    );
                }
            }
        }
    }
    done
}

/// Opens the ticket store the paths name, as a desk writing to `journal`.
pub(crate) fn open_desk(
    config: &ConfigSet,
    paths: &StationPaths,
    journal: &Journal,
) -> Result<TicketDesk, String> {
    let store: Box<dyn airbridge_tickets::TicketStore> = match &paths.tickets_store {
        TicketStoreSpec::Postgres(s) => {
            Box::new(airbridge_tickets::PostgresStore::connect(s, None).map_err(|e| e.to_string())?)
        }
        TicketStoreSpec::Sqlite(p) => {
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            Box::new(
                airbridge_tickets::SqliteStore::open(p)
                    .map_err(|e| format!("{}: {e}", p.display()))?,
            )
        }
    };
    Ok(TicketDesk::new(store, config, Some(journal.clone())))
}

/// Whether `device` (a hybrid's or cue's) is the program output device.
fn same_device(main: &OutputDevice, device: Option<&str>) -> bool {
    match (main, device) {
        (OutputDevice::Default, None) => true,
        (OutputDevice::Named(m), Some(d)) => m == d,
        _ => false,
    }
}

fn codec(c: airbridge_configs::studio::RtpCodec) -> RtpCodec {
    match c {
        airbridge_configs::studio::RtpCodec::Opus => RtpCodec::Opus,
        airbridge_configs::studio::RtpCodec::Pcmu => RtpCodec::Pcmu,
        airbridge_configs::studio::RtpCodec::Pcma => RtpCodec::Pcma,
    }
}

fn device_label(d: Option<&str>) -> &str {
    d.unwrap_or("default device")
}

/// Brings up the studio described by `load`.
pub(crate) fn start(
    config: &ConfigSet,
    paths: &StationPaths,
    load: &StudioLoad,
    journal: &Journal,
) -> StudioParts {
    let mut reports = Vec::new();
    let many = load.issues.len() > 1;
    for (i, issue) in load.issues.iter().enumerate() {
        let name = if many {
            format!("{STUDIO_FILE} ({})", i + 1)
        } else {
            STUDIO_FILE.to_owned()
        };
        reports.push(failed(&name, "studio", &issue.to_string()));
    }
    let mut parts = StudioParts {
        engine: None,
        lines: Lines::default(),
        recording: None,
        outputs: Vec::new(),
        reports: Vec::new(),
    };
    let Some(studio) = &load.studio else {
        parts.reports = reports;
        return parts;
    };
    let engine = match start_engine(config, studio, journal, &mut reports) {
        Some(e) => e,
        None => {
            parts.reports = reports;
            return parts;
        }
    };
    start_lines(&engine, studio, &mut parts.lines, &mut reports);
    start_inputs(&engine, studio, &mut reports);
    parts.recording = start_recording(&engine, studio, paths, config, &mut reports);
    parts.outputs = start_outputs(&engine, studio, &mut reports);
    parts.engine = Some(engine);
    parts.reports = reports;
    parts
}

fn start_engine(
    config: &ConfigSet,
    studio: &Studio,
    journal: &Journal,
    reports: &mut Vec<PartReport>,
) -> Option<Arc<Engine>> {
    let main = &studio.audio.output_device;
    // Channels of the program device that carry something else.
    let mut channel_feeds = Vec::new();
    if let Some(cue) = &studio.cue
        && same_device(main, cue.device.as_deref())
    {
        channel_feeds.push((cue.channel, OutFeed::Cue));
    }
    for l in &studio.lines {
        if let LineKind::Hybrid { output, .. } = &l.kind
            && same_device(main, output.device.as_deref())
        {
            channel_feeds.push((output.channel, OutFeed::MixMinus(usize::from(l.number) - 1)));
        }
    }
    // the FM transmitter's feed: program after the broadcast delay
    if let Some(air) = studio.delay.as_ref().and_then(|d| d.air_channel.as_ref())
        && same_device(main, air.device.as_deref())
    {
        channel_feeds.push((air.channel, OutFeed::Air));
    }
    let opts = EngineOptions {
        lines: usize::from(config.show.lines),
        sample_rate: SAMPLE_RATE,
        block_frames: MixerConfig::new(1).block_frames,
        output_device: match main {
            OutputDevice::Named(n) => Some(n.clone()),
            _ => None,
        },
        cue_on_right: false,
        no_device: *main == OutputDevice::None,
        buffer_frames: Some(SAMPLE_RATE * studio.audio.buffer_ms / 1000),
        channel_feeds,
        delay_ms: studio
            .delay
            .as_ref()
            .map_or(0, |d| (d.secs * 1000.0).round() as u32),
    };
    match Engine::start(opts.clone(), Some(journal.clone())) {
        Ok(e) => {
            let (what, zh) = if opts.no_device {
                (
                    "internal clock, no sound card (output_device = \"none\")".to_owned(),
                    "内部时钟，不接声卡".to_owned(),
                )
            } else {
                let dev = opts.output_device.as_deref().unwrap_or("default output");
                (
                    format!("{dev} at 48 kHz, {} ms buffer", studio.audio.buffer_ms),
                    format!("声卡 {dev}，48 kHz，缓冲 {} 毫秒", studio.audio.buffer_ms),
                )
            };
            reports.push(ok("audio engine", "audio/engine", &what).zh(zh));
            Some(Arc::new(e))
        }
        Err(device_error) => {
            reports.push(failed(
                "audio output",
                "audio/output",
                &format!("{device_error}; the show runs on the internal clock, retrying the device is up to a restart"),
            ));
            let fallback = EngineOptions {
                no_device: true,
                ..opts
            };
            match Engine::start(fallback, Some(journal.clone())) {
                Ok(e) => {
                    reports.push(
                        ok("audio engine", "audio/engine", "internal clock")
                            .zh("内部时钟（声卡不可用）"),
                    );
                    Some(Arc::new(e))
                }
                Err(e) => {
                    reports.push(failed("audio engine", "audio/engine", &e.to_string()));
                    None
                }
            }
        }
    }
}

fn start_lines(
    engine: &Arc<Engine>,
    studio: &Studio,
    lines: &mut Lines,
    reports: &mut Vec<PartReport>,
) {
    let main = &studio.audio.output_device;
    for spec in &studio.lines {
        let n = spec.number;
        let name = format!("line {n}");
        let component = format!("audio/line{n}");
        let started: Result<(String, LineSlot), String> = match &spec.kind {
            LineKind::Hybrid { input, output } => hybrid(engine, main, n, input, output)
                .map(|d| (d, LineSlot::new(spec.kind.clone()))),
            LineKind::Rtp {
                listen,
                codec: c,
                reply_to,
                jitter_ms,
            } => {
                let mut cfg = RtpLineConfig::new(*listen, codec(*c));
                cfg.reply_to = *reply_to;
                cfg.jitter_ms = *jitter_ms;
                cfg.prefill_ms = *jitter_ms;
                engine
                    .add_rtp_line(n, &cfg)
                    .map(|activity| {
                        let local = activity.local_addr();
                        let back = reply_to.map_or_else(
                            || "to the caller's address".to_owned(),
                            |a| format!("to {a}"),
                        );
                        let mut slot = LineSlot::new(spec.kind.clone());
                        slot.rtp = Some(activity);
                        (
                            format!("rtp {} on {local}, mix-minus back {back}", c.name()),
                            slot,
                        )
                    })
                    .map_err(|e| e.to_string())
            }
            LineKind::File { path, .. } => check_file(path).map(|()| {
                (
                    format!("rehearsal caller {}", path.display()),
                    LineSlot::new(spec.kind.clone()),
                )
            }),
            // its RTP opens per call, in the call's codec (crate::sip)
            LineKind::Sip { .. } => Ok((
                "sip: rings when a call comes".to_owned(),
                LineSlot::new(spec.kind.clone()),
            )),
        };
        match started {
            Ok((detail, slot)) => {
                let zh = match &spec.kind {
                    LineKind::Hybrid { input, output } => {
                        format!("电话耦合器：来电 {input}，回送 {output}")
                    }
                    LineKind::Rtp { codec: c, .. } => {
                        let at = slot
                            .rtp
                            .as_ref()
                            .map_or_else(String::new, |a| a.local_addr().to_string());
                        format!("网络线路 {} {at}，收到来电音频即振铃", c.name())
                    }
                    LineKind::File { path, .. } => format!("彩排来电 {}", path.display()),
                    LineKind::Sip { .. } => "SIP 线路，来电即振铃".to_owned(),
                };
                reports.push(ok(&name, &component, &detail).zh(zh));
                lines.insert(n, slot);
            }
            Err(why) => reports.push(failed(&name, &component, &why)),
        }
    }
}

/// A telephone hybrid: the caller from an input channel, the line's
/// mix-minus to an output channel.
fn hybrid(
    engine: &Engine,
    main: &OutputDevice,
    n: LineNo,
    input: &DeviceChannel,
    output: &DeviceChannel,
) -> Result<String, String> {
    let in_name = engine
        .add_input_line(n, input.device.as_deref(), input.channel)
        .map_err(|e| format!("input {input}: {e}"))?;
    let out_name = if same_device(main, output.device.as_deref()) {
        // on the program device: mapped when the engine started
        format!(
            "{} (program device)",
            device_label(output.device.as_deref())
        )
    } else {
        engine
            .add_device_output(
                &format!("line{n}-send"),
                output.device.as_deref(),
                &[(output.channel, TapPoint::MixMinus(usize::from(n) - 1))],
            )
            .map_err(|e| format!("output {output}: {e}"))?
    };
    Ok(format!(
        "hybrid: caller from {in_name} ch {}, mix-minus to {out_name} ch {}",
        input.channel, output.channel
    ))
}

/// A sound file a part will play: it must exist and, for WAV, decode.
fn check_file(path: &Path) -> Result<(), String> {
    let is_wav = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("wav"));
    if is_wav {
        Clip::from_wav(path, SAMPLE_RATE, false)
            .map(|_| ())
            .map_err(|e| e.to_string())
    } else {
        std::fs::metadata(path)
            .map(|_| ())
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// A looped file or a sound-card channel, as a source.
fn open_source(engine: &Engine, src: &AudioSource) -> Result<(Box<dyn Source>, String), String> {
    match src {
        AudioSource::Device(d) => engine
            .open_input(d.device.as_deref(), d.channel)
            .map(|(name, s)| {
                (
                    Box::new(s) as Box<dyn Source>,
                    format!("{name} ch {}", d.channel),
                )
            })
            .map_err(|e| format!("{src}: {e}")),
        AudioSource::File(p) => Clip::from_wav(p, SAMPLE_RATE, true)
            .map(|c| {
                (
                    Box::new(c) as Box<dyn Source>,
                    format!("{} (looped)", p.display()),
                )
            })
            .map_err(|e| e.to_string()),
    }
}

fn start_inputs(engine: &Arc<Engine>, studio: &Studio, reports: &mut Vec<PartReport>) {
    // Microphones: every one that opens goes on the host input.
    let mut mics: Vec<Box<dyn Source>> = Vec::new();
    for (i, m) in studio.mics.iter().enumerate() {
        let name = format!("mic {}", i + 1);
        let component = format!("audio/mic{}", i + 1);
        match open_source(engine, m) {
            Ok((src, what)) => {
                mics.push(src);
                let zh = format!("话筒：{}", what.replace(" (looped)", "（循环播放）"));
                reports.push(ok(&name, &component, &what).zh(zh));
            }
            Err(why) => reports.push(failed(&name, &component, &why)),
        }
    }
    if !mics.is_empty()
        && let Err(e) = engine.set_host_sources(mics)
    {
        reports.push(failed("mics", "audio/host", &e.to_string()));
    }
    if let Some(t) = &studio.talkback {
        let r = open_source(engine, t).and_then(|(src, what)| {
            engine
                .set_source(airbridge_media::Input::Talkback, src)
                .map(|()| what)
                .map_err(|e| e.to_string())
        });
        reports.push(match r {
            Ok(what) => {
                let zh = format!("对讲：{}", what.replace(" (looped)", "（循环播放）"));
                ok("talkback", "audio/talkback", &what).zh(zh)
            }
            Err(why) => failed("talkback", "audio/talkback", &why),
        });
    }
    if let Some(h) = &studio.hold {
        reports.push(match engine.set_hold_audio(h) {
            Ok(()) => ok("hold", "audio/hold", &format!("{} (looped)", h.display()))
                .zh(format!("等待音 {}（循环）", h.display())),
            Err(e) => failed("hold", "audio/hold", &e.to_string()),
        });
    }
    if let Some(cue) = &studio.cue {
        let main = &studio.audio.output_device;
        if same_device(main, cue.device.as_deref()) {
            reports.push(
                ok(
                    "cue",
                    "audio/cue",
                    &format!("program device, channel {}", cue.channel),
                )
                .zh(format!("播出声卡第 {} 声道", cue.channel)),
            );
        } else {
            let r = engine.add_device_output(
                "cue",
                cue.device.as_deref(),
                &[(cue.channel, TapPoint::Cue)],
            );
            reports.push(match r {
                Ok(dev) => ok(
                    "cue",
                    "audio/cue",
                    &format!("{dev}, channel {}", cue.channel),
                )
                .zh(format!("{dev} 第 {} 声道", cue.channel)),
                Err(e) => failed(
                    "cue",
                    "audio/cue",
                    &format!("{}: {e}", device_label(cue.device.as_deref())),
                ),
            });
        }
    }
}

fn start_recording(
    engine: &Arc<Engine>,
    studio: &Studio,
    paths: &StationPaths,
    config: &ConfigSet,
    reports: &mut Vec<PartReport>,
) -> Option<Recording> {
    let (dir, calls, program) = match &studio.recording {
        Some(r) => (r.dir.clone(), r.calls, r.program),
        None => (paths.recordings.clone(), true, false),
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        reports.push(failed(
            "recording",
            "recording",
            &format!("{}: {e}", dir.display()),
        ));
        return None;
    }
    let (tx, rx) = crossbeam_channel::bounded(256);
    let recorder = match Recorder::start_with_notices(tx) {
        Ok(r) => r,
        Err(e) => {
            reports.push(failed("recording", "recording", &e.to_string()));
            return None;
        }
    };
    let mut rec = Recording {
        recorder,
        calls_dir: dir.clone(),
        calls,
        program: None,
        notices: rx,
        pending: HashMap::new(),
    };
    let mut what = Vec::new();
    if calls {
        what.push("calls".to_owned());
    }
    if program {
        let tag = format!(
            "{}-{}",
            config.show.id,
            chrono::Utc::now()
                .with_timezone(&config.station.time_zone)
                .format("%Y%m%d-%H%M%S")
        );
        match engine.with_controller(|ctl| rec.recorder.record_program(ctl, &dir, &tag)) {
            Ok((id, path)) => {
                rec.program = Some(id);
                rec.pending.insert(path, ("program".into(), None, None));
                what.push("program".to_owned());
            }
            Err(e) => reports.push(failed("program recording", "recording", &e.to_string())),
        }
    }
    let zh: Vec<&str> = what
        .iter()
        .map(|w| if w == "calls" { "通话" } else { "播出" })
        .collect();
    reports.push(
        ok(
            "recording",
            "recording",
            &format!("{} to {}", what.join(" and "), dir.display()),
        )
        .zh(format!("录制{}，存于 {}", zh.join("和"), dir.display())),
    );
    Some(rec)
}

fn start_outputs(
    engine: &Arc<Engine>,
    studio: &Studio,
    reports: &mut Vec<PartReport>,
) -> Vec<String> {
    let mut names = Vec::new();
    for o in &studio.outputs {
        let name = format!("output{}", o.index);
        let label = format!("output {} ({})", o.index, o.kind.label());
        let component = format!("audio/{name}");
        let sink = match &o.kind {
            OutputKind::File { path } => {
                if let Some(dir) = path.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                Ok((NetSink::File(path.clone()), path.display().to_string()))
            }
            OutputKind::Icecast {
                host,
                port,
                mount,
                password,
            } => crate::secrets::resolve(password, &studio.base)
                .map(|password| {
                    (
                        NetSink::Icecast {
                            host: host.clone(),
                            port: *port,
                            mount: mount.clone(),
                            password,
                        },
                        format!("icecast {host}:{port}{mount}"),
                    )
                })
                .map_err(|e| e.to_string()),
            OutputKind::Rtmp { url, key } => match key {
                None => Ok((NetSink::Rtmp { url: url.clone() }, url.clone())),
                Some(k) => crate::secrets::resolve(k, &studio.base)
                    .map(|k| {
                        let full = format!("{}/{k}", url.trim_end_matches('/'));
                        (NetSink::Rtmp { url: full }, format!("{url}/…"))
                    })
                    .map_err(|e| e.to_string()),
            },
        };
        let r = sink.and_then(|(sink, what)| {
            engine
                .add_program_output(&name, &sink)
                .map(|_| what)
                .map_err(|e| e.to_string())
        });
        match r {
            Ok(what) => {
                reports.push(ok(&label, &component, &what).zh(format!("播出输出：{what}")));
                names.push(name);
            }
            Err(why) => reports.push(failed(&label, &component, &why)),
        }
    }
    names
}

/// Where call recordings go.
pub(crate) fn calls_dir(inner: &Inner) -> PathBuf {
    inner
        .recorder
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .map_or_else(|| inner.paths.recordings.clone(), |r| r.calls_dir.clone())
}

/// The engine stops (its audio thread lets go of every tap, so outputs
/// and recordings reach their end), outputs finish writing, recordings are
/// finished and journaled.
pub(crate) fn stop(inner: &Inner) {
    let Some(engine) = &inner.engine else {
        return;
    };
    inner
        .lines
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take_recordings();
    inner
        .outputs
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
    engine.stop();
    for name in engine.finish_pipelines(std::time::Duration::from_secs(3)) {
        tracing::warn!("{name} did not finish within 3 s after the show stopped");
    }
    let rec = inner
        .recorder
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if let Some(rec) = rec {
        let Recording {
            recorder,
            notices,
            mut pending,
            ..
        } = rec;
        if let Err(e) = recorder.finish() {
            tracing::warn!("recording: {e}");
        }
        journal_finished(&notices, &mut pending, &inner.journal);
    }
}

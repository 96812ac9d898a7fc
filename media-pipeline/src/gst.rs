//! GStreamer sources and sinks.
//!
//! Sources (network callers, recorded calls): RTP over UDP with Opus or
//! G.711 (µ-law / A-law), or any file/URI GStreamer can decode. Decoded
//! audio leaves the pipeline through an `appsink` into an SPSC ring that a
//! [`RingSource`] reads on the audio thread; a source that goes quiet is
//! reported by the core as stalled, and the show goes on without it.
//!
//! Sinks (program out): a file (WAV, or Ogg/Opus), Icecast (`shout2send`,
//! Ogg/Vorbis) and RTMP push (FLV/AAC, for live-stream platforms). A feeder
//! thread reads a program tap and pushes buffers into an `appsrc`.
//!
//! Each pipeline is wrapped in [`GstPipeline`], which sets it to `Null` on
//! drop; its bus is watched on a thread that turns errors and end-of-stream
//! into `audio/<name>` health events.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::Sender;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::MediaError;
use crate::core::MediaEvent;
use crate::source::RingSource;

/// Where a network or file caller comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetSource {
    /// RTP/Opus on a UDP port (payload type 96, 48 kHz clock).
    RtpOpus { port: u16 },
    /// RTP/G.711 µ-law (PCMU, payload 0, 8 kHz).
    RtpPcmu { port: u16 },
    /// RTP/G.711 A-law (PCMA, payload 8, 8 kHz).
    RtpPcma { port: u16 },
    /// A file (any format GStreamer decodes).
    File(PathBuf),
    /// A URI (`file://`, `http://`, …).
    Uri(String),
}

/// Where program goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetSink {
    /// A file: `.wav` (PCM) or `.ogg` / `.opus` (Opus in Ogg).
    File(PathBuf),
    /// Icecast mount (Ogg/Vorbis through `shout2send`).
    Icecast {
        host: String,
        port: u16,
        mount: String,
        password: String,
    },
    /// RTMP push, FLV/AAC (needs gstreamer1.0-plugins-bad and gstreamer1.0-libav).
    Rtmp { url: String },
}

fn gst_err(e: impl std::fmt::Display) -> MediaError {
    MediaError::Gst(e.to_string())
}

/// Initialises GStreamer once; a clear error if the library is unusable.
pub fn init() -> Result<(), MediaError> {
    gst::init().map_err(|e| MediaError::Gst(format!("cannot initialise GStreamer: {e}")))
}

/// Checks that every element a pipeline needs is installed.
pub(crate) fn require(elements: &[(&str, &str)]) -> Result<(), MediaError> {
    let missing: Vec<String> = elements
        .iter()
        .filter(|(name, _)| gst::ElementFactory::find(name).is_none())
        .map(|(name, pkg)| format!("{name} (from {pkg})"))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(MediaError::Gst(format!(
            "missing GStreamer elements: {}",
            missing.join(", ")
        )))
    }
}

/// A running pipeline; set to `Null` on drop.
#[derive(Debug)]
pub struct GstPipeline {
    pipeline: gst::Element,
    pub(crate) stop: Arc<AtomicBool>,
    bus_thread: Option<JoinHandle<()>>,
    pub(crate) feeder: Option<JoinHandle<()>>,
    failed: Arc<AtomicBool>,
    name: String,
}

impl GstPipeline {
    pub(crate) fn launch(
        desc: &str,
        name: &str,
        notices: Option<Sender<MediaEvent>>,
    ) -> Result<(Self, gst::Bin), MediaError> {
        init()?;
        let pipeline = gst::parse::launch(desc)
            .map_err(|e| MediaError::Gst(format!("{name}: cannot build pipeline: {e}")))?;
        let bin = pipeline
            .clone()
            .downcast::<gst::Bin>()
            .map_err(|_| MediaError::Gst(format!("{name}: not a pipeline")))?;
        let stop = Arc::new(AtomicBool::new(false));
        let bus = pipeline
            .bus()
            .ok_or_else(|| MediaError::Gst(format!("{name}: pipeline without a bus")))?;
        let stop_bus = Arc::clone(&stop);
        let failed = Arc::new(AtomicBool::new(false));
        let failed_bus = Arc::clone(&failed);
        let component = format!("audio/{name}");
        let bus_thread = std::thread::Builder::new()
            .name(format!("gst-bus-{name}"))
            .spawn(move || {
                if !watch_bus(&bus, &stop_bus, &component, notices.as_ref()) {
                    failed_bus.store(true, Ordering::Release);
                }
            })
            .map_err(gst_err)?;
        Ok((
            Self {
                pipeline,
                stop,
                bus_thread: Some(bus_thread),
                feeder: None,
                failed,
                name: name.to_owned(),
            },
            bin,
        ))
    }

    pub(crate) fn play(&self) -> Result<(), MediaError> {
        self.pipeline
            .set_state(gst::State::Playing)
            .map(|_| ())
            .map_err(|e| MediaError::Gst(format!("{}: cannot start: {e}", self.name)))
    }

    /// Whether it stopped on an error (a file it cannot read, a network
    /// it cannot reach).
    pub(crate) fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// The pipeline's name as used in health components (`audio/<name>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Waits up to `limit` for a sink pipeline to finish writing (its tap
    /// was removed or the engine stopped, and end-of-stream reached the
    /// sink); then stops it either way. True if it finished in time.
    #[allow(clippy::disallowed_methods)] // a bounded wait off the audio thread
    pub fn finish_within(mut self, limit: Duration) -> bool {
        let end = std::time::Instant::now() + limit;
        let done = |h: &Option<JoinHandle<()>>| h.as_ref().is_none_or(JoinHandle::is_finished);
        while !(done(&self.feeder) && done(&self.bus_thread)) {
            if std::time::Instant::now() >= end {
                return false; // Drop stops it
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Some(f) = self.feeder.take() {
            let _ = f.join();
        }
        if let Some(b) = self.bus_thread.take() {
            let _ = b.join();
        }
        true
    }

    /// Waits for a sink pipeline to finish writing (its tap was removed or
    /// the engine stopped, then end-of-stream reached the sink).
    pub fn finish(mut self) {
        if let Some(f) = self.feeder.take() {
            let _ = f.join();
        }
        // the bus thread ends at EOS or error
        if let Some(b) = self.bus_thread.take() {
            let _ = b.join();
        }
    }
}

impl Drop for GstPipeline {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(f) = self.feeder.take() {
            let _ = f.join();
        }
        let _ = self.pipeline.set_state(gst::State::Null);
        if let Some(b) = self.bus_thread.take() {
            let _ = b.join();
        }
    }
}

/// Reports what the pipeline's bus says until it ends or `stop`; false
/// when it ended on an error.
fn watch_bus(
    bus: &gst::Bus,
    stop: &AtomicBool,
    component: &str,
    notices: Option<&Sender<MediaEvent>>,
) -> bool {
    let report = |ok: bool, detail: String| {
        if !ok {
            tracing::warn!(%component, %detail, "GStreamer pipeline problem");
        }
        if let Some(n) = notices {
            let _ = n.send(MediaEvent::Health {
                component: component.to_owned(),
                ok,
                detail,
            });
        }
    };
    while !stop.load(Ordering::Relaxed) {
        let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) else {
            continue;
        };
        match msg.view() {
            gst::MessageView::Eos(_) => {
                report(true, "stream ended".into());
                break;
            }
            gst::MessageView::Error(e) => {
                let from = e
                    .src()
                    .map(|s| s.path_string().to_string())
                    .unwrap_or_default();
                // The debug text names the resource (URL, file) that failed.
                // Its last line is the human part; the rest is source locations.
                let said = e
                    .debug()
                    .and_then(|d| d.lines().last().map(|l| l.trim().to_owned()))
                    .filter(|l| !l.is_empty());
                let detail = match said {
                    Some(d) => format!("{from}: {} ({d})", e.error()),
                    None => format!("{from}: {}", e.error()),
                };
                report(false, detail);
                return false;
            }
            _ => {}
        }
    }
    true
}

pub(crate) const F32_CAPS: &str = "audio/x-raw,format=F32LE,layout=interleaved,channels=1";

/// Starts a source pipeline; returns it and the line source to put on a
/// line (see [`crate::Controller::set_line_source`]). `name` names it in
/// health events (e.g. `line2`).
pub fn open_source(
    src: &NetSource,
    sample_rate: u32,
    name: &str,
    notices: Option<Sender<MediaEvent>>,
) -> Result<(GstPipeline, RingSource), MediaError> {
    init()?;
    let rtp = |caps: &str, chain: &str| {
        format!("udpsrc address=127.0.0.1 {caps} ! rtpjitterbuffer latency=60 ! {chain}")
    };
    let (head, needs): (String, Vec<(&str, &str)>) = match src {
        NetSource::RtpOpus { port } => (
            rtp(
                &format!(
                    "port={port} caps=\"application/x-rtp,media=audio,encoding-name=OPUS,payload=96,clock-rate=48000\""
                ),
                "rtpopusdepay ! opusdec",
            ),
            vec![
                ("udpsrc", "gstreamer1.0-plugins-good"),
                ("rtpopusdepay", "gstreamer1.0-plugins-good"),
                ("opusdec", "gstreamer1.0-plugins-base"),
            ],
        ),
        NetSource::RtpPcmu { port } => (
            rtp(
                &format!(
                    "port={port} caps=\"application/x-rtp,media=audio,encoding-name=PCMU,payload=0,clock-rate=8000\""
                ),
                "rtppcmudepay ! mulawdec",
            ),
            vec![
                ("udpsrc", "gstreamer1.0-plugins-good"),
                ("rtppcmudepay", "gstreamer1.0-plugins-good"),
                ("mulawdec", "gstreamer1.0-plugins-good"),
            ],
        ),
        NetSource::RtpPcma { port } => (
            rtp(
                &format!(
                    "port={port} caps=\"application/x-rtp,media=audio,encoding-name=PCMA,payload=8,clock-rate=8000\""
                ),
                "rtppcmadepay ! alawdec",
            ),
            vec![
                ("udpsrc", "gstreamer1.0-plugins-good"),
                ("rtppcmadepay", "gstreamer1.0-plugins-good"),
                ("alawdec", "gstreamer1.0-plugins-good"),
            ],
        ),
        NetSource::File(path) => {
            let abs = std::fs::canonicalize(path).map_err(|e| MediaError::BadAudio {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let uri = gst::glib::filename_to_uri(&abs, None).map_err(gst_err)?;
            (
                format!("uridecodebin uri=\"{uri}\""),
                vec![("uridecodebin", "gstreamer1.0-plugins-base")],
            )
        }
        NetSource::Uri(uri) => (
            format!("uridecodebin uri=\"{uri}\""),
            vec![("uridecodebin", "gstreamer1.0-plugins-base")],
        ),
    };
    require(&needs)?;
    // RTP arrives in real time; a file or URI would decode as fast as the
    // CPU allows and overflow the line's 1 s ring, so it is paced by the
    // pipeline clock (a live HTTP/RTMP stream keeps its own pace either way).
    let sync = matches!(src, NetSource::File(_) | NetSource::Uri(_));
    let desc = format!(
        "{head} ! audioconvert ! audioresample ! {F32_CAPS},rate={sample_rate} ! appsink name=out sync={sync} max-buffers=50 drop=true"
    );
    let (pipe, bin) = GstPipeline::launch(&desc, name, notices)?;
    let sink = bin
        .by_name("out")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or_else(|| MediaError::Gst(format!("{name}: no appsink")))?;
    let (mut tx, rx) = rtrb::RingBuffer::new(sample_rate as usize); // 1 s
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let buf = sample.buffer().ok_or(gst::FlowError::Error)?;
                let map = buf.map_readable().map_err(|_| gst::FlowError::Error)?;
                for b in map.as_slice().chunks_exact(4) {
                    let x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    if tx.push(x).is_err() {
                        break; // the engine is not reading this line: drop
                    }
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    pipe.play()?;
    // 60 ms of prefill rides out network jitter
    Ok((
        pipe,
        RingSource::with_prefill(rx, sample_rate as usize * 60 / 1000),
    ))
}

/// Starts a sink fed by a tap (see [`crate::Controller::add_tap`] with
/// [`crate::TapPoint::Program`]). When the tap's ring is abandoned the sink
/// gets end-of-stream, so a file is finished properly.
pub fn open_sink(
    sink: &NetSink,
    tap: rtrb::Consumer<f32>,
    sample_rate: u32,
    name: &str,
    notices: Option<Sender<MediaEvent>>,
) -> Result<GstPipeline, MediaError> {
    init()?;
    let (tail, needs): (String, Vec<(&str, &str)>) = match sink {
        NetSink::File(path) => {
            let loc = path.display().to_string().replace('"', "");
            match path.extension().and_then(|e| e.to_str()) {
                Some("wav") => (
                    format!("audioconvert ! wavenc ! filesink location=\"{loc}\""),
                    vec![("wavenc", "gstreamer1.0-plugins-good")],
                ),
                Some("ogg" | "opus") => (
                    format!(
                        "audioconvert ! audioresample ! opusenc ! oggmux ! filesink location=\"{loc}\""
                    ),
                    vec![
                        ("opusenc", "gstreamer1.0-plugins-base"),
                        ("oggmux", "gstreamer1.0-plugins-base"),
                    ],
                ),
                _ => {
                    return Err(MediaError::Gst(format!(
                        "{}: use a .wav, .ogg or .opus file name",
                        path.display()
                    )));
                }
            }
        }
        NetSink::Icecast {
            host,
            port,
            mount,
            password,
        } => (
            format!(
                "audioconvert ! vorbisenc ! oggmux ! shout2send ip=\"{host}\" port={port} mount=\"{mount}\" password=\"{password}\""
            ),
            vec![
                ("vorbisenc", "gstreamer1.0-plugins-base"),
                ("shout2send", "gstreamer1.0-plugins-good"),
            ],
        ),
        NetSink::Rtmp { url } => (
            format!(
                "audioconvert ! audioresample ! audio/x-raw,rate=44100,channels=2 ! avenc_aac ! aacparse ! flvmux streamable=true ! rtmpsink location=\"{url} live=1\""
            ),
            vec![
                ("avenc_aac", "gstreamer1.0-libav"),
                ("flvmux", "gstreamer1.0-plugins-good"),
                ("rtmpsink", "gstreamer1.0-plugins-bad"),
            ],
        ),
    };
    require(&needs)?;
    let desc = format!(
        "appsrc name=in format=time is-live=false do-timestamp=false caps=\"{F32_CAPS},rate={sample_rate}\" ! {tail}"
    );
    let (mut pipe, bin) = GstPipeline::launch(&desc, name, notices)?;
    let src = bin
        .by_name("in")
        .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
        .ok_or_else(|| MediaError::Gst(format!("{name}: no appsrc")))?;
    src.set_max_bytes(u64::from(sample_rate) * 4); // 1 s queued at most
    pipe.play()?;
    let stop = Arc::clone(&pipe.stop);
    let feeder = std::thread::Builder::new()
        .name(format!("gst-feed-{name}"))
        .spawn(move || feed(tap, &src, sample_rate, &stop))
        .map_err(gst_err)?;
    pipe.feeder = Some(feeder);
    Ok(pipe)
}

pub(crate) fn feed(
    mut tap: rtrb::Consumer<f32>,
    src: &gst_app::AppSrc,
    rate: u32,
    stop: &AtomicBool,
) {
    let (_never, wait) = crossbeam_channel::bounded::<()>(1);
    let mut sent: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        let abandoned = tap.is_abandoned();
        let n = tap.slots();
        if n > 0 {
            let Ok(chunk) = tap.read_chunk(n) else { break };
            let (a, b) = chunk.as_slices();
            let mut bytes = Vec::with_capacity(n * 4);
            for x in a.iter().chain(b) {
                bytes.extend_from_slice(&x.to_le_bytes());
            }
            chunk.commit_all();
            let mut buf = gst::Buffer::from_mut_slice(bytes);
            if let Some(b) = buf.get_mut() {
                b.set_pts(gst::ClockTime::from_nseconds(
                    sent * 1_000_000_000 / u64::from(rate),
                ));
                b.set_duration(gst::ClockTime::from_nseconds(
                    n as u64 * 1_000_000_000 / u64::from(rate),
                ));
            }
            sent += n as u64;
            if src.push_buffer(buf).is_err() {
                break;
            }
        } else if abandoned {
            let _ = src.end_of_stream();
            break;
        } else {
            let _ = wait.recv_timeout(Duration::from_millis(5));
        }
    }
}

/// Convenience for tests and tools: a free UDP port on 127.0.0.1.
pub fn free_udp_port() -> Result<u16, MediaError> {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").map_err(|e| MediaError::Io {
        op: "bind",
        path: Path::new("127.0.0.1:0").to_path_buf(),
        detail: e.to_string(),
    })?;
    s.local_addr()
        .map(|a| a.port())
        .map_err(|e| MediaError::Gst(e.to_string()))
}

/// A test sender: `audiotestsrc` tone → encoder → RTP → UDP to 127.0.0.1:`port`.
/// `codec` is `opus`, `pcmu` or `pcma`.
pub fn rtp_tone_sender(port: u16, freq_hz: f32, codec: &str) -> Result<GstPipeline, MediaError> {
    rtp_sender(
        &format!("audiotestsrc is-live=true freq={freq_hz} volume=0.3"),
        port,
        codec,
    )
}

/// A test caller: a sound file (any format GStreamer decodes), played in
/// real time → encoder → RTP → UDP to 127.0.0.1:`port`, as a VoIP gateway
/// would send a call. `codec` as for [`rtp_tone_sender`].
pub fn rtp_file_sender(port: u16, path: &Path, codec: &str) -> Result<GstPipeline, MediaError> {
    let abs = std::fs::canonicalize(path).map_err(|e| MediaError::BadAudio {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let uri = gst::glib::filename_to_uri(&abs, None).map_err(gst_err)?;
    // Paced like a live call: `identity sync=true` holds each buffer until
    // its time on the pipeline clock.
    rtp_sender(
        &format!("uridecodebin uri=\"{uri}\" ! identity sync=true"),
        port,
        codec,
    )
}

fn rtp_sender(head: &str, port: u16, codec: &str) -> Result<GstPipeline, MediaError> {
    let enc = match codec {
        "opus" => "audioresample ! audio/x-raw,rate=48000 ! opusenc ! rtpopuspay pt=96",
        "pcmu" => "audioresample ! audio/x-raw,rate=8000,channels=1 ! mulawenc ! rtppcmupay",
        "pcma" => "audioresample ! audio/x-raw,rate=8000,channels=1 ! alawenc ! rtppcmapay",
        other => {
            return Err(MediaError::Gst(format!(
                "unknown codec {other}: opus, pcmu or pcma"
            )));
        }
    };
    let desc = format!("{head} ! audioconvert ! {enc} ! udpsink host=127.0.0.1 port={port}");
    let (pipe, _) = GstPipeline::launch(&desc, &format!("rtp-sender-{port}"), None)?;
    pipe.play()?;
    Ok(pipe)
}

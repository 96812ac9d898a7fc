//! RTP caller lines, both ways: the network side of a VoIP gateway or
//! codec (and of SIP calls).
//!
//! One UDP socket per line, bound to the line's listening address:
//! - a **receive thread** reads packets, keeps only RTP of the line's codec,
//!   learns the caller's address (the first packet after a silence), keeps
//!   activity counters the runtime watches (a call starts when packets start,
//!   ends when they stop), and hands the packets to a GStreamer pipeline:
//!   `appsrc → rtpjitterbuffer → depayloader → decoder → appsink`, whose
//!   samples reach the line through a [`RingSource`];
//! - the line's **mix-minus** (what this caller must hear: program without
//!   themselves, or talkback while screened) feeds a second pipeline:
//!   `appsrc → encoder → payloader → appsink`, and a **send thread** sends
//!   its packets from the same socket (symmetric RTP, so NATs and gateways
//!   that expect replies from the port they send to are served) to the
//!   configured `reply_to`, else to the learned caller address.
//!
//! Packets from a second address during a call are dropped and counted
//! (nobody can barge into a call); malformed or foreign packets are counted,
//! never fatal.

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::MediaError;
use crate::core::MediaEvent;
use crate::gst::{F32_CAPS, GstPipeline, require};
use crate::source::RingSource;

/// RTP payload formats a line speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtpCodec {
    /// Opus, dynamic payload type (sent as 96), 48 kHz clock.
    Opus,
    /// G.711 µ-law, payload type 0, 8 kHz.
    Pcmu,
    /// G.711 A-law, payload type 8, 8 kHz.
    Pcma,
}

impl RtpCodec {
    pub fn name(self) -> &'static str {
        match self {
            RtpCodec::Opus => "opus",
            RtpCodec::Pcmu => "pcmu",
            RtpCodec::Pcma => "pcma",
        }
    }

    /// Whether a packet's payload type belongs to this codec.
    fn accepts(self, pt: u8) -> bool {
        match self {
            RtpCodec::Opus => (96..=127).contains(&pt),
            RtpCodec::Pcmu => pt == 0,
            RtpCodec::Pcma => pt == 8,
        }
    }

    fn caps(self) -> &'static str {
        match self {
            RtpCodec::Opus => {
                "application/x-rtp,media=audio,encoding-name=OPUS,payload=96,clock-rate=48000"
            }
            RtpCodec::Pcmu => {
                "application/x-rtp,media=audio,encoding-name=PCMU,payload=0,clock-rate=8000"
            }
            RtpCodec::Pcma => {
                "application/x-rtp,media=audio,encoding-name=PCMA,payload=8,clock-rate=8000"
            }
        }
    }

    fn decode_chain(self) -> (&'static str, [(&'static str, &'static str); 2]) {
        match self {
            RtpCodec::Opus => (
                "rtpopusdepay ! opusdec plc=true",
                [
                    ("rtpopusdepay", "gstreamer1.0-plugins-good"),
                    ("opusdec", "gstreamer1.0-plugins-base"),
                ],
            ),
            RtpCodec::Pcmu => (
                "rtppcmudepay ! mulawdec",
                [
                    ("rtppcmudepay", "gstreamer1.0-plugins-good"),
                    ("mulawdec", "gstreamer1.0-plugins-good"),
                ],
            ),
            RtpCodec::Pcma => (
                "rtppcmadepay ! alawdec",
                [
                    ("rtppcmadepay", "gstreamer1.0-plugins-good"),
                    ("alawdec", "gstreamer1.0-plugins-good"),
                ],
            ),
        }
    }

    /// 20 ms packets for G.711 (what every gateway expects), 10 ms Opus
    /// frames (less latency; Opus carries its own frame size).
    fn encode_chain(self) -> (&'static str, [(&'static str, &'static str); 2]) {
        match self {
            RtpCodec::Opus => (
                "audio/x-raw,rate=48000,channels=1 ! opusenc frame-size=10 audio-type=voice ! rtpopuspay pt=96",
                [
                    ("opusenc", "gstreamer1.0-plugins-base"),
                    ("rtpopuspay", "gstreamer1.0-plugins-good"),
                ],
            ),
            RtpCodec::Pcmu => (
                "audio/x-raw,rate=8000,channels=1 ! mulawenc ! rtppcmupay pt=0 min-ptime=20000000 max-ptime=20000000",
                [
                    ("mulawenc", "gstreamer1.0-plugins-good"),
                    ("rtppcmupay", "gstreamer1.0-plugins-good"),
                ],
            ),
            RtpCodec::Pcma => (
                "audio/x-raw,rate=8000,channels=1 ! alawenc ! rtppcmapay pt=8 min-ptime=20000000 max-ptime=20000000",
                [
                    ("alawenc", "gstreamer1.0-plugins-good"),
                    ("rtppcmapay", "gstreamer1.0-plugins-good"),
                ],
            ),
        }
    }
}

/// How an RTP line is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpLineConfig {
    /// Where the caller's packets arrive (`0.0.0.0:5004`, `127.0.0.1:0`).
    pub listen: SocketAddr,
    pub codec: RtpCodec,
    /// Where the mix-minus goes; `None` = where the caller's packets come from.
    pub reply_to: Option<SocketAddr>,
    /// Jitter buffer, ms (network jitter against latency).
    pub jitter_ms: u32,
    /// Decoded audio waiting before the line plays, ms (rides out the
    /// decoder's bursts and the two clocks' phase).
    pub prefill_ms: u32,
    /// The dynamic payload type Opus is sent with (a SIP call uses the
    /// one its offer named; 96 otherwise). Any dynamic type is received.
    pub opus_pt: u8,
    /// The payload type of RFC 4733 telephone events (DTMF) the caller
    /// may send (a SIP call's negotiated one); `None`: not read.
    pub dtmf_pt: Option<u8>,
}

impl RtpLineConfig {
    pub fn new(listen: SocketAddr, codec: RtpCodec) -> Self {
        Self {
            listen,
            codec,
            reply_to: None,
            jitter_ms: DEFAULT_JITTER_MS,
            prefill_ms: DEFAULT_PREFILL_MS,
            opus_pt: 96,
            dtmf_pt: None,
        }
    }
}

/// Jitter buffer of a line unless configured: enough for a LAN gateway.
pub const DEFAULT_JITTER_MS: u32 = 20;
/// Ring prefill before a line plays unless configured: two engine blocks.
pub const DEFAULT_PREFILL_MS: u32 = 20;
/// Silence after which packets (from any address) start a new call.
pub const NEW_CALL_SILENCE: Duration = Duration::from_secs(2);

/// What a line's socket has seen; read by the runtime at any time.
#[derive(Debug)]
pub struct RtpActivity {
    epoch: Instant,
    /// Milliseconds since `epoch` of the last accepted packet, plus one
    /// (0 = none yet).
    last_ms: AtomicU64,
    /// Bursts of packets after a silence of [`NEW_CALL_SILENCE`]: a new call each.
    bursts: AtomicU64,
    packets_in: AtomicU64,
    packets_out: AtomicU64,
    /// Malformed, foreign-codec or other-address packets.
    rejected: AtomicU64,
    peer: Mutex<Option<SocketAddr>>,
    local: SocketAddr,
    /// Telephone keys pressed and not yet taken, and the RTP timestamp of
    /// the last event counted (its end is sent three times).
    keys: Mutex<(String, Option<u32>)>,
}

impl RtpActivity {
    fn new(local: SocketAddr) -> Self {
        Self {
            epoch: Instant::now(),
            last_ms: AtomicU64::new(0),
            bursts: AtomicU64::new(0),
            packets_in: AtomicU64::new(0),
            packets_out: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            peer: Mutex::new(None),
            local,
            keys: Mutex::new((String::new(), None)),
        }
    }

    /// Telephone keys (DTMF) pressed since last asked, in order.
    pub fn take_keys(&self) -> String {
        std::mem::take(&mut self.keys.lock().unwrap_or_else(PoisonError::into_inner).0)
    }

    /// Notes an RFC 4733 telephone-event packet: a key counts once, at the
    /// end of its event (the end packet is repeated; repeats are ignored).
    fn telephone_event(&self, packet: &[u8]) {
        let Some((timestamp, payload)) = rtp_payload(packet) else {
            return;
        };
        let [event, flags, ..] = payload else {
            return;
        };
        if payload.len() < 4 || flags & 0x80 == 0 {
            return; // not the end of the event yet
        }
        let key = match event {
            0..=9 => char::from(b'0' + event),
            10 => '*',
            11 => '#',
            12..=15 => char::from(b'A' + (event - 12)),
            _ => return, // not a key (flash, tones)
        };
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if keys.1 == Some(timestamp) {
            return;
        }
        keys.1 = Some(timestamp);
        if keys.0.len() < 64 {
            keys.0.push(key);
        }
    }

    /// The address the line's socket is bound to (resolves port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The caller's address, once packets have come.
    pub fn peer(&self) -> Option<SocketAddr> {
        *self.peer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Time since the last accepted packet (`None` before the first).
    pub fn since_last_packet(&self) -> Option<Duration> {
        match self.last_ms.load(Ordering::Acquire) {
            0 => None,
            ms => Some(
                self.epoch
                    .elapsed()
                    .saturating_sub(Duration::from_millis(ms - 1)),
            ),
        }
    }

    /// How many times packets started after a silence (calls, for an RTP line).
    pub fn bursts(&self) -> u64 {
        self.bursts.load(Ordering::Acquire)
    }

    pub fn packets_in(&self) -> u64 {
        self.packets_in.load(Ordering::Relaxed)
    }

    pub fn packets_out(&self) -> u64 {
        self.packets_out.load(Ordering::Relaxed)
    }

    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// Accepts a packet from `from` if it belongs to the call (or starts one).
    fn accept(&self, from: SocketAddr) -> bool {
        let silent = self
            .since_last_packet()
            .is_none_or(|d| d >= NEW_CALL_SILENCE);
        let mut peer = self.peer.lock().unwrap_or_else(PoisonError::into_inner);
        if silent {
            *peer = Some(from);
            self.bursts.fetch_add(1, Ordering::AcqRel);
        } else if *peer != Some(from) {
            self.rejected.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        drop(peer);
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.last_ms.store(now + 1, Ordering::Release);
        self.packets_in.fetch_add(1, Ordering::Relaxed);
        true
    }
}

/// A running RTP line; dropping it stops its threads and pipelines.
#[derive(Debug)]
pub struct RtpLine {
    activity: Arc<RtpActivity>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Receive pipeline, then return pipeline (dropped in that order).
    pipelines: Vec<GstPipeline>,
}

impl RtpLine {
    pub fn activity(&self) -> Arc<RtpActivity> {
        Arc::clone(&self.activity)
    }
}

impl Drop for RtpLine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        self.pipelines.clear();
    }
}

fn io_err(op: &'static str, addr: SocketAddr, e: &std::io::Error) -> MediaError {
    MediaError::Io {
        op,
        path: PathBuf::from(addr.to_string()),
        detail: e.to_string(),
    }
}

/// Opens an RTP line: binds `cfg.listen` (a busy port is an error naming
/// it), starts both pipelines and threads. `mix_minus` is the line's
/// mix-minus tap at `sample_rate`. Returns the line and the source to put
/// on the engine line.
pub fn open(
    cfg: &RtpLineConfig,
    sample_rate: u32,
    name: &str,
    notices: Option<Sender<MediaEvent>>,
    mix_minus: rtrb::Consumer<f32>,
) -> Result<(RtpLine, RingSource), MediaError> {
    crate::gst::init()?;
    let (decode, dec_needs) = cfg.codec.decode_chain();
    let (encode, enc_needs) = cfg.codec.encode_chain();
    // Opus goes out on the payload type the caller's SDP named for it
    let encode = if cfg.codec == RtpCodec::Opus {
        encode.replace(
            "rtpopuspay pt=96",
            &format!("rtpopuspay pt={}", cfg.opus_pt),
        )
    } else {
        encode.to_owned()
    };
    let mut needs = vec![
        ("appsrc", "gstreamer1.0-plugins-base"),
        ("rtpjitterbuffer", "gstreamer1.0-plugins-good"),
    ];
    needs.extend(dec_needs);
    needs.extend(enc_needs);
    require(&needs)?;

    let socket = UdpSocket::bind(cfg.listen).map_err(|e| io_err("bind", cfg.listen, &e))?;
    let local = socket
        .local_addr()
        .map_err(|e| io_err("bind", cfg.listen, &e))?;
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|e| io_err("configure", local, &e))?;
    let send_socket = socket
        .try_clone()
        .map_err(|e| io_err("configure", local, &e))?;

    // Receive: packets → jitter buffer → decoder → ring.
    let rx_desc = format!(
        "appsrc name=in is-live=true do-timestamp=true format=time max-bytes=65536 caps=\"{}\" ! rtpjitterbuffer latency={} drop-on-latency=true ! {decode} ! audioconvert ! audioresample ! {F32_CAPS},rate={sample_rate} ! appsink name=out sync=false max-buffers=50 drop=true",
        cfg.codec.caps(),
        cfg.jitter_ms,
    );
    let (rx_pipe, rx_bin) = GstPipeline::launch(&rx_desc, name, notices.clone())?;
    let rx_src = rx_bin
        .by_name("in")
        .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
        .ok_or_else(|| MediaError::Gst(format!("{name}: no appsrc")))?;
    let rx_sink = rx_bin
        .by_name("out")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or_else(|| MediaError::Gst(format!("{name}: no appsink")))?;
    let (mut ring_tx, ring_rx) = rtrb::RingBuffer::new(sample_rate as usize);
    rx_sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let buf = sample.buffer().ok_or(gst::FlowError::Error)?;
                let map = buf.map_readable().map_err(|_| gst::FlowError::Error)?;
                for b in map.as_slice().chunks_exact(4) {
                    if ring_tx
                        .push(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .is_err()
                    {
                        break; // the engine is not reading this line: drop
                    }
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    rx_pipe.play()?;

    // Return: mix-minus tap → encoder → payloader → packets.
    let tx_desc = format!(
        "appsrc name=in format=time is-live=false do-timestamp=false caps=\"{F32_CAPS},rate={sample_rate}\" ! audioconvert ! audioresample ! {encode} ! appsink name=out sync=false max-buffers=100 drop=true"
    );
    let return_name = format!("{name}-return");
    let (mut tx_pipe, tx_bin) = GstPipeline::launch(&tx_desc, &return_name, notices)?;
    let tx_src = tx_bin
        .by_name("in")
        .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
        .ok_or_else(|| MediaError::Gst(format!("{return_name}: no appsrc")))?;
    tx_src.set_max_bytes(u64::from(sample_rate) * 4 / 5); // 200 ms queued at most
    let tx_sink = tx_bin
        .by_name("out")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or_else(|| MediaError::Gst(format!("{return_name}: no appsink")))?;
    tx_pipe.play()?;
    let feed_stop = Arc::clone(&tx_pipe.stop);
    let feeder = std::thread::Builder::new()
        .name(format!("gst-feed-{return_name}"))
        .spawn(move || crate::gst::feed(mix_minus, &tx_src, sample_rate, &feed_stop))
        .map_err(|e| MediaError::Gst(e.to_string()))?;
    tx_pipe.feeder = Some(feeder);

    let activity = Arc::new(RtpActivity::new(local));
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::with_capacity(2);
    {
        let activity = Arc::clone(&activity);
        let stop = Arc::clone(&stop);
        let (codec, dtmf_pt) = (cfg.codec, cfg.dtmf_pt);
        threads.push(
            std::thread::Builder::new()
                .name(format!("rtp-recv-{name}"))
                .spawn(move || receive(&socket, codec, dtmf_pt, &activity, &rx_src, &stop))
                .map_err(|e| MediaError::Gst(e.to_string()))?,
        );
    }
    {
        let activity = Arc::clone(&activity);
        let stop = Arc::clone(&stop);
        let reply_to = cfg.reply_to;
        threads.push(
            std::thread::Builder::new()
                .name(format!("rtp-send-{name}"))
                .spawn(move || send(&send_socket, reply_to, &activity, &tx_sink, &stop))
                .map_err(|e| MediaError::Gst(e.to_string()))?,
        );
    }
    let prefill = sample_rate as usize * cfg.prefill_ms as usize / 1000;
    Ok((
        RtpLine {
            activity,
            stop,
            threads,
            pipelines: vec![rx_pipe, tx_pipe],
        },
        RingSource::with_prefill(ring_rx, prefill),
    ))
}

/// A recorded message played to one caller over RTP (the "all lines are
/// busy" message a SIP call hears when no line is free): the file
/// (any format GStreamer decodes) is encoded in the call's codec, paced in
/// real time, and sent from one socket (the port the SDP answer names) to
/// the caller. It ends by itself at the end of the file
/// ([`Announcement::finished`]); dropping it stops it.
#[derive(Debug)]
pub struct Announcement {
    local: SocketAddr,
    activity: Arc<RtpActivity>,
    done: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    pipeline: Option<GstPipeline>,
}

impl Announcement {
    /// The address it sends from.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The whole message has been sent (or the file could not be played).
    pub fn finished(&self) -> bool {
        self.done.load(Ordering::Acquire) || self.pipeline.as_ref().is_none_or(GstPipeline::failed)
    }

    pub fn packets_out(&self) -> u64 {
        self.activity.packets_out()
    }
}

impl Drop for Announcement {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.pipeline = None;
    }
}

/// Starts playing `file` to `to` in `codec` (Opus on payload type
/// `opus_pt`), from a socket bound to `listen`. A missing or undecodable
/// file is an error naming it, before anything is sent.
pub fn announce(
    file: &std::path::Path,
    codec: RtpCodec,
    opus_pt: u8,
    listen: SocketAddr,
    to: SocketAddr,
    name: &str,
) -> Result<Announcement, MediaError> {
    crate::gst::init()?;
    let abs = std::fs::canonicalize(file).map_err(|e| MediaError::BadAudio {
        path: file.to_path_buf(),
        reason: e.to_string(),
    })?;
    let uri = gst::glib::filename_to_uri(&abs, None).map_err(|e| MediaError::BadAudio {
        path: file.to_path_buf(),
        reason: e.to_string(),
    })?;
    let (encode, enc_needs) = codec.encode_chain();
    let encode = encode.replace("rtpopuspay pt=96", &format!("rtpopuspay pt={opus_pt}"));
    let mut needs = vec![("uridecodebin", "gstreamer1.0-plugins-base")];
    needs.extend(enc_needs);
    require(&needs)?;
    let socket = UdpSocket::bind(listen).map_err(|e| io_err("bind", listen, &e))?;
    let local = socket
        .local_addr()
        .map_err(|e| io_err("bind", listen, &e))?;
    // the appsink paces: it hands each packet over at its time on the clock
    let desc = format!(
        "uridecodebin uri=\"{uri}\" ! audioconvert ! audioresample ! {encode} ! appsink name=out sync=true max-buffers=50"
    );
    let (pipe, bin) = GstPipeline::launch(&desc, name, None)?;
    let sink = bin
        .by_name("out")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or_else(|| MediaError::Gst(format!("{name}: no appsink")))?;
    pipe.play()?;
    let activity = Arc::new(RtpActivity::new(local));
    let done = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let (activity, done, stop) = (Arc::clone(&activity), Arc::clone(&done), Arc::clone(&stop));
        std::thread::Builder::new()
            .name(format!("rtp-send-{name}"))
            .spawn(move || {
                send(&socket, Some(to), &activity, &sink, &stop);
                done.store(true, Ordering::Release);
            })
            .map_err(|e| MediaError::Gst(e.to_string()))?
    };
    Ok(Announcement {
        local,
        activity,
        done,
        stop,
        thread: Some(thread),
        pipeline: Some(pipe),
    })
}

/// The RTP timestamp and payload of a packet (CSRCs and a header
/// extension skipped); `None` when the header does not fit.
fn rtp_payload(packet: &[u8]) -> Option<(u32, &[u8])> {
    let first = *packet.first()?;
    let ts = u32::from_be_bytes(packet.get(4..8)?.try_into().ok()?);
    let mut at = 12 + 4 * usize::from(first & 0x0f);
    if first & 0x10 != 0 {
        let words = u16::from_be_bytes(packet.get(at + 2..at + 4)?.try_into().ok()?);
        at += 4 + 4 * usize::from(words);
    }
    let mut payload = packet.get(at..)?;
    if first & 0x20 != 0 {
        // padding: its length is the last byte
        let pad = usize::from(*payload.last()?);
        payload = payload.get(..payload.len().checked_sub(pad)?)?;
    }
    Some((ts, payload))
}

fn receive(
    socket: &UdpSocket,
    codec: RtpCodec,
    dtmf_pt: Option<u8>,
    activity: &RtpActivity,
    src: &gst_app::AppSrc,
    stop: &AtomicBool,
) {
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        let (n, from) = match socket.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "RTP receive failed");
                continue;
            }
        };
        let packet = &mut buf[..n];
        // RTP version 2, a full fixed header, this line's codec.
        let is_rtp = n >= 12 && packet[0] >> 6 == 2;
        let pt = packet.get(1).map_or(255, |b| b & 0x7f);
        if is_rtp && dtmf_pt == Some(pt) {
            if activity.accept(from) {
                activity.telephone_event(packet);
            }
            continue;
        }
        if !is_rtp || !codec.accepts(pt) {
            activity.rejected.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if !activity.accept(from) {
            continue;
        }
        if codec == RtpCodec::Opus {
            // the depayloader's caps say 96; gateways pick any dynamic type
            packet[1] = (packet[1] & 0x80) | 96;
        }
        if src
            .push_buffer(gst::Buffer::from_slice(packet.to_vec()))
            .is_err()
        {
            break; // pipeline stopped
        }
    }
}

fn send(
    socket: &UdpSocket,
    reply_to: Option<SocketAddr>,
    activity: &RtpActivity,
    sink: &gst_app::AppSink,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::Relaxed) {
        let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(100)) else {
            if sink.is_eos() {
                break;
            }
            continue;
        };
        let Some(dest) = reply_to.or_else(|| activity.peer()) else {
            continue; // nobody to send to yet
        };
        let Some(buffer) = sample.buffer() else {
            continue;
        };
        let Ok(map) = buffer.map_readable() else {
            continue;
        };
        if socket.send_to(map.as_slice(), dest).is_ok() {
            activity.packets_out.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_address_cannot_barge_into_a_call() {
        let a: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:4002".parse().unwrap();
        let act = RtpActivity::new("127.0.0.1:5004".parse().unwrap());
        assert!(act.since_last_packet().is_none());
        assert!(act.accept(a));
        assert_eq!(act.bursts(), 1);
        assert!(!act.accept(b), "a packet from another address mid-call");
        assert_eq!(act.rejected(), 1);
        assert!(act.accept(a));
        assert_eq!(act.bursts(), 1);
        assert_eq!(act.peer(), Some(a));
        assert!(act.since_last_packet().unwrap() < Duration::from_secs(1));
    }

    /// An RFC 4733 packet: `event`, end bit, RTP timestamp `ts`.
    fn dtmf(event: u8, end: bool, ts: u32) -> Vec<u8> {
        let mut p = vec![0x80, 101, 0, 1];
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 1]);
        p.extend_from_slice(&[event, if end { 0x8a } else { 0x0a }, 0x03, 0x20]);
        p
    }

    #[test]
    fn telephone_keys_count_once_at_the_end_of_each_event() {
        let a = RtpActivity::new("127.0.0.1:4000".parse().unwrap());
        // "1": three packets while held, the end three times
        for (end, _) in [
            (false, 0),
            (false, 1),
            (false, 2),
            (true, 3),
            (true, 4),
            (true, 5),
        ] {
            a.telephone_event(&dtmf(1, end, 8000));
        }
        // "#" then "*" then "D"; a flash (16) is not a key
        a.telephone_event(&dtmf(11, true, 16000));
        a.telephone_event(&dtmf(10, true, 24000));
        a.telephone_event(&dtmf(15, true, 32000));
        a.telephone_event(&dtmf(16, true, 40000));
        assert_eq!(a.take_keys(), "1#*D");
        assert_eq!(a.take_keys(), "", "taken");
        // short and malformed packets are ignored, never a panic
        for bad in [
            &[0x80u8, 101][..],
            &[0x8f, 101, 0, 1, 0, 0, 0, 1][..],
            &[0x90; 14][..],
        ] {
            a.telephone_event(bad);
        }
        assert_eq!(a.take_keys(), "");
    }

    #[test]
    fn payload_types_are_checked_per_codec() {
        assert!(RtpCodec::Pcmu.accepts(0));
        assert!(!RtpCodec::Pcmu.accepts(8));
        assert!(RtpCodec::Pcma.accepts(8));
        assert!(RtpCodec::Opus.accepts(111));
        assert!(!RtpCodec::Opus.accepts(0));
    }
}

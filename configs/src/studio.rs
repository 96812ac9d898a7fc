//! `studio.toml`: the station's studio — sound devices, caller lines,
//! microphones, cue, talkback, hold audio, program outputs, recording and
//! the audience feeds a show runtime starts.
//!
//! The file is optional: without it a show runs without audio. It is read
//! like every other configuration file (each problem is `file: key: reason`),
//! with one difference: a problem in one part (a line, an output, a mic)
//! drops that part only, so that the show goes on with the rest. The
//! problems are all returned; `airbridge config check` fails on any of them.
//!
//! Secrets are never in the file: a password is named by `password_env`
//! (an environment variable) or `password_file` (a file only its owner can
//! read; checked when the runtime opens it). Relative paths are relative to
//! the configuration directory.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::error::ConfigIssue;
use crate::reader::{Section, parse_table};

/// The file name in a configuration directory.
pub const STUDIO_FILE: &str = "studio.toml";

/// A channel of a sound device: `device:NAME#CHANNEL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceChannel {
    /// A device name or part of one; `None` = the system's default device.
    pub device: Option<String>,
    /// 0-based channel.
    pub channel: u16,
}

impl fmt::Display for DeviceChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "device:{}#{}",
            self.device.as_deref().unwrap_or(""),
            self.channel
        )
    }
}

/// Where an input's audio comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioSource {
    /// A sound-card input channel.
    Device(DeviceChannel),
    /// A sound file, looped (rehearsals and tests).
    File(PathBuf),
}

impl fmt::Display for AudioSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AudioSource::Device(d) => d.fmt(f),
            AudioSource::File(p) => write!(f, "file:{}", p.display()),
        }
    }
}

impl AudioSource {
    /// Parses `device:NAME#CH` or `file:PATH` (relative to `base`).
    pub fn parse(text: &str, base: &Path) -> Result<Self, String> {
        if let Some(rest) = text.strip_prefix("device:") {
            return parse_device(rest).map(AudioSource::Device);
        }
        if let Some(rest) = text.strip_prefix("file:") {
            if rest.trim().is_empty() {
                return Err("file: needs a path, e.g. \"file:hold.wav\"".into());
            }
            return Ok(AudioSource::File(base.join(rest.trim())));
        }
        Err(format!(
            "{text:?} is not a source: use \"device:NAME#CHANNEL\" (channel 0-based) or \"file:PATH\""
        ))
    }
}

fn parse_device(rest: &str) -> Result<DeviceChannel, String> {
    let (name, channel) = match rest.rsplit_once('#') {
        Some((n, c)) => {
            let ch = c.trim().parse::<u16>().map_err(|_| {
                format!("channel {c:?} in \"device:{rest}\" is not a number (0-based)")
            })?;
            (n, ch)
        }
        None => (rest, 0),
    };
    let name = name.trim();
    Ok(DeviceChannel {
        device: (!name.is_empty() && name != "default").then(|| name.to_owned()),
        channel,
    })
}

/// Parses `device:NAME#CH` (a sound-card channel only).
pub fn parse_device_channel(text: &str) -> Result<DeviceChannel, String> {
    match text.strip_prefix("device:") {
        Some(rest) => parse_device(rest),
        None => Err(format!(
            "{text:?} is not a sound-card channel: use \"device:NAME#CHANNEL\" (channel 0-based)"
        )),
    }
}

/// Which sound device program plays on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum OutputDevice {
    /// The system's default output.
    #[default]
    Default,
    /// A device by name or part of one.
    Named(String),
    /// No sound card: the engine runs on its internal clock (rack PC
    /// without audio out, rehearsals, tests).
    None,
}

/// `[audio]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioSettings {
    pub output_device: OutputDevice,
    /// Sound-card buffer (latency against robustness on a busy PC).
    pub buffer_ms: u32,
}

impl Default for AudioSettings {
    fn default() -> Self {
        Self {
            output_device: OutputDevice::Default,
            buffer_ms: 40,
        }
    }
}

/// `[cue]`: the screener's headphones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CueSettings {
    /// `None` = the program output device.
    pub device: Option<String>,
    /// 0-based channel.
    pub channel: u16,
}

/// RTP payload codecs a network line speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtpCodec {
    Opus,
    Pcmu,
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

    fn parse(s: &str) -> Option<Self> {
        match s {
            "opus" => Some(RtpCodec::Opus),
            "pcmu" => Some(RtpCodec::Pcmu),
            "pcma" => Some(RtpCodec::Pcma),
            _ => None,
        }
    }
}

/// What a caller line is connected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind {
    /// A telephone hybrid (电话耦合器) on a sound card: the caller comes in
    /// on `input`, the line's mix-minus goes out on `output`.
    Hybrid {
        input: DeviceChannel,
        output: DeviceChannel,
    },
    /// A VoIP gateway or codec sending RTP to `listen`; the mix-minus goes
    /// back as RTP in the same codec to `reply_to`, else to where the
    /// caller's packets come from (from the listening port: symmetric RTP).
    Rtp {
        listen: SocketAddr,
        codec: RtpCodec,
        reply_to: Option<SocketAddr>,
        /// Network jitter the line rides out, ms (its playout buffer; also
        /// how long a missing packet is waited for). More is more latency.
        jitter_ms: u32,
    },
    /// A rehearsal caller: the file plays from its start when the call is
    /// answered.
    File { path: PathBuf, looping: bool },
    /// A phone line answered over SIP (`[sip]`): an INVITE rings the first
    /// free SIP line; the call's audio is RTP in the codec both sides chose.
    Sip {
        /// As for an RTP line.
        jitter_ms: u32,
    },
}

impl LineKind {
    pub fn label(&self) -> &'static str {
        match self {
            LineKind::Hybrid { .. } => "hybrid",
            LineKind::Rtp { .. } => "rtp",
            LineKind::File { .. } => "file",
            LineKind::Sip { .. } => "sip",
        }
    }
}

/// `[[line]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineSpec {
    pub number: u8,
    pub kind: LineKind,
}

/// Where a secret comes from; never the configuration file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    Env(String),
    /// Must be readable by its owner only (checked when opened).
    File(PathBuf),
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(n) => write!(f, "${n}"),
            SecretRef::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Where program goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputKind {
    /// A file: `.wav`, `.ogg` or `.opus`.
    File { path: PathBuf },
    /// An Icecast mount: `http://HOST:PORT/MOUNT`, user `source`.
    Icecast {
        host: String,
        port: u16,
        mount: String,
        password: SecretRef,
    },
    /// An RTMP push (live-stream platforms); the stream key, if the
    /// platform gives one, is the secret appended to the URL.
    Rtmp { url: String, key: Option<SecretRef> },
}

impl OutputKind {
    pub fn label(&self) -> &'static str {
        match self {
            OutputKind::File { .. } => "file",
            OutputKind::Icecast { .. } => "icecast",
            OutputKind::Rtmp { .. } => "rtmp",
        }
    }
}

/// `[[output]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSpec {
    /// 1-based, in file order.
    pub index: usize,
    pub kind: OutputKind,
}

/// `[recording]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingSettings {
    pub dir: PathBuf,
    /// Record program for the whole run.
    pub program: bool,
    /// Record every call (caller and what they hear).
    pub calls: bool,
}

/// The studio, as far as it is valid.
#[derive(Debug, Clone, PartialEq)]
pub struct Studio {
    /// The file, for messages.
    pub file: String,
    /// The configuration directory relative paths are resolved against.
    pub base: PathBuf,
    pub audio: AudioSettings,
    pub cue: Option<CueSettings>,
    pub talkback: Option<AudioSource>,
    pub mics: Vec<AudioSource>,
    pub hold: Option<PathBuf>,
    pub lines: Vec<LineSpec>,
    pub outputs: Vec<OutputSpec>,
    pub recording: Option<RecordingSettings>,
    /// `[feeds]`, raw: the keys of `feeds.toml`, secrets as `*_env` /
    /// `*_file`. The runtime resolves and checks it.
    pub feeds: Option<toml::Table>,
    /// `[seats]`: where seats on other PCs connect.
    pub seats: Option<SeatsSettings>,
    /// `[moderation]`: source → `auto`, `hold` or `reject` (unlisted: auto).
    pub moderation: BTreeMap<String, String>,
    /// `[overlay]`: how the live-stream overlay looks.
    pub overlay: Option<OverlaySettings>,
    /// `[delay]`: the broadcast delay on what goes out.
    pub delay: Option<DelaySettings>,
    /// `[flags] words`: words the speech worker flags to the producer
    /// (besides phone, ID and bank-card numbers, which are always flagged).
    pub flag_words: Vec<String>,
    /// `[sip]`: how SIP lines take calls (defaults when absent).
    pub sip: Option<SipSettings>,
}

/// `[sip]`: the station's SIP side, as a trunk endpoint: the PBX or the
/// telephone company's SIP trunk sends INVITEs to `bind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipSettings {
    /// UDP and TCP, `ADDRESS:PORT` (default `0.0.0.0:5060`).
    pub bind: SocketAddr,
    /// The address callers reach the station at (SDP behind NAT).
    pub public_address: Option<std::net::IpAddr>,
    /// In preference order (default opus, pcma, pcmu).
    pub codecs: Vec<RtpCodec>,
    /// Networks INVITEs are accepted from (`CIDR`); empty: any.
    pub allow: Vec<ipnet::IpNet>,
    /// INVITEs one address may send in 10 s (default 20).
    pub invites_per_10s: u32,
    /// Register to the station's PBX (`registrar`, `user`, `password_env`
    /// or `password_file`, `register_expires`); `None`: trunk mode only.
    pub register: Option<SipRegister>,
    /// Where call-backs go (`outbound = "pbx:5060"`); `None`: the registrar.
    pub outbound: Option<String>,
    /// Calls must authenticate with digest (`auth_user`,
    /// `auth_password_env` or `auth_password_file`, `auth_realm`);
    /// `None`: calls are accepted by address (`allow`) only.
    pub auth: Option<SipAuth>,
    /// With every SIP line taken, answer with this recording ("all lines
    /// are busy, please call again"), then hang up; `None`: `486 Busy Here`.
    pub busy_message: Option<PathBuf>,
}

/// The credentials the PBX or trunk must give for each call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipAuth {
    /// The protection space named in the challenge (default `airbridge`).
    pub realm: String,
    pub user: String,
    pub password: SecretRef,
}

/// Registering to the station's PBX with digest authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipRegister {
    /// `pbx.example.invalid:5060`, or a `sip:` URI (`;transport=tcp`).
    pub registrar: String,
    pub user: String,
    pub password: SecretRef,
    /// Seconds asked for; refreshed at 75 % of what the PBX grants.
    pub expires: u32,
}

impl Default for SipSettings {
    fn default() -> Self {
        SipSettings {
            bind: SocketAddr::from(([0, 0, 0, 0], 5060)),
            public_address: None,
            codecs: vec![RtpCodec::Opus, RtpCodec::Pcma, RtpCodec::Pcmu],
            allow: Vec::new(),
            invites_per_10s: 20,
            register: None,
            outbound: None,
            auth: None,
            busy_message: None,
        }
    }
}

/// Longest broadcast delay a station may configure, seconds (the engine's limit).
pub const MAX_DELAY_SECS: f32 = 40.0;

/// `[delay]`: the broadcast delay with dump on what goes out (FM, streams,
/// file outputs); the studio hears program undelayed.
#[derive(Debug, Clone, PartialEq)]
pub struct DelaySettings {
    /// Delay length, seconds (0 < secs ≤ 40).
    pub secs: f32,
    /// How much one dump removes (the newest seconds); `None` = all of it.
    pub dump_secs: Option<f32>,
    /// The FM transmitter's feed: a channel of the program device that
    /// carries the delayed program (`device:NAME#CH`).
    pub air_channel: Option<DeviceChannel>,
}

/// Whether a value is a plain CSS colour (`#fff`, `rgba(0, 0, 0, 0.6)`,
/// `white`): nothing that could leave a CSS declaration.
pub fn is_css_colour(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || " #(),.%-".contains(c))
}

/// `[overlay]`: the look of `/overlay` (served on the seats listener).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlaySettings {
    pub font_size: u32,
    pub color: String,
    pub background: String,
    /// `bottom`, `top` or `center`.
    pub position: String,
}

/// `[seats]`: the listener seats on other PCs connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatsSettings {
    pub listen: std::net::SocketAddr,
    /// PEM certificate chain and private key; `None`: plain `ws://`, which
    /// is only allowed on a loopback address.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// `NAME ROLE TOKEN` per line; must be private to its owner.
    pub tokens_file: PathBuf,
}

/// What loading `studio.toml` gave: the valid parts, and every problem.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StudioLoad {
    /// `None` when there is no file, or it cannot be read or parsed.
    pub studio: Option<Studio>,
    pub issues: Vec<ConfigIssue>,
}

/// Loads `dir/studio.toml` for a show with `lines` caller lines. No file is
/// no studio and no problem.
pub fn load_studio(dir: &Path, lines: u8) -> StudioLoad {
    let path = dir.join(STUDIO_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_studio(&path.display().to_string(), &text, dir, lines),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => StudioLoad::default(),
        Err(e) => StudioLoad {
            studio: None,
            issues: vec![ConfigIssue::new(
                path.display().to_string(),
                "(file)",
                format!("cannot read: {e}"),
            )],
        },
    }
}

/// Keys that would hold a secret in the file itself.
const SECRET_KEYS: [&str; 6] = [
    "password",
    "auth_password",
    "key",
    "secret",
    "token",
    "stream_key",
];

fn refuse_plain_secrets(s: &mut Section<'_>) {
    for k in SECRET_KEYS {
        if s.raw(k).is_some() {
            s.issue(
                k,
                format!(
                    "secrets never go in {STUDIO_FILE}: name it with password_env = \"VARIABLE\" or password_file = \"PATH\" (a file only its owner can read)"
                ),
            );
        }
    }
}

fn secret(s: &mut Section<'_>, required: bool) -> Option<SecretRef> {
    secret_named(s, "password", required)
}

/// A secret named by `{name}_env` or `{name}_file`.
fn secret_named(s: &mut Section<'_>, name: &str, required: bool) -> Option<SecretRef> {
    let (env_key, file_key) = (format!("{name}_env"), format!("{name}_file"));
    let env: Option<String> = s.or(&env_key, None);
    let file: Option<String> = s.or(&file_key, None);
    match (env, file) {
        (Some(_), Some(_)) => {
            s.issue(&env_key, format!("give {env_key} or {file_key}, not both"));
            None
        }
        (Some(e), None) if e.trim().is_empty() => {
            s.issue(&env_key, "names no environment variable");
            None
        }
        (Some(e), None) => Some(SecretRef::Env(e.trim().to_owned())),
        (None, Some(f)) if f.trim().is_empty() => {
            s.issue(&file_key, "names no file");
            None
        }
        (None, Some(f)) => Some(SecretRef::File(PathBuf::from(f.trim()))),
        (None, None) => {
            if required {
                s.issue(
                    &env_key,
                    format!(
                        "a password is needed: {env_key} = \"VARIABLE\" or {file_key} = \"PATH\""
                    ),
                );
            }
            None
        }
    }
}

fn source_key(s: &mut Section<'_>, key: &str, base: &Path) -> Option<AudioSource> {
    let text: Option<String> = s.req(key);
    text.and_then(|t| match AudioSource::parse(t.trim(), base) {
        Ok(src) => Some(src),
        Err(reason) => {
            s.issue(key, reason);
            None
        }
    })
}

fn device_key(s: &mut Section<'_>, key: &str) -> Option<DeviceChannel> {
    let text: Option<String> = s.req(key);
    text.and_then(|t| match parse_device_channel(t.trim()) {
        Ok(d) => Some(d),
        Err(reason) => {
            s.issue(key, reason);
            None
        }
    })
}

fn addr_key(s: &mut Section<'_>, key: &str, required: bool) -> Option<SocketAddr> {
    let text: Option<String> = if required {
        s.req(key)
    } else {
        s.or(key, None)
    };
    text.and_then(|t| match t.trim().parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            s.issue(
                key,
                format!("{t:?} is not ADDRESS:PORT (e.g. \"0.0.0.0:5004\")"),
            );
            None
        }
    })
}

/// Parses the text of a `studio.toml`; `base` is its directory.
pub fn parse_studio(file: &str, text: &str, base: &Path, lines: u8) -> StudioLoad {
    let mut issues = Vec::new();
    let Some(table) = parse_table(file, text, &mut issues) else {
        return StudioLoad {
            studio: None,
            issues,
        };
    };
    let mut studio = Studio {
        file: file.to_owned(),
        base: base.to_path_buf(),
        audio: AudioSettings::default(),
        cue: None,
        talkback: None,
        mics: Vec::new(),
        hold: None,
        lines: Vec::new(),
        outputs: Vec::new(),
        recording: None,
        feeds: None,
        seats: None,
        moderation: BTreeMap::new(),
        overlay: None,
        delay: None,
        sip: None,
        flag_words: Vec::new(),
    };
    let mut root = Section::new(file, "", table, &mut issues);

    if let Some((path, t)) = root.table("audio") {
        let mut s = Section::new(file, path, t, root.issues());
        let dev: String = s.or("output_device", String::new());
        let buffer_ms: u32 = s.or("buffer_ms", 40);
        if !(5..=500).contains(&buffer_ms) {
            s.issue(
                "buffer_ms",
                format!("{buffer_ms} ms: use 5 to 500 (40 suits most PCs)"),
            );
        }
        s.finish();
        studio.audio = AudioSettings {
            output_device: match dev.trim() {
                "" | "default" => OutputDevice::Default,
                "none" => OutputDevice::None,
                name => OutputDevice::Named(name.to_owned()),
            },
            buffer_ms: buffer_ms.clamp(5, 500),
        };
    }

    if let Some((path, t)) = root.table("cue") {
        let mut s = Section::new(file, path, t, root.issues());
        let device: String = s.or("device", String::new());
        let channel: u16 = s.or("channel", 1);
        s.finish();
        studio.cue = Some(CueSettings {
            device: match device.trim() {
                "" | "default" => None,
                d => Some(d.strip_prefix("device:").unwrap_or(d).to_owned()),
            },
            channel,
        });
    }

    if let Some((path, t)) = root.table("talkback") {
        let before = root.issues().len();
        let mut s = Section::new(file, path, t, root.issues());
        let src = source_key(&mut s, "source", base);
        s.finish();
        if root.issues().len() == before {
            studio.talkback = src;
        }
    }

    for (path, t) in root.tables("mic", false) {
        let before = root.issues().len();
        let mut s = Section::new(file, path, t, root.issues());
        let src = source_key(&mut s, "source", base);
        s.finish();
        if root.issues().len() == before
            && let Some(src) = src
        {
            studio.mics.push(src);
        }
    }

    if let Some((path, t)) = root.table("hold") {
        let mut s = Section::new(file, path, t, root.issues());
        let f: Option<String> = s.req("file");
        s.finish();
        studio.hold = f.map(|f| base.join(f.trim()));
    }

    for (path, t) in root.tables("line", false) {
        let before = root.issues().len();
        let mut s = Section::new(file, path, t, root.issues());
        let number: Option<u8> = s.req("number");
        if let Some(n) = number {
            if n == 0 || n > lines {
                s.issue(
                    "number",
                    format!("line {n}: the show has lines 1 to {lines} (show.toml `lines`)"),
                );
            } else if studio.lines.iter().any(|l| l.number == n) {
                s.issue("number", format!("line {n} is configured twice"));
            }
        }
        let kind: Option<String> = s.req("kind");
        let kind = match kind.as_deref() {
            Some("hybrid") => {
                let input = device_key(&mut s, "input");
                let output = device_key(&mut s, "output");
                input
                    .zip(output)
                    .map(|(input, output)| LineKind::Hybrid { input, output })
            }
            Some("rtp") => {
                let listen = addr_key(&mut s, "listen", true);
                let codec: Option<String> = s.req("codec");
                let codec = codec.and_then(|c| {
                    let parsed = RtpCodec::parse(c.trim());
                    if parsed.is_none() {
                        s.issue(
                            "codec",
                            format!("unknown codec {c:?}: use \"opus\", \"pcmu\" or \"pcma\""),
                        );
                    }
                    parsed
                });
                let reply_to = addr_key(&mut s, "reply_to", false);
                let jitter_ms: u32 = s.or("jitter_ms", 20);
                if !(10..=500).contains(&jitter_ms) {
                    s.issue(
                        "jitter_ms",
                        format!("{jitter_ms} ms: use 10 to 500 (20 suits a LAN gateway)"),
                    );
                }
                listen.zip(codec).map(|(listen, codec)| LineKind::Rtp {
                    listen,
                    codec,
                    reply_to,
                    jitter_ms,
                })
            }
            Some("file") => {
                let p: Option<String> = s.req("path");
                let looping: bool = s.or("loop", false);
                p.map(|p| LineKind::File {
                    path: base.join(p.trim()),
                    looping,
                })
            }
            Some("sip") => {
                let jitter_ms: u32 = s.or("jitter_ms", 20);
                if !(10..=500).contains(&jitter_ms) {
                    s.issue(
                        "jitter_ms",
                        format!("{jitter_ms} ms: use 10 to 500 (20 suits a PBX on the LAN)"),
                    );
                }
                Some(LineKind::Sip { jitter_ms })
            }
            Some(other) => {
                s.issue(
                    "kind",
                    format!(
                        "unknown line kind {other:?}: use \"hybrid\", \"rtp\", \"sip\" or \"file\""
                    ),
                );
                None
            }
            None => None,
        };
        s.finish();
        if root.issues().len() == before
            && let (Some(number), Some(kind)) = (number, kind)
        {
            studio.lines.push(LineSpec { number, kind });
        }
    }

    for (i, (path, t)) in root.tables("output", false).into_iter().enumerate() {
        let before = root.issues().len();
        let mut s = Section::new(file, path, t, root.issues());
        refuse_plain_secrets(&mut s);
        let kind: Option<String> = s.req("kind");
        let kind = match kind.as_deref() {
            Some("file") => {
                let p: Option<String> = s.req("path");
                p.and_then(|p| {
                    let path = base.join(p.trim());
                    let ext = path
                        .extension()
                        .and_then(|e| e.to_str())
                        .unwrap_or_default()
                        .to_ascii_lowercase();
                    if matches!(ext.as_str(), "wav" | "ogg" | "opus") {
                        Some(OutputKind::File { path })
                    } else {
                        s.issue("path", "use a .wav, .ogg or .opus file name");
                        None
                    }
                })
            }
            Some("icecast") => {
                let url: Option<String> = s.req("url");
                let password = secret(&mut s, true);
                let parsed = url.and_then(|u| match parse_icecast_url(u.trim()) {
                    Ok(x) => Some(x),
                    Err(reason) => {
                        s.issue("url", reason);
                        None
                    }
                });
                parsed
                    .zip(password)
                    .map(|((host, port, mount), password)| OutputKind::Icecast {
                        host,
                        port,
                        mount,
                        password,
                    })
            }
            Some("rtmp") => {
                let url: Option<String> = s.req("url");
                let key = secret(&mut s, false);
                url.and_then(|u| {
                    let u = u.trim().to_owned();
                    if !(u.starts_with("rtmp://") || u.starts_with("rtmps://")) {
                        s.issue("url", format!("{u:?} is not an rtmp:// or rtmps:// URL"));
                        None
                    } else {
                        Some(OutputKind::Rtmp { url: u, key })
                    }
                })
            }
            Some(other) => {
                s.issue(
                    "kind",
                    format!("unknown output kind {other:?}: use \"file\", \"icecast\" or \"rtmp\""),
                );
                None
            }
            None => None,
        };
        s.finish();
        if root.issues().len() == before
            && let Some(kind) = kind
        {
            studio.outputs.push(OutputSpec { index: i + 1, kind });
        }
    }

    if let Some((path, t)) = root.table("recording") {
        let mut s = Section::new(file, path, t, root.issues());
        let dir: Option<String> = s.req("dir");
        let program: bool = s.or("program", true);
        let calls: bool = s.or("calls", true);
        s.finish();
        studio.recording = dir.map(|d| RecordingSettings {
            dir: base.join(d.trim()),
            program,
            calls,
        });
    }

    if let Some((_, t)) = root.table("feeds") {
        studio.feeds = Some(t);
    }

    if let Some((path, t)) = root.table("moderation") {
        let mut s = Section::new(file, path, t.clone(), root.issues());
        for (source, v) in &t {
            match v.as_str().map(str::trim) {
                Some(mode @ ("auto" | "hold" | "reject")) => {
                    studio.moderation.insert(source.clone(), mode.to_owned());
                }
                _ => s.issue(
                    source,
                    format!("{v}: use \"auto\" (shown at once), \"hold\" (waits for the 场控) or \"reject\""),
                ),
            }
            let _ = s.raw(source);
        }
        s.finish();
    }

    if let Some((path, t)) = root.table("overlay") {
        let mut s = Section::new(file, path, t, root.issues());
        let font_size: u32 = s.or("font_size", 40);
        let color: String = s.or("color", "#ffffff".to_owned());
        let background: String = s.or("background", "rgba(0, 0, 0, 0.6)".to_owned());
        let position: String = s.or("position", "bottom".to_owned());
        if !(12..=200).contains(&font_size) {
            s.issue("font_size", format!("{font_size}: use 12 to 200 (pixels)"));
        }
        for (key, v) in [("color", &color), ("background", &background)] {
            let plain = !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || " #(),.%-".contains(c));
            if !plain {
                s.issue(
                    key,
                    format!("{v:?}: a CSS colour such as \"#ffffff\" or \"rgba(0, 0, 0, 0.6)\""),
                );
            }
        }
        if !["bottom", "top", "center"].contains(&position.as_str()) {
            s.issue(
                "position",
                format!("{position:?}: use \"bottom\", \"top\" or \"center\""),
            );
        }
        s.finish();
        studio.overlay = Some(OverlaySettings {
            font_size: font_size.clamp(12, 200),
            color,
            background,
            position,
        });
    }

    if let Some((path, t)) = root.table("delay") {
        let mut s = Section::new(file, path, t, root.issues());
        let secs: Option<f32> = s.req("secs");
        let dump_secs: Option<f32> = s.or("dump_secs", None);
        let air: Option<String> = s.or("air_channel", None);
        let air_channel = air.and_then(|a| match parse_device_channel(a.trim()) {
            Ok(c) => Some(c),
            Err(e) => {
                s.issue("air_channel", e);
                None
            }
        });
        let max = MAX_DELAY_SECS;
        match secs {
            Some(v) if v.is_finite() && v > 0.0 && v <= max => {
                let dump_ok = match dump_secs {
                    Some(d) if !(d.is_finite() && d > 0.0 && d <= v) => {
                        s.issue(
                            "dump_secs",
                            format!("{d}: use more than 0 and at most secs ({v})"),
                        );
                        false
                    }
                    _ => true,
                };
                if dump_ok {
                    studio.delay = Some(DelaySettings {
                        secs: v,
                        dump_secs,
                        air_channel,
                    });
                }
            }
            Some(v) => s.issue(
                "secs",
                format!(
                    "{v}: use more than 0 and at most {max} seconds (leave [delay] out for none)"
                ),
            ),
            None => {}
        }
        s.finish();
    }

    if let Some((path, t)) = root.table("sip") {
        let mut s = Section::new(file, path, t, root.issues());
        refuse_plain_secrets(&mut s);
        let mut sip = SipSettings::default();
        if let Some(bind) = addr_key(&mut s, "bind", false) {
            sip.bind = bind;
        }
        let public: Option<String> = s.or("public_address", None);
        if let Some(p) = public {
            match p.trim().parse() {
                Ok(ip) => sip.public_address = Some(ip),
                Err(_) => s.issue("public_address", format!("{p:?} is not an IP address")),
            }
        }
        let codecs: Option<Vec<String>> = s.or("codecs", None);
        if let Some(codecs) = codecs {
            let mut parsed = Vec::new();
            for c in codecs {
                match RtpCodec::parse(c.trim()) {
                    Some(codec) if !parsed.contains(&codec) => parsed.push(codec),
                    Some(_) => {}
                    None => s.issue(
                        "codecs",
                        format!("unknown codec {c:?}: use \"opus\", \"pcma\" or \"pcmu\""),
                    ),
                }
            }
            if parsed.is_empty() {
                s.issue("codecs", "name at least one codec");
            }
            sip.codecs = parsed;
        }
        let allow: Vec<String> = s.or("allow", Vec::new());
        for a in allow {
            let a = a.trim();
            // a bare address is a network of one
            let net = a
                .parse::<ipnet::IpNet>()
                .or_else(|_| a.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
            match net {
                Ok(n) => sip.allow.push(n),
                Err(_) => s.issue(
                    "allow",
                    format!("{a:?} is not a network (CIDR, e.g. \"10.20.0.0/16\") or an address"),
                ),
            }
        }
        let outbound: Option<String> = s.or("outbound", None);
        sip.outbound = outbound
            .map(|o| o.trim().to_owned())
            .filter(|o| !o.is_empty());
        let busy: Option<String> = s.or("busy_message", None);
        sip.busy_message = busy
            .map(|b| b.trim().to_owned())
            .filter(|b| !b.is_empty())
            .map(|b| base.join(b));
        let auth_user: Option<String> = s.or("auth_user", None);
        let auth_realm: Option<String> = s.or("auth_realm", None);
        if let Some(user) = auth_user.map(|u| u.trim().to_owned()) {
            let password = secret_named(&mut s, "auth_password", true);
            let realm = auth_realm
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| "airbridge".to_owned());
            if user.is_empty() {
                s.issue("auth_user", "names no user");
            } else if let Some(password) = password {
                sip.auth = Some(SipAuth {
                    realm,
                    user,
                    password,
                });
            }
        } else {
            for key in ["auth_password_env", "auth_password_file", "auth_realm"] {
                let v: Option<toml::Value> = s.or(key, None);
                if v.is_some() || (key == "auth_realm" && auth_realm.is_some()) {
                    s.issue(key, "only with `auth_user` (calls that must authenticate)");
                }
            }
        }
        sip.invites_per_10s = s.or("invites_per_10s", 20);
        if sip.invites_per_10s == 0 {
            s.issue("invites_per_10s", "at least 1");
        }
        let registrar: Option<String> = s.or("registrar", None);
        if let Some(registrar) = registrar.map(|r| r.trim().to_owned()) {
            let user: Option<String> = s.req("user");
            let password = secret(&mut s, true);
            let expires: u32 = s.or("register_expires", 300);
            if !(30..=86_400).contains(&expires) {
                s.issue(
                    "register_expires",
                    format!("{expires}: use 30 to 86400 seconds"),
                );
            }
            if registrar.is_empty() {
                s.issue(
                    "registrar",
                    "names no registrar (e.g. \"pbx.example.invalid:5060\")",
                );
            } else if let (Some(user), Some(password)) = (user, password) {
                sip.register = Some(SipRegister {
                    registrar,
                    user: user.trim().to_owned(),
                    password,
                    expires,
                });
            }
        } else {
            for key in ["user", "password_env", "password_file", "register_expires"] {
                let v: Option<toml::Value> = s.or(key, None);
                if v.is_some() {
                    s.issue(
                        key,
                        "only with `registrar` (registering to the station's PBX)",
                    );
                }
            }
        }
        s.finish();
        studio.sip = Some(sip);
    }

    if let Some((path, t)) = root.table("flags") {
        let mut s = Section::new(file, path, t, root.issues());
        let words: Vec<String> = s.or("words", Vec::new());
        for w in words {
            let w = w.trim().to_owned();
            if w.is_empty() || w.chars().count() > 40 {
                s.issue("words", format!("{w:?}: a word of 1 to 40 characters"));
            } else if !studio.flag_words.contains(&w) {
                studio.flag_words.push(w);
            }
        }
        s.finish();
    }

    if let Some((path, t)) = root.table("seats") {
        let mut s = Section::new(file, path, t, root.issues());
        studio.seats = parse_seats(&mut s, base);
        s.finish();
    }
    root.finish();
    StudioLoad {
        studio: Some(studio),
        issues,
    }
}

fn parse_seats(s: &mut Section<'_>, base: &Path) -> Option<SeatsSettings> {
    let listen: Option<String> = s.req("listen");
    let cert: Option<String> = s.or("tls_cert", None);
    let key: Option<String> = s.or("tls_key", None);
    let tokens: Option<String> = s.req("tokens_file");
    let listen = listen.and_then(|l| match l.trim().parse::<std::net::SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            s.issue(
                "listen",
                format!("{l:?} is not ADDR:PORT (e.g. \"0.0.0.0:8750\")"),
            );
            None
        }
    });
    let tls = match (cert, key) {
        (Some(c), Some(k)) => Some((base.join(c.trim()), base.join(k.trim()))),
        (None, None) => None,
        (Some(_), None) => {
            s.issue(
                "tls_key",
                "tls_cert needs tls_key (the certificate's private key, PEM)",
            );
            return None;
        }
        (None, Some(_)) => {
            s.issue(
                "tls_cert",
                "tls_key needs tls_cert (the certificate chain, PEM)",
            );
            return None;
        }
    };
    let listen = listen?;
    if tls.is_none() && !listen.ip().is_loopback() {
        s.issue(
            "listen",
            format!(
                "{listen}: seats on other PCs need TLS (tls_cert and tls_key); plain ws:// is only allowed on 127.0.0.1"
            ),
        );
        return None;
    }
    Some(SeatsSettings {
        listen,
        tls,
        tokens_file: base.join(tokens?.trim()),
    })
}

/// `http://HOST:PORT/MOUNT` (or `icecast://…`) → host, port, mount.
fn parse_icecast_url(url: &str) -> Result<(String, u16, String), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("icecast://"))
        .ok_or_else(|| format!("{url:?}: expected http://HOST:PORT/MOUNT"))?;
    let (authority, mount) = rest
        .split_once('/')
        .ok_or_else(|| format!("{url:?}: the URL names no mount (…/live.ogg)"))?;
    if authority.contains('@') {
        return Err(format!(
            "{url:?}: no user or password in the URL; use password_env or password_file"
        ));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|_| format!("{url:?}: port {p:?} is not a number"))?,
        ),
        None => (authority, 8000),
    };
    if host.is_empty() || mount.is_empty() {
        return Err(format!("{url:?}: expected http://HOST:PORT/MOUNT"));
    }
    Ok((host.to_owned(), port, format!("/{mount}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> StudioLoad {
        parse_studio("studio.toml", text, Path::new("/station"), 8)
    }

    fn keys(l: &StudioLoad) -> Vec<String> {
        l.issues.iter().map(|i| i.key.clone()).collect()
    }

    #[test]
    fn seats_need_tls_off_loopback() {
        let l = parse("[seats]\nlisten = \"127.0.0.1:8750\"\ntokens_file = \"seats.tokens\"\n");
        assert!(l.issues.is_empty(), "{:?}", l.issues);
        let seats = l.studio.unwrap().seats.unwrap();
        assert_eq!(seats.tls, None);
        assert_eq!(seats.tokens_file, Path::new("/station/seats.tokens"));

        let l = parse("[seats]\nlisten = \"0.0.0.0:8750\"\ntokens_file = \"t\"\n");
        assert_eq!(keys(&l), ["seats.listen"]);
        assert!(l.issues[0].reason.contains("TLS"), "{:?}", l.issues);

        let l = parse(
            "[seats]\nlisten = \"0.0.0.0:8750\"\ntokens_file = \"t\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n",
        );
        assert!(l.issues.is_empty(), "{:?}", l.issues);
        let l = parse(
            "[seats]\nlisten = \"0.0.0.0:8750\"\ntokens_file = \"t\"\ntls_cert = \"c.pem\"\n",
        );
        assert_eq!(keys(&l), ["seats.tls_key"]);
        let l = parse("[seats]\nlisten = \"nowhere\"\n");
        assert_eq!(keys(&l), ["seats.tokens_file", "seats.listen"]);
    }

    #[test]
    fn delay_and_flag_words_are_checked() {
        let l = parse(
            "[delay]\nsecs = 8\ndump_secs = 4\nair_channel = \"device:FM#2\"\n[flags]\nwords = [\"他妈的\", \" \"]\n",
        );
        assert_eq!(keys(&l), ["flags.words"]);
        let s = l.studio.unwrap();
        let d = s.delay.unwrap();
        assert_eq!((d.secs, d.dump_secs), (8.0, Some(4.0)));
        assert_eq!(d.air_channel.unwrap().channel, 2);
        assert_eq!(s.flag_words, ["他妈的"]);
        let l = parse("[delay]\nsecs = 60\n");
        assert_eq!(keys(&l), ["delay.secs"]);
        assert!(l.studio.unwrap().delay.is_none());
        let l = parse("[delay]\nsecs = 5\ndump_secs = 9\n");
        assert_eq!(keys(&l), ["delay.dump_secs"]);
    }

    #[test]
    fn moderation_and_overlay_are_checked() {
        let l = parse(
            "[moderation]\nwechat = \"hold\"\ndouyin = \"auto\"\nsms = \"maybe\"\n[overlay]\nfont_size = 48\ncolor = \"#ffcc00\"\nposition = \"top\"\n",
        );
        assert_eq!(keys(&l), ["moderation.sms"]);
        let s = l.studio.unwrap();
        assert_eq!(s.moderation.get("wechat").map(String::as_str), Some("hold"));
        assert!(!s.moderation.contains_key("sms"));
        let o = s.overlay.unwrap();
        assert_eq!(
            (o.font_size, o.color.as_str(), o.position.as_str()),
            (48, "#ffcc00", "top")
        );
        let l = parse("[overlay]\ncolor = \"red;}</style>\"\nposition = \"left\"\n");
        assert_eq!(keys(&l), ["overlay.color", "overlay.position"]);
    }

    #[test]
    fn a_full_studio_parses() {
        let l = parse(
            r#"
            [audio]
            output_device = "USB Audio"
            buffer_ms = 20
            [cue]
            device = "Headphones"
            channel = 0
            [talkback]
            source = "device:USB Audio#1"
            [[mic]]
            source = "device:USB Audio#0"
            [[mic]]
            source = "file:mics/guest.wav"
            [hold]
            file = "hold.wav"
            [[line]]
            number = 1
            kind = "hybrid"
            input = "device:Hybrid#0"
            output = "device:Hybrid#1"
            [[line]]
            number = 2
            kind = "rtp"
            listen = "0.0.0.0:5004"
            codec = "pcmu"
            reply_to = "192.0.2.10:5004"
            [[line]]
            number = 3
            kind = "file"
            path = "callers/three.wav"
            [[output]]
            kind = "icecast"
            url = "http://127.0.0.1:8000/live.ogg"
            password_env = "ICECAST_SOURCE_PASSWORD"
            [[output]]
            kind = "file"
            path = "program.ogg"
            [recording]
            dir = "recordings"
            [feeds]
            listen = "127.0.0.1:8787"
            "#,
        );
        assert!(l.issues.is_empty(), "{:?}", l.issues);
        let s = l.studio.unwrap();
        assert_eq!(
            s.audio.output_device,
            OutputDevice::Named("USB Audio".into())
        );
        assert_eq!(s.audio.buffer_ms, 20);
        assert_eq!(
            s.cue,
            Some(CueSettings {
                device: Some("Headphones".into()),
                channel: 0
            })
        );
        assert_eq!(s.mics.len(), 2);
        assert_eq!(
            s.mics[1],
            AudioSource::File(PathBuf::from("/station/mics/guest.wav"))
        );
        assert_eq!(s.lines.len(), 3);
        assert_eq!(
            s.lines[1].kind,
            LineKind::Rtp {
                listen: "0.0.0.0:5004".parse().unwrap(),
                codec: RtpCodec::Pcmu,
                reply_to: Some("192.0.2.10:5004".parse().unwrap()),
                jitter_ms: 20,
            }
        );
        assert_eq!(
            s.outputs[0].kind,
            OutputKind::Icecast {
                host: "127.0.0.1".into(),
                port: 8000,
                mount: "/live.ogg".into(),
                password: SecretRef::Env("ICECAST_SOURCE_PASSWORD".into()),
            }
        );
        assert!(s.feeds.is_some());
        assert_eq!(
            s.recording.unwrap().dir,
            PathBuf::from("/station/recordings")
        );
    }

    #[test]
    fn a_bad_part_is_dropped_and_named_and_the_rest_kept() {
        let l = parse(
            r#"
            [[line]]
            number = 1
            kind = "sip2"
            [[line]]
            number = 2
            kind = "rtp"
            listen = "127.0.0.1:5006"
            codec = "g729"
            [[line]]
            number = 3
            kind = "rtp"
            listen = "127.0.0.1:5008"
            codec = "opus"
            [[line]]
            number = 3
            kind = "file"
            path = "x.wav"
            [[line]]
            number = 9
            kind = "file"
            path = "x.wav"
            [[mic]]
            source = "usb mic"
            [[output]]
            kind = "icecast"
            url = "http://source:hackme@127.0.0.1:8000/live.ogg"
            password = "hackme"
            "#,
        );
        assert_eq!(
            keys(&l),
            [
                "mic[0].source",
                "line[0].kind",
                "line[1].codec",
                "line[3].number",
                "line[4].number",
                "output[0].password",
                "output[0].password_env",
                "output[0].url",
            ]
        );
        let s = l.studio.unwrap();
        assert_eq!(s.lines.len(), 1, "only the good line 3 stays");
        assert_eq!(s.lines[0].number, 3);
        assert!(s.outputs.is_empty());
        let first = l.issues[1].to_string();
        assert_eq!(
            first,
            "studio.toml: line[0].kind: unknown line kind \"sip2\": use \"hybrid\", \"rtp\", \"sip\" or \"file\""
        );
    }

    #[test]
    fn sip_lines_and_the_sip_section() {
        let l = parse(
            r#"
            [[line]]
            number = 1
            kind = "sip"
            [[line]]
            number = 2
            kind = "sip"
            jitter_ms = 60
            [sip]
            bind = "0.0.0.0:5070"
            public_address = "203.0.113.7"
            codecs = ["pcma", "opus"]
            allow = ["10.20.0.0/16", "192.0.2.10"]
            registrar = "pbx.example.invalid:5060"
            user = "8001"
            password_env = "AIRBRIDGE_PBX_PASSWORD"
            "#,
        );
        assert!(l.issues.is_empty(), "{:?}", l.issues);
        let s = l.studio.unwrap();
        assert_eq!(s.lines[1].kind, LineKind::Sip { jitter_ms: 60 });
        let sip = s.sip.unwrap();
        assert_eq!(sip.bind, "0.0.0.0:5070".parse().unwrap());
        assert_eq!(sip.codecs, [RtpCodec::Pcma, RtpCodec::Opus]);
        assert_eq!(sip.allow.len(), 2);
        assert!(sip.allow[1].contains(&"192.0.2.10".parse::<std::net::IpAddr>().unwrap()));
        let r = sip.register.unwrap();
        assert_eq!((r.user.as_str(), r.expires), ("8001", 300));
        assert_eq!(r.password, SecretRef::Env("AIRBRIDGE_PBX_PASSWORD".into()));

        let bad = parse(
            r#"
            [sip]
            bind = "5060"
            codecs = ["g729"]
            allow = ["10.0.0.0/33"]
            user = "8001"
            invites_per_10s = 0
            "#,
        );
        assert_eq!(
            keys(&bad),
            [
                "sip.bind",
                "sip.codecs",
                "sip.codecs",
                "sip.allow",
                "sip.invites_per_10s",
                "sip.user"
            ]
        );
        let no_password = parse("[sip]\nregistrar = \"pbx.example.invalid\"\nuser = \"8001\"\n");
        assert_eq!(keys(&no_password), ["sip.password_env"]);

        // calls that must authenticate, and the busy message
        let auth = parse(
            "[sip]\nauth_user = \"trunk\"\nauth_password_file = \"/etc/airbridge/sip-auth\"\nbusy_message = \"sounds/busy.wav\"\n",
        );
        assert!(auth.issues.is_empty(), "{:?}", auth.issues);
        let sip = auth.studio.unwrap().sip.unwrap();
        let a = sip.auth.unwrap();
        assert_eq!((a.user.as_str(), a.realm.as_str()), ("trunk", "airbridge"));
        assert_eq!(
            a.password,
            SecretRef::File("/etc/airbridge/sip-auth".into())
        );
        assert!(sip.busy_message.unwrap().ends_with("sounds/busy.wav"));
        let bad_auth = parse("[sip]\nauth_user = \"trunk\"\nauth_password = \"x\"\n");
        assert!(keys(&bad_auth).contains(&"sip.auth_password".to_owned()));
        assert!(keys(&bad_auth).contains(&"sip.auth_password_env".to_owned()));
        let stray = parse("[sip]\nauth_realm = \"fs\"\nauth_password_env = \"X\"\n");
        assert_eq!(keys(&stray), ["sip.auth_password_env", "sip.auth_realm"]);
    }

    #[test]
    fn sources_parse_and_bad_ones_say_how_to_write_them() {
        let base = Path::new("/c");
        assert_eq!(
            AudioSource::parse("device:USB#3", base),
            Ok(AudioSource::Device(DeviceChannel {
                device: Some("USB".into()),
                channel: 3
            }))
        );
        assert_eq!(
            AudioSource::parse("device:#1", base),
            Ok(AudioSource::Device(DeviceChannel {
                device: None,
                channel: 1
            }))
        );
        assert!(
            AudioSource::parse("device:USB#left", base)
                .unwrap_err()
                .contains("0-based")
        );
        assert!(
            AudioSource::parse("hw:0", base)
                .unwrap_err()
                .contains("device:NAME#CHANNEL")
        );
    }

    #[test]
    fn a_syntax_error_gives_no_studio_and_one_issue_with_its_line() {
        let l = parse("[audio\noutput_device = 1\n");
        assert!(l.studio.is_none());
        assert_eq!(l.issues.len(), 1);
        assert!(
            l.issues[0].key.starts_with("(syntax) line 1"),
            "{:?}",
            l.issues
        );
    }

    #[test]
    fn no_file_is_no_studio_and_no_problem() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load_studio(dir.path(), 8), StudioLoad::default());
    }
}

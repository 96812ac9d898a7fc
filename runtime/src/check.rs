//! `airbridge config check`: opens what a show would open, without going
//! on air — sound devices and their channels, UDP and TCP ports, secret
//! files, hold audio and rehearsal files, the speech model — and says, per
//! part, whether it would start.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::Path;

use airbridge_configs::studio::{
    AudioSource, DeviceChannel, LineKind, OutputDevice, OutputKind, Studio,
};
use airbridge_media::source::Clip;

use crate::paths::StationPaths;
use crate::{PartReport, failed, ok};

/// The sound devices of this machine: name → (input channels, output channels).
type Devices = BTreeMap<String, (u16, u16)>;

fn devices() -> Result<Devices, String> {
    let mut out = Devices::new();
    for (is_input, name, cfg) in airbridge_media::live::list_devices().map_err(|e| e.to_string())? {
        let ch = cfg
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<u16>().ok())
            .unwrap_or(0);
        let e = out.entry(name).or_insert((0, 0));
        if is_input {
            e.0 = e.0.max(ch);
        } else {
            e.1 = e.1.max(ch);
        }
    }
    Ok(out)
}

/// Finds a device by (part of) its name, like the engine does.
fn find<'a>(devs: &'a Devices, name: Option<&str>, input: bool) -> Result<(&'a str, u16), String> {
    let pick = |(n, (i, o)): (&'a String, &(u16, u16))| {
        let ch = if input { *i } else { *o };
        (ch > 0).then_some((n.as_str(), ch))
    };
    let found = match name {
        Some(want) => devs.iter().filter(|(n, _)| n.contains(want)).find_map(pick),
        None => devs
            .iter()
            .find(|(n, _)| n.as_str() == "default")
            .and_then(pick)
            .or_else(|| devs.iter().find_map(pick)),
    };
    found.ok_or_else(|| {
        let kind = if input { "input" } else { "output" };
        match name {
            Some(want) => format!(
                "no {kind} device named like {want:?} (found: {})",
                devs.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
            None => format!("no default {kind} device"),
        }
    })
}

fn channel(devs: &Devices, d: &DeviceChannel, input: bool) -> Result<String, String> {
    let (name, channels) = find(devs, d.device.as_deref(), input)?;
    if d.channel >= channels {
        return Err(format!(
            "{name} has {channels} {} channels (0 to {}); channel {} does not exist",
            if input { "input" } else { "output" },
            channels - 1,
            d.channel
        ));
    }
    Ok(format!("{name} ch {}", d.channel))
}

fn udp_free(addr: SocketAddr) -> Result<(), String> {
    UdpSocket::bind(addr)
        .map(drop)
        .map_err(|e| format!("UDP {addr}: {e}"))
}

fn tcp_free(addr: SocketAddr) -> Result<(), String> {
    TcpListener::bind(addr)
        .map(drop)
        .map_err(|e| format!("TCP {addr}: {e}"))
}

fn wav(path: &Path) -> Result<(), String> {
    Clip::from_wav(path, crate::studio::SAMPLE_RATE, false)
        .map(drop)
        .map_err(|e| e.to_string())
}

fn source(devs: &Result<Devices, String>, s: &AudioSource) -> Result<String, String> {
    match s {
        AudioSource::Device(d) => channel(devs.as_ref().map_err(Clone::clone)?, d, true),
        AudioSource::File(p) => wav(p).map(|()| p.display().to_string()),
    }
}

/// Checks every part of `studio` the way a show would open it.
pub fn check_studio(studio: &Studio, paths: &StationPaths) -> Vec<PartReport> {
    let mut out = Vec::new();
    let devs = devices();
    let need_devices = studio.audio.output_device != OutputDevice::None
        || studio
            .mics
            .iter()
            .any(|m| matches!(m, AudioSource::Device(_)))
        || studio
            .lines
            .iter()
            .any(|l| matches!(l.kind, LineKind::Hybrid { .. }));
    if need_devices && let Err(e) = &devs {
        out.push(failed("sound devices", "audio", e));
    }
    let dev_ok = |f: &dyn Fn(&Devices) -> Result<String, String>| match &devs {
        Ok(d) => f(d),
        Err(e) => Err(e.clone()),
    };
    out.push(match &studio.audio.output_device {
        OutputDevice::None => ok("audio output", "audio/output", "none: internal clock"),
        OutputDevice::Default => {
            match dev_ok(&|d| find(d, None, false).map(|(n, c)| format!("{n}, {c} channels"))) {
                Ok(w) => ok("audio output", "audio/output", &w),
                Err(e) => failed("audio output", "audio/output", &e),
            }
        }
        OutputDevice::Named(n) => {
            match dev_ok(&|d| find(d, Some(n), false).map(|(n, c)| format!("{n}, {c} channels"))) {
                Ok(w) => ok("audio output", "audio/output", &w),
                Err(e) => failed("audio output", "audio/output", &e),
            }
        }
    });
    for l in &studio.lines {
        let name = format!("line {}", l.number);
        let component = format!("audio/line{}", l.number);
        let r = match &l.kind {
            LineKind::Hybrid { input, output } => dev_ok(&|d| {
                let i = channel(d, input, true)?;
                let o = channel(d, output, false)?;
                Ok(format!("hybrid: in {i}, out {o}"))
            }),
            LineKind::Rtp { listen, codec, .. } => {
                udp_free(*listen).map(|()| format!("rtp {} on {listen}", codec.name()))
            }
            LineKind::Sip { .. } => {
                let bind = studio.sip.clone().unwrap_or_default().bind;
                udp_free(bind).map(|()| format!("sip: calls to {bind}"))
            }
            LineKind::File { path, .. } => {
                if path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("wav"))
                {
                    wav(path).map(|()| path.display().to_string())
                } else {
                    std::fs::metadata(path)
                        .map(|_| path.display().to_string())
                        .map_err(|e| format!("{}: {e}", path.display()))
                }
            }
        };
        out.push(match r {
            Ok(w) => ok(&name, &component, &w),
            Err(e) => failed(&name, &component, &e),
        });
    }
    for (i, m) in studio.mics.iter().enumerate() {
        let name = format!("mic {}", i + 1);
        out.push(match source(&devs, m) {
            Ok(w) => ok(&name, "audio/host", &w),
            Err(e) => failed(&name, "audio/host", &e),
        });
    }
    if let Some(t) = &studio.talkback {
        out.push(match source(&devs, t) {
            Ok(w) => ok("talkback", "audio/talkback", &w),
            Err(e) => failed("talkback", "audio/talkback", &e),
        });
    }
    if let Some(sip) = &studio.sip
        && studio
            .lines
            .iter()
            .any(|l| matches!(l.kind, LineKind::Sip { .. }))
    {
        // the settings SIP starts with: passwords readable
        out.push(match crate::sip::settings(sip, &studio.base) {
            Ok(s) => ok(
                "SIP settings",
                "sip",
                &match &s.inbound_auth {
                    Some(a) => format!("calls must authenticate as {:?}", a.user),
                    None => "calls accepted by address (allow)".to_owned(),
                },
            ),
            Err(e) => failed("SIP settings", "sip", &e),
        });
        if let Some(m) = &sip.busy_message {
            out.push(match std::fs::File::open(m) {
                Ok(_) => ok(
                    "SIP busy message",
                    "sip/busy_message",
                    &m.display().to_string(),
                ),
                Err(e) => failed(
                    "SIP busy message",
                    "sip/busy_message",
                    &format!("{}: {e}", m.display()),
                ),
            });
        }
    }
    if let Some(h) = &studio.hold {
        out.push(match wav(h) {
            Ok(()) => ok("hold", "audio/hold", &h.display().to_string()),
            Err(e) => failed("hold", "audio/hold", &e),
        });
    }
    if let Some(c) = &studio.cue {
        let d = DeviceChannel {
            device: c.device.clone(),
            channel: c.channel,
        };
        out.push(match dev_ok(&|devs| channel(devs, &d, false)) {
            Ok(w) => ok("cue", "audio/cue", &w),
            Err(e) => failed("cue", "audio/cue", &e),
        });
    }
    for o in &studio.outputs {
        let name = format!("output {} ({})", o.index, o.kind.label());
        let component = format!("audio/output{}", o.index);
        let r = match &o.kind {
            OutputKind::File { path } => {
                let dir = path.parent().unwrap_or(Path::new("."));
                if dir.as_os_str().is_empty() || dir.is_dir() {
                    Ok(path.display().to_string())
                } else {
                    Err(format!("{}: no such directory", dir.display()))
                }
            }
            OutputKind::Icecast {
                host,
                port,
                mount,
                password,
            } => crate::secrets::resolve(password, &studio.base)
                .map(|_| format!("icecast {host}:{port}{mount} (password readable)"))
                .map_err(|e| e.to_string()),
            OutputKind::Rtmp { url, key } => match key {
                None => Ok(url.clone()),
                Some(k) => crate::secrets::resolve(k, &studio.base)
                    .map(|_| format!("{url} (stream key readable)"))
                    .map_err(|e| e.to_string()),
            },
        };
        out.push(match r {
            Ok(w) => ok(&name, &component, &w),
            Err(e) => failed(&name, &component, &e),
        });
    }
    if let Some(table) = &studio.feeds {
        let r = crate::feeds::prepare(table, &studio.base).and_then(|p| match p.config.listen {
            Some(a) => tcp_free(a)
                .map_err(|e| vec![e])
                .map(|()| format!("listen {a}")),
            None => Ok("no listener".to_owned()),
        });
        out.push(match r {
            Ok(w) => ok("feeds", "feeds", &w),
            Err(e) => failed("feeds", "feeds", &e.join("; ")),
        });
    }
    let model = airbridge_models::check(&paths.model);
    out.push(match model {
        airbridge_models::ModelStatus::Ready { .. } => {
            ok("speech model", "speech", &model.describe())
        }
        _ => failed("speech model", "speech", &model.describe()),
    });
    out
}

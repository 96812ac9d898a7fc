//! What a caller hears, from a real softphone: `baresip` (Debian
//! `baresip-core`) calls the show's SIP lines, sends a tone as its voice and
//! records what it hears to a WAV (its `sndfile` module). Tone analysis of
//! that recording proves the mix-minus: while screened the caller hears the
//! screener's talkback only; on air it hears the host and the other caller
//! on air, never itself.
//!
//! Tones: host microphone 440 Hz, talkback 700 Hz, caller A 1000 Hz,
//! caller B 1500 Hz (all from WAV files made with `sox`).
#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use airbridge_configs::ConfigSet;
use airbridge_configs::studio::parse_studio;
use airbridge_runtime::{Action, KbSource, Role, Runtime, RuntimeOptions, StationPaths};
use airbridge_show::LineState;

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tools() -> bool {
    let ok = ["baresip", "sox"]
        .iter()
        .all(|t| Command::new(t).arg("-h").output().is_ok());
    if !ok {
        assert!(
            std::env::var("AIRBRIDGE_REQUIRE_SIPP").as_deref() != Ok("1"),
            "AIRBRIDGE_REQUIRE_SIPP=1 but baresip or sox is missing (scripts/install-deps.sh)"
        );
        eprintln!("baresip or sox not installed: softphone test skipped");
    }
    ok
}

fn tone(path: &Path, hz: u32, rate: u32) {
    let st = Command::new("sox")
        .args(["-n", "-r", &rate.to_string(), "-c", "1", "-b", "16"])
        .arg(path)
        .args(["synth", "60", "sine", &hz.to_string(), "vol", "0.4"])
        .status()
        .unwrap();
    assert!(st.success());
}

/// A baresip that dials `target` with `voice` as its microphone and
/// records what it hears under `dir/rec`.
fn softphone(dir: &Path, name: &str, voice: &Path, target: &str) -> Child {
    let conf = dir.join(name);
    std::fs::create_dir_all(conf.join("rec")).unwrap();
    let rtp_base = 30000 + u32::from(free_port()) % 20000;
    let config = format!(
        "poll_method epoll\nsip_listen 127.0.0.1:{sip}\nmodule_path /usr/lib/baresip/modules\n\
         module stdio.so\nmodule g711.so\nmodule aufile.so\nmodule alsa.so\nmodule sndfile.so\n\
         snd_path {rec}\naudio_source aufile,{voice}\naudio_player alsa,null\naudio_alert alsa,null\n\
         ausrc_srate 8000\nausrc_channels 1\nrtp_ports {rtp}-{rtp_end}\n\
         module_app account.so\nmodule_app menu.so\n",
        sip = free_port(),
        rec = conf.join("rec").display(),
        voice = voice.display(),
        rtp = rtp_base,
        rtp_end = rtp_base + 200,
    );
    std::fs::write(conf.join("config"), config).unwrap();
    std::fs::write(
        conf.join("accounts"),
        format!("<sip:{name}@127.0.0.1;transport=udp>;regint=0;audio_codecs=PCMA\n"),
    )
    .unwrap();
    Command::new("baresip")
        .arg("-f")
        .arg(&conf)
        .args(["-e", &format!("/dial {target}"), "-t", "40"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(conf.join("log")).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// What a softphone heard: the `*-dec.wav` its sndfile module wrote.
fn heard(dir: &Path, name: &str) -> (Vec<f32>, u32) {
    let rec = dir.join(name).join("rec");
    let file: PathBuf = std::fs::read_dir(&rec)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("dec.wav"))
        .unwrap_or_else(|| panic!("no recording in {}", rec.display()));
    let mut r = hound::WavReader::open(&file).unwrap();
    let rate = r.spec().sample_rate;
    let s = r
        .samples::<i16>()
        .map(|x| f32::from(x.unwrap()) / 32768.0)
        .collect();
    (s, rate)
}

/// The amplitude of a tone near `hz` in `x`: the strongest Goertzel bin
/// within ±12 Hz (a caller's tone arrives a few hertz off: the softphone's
/// clock and the engine's are not the same clock).
fn level(x: &[f32], rate: u32, hz: f32) -> f32 {
    (-6..=6)
        .map(|k| goertzel(x, rate, hz + 2.0 * k as f32))
        .fold(0.0, f32::max)
}

fn goertzel(x: &[f32], rate: u32, hz: f32) -> f32 {
    let w = 2.0 * std::f32::consts::PI * hz / rate as f32;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for v in x {
        let s0 = v + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let p = s1 * s1 + s2 * s2 - c * s1 * s2;
    2.0 * p.max(0.0).sqrt() / x.len() as f32
}

/// Waits for `line` to ring; the softphone's own words when it does not.
fn rings(rt: &Runtime, line: u8, log: &Path) {
    let t = Instant::now();
    while rt.board().line_state(line) != LineState::Ringing {
        if t.elapsed() > Duration::from_secs(20) {
            let said = std::fs::read_to_string(log).unwrap_or_default();
            panic!("line {line} never rang; baresip said: {said}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn screener(rt: &Runtime, line: u8, to: LineState) {
    rt.execute_as("screener", Role::Screener, Action::Move { line, to })
        .unwrap();
}

#[test]
fn a_softphone_hears_talkback_while_screened_and_its_mix_minus_on_air() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, hz) in [("host", 440), ("talkback", 700), ("a", 1000), ("b", 1500)] {
        tone(
            &d.join(format!("{name}.wav")),
            hz,
            if name.len() == 1 { 8000 } else { 48000 },
        );
    }
    let port = free_port();
    let studio = format!(
        "[audio]\noutput_device = \"none\"\n[[mic]]\nsource = \"file:host.wav\"\n\
         [talkback]\nsource = \"file:talkback.wav\"\n\
         [sip]\nbind = \"127.0.0.1:{port}\"\ncodecs = [\"pcma\"]\n\
         [[line]]\nnumber = 1\nkind = \"sip\"\n[[line]]\nnumber = 2\nkind = \"sip\"\n"
    );
    let config = ConfigSet::embedded_demo().unwrap();
    let paths = StationPaths::under(d, &config);
    let studio = parse_studio("studio.toml", &studio, d, config.show.lines);
    assert!(studio.issues.is_empty(), "{:?}", studio.issues);
    let rt = Runtime::start(RuntimeOptions {
        kb: KbSource::None,
        speech: false,
        ..RuntimeOptions::new(config, paths, studio)
    })
    .unwrap();
    let target = format!("sip:hotline@127.0.0.1:{port}");

    // caller A rings line 1 and is screened for 3 s
    let mut a = softphone(d, "a", &d.join("a.wav"), &target);
    rings(&rt, 1, &d.join("a/log"));
    screener(&rt, 1, LineState::Screening);
    std::thread::sleep(Duration::from_secs(3));
    // then on air, joined by caller B on line 2
    screener(&rt, 1, LineState::Hold);
    screener(&rt, 1, LineState::OnAir);
    let mut b = softphone(d, "b", &d.join("b.wav"), &target);
    rings(&rt, 2, &d.join("b/log"));
    screener(&rt, 2, LineState::Screening);
    screener(&rt, 2, LineState::Hold);
    screener(&rt, 2, LineState::OnAir);
    std::thread::sleep(Duration::from_secs(4));
    // the screener ends both calls: BYE, and the softphones close their files
    screener(&rt, 1, LineState::Ended);
    screener(&rt, 2, LineState::Ended);
    for p in [&mut a, &mut b] {
        let t = Instant::now();
        while p.try_wait().unwrap().is_none() && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = p.kill();
        let _ = p.wait();
    }
    rt.stop();

    let (x, rate) = heard(d, "a");
    let secs = |s: f32| (s * rate as f32) as usize;
    assert!(
        x.len() > secs(6.0),
        "A's recording is {} s",
        x.len() as f32 / rate as f32
    );
    // the mean of 0.25 s analyses (a line's clock correction now and then
    // breaks a tone's phase, which a long analysis would not forgive)
    let levels = |from: f32, to: f32| {
        let part = &x[secs(from).min(x.len())..secs(to).min(x.len())];
        let chunks: Vec<&[f32]> = part.chunks_exact(secs(0.25)).collect();
        [440.0, 700.0, 1000.0, 1500.0].map(|hz| {
            chunks.iter().map(|c| level(c, rate, hz)).sum::<f32>() / chunks.len().max(1) as f32
        })
    };
    // screened: 0.5–2.5 s after the answer: talkback, nothing else
    let screened = levels(0.5, 2.5);
    // on air with B: the last 2.5 s before the end
    let end = x.len() as f32 / rate as f32;
    let on_air = levels(end - 3.0, end - 0.5);
    eprintln!("screened 440/700/1000/1500 Hz: {screened:?}");
    eprintln!("on air   440/700/1000/1500 Hz: {on_air:?}");
    assert!(screened[1] > 0.05, "talkback heard while screened");
    assert!(screened[0] < screened[1] / 10.0, "no host while screened");
    assert!(screened[2] < screened[1] / 10.0, "not itself");
    assert!(on_air[0] > 0.1, "the host heard on air");
    assert!(on_air[3] > 0.1, "the other caller heard on air");
    assert!(on_air[2] < on_air[0] / 10.0, "never itself (mix-minus)");
    assert!(on_air[1] < on_air[0] / 10.0, "no talkback on air");
}

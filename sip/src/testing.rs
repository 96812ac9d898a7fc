//! Helpers for tests and benchmarks (feature `testing`): the real SIP
//! software from Debian that the tests talk to, driven one way everywhere.
//!
//! - [`Sipp`]: `sipp` (package `sip-tester`) with a scenario of
//!   `sip/tests/scenarios`, as caller or callee.
//! - [`Softphone`]: `baresip` (package `baresip-core`) dialling or
//!   answering, with a WAV as its microphone and what it hears recorded to a
//!   WAV; [`tone`] makes the WAVs (`sox`), [`level`] measures a tone in what
//!   was heard.
//! - [`installed`]: whether the tools are there; under
//!   `AIRBRIDGE_REQUIRE_SIPP=1` (CI) a missing tool fails instead of skipping.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    clippy::disallowed_methods,
    clippy::cast_precision_loss
)]

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A port of 127.0.0.1 free right now (UDP).
pub fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether every one of `tools` runs. Missing ones skip the test (with a
/// word on stderr), or fail it when `AIRBRIDGE_REQUIRE_SIPP=1`.
pub fn installed(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| {
            let flag = if *t == "sipp" { "-v" } else { "-h" };
            Command::new(t)
                .arg(flag)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_err()
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("AIRBRIDGE_REQUIRE_SIPP").as_deref() != Ok("1"),
        "AIRBRIDGE_REQUIRE_SIPP=1 but {missing:?} not installed (scripts/install-deps.sh)"
    );
    eprintln!("{missing:?} not installed: test skipped");
    false
}

/// A scenario of `sip/tests/scenarios`.
pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(name)
}

/// A directory for sipp to run in: the scenarios play `pcap/g711a.pcap`,
/// shipped with sipp.
pub fn sipp_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/usr/share/sip-tester", dir.path().join("pcap")).unwrap();
    dir
}

/// One sipp run. By default: one call (`-m 1`), signalling and media on
/// free ports of 127.0.0.1, the caller's number `13700000001`, 40 s
/// timeout, errors traced.
#[derive(Debug, Clone)]
pub struct Sipp {
    scenario: String,
    target: Option<SocketAddr>,
    port: u16,
    calls: u32,
    timeout_s: u32,
    args: Vec<String>,
}

impl Sipp {
    pub fn new(scenario_name: &str) -> Sipp {
        Sipp {
            scenario: scenario(scenario_name).display().to_string(),
            target: None,
            port: free_port(),
            calls: 1,
            timeout_s: 40,
            args: Vec::new(),
        }
    }

    /// Calls `target` (without one, sipp waits to be called: a callee).
    pub fn to(mut self, target: SocketAddr) -> Sipp {
        self.target = Some(target);
        self
    }

    /// Its own SIP port.
    pub fn port(mut self, port: u16) -> Sipp {
        self.port = port;
        self
    }

    pub fn calls(mut self, n: u32) -> Sipp {
        self.calls = n;
        self
    }

    pub fn timeout_s(mut self, s: u32) -> Sipp {
        self.timeout_s = s;
        self
    }

    pub fn args(mut self, args: &[&str]) -> Sipp {
        self.args.extend(args.iter().map(|s| (*s).to_owned()));
        self
    }

    fn command(&self, dir: &Path) -> Command {
        let mut c = Command::new("sipp");
        if let Some(t) = self.target {
            c.arg(t.to_string());
        }
        c.args(["-sf", &self.scenario, "-i", "127.0.0.1", "-mi", "127.0.0.1"])
            .args(["-p", &self.port.to_string()])
            .args(["-mp", &free_port().to_string()])
            .args(["-m", &self.calls.to_string()])
            .args(["-timeout", &format!("{}s", self.timeout_s)])
            .args(["-set", "from", "13700000001", "-nostdin", "-trace_err"])
            .args(&self.args)
            .current_dir(dir);
        c
    }

    /// Runs to the end in a directory of its own; on failure what sipp
    /// said and its error log go to stderr.
    pub fn run(&self) -> Output {
        let dir = sipp_dir();
        let out = self.command(dir.path()).output().unwrap();
        if !out.status.success() {
            eprintln!(
                "sipp {}: {}",
                self.scenario,
                String::from_utf8_lossy(&out.stdout)
            );
            for f in std::fs::read_dir(dir.path()).unwrap().flatten() {
                if f.path().extension().is_some_and(|e| e == "log") {
                    eprintln!("{}", std::fs::read_to_string(f.path()).unwrap_or_default());
                }
            }
        }
        out
    }

    /// Starts it quietly in `dir` (made by [`sipp_dir`]; its traces go there).
    pub fn spawn(&self, dir: &Path) -> Child {
        self.command(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }
}

/// A WAV of a sine tone at `hz` (60 s, mono, 16 bit, 0.4 of full scale).
pub fn tone(path: &Path, hz: u32, rate: u32) {
    let st = Command::new("sox")
        .args(["-n", "-r", &rate.to_string(), "-c", "1", "-b", "16"])
        .arg(path)
        .args(["synth", "60", "sine", &hz.to_string(), "vol", "0.4"])
        .status()
        .unwrap();
    assert!(st.success(), "sox could not make {}", path.display());
}

/// A softphone: `baresip` with `voice` (a WAV) as its microphone, what it
/// hears recorded under its directory, G.711 A-law. Killed when dropped.
#[derive(Debug)]
pub struct Softphone {
    dir: PathBuf,
    child: Child,
    /// Where it takes calls (127.0.0.1, UDP).
    pub sip_port: u16,
}

impl Softphone {
    /// Dials `target` (`sip:user@host:port`) at once.
    pub fn dialling(dir: &Path, name: &str, voice: &Path, target: &str) -> Softphone {
        Softphone::start(dir, name, voice, "", Some(target))
    }

    /// Answers the first call to it at once (`answermode=auto`).
    pub fn answering(dir: &Path, name: &str, voice: &Path) -> Softphone {
        let phone = Softphone::start(dir, name, voice, ";answermode=auto", None);
        // ready when its SIP port is taken
        let t = Instant::now();
        while UdpSocket::bind(("127.0.0.1", phone.sip_port)).is_ok() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "baresip did not start: {}",
                phone.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        phone
    }

    fn start(dir: &Path, name: &str, voice: &Path, account: &str, dial: Option<&str>) -> Softphone {
        let conf = dir.join(name);
        std::fs::create_dir_all(conf.join("rec")).unwrap();
        let sip_port = free_port();
        let rtp_base = 30000 + u32::from(free_port()) % 20000;
        let config = format!(
            "poll_method epoll\nsip_listen 127.0.0.1:{sip_port}\nmodule_path /usr/lib/baresip/modules\n\
             module stdio.so\nmodule g711.so\nmodule aufile.so\nmodule alsa.so\nmodule sndfile.so\n\
             snd_path {rec}\naudio_source aufile,{voice}\naudio_player alsa,null\naudio_alert alsa,null\n\
             ausrc_srate 8000\nausrc_channels 1\nrtp_ports {rtp_base}-{rtp_end}\n\
             module_app account.so\nmodule_app menu.so\n",
            rec = conf.join("rec").display(),
            voice = voice.display(),
            rtp_end = rtp_base + 200,
        );
        std::fs::write(conf.join("config"), config).unwrap();
        std::fs::write(
            conf.join("accounts"),
            format!("<sip:{name}@127.0.0.1;transport=udp>;regint=0;audio_codecs=PCMA{account}\n"),
        )
        .unwrap();
        let mut cmd = Command::new("baresip");
        cmd.arg("-f").arg(&conf).args(["-t", "60"]);
        if let Some(target) = dial {
            cmd.args(["-e", &format!("/dial {target}")]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(conf.join("log")).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Softphone {
            dir: conf,
            child,
            sip_port,
        }
    }

    /// What it printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// Waits (at most `limit`) for it to quit (it does when its call ends),
    /// then makes sure it has.
    pub fn finish(&mut self, limit: Duration) {
        let t = Instant::now();
        while self.child.try_wait().unwrap().is_none() && t.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What it heard (the `*-dec.wav` its sndfile module wrote): samples
    /// in −1…1 and the rate. `None` before any call was answered.
    pub fn heard(&self) -> Option<(Vec<f32>, u32)> {
        let rec = self.dir.join("rec");
        let file = std::fs::read_dir(&rec)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with("dec.wav"))?;
        let mut r = hound::WavReader::open(&file).ok()?;
        let rate = r.spec().sample_rate;
        let s = r
            .samples::<i16>()
            .map_while(Result::ok)
            .map(|x| f32::from(x) / 32768.0)
            .collect();
        Some((s, rate))
    }
}

impl Drop for Softphone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The amplitude of a tone near `hz` in `x`: the strongest Goertzel bin
/// within ±12 Hz (a tone arrives a few hertz off: the softphone's clock and
/// the engine's are not the same clock).
pub fn level(x: &[f32], rate: u32, hz: f32) -> f32 {
    (-6..=6)
        .map(|k| goertzel(x, rate, hz + 2.0 * k as f32))
        .fold(0.0, f32::max)
}

/// The amplitude of the tone at `hz` in `x`.
pub fn goertzel(x: &[f32], rate: u32, hz: f32) -> f32 {
    let w = 2.0 * std::f32::consts::PI * hz / rate as f32;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for v in x {
        let s0 = v + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let p = s1 * s1 + s2 * s2 - c * s1 * s2;
    2.0 * p.max(0.0).sqrt() / x.len().max(1) as f32
}

/// Mean tone levels over `from..to` seconds of `x`, analysed in 0.25 s
/// pieces (a line's clock correction now and then breaks a tone's phase,
/// which one long analysis would not forgive).
pub fn levels<const N: usize>(x: &[f32], rate: u32, from: f32, to: f32, hz: [f32; N]) -> [f32; N] {
    let at = |s: f32| ((s.max(0.0) * rate as f32) as usize).min(x.len());
    let part = &x[at(from)..at(to)];
    let chunks: Vec<&[f32]> = part.chunks_exact((rate / 4) as usize).collect();
    hz.map(|f| chunks.iter().map(|c| level(c, rate, f)).sum::<f32>() / chunks.len().max(1) as f32)
}

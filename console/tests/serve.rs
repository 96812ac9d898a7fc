//! `airbridge serve` end to end, as a station runs it: a test station on
//! 127.0.0.1 with real GStreamer RTP gateways (Opus and G.711 µ-law, each
//! receiving its caller's mix-minus back), a file host microphone and
//! talkback, the feeds on port 0, an espeak-ng rehearsal caller and a
//! script. What each caller hears is checked by tone analysis; the summary
//! line is checked against the journal.
#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::disallowed_methods)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use airbridge_show::{JournalReader, ShowEvent};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

const RATE: u32 = 48_000;
const HOST_HZ: f32 = 300.0;
const TALKBACK_HZ: f32 = 1100.0;
const CALLER1_HZ: f32 = 500.0;
const CALLER2_HZ: f32 = 700.0;
const CALLER3_HZ: f32 = 900.0;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_airbridge")
}

fn free_udp() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tone_wav(path: &Path, hz: f32, secs: f32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let n = (secs * RATE as f32) as usize;
    for i in 0..n {
        let x = 0.2 * (std::f32::consts::TAU * hz * i as f32 / RATE as f32).sin();
        w.write_sample((x * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
}

/// A configuration directory with the built-in station files, its data
/// under `dir/data`, and `studio` as studio.toml.
fn station(dir: &Path, studio: &str) {
    for (name, text) in airbridge_configs::embedded_files() {
        let text = if name == "station.toml" {
            text.replace("data_dir = \"\"", "data_dir = \"data\"")
        } else {
            text.to_owned()
        };
        std::fs::write(dir.join(name), text).unwrap();
    }
    std::fs::write(dir.join("studio.toml"), studio).unwrap();
}

fn private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// `airbridge serve` with the test's environment: the station's own data
/// directory, the speech model of the suite.
fn serve(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.arg("--config")
        .arg(dir)
        .arg("serve")
        .args(args)
        .env_remove("AIRBRIDGE_DATA_DIR")
        .env_remove("AIRBRIDGE_JOURNAL")
        .env_remove("AIRBRIDGE_KB")
        .env_remove("AIRBRIDGE_TICKETS_STORE")
        .env_remove("AIRBRIDGE_CONFIG")
        .env("RUST_LOG", "warn,whisper_rs=off");
    c
}

/// Kills a child that a failed test leaves running.
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads a child's stdout lines as they come.
struct Lines {
    lines: Arc<Mutex<Vec<String>>>,
}

impl Lines {
    fn of(child: &mut Child) -> Self {
        let out = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                eprintln!("serve| {line}");
                l.lock().unwrap().push(line);
            }
        });
        Self { lines }
    }

    fn wait_for(&self, prefix: &str, timeout: Duration) -> String {
        let end = Instant::now() + timeout;
        loop {
            if let Some(l) = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.starts_with(prefix))
            {
                return l.clone();
            }
            assert!(
                Instant::now() < end,
                "no line starting {prefix:?} within {timeout:?}; got {:?}",
                self.lines.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn all(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

/// A phone gateway for one line: sends a tone as RTP to the line and
/// receives what the line sends back (its mix-minus) into memory. With
/// `symmetric`, both go through one socket, so the line learns where to
/// reply from the packets; otherwise replies come to `reply_port`.
struct Gateway {
    send: gst::Element,
    recv: gst::Element,
    samples: Arc<Mutex<Vec<f32>>>,
}

impl Gateway {
    fn start(codec: &str, hz: f32, line_port: u16, reply_port: u16, symmetric: bool) -> Self {
        gst::init().unwrap();
        let (caps, depay, enc) = match codec {
            "opus" => (
                "application/x-rtp,media=audio,encoding-name=OPUS,payload=96,clock-rate=48000",
                "rtpopusdepay ! opusdec",
                "audioresample ! audio/x-raw,rate=48000 ! opusenc ! rtpopuspay pt=96",
            ),
            _ => (
                "application/x-rtp,media=audio,encoding-name=PCMU,payload=0,clock-rate=8000",
                "rtppcmudepay ! mulawdec",
                "audioresample ! audio/x-raw,rate=8000,channels=1 ! mulawenc ! rtppcmupay",
            ),
        };
        let recv = gst::parse::launch(&format!(
            "udpsrc name=src address=127.0.0.1 port={reply_port} caps=\"{caps}\" ! rtpjitterbuffer latency=40 ! {depay} ! audioconvert ! audioresample ! audio/x-raw,format=F32LE,channels=1,rate={RATE} ! appsink name=out sync=false"
        ))
        .unwrap();
        let samples = Arc::new(Mutex::new(Vec::new()));
        let sink = recv
            .clone()
            .downcast::<gst::Bin>()
            .unwrap()
            .by_name("out")
            .unwrap()
            .downcast::<gst_app::AppSink>()
            .unwrap();
        let s = Arc::clone(&samples);
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let buf = sample.buffer().ok_or(gst::FlowError::Error)?;
                    let map = buf.map_readable().map_err(|_| gst::FlowError::Error)?;
                    let mut out = s.lock().unwrap();
                    for b in map.as_slice().chunks_exact(4) {
                        out.push(f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        recv.set_state(gst::State::Playing).unwrap();
        let send = gst::parse::launch(&format!(
            "audiotestsrc is-live=true freq={hz} volume=0.2 ! audioconvert ! {enc} ! udpsink name=sink host=127.0.0.1 port={line_port}"
        ))
        .unwrap();
        if symmetric {
            // Send from the receiving socket: the line replies to it.
            let _ = recv.state(gst::ClockTime::from_seconds(2));
            let src = recv
                .clone()
                .downcast::<gst::Bin>()
                .unwrap()
                .by_name("src")
                .unwrap();
            let socket = src.property_value("used-socket");
            let udpsink = send
                .clone()
                .downcast::<gst::Bin>()
                .unwrap()
                .by_name("sink")
                .unwrap();
            udpsink.set_property_from_value("socket", &socket);
            udpsink.set_property("close-socket", false);
        }
        send.set_state(gst::State::Playing).unwrap();
        Self {
            send,
            recv,
            samples,
        }
    }

    /// Stops both ways; returns what the line sent back, also written to `wav`.
    fn finish(self, wav: &Path) -> Vec<f32> {
        let _ = self.send.set_state(gst::State::Null);
        let _ = self.recv.set_state(gst::State::Null);
        let samples = self.samples.lock().unwrap().clone();
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: RATE,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(wav, spec).unwrap();
        for x in &samples {
            w.write_sample(*x).unwrap();
        }
        w.finalize().unwrap();
        samples
    }
}

/// Amplitude of `hz` in `x` (Goertzel), for a sine of amplitude A about A.
fn tone(x: &[f32], hz: f32) -> f32 {
    let w = std::f32::consts::TAU * hz / RATE as f32;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for v in x {
        let s0 = v + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - c * s1 * s2;
    2.0 * power.max(0.0).sqrt() / x.len() as f32
}

/// Per half second: the amplitude of each frequency.
fn windows(x: &[f32], freqs: &[f32]) -> Vec<Vec<f32>> {
    x.chunks_exact(RATE as usize / 2)
        .map(|w| freqs.iter().map(|f| tone(w, *f)).collect())
        .collect()
}

const PRESENT: f32 = 0.02;
const ABSENT: f32 = 0.004;

fn summary_of(line: &str) -> Vec<(String, u64)> {
    line.trim_start_matches("summary:")
        .split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_owned(), v.parse().unwrap())
        })
        .collect()
}

fn journal_file(dir: &Path) -> PathBuf {
    dir.join("data/journal/demo-kongzhong.db")
}

fn model_required() -> bool {
    std::env::var("AIRBRIDGE_REQUIRE_MODEL").is_ok_and(|v| v == "1")
}

#[test]
fn a_station_goes_on_air_from_its_own_config() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tone_wav(&d.join("host.wav"), HOST_HZ, 2.0);
    tone_wav(&d.join("talkback.wav"), TALKBACK_HZ, 2.0);
    let espeak = airbridge_speech::synth::mandarin_clip(
        "我想问一下社保卡丢了怎么补办",
        &d.join("caller4.wav"),
    );
    if let Err(e) = &espeak {
        assert!(!model_required(), "espeak-ng is needed here: {e}");
    }
    let (p1, p2, p3, r1) = (free_udp(), free_udp(), free_udp(), free_udp());
    let (g2, g3) = (free_udp(), free_udp());
    let token = "airbridgeTestToken";
    let aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    let appid = "wx0000000000000001";
    private(&d.join("wechat.token"), token);
    private(&d.join("wechat.aeskey"), aes_key);
    let studio = format!(
        r#"
[audio]
output_device = "none"

[[mic]]
source = "file:host.wav"

[talkback]
source = "file:talkback.wav"

[[line]]
number = 1
kind = "rtp"
listen = "127.0.0.1:{p1}"
codec = "opus"
reply_to = "127.0.0.1:{r1}"

[[line]]
number = 2
kind = "rtp"
listen = "127.0.0.1:{p2}"
codec = "pcmu"

[[line]]
number = 3
kind = "rtp"
listen = "127.0.0.1:{p3}"
codec = "pcmu"

[[line]]
number = 4
kind = "file"
path = "caller4.wav"

[recording]
dir = "recordings"

[[output]]
kind = "file"
path = "out/program.wav"

[feeds]
listen = "127.0.0.1:0"
[feeds.douyin]
secret_env = "AIRBRIDGE_TEST_DOUYIN_SECRET"
replay_window_secs = 300
[feeds.wechat]
token_file = "wechat.token"
encoding_aes_key_file = "wechat.aeskey"
appid = "{appid}"
mode = "safe"
replay_window_secs = 300
"#
    );
    station(d, &studio);
    std::fs::write(
        d.join("script.toml"),
        r#"
[[at]]
secs = 1.5
line = 1
state = "screening"
[[at]]
secs = 1.5
line = 2
state = "screening"
[[at]]
secs = 1.5
line = 4
state = "ringing"
caller = "13800000004"
[[at]]
secs = 2.5
line = 1
state = "ready"
[[at]]
secs = 2.5
line = 2
state = "hold"
[[at]]
secs = 2.5
line = 4
state = "screening"
note = { name = "测试", district = "示例区", topic = "社保卡" }
[[at]]
secs = 3.5
line = 1
state = "on_air"
[[at]]
secs = 3.5
line = 2
state = "on_air"
[[at]]
secs = 3.5
line = 3
state = "screening"
"#,
    )
    .unwrap();

    // The phone gateway is up before the show: the lines ring when the
    // runtime hears their packets.
    let gw1 = Gateway::start("opus", CALLER1_HZ, p1, r1, false);
    let gw2 = Gateway::start("pcmu", CALLER2_HZ, p2, g2, true);
    let gw3 = Gateway::start("pcmu", CALLER3_HZ, p3, g3, true);

    let secs = if model_required() { "22" } else { "14" };
    let mut child = Reap(
        serve(d, &["--for", secs, "--script", "script.toml"])
            .current_dir(d)
            .env("AIRBRIDGE_TEST_DOUYIN_SECRET", "douyinTestSecret")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let out = Lines::of(&mut child.0);
    let feeds = out.wait_for("feeds:", Duration::from_secs(90));
    assert!(feeds.starts_with("feeds: ok"), "{feeds}");
    let addr: std::net::SocketAddr = feeds
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    for part in [
        "line 1: ok",
        "line 2: ok",
        "line 3: ok",
        "line 4: ok",
        "mic 1: ok",
        "talkback: ok",
    ] {
        out.wait_for(part, Duration::from_secs(5));
    }

    // A signed Douyin live comment and an AES WeChat message, as the platforms send them.
    let now_ms = chrono::Utc::now().timestamp_millis().to_string();
    let body = r#"[{"msg_id":"e2e-1","sec_openid":"u1","content":"社保卡丢了怎么补办？","nickname":"观众A","timestamp":1}]"#;
    let mut h = vec![
        ("x-nonce-str".to_owned(), "n0nce".to_owned()),
        ("x-timestamp".to_owned(), now_ms.clone()),
        ("x-roomid".to_owned(), "7300000000000000000".to_owned()),
        ("x-msg-type".to_owned(), "live_comment".to_owned()),
    ];
    let sig = airbridge_feeds::douyin::signature(
        h.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        body.as_bytes(),
        "douyinTestSecret",
    );
    h.push(("x-signature".into(), sig));
    h.push(("content-type".into(), "application/json".into()));
    let hs: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(http(addr, "/douyin", &hs, body.as_bytes()).0, 200);
    let now = (chrono::Utc::now().timestamp()).to_string();
    let crypto = airbridge_feeds::wechat::WechatCrypto::new(aes_key, None, appid).unwrap();
    let inner = "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oU]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[公积金怎么提取？]]></Content><MsgId>424242</MsgId></xml>";
    let enc = crypto.encrypt(inner, [7; 16]);
    let msig = airbridge_feeds::wechat::signature(&[token, &now, "n1", &enc]);
    let path = format!("/wechat?timestamp={now}&nonce=n1&encrypt_type=aes&msg_signature={msig}");
    let wbody = format!(
        "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"
    );
    assert_eq!(http(addr, &path, &[], wbody.as_bytes()).0, 200);

    let summary = out.wait_for("summary:", Duration::from_secs(120));
    assert!(child.0.wait().unwrap().success());
    let rx1 = gw1.finish(&d.join("rx-line1.wav"));
    let rx2 = gw2.finish(&d.join("rx-line2.wav"));
    let rx3 = gw3.finish(&d.join("rx-line3.wav"));

    // What each caller heard.
    let freqs = [HOST_HZ, CALLER1_HZ, CALLER2_HZ, CALLER3_HZ, TALKBACK_HZ];
    let heard = |name: &str, x: &[f32], own: f32, must: &[f32], never: &[f32]| {
        let w = windows(x, &freqs);
        let idx = |f: f32| freqs.iter().position(|g| *g == f).unwrap();
        assert!(w.len() >= 8, "{name}: only {} windows came back", w.len());
        let with_all = w
            .iter()
            .filter(|win| must.iter().all(|f| win[idx(*f)] > PRESENT))
            .count();
        assert!(
            with_all >= 4,
            "{name} should hear {must:?} for 2 s at least; per window: {w:?}"
        );
        for (i, win) in w.iter().enumerate() {
            for f in never.iter().chain([&own]) {
                assert!(
                    win[idx(*f)] < ABSENT,
                    "{name} heard {f} Hz in window {i} ({:.4}): {win:?}",
                    win[idx(*f)]
                );
            }
        }
    };
    // Lines 1 and 2 were screened before air (talkback then), so only
    // their own voice is never allowed.
    heard(
        "line 1 (on air, opus)",
        &rx1,
        CALLER1_HZ,
        &[HOST_HZ, CALLER2_HZ],
        &[],
    );
    heard(
        "line 2 (on air, pcmu)",
        &rx2,
        CALLER2_HZ,
        &[HOST_HZ, CALLER1_HZ],
        &[],
    );
    heard(
        "line 3 (screened, pcmu)",
        &rx3,
        CALLER3_HZ,
        &[TALKBACK_HZ],
        &[HOST_HZ, CALLER1_HZ, CALLER2_HZ],
    );

    // The journal: what came in, and the summary that matches it.
    let journal = JournalReader::open(&journal_file(d)).unwrap();
    let events: Vec<_> = journal.replay(1).unwrap().map(Result::unwrap).collect();
    let count =
        |f: &dyn Fn(&ShowEvent) -> bool| events.iter().filter(|e| f(&e.event)).count() as u64;
    let calls = count(&|e| matches!(e, ShowEvent::CallRang { .. }));
    let messages = count(&|e| matches!(e, ShowEvent::AudienceMessage { .. }));
    let transcripts = count(&|e| matches!(e, ShowEvent::TranscriptSegment { is_final: true, .. }));
    let recordings = count(&|e| matches!(e, ShowEvent::Recorded { .. }));
    assert_eq!(
        summary_of(&summary),
        [
            ("events".to_owned(), events.len() as u64),
            ("calls".to_owned(), calls),
            ("messages".to_owned(), messages),
            ("transcripts".to_owned(), transcripts),
            ("recordings".to_owned(), recordings),
        ],
        "{summary}"
    );
    assert_eq!(
        calls, 4,
        "three RTP calls rang by themselves, one by the script"
    );
    let ids: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.event {
            ShowEvent::AudienceMessage { id, .. } => Some(id.clone()),
            _ => None,
        })
        .collect();
    assert!(ids.contains(&"douyin:e2e-1".to_owned()), "{ids:?}");
    assert!(ids.contains(&"wechat:424242".to_owned()), "{ids:?}");
    // The script's caller: masked for every screen, never the number.
    let rang: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.event {
            ShowEvent::CallRang {
                line: 4,
                caller_masked,
                ..
            } => Some(caller_masked.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(rang, ["138****0004"]);
    assert!(events.iter().all(|e| {
        !serde_json::to_string(&e.event)
            .unwrap()
            .contains("13800000004")
    }));
    // Four calls and program recorded, each journaled when finished.
    assert_eq!(recordings, 5, "four calls and program");
    for e in &events {
        if let ShowEvent::Recorded { path, secs, .. } = &e.event {
            assert!(Path::new(path).is_file(), "{path}");
            assert!(*secs > 1.0, "{path}: {secs} s");
        }
    }
    assert!(d.join("out/program.wav").is_file());
    if model_required() {
        let said: Vec<String> = events
            .iter()
            .filter_map(|e| match &e.event {
                ShowEvent::TranscriptSegment {
                    line: 4,
                    is_final: true,
                    text,
                    ..
                } => Some(text.clone()),
                _ => None,
            })
            .collect();
        assert!(
            !said.is_empty(),
            "the espeak-ng caller on line 4 was transcribed"
        );
        eprintln!("line 4 said: {said:?}");
    }
    drop(dir);
}

/// A plain HTTP/1.1 POST over a real socket; returns (status, body).
fn http(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[test]
fn bad_parts_are_one_clear_line_each_and_the_show_runs() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tone_wav(&d.join("host.wav"), HOST_HZ, 1.0);
    std::fs::write(d.join("hold.wav"), b"RIFF\0\0\0\0WAVEnot really").unwrap();
    std::fs::write(d.join("open.pass"), "hackme").unwrap();
    std::fs::set_permissions(d.join("open.pass"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let busy = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port();
    let good_port = free_udp();
    let studio = format!(
        r#"
[audio]
output_device = "none"
[[mic]]
source = "file:host.wav"
[hold]
file = "hold.wav"
[[line]]
number = 1
kind = "hybrid"
input = "device:NoSuchCard#0"
output = "device:NoSuchCard#1"
[[line]]
number = 2
kind = "rtp"
listen = "127.0.0.1:{busy_port}"
codec = "pcmu"
[[line]]
number = 3
kind = "sip2"
[[line]]
number = 4
kind = "rtp"
listen = "127.0.0.1:{good_port}"
codec = "pcma"
[[output]]
kind = "icecast"
url = "http://127.0.0.1:9/live.ogg"
password_env = "AIRBRIDGE_TEST_NO_SUCH_PASSWORD"
[[output]]
kind = "icecast"
url = "http://127.0.0.1:9/live2.ogg"
password_file = "open.pass"
"#
    );
    station(d, &studio);
    let output = serve(d, &["--for", "2"])
        .env_remove("AIRBRIDGE_TEST_NO_SUCH_PASSWORD")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    eprintln!("{text}");
    assert!(output.status.success(), "the show ran: {text}");
    let line = |prefix: &str| -> String {
        let found: Vec<&str> = text.lines().filter(|l| l.starts_with(prefix)).collect();
        assert_eq!(found.len(), 1, "one line for {prefix:?}: {text}");
        found[0].to_owned()
    };
    let l1 = line("line 1: failed:");
    assert!(l1.contains("NoSuchCard"), "{l1}");
    let l2 = line("line 2: failed:");
    assert!(
        l2.contains(&busy_port.to_string()) && l2.contains("in use"),
        "{l2}"
    );
    let kind = line("studio.toml: failed:");
    assert!(
        kind.contains("line[2].kind") && kind.contains("sip2"),
        "{kind}"
    );
    let o1 = line("output 1 (icecast): failed:");
    assert!(o1.contains("AIRBRIDGE_TEST_NO_SUCH_PASSWORD"), "{o1}");
    let o2 = line("output 2 (icecast): failed:");
    assert!(o2.contains("chmod 600") && o2.contains("open.pass"), "{o2}");
    let hold = line("hold: failed:");
    assert!(hold.contains("hold.wav"), "{hold}");
    // … and the rest of the show ran.
    line("line 4: ok");
    line("mic 1: ok");
    line("audio engine: ok");
    assert!(text.lines().last().unwrap().starts_with("summary: events="));
    drop(busy);
}

#[test]
fn a_second_writer_is_refused_with_the_holder_named_and_the_first_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tone_wav(&d.join("caller.wav"), CALLER1_HZ, 1.0);
    station(
        d,
        "[audio]\noutput_device = \"none\"\n[[line]]\nnumber = 1\nkind = \"file\"\npath = \"caller.wav\"\n",
    );
    std::fs::write(
        d.join("script.toml"),
        "[[at]]\nsecs = 0.5\nline = 1\nstate = \"ringing\"\ncaller = \"13900000001\"\n[[at]]\nsecs = 1\nline = 1\nstate = \"screening\"\n[[at]]\nsecs = 5\nline = 1\nstate = \"ended\"\n",
    )
    .unwrap();
    let mut first = Reap(
        serve(d, &["--for", "8", "--script", "script.toml"])
            .current_dir(d)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let out = Lines::of(&mut first.0);
    out.wait_for("line 1: ok", Duration::from_secs(60));
    let pid = first.0.id();
    // A second show on the same journal, and the feeds receivers, are refused.
    for args in [vec!["serve", "--for", "1"], vec!["feeds", "serve"]] {
        let second = Command::new(bin())
            .arg("--config")
            .arg(d)
            .args(&args)
            .env_remove("AIRBRIDGE_DATA_DIR")
            .env_remove("AIRBRIDGE_JOURNAL")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&second.stderr);
        assert!(!second.status.success(), "{args:?} must be refused");
        let holder = format!("pid {pid}");
        assert!(
            err.contains("in use by") && err.contains(&holder),
            "{args:?}: the refusal names the holder: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
    // Read-only tools keep working while the show writes: `journal tail -f`
    // follows the other process.
    let mut tail = Reap(
        Command::new(bin())
            .arg("--journal")
            .arg(journal_file(d))
            .args(["journal", "tail", "-f", "-n", "1000"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let tailed = Lines::of(&mut tail.0);
    tailed.wait_for_contains("call_ended", Duration::from_secs(30));
    let summary = out.wait_for("summary:", Duration::from_secs(60));
    assert!(first.0.wait().unwrap().success());
    drop(tail);
    let journal = JournalReader::open(&journal_file(d)).unwrap();
    let n = journal.last_seq().unwrap();
    assert_eq!(summary_of(&summary)[0], ("events".to_owned(), n));
    let verify = Command::new(bin())
        .arg("--journal")
        .arg(journal_file(d))
        .args(["journal", "verify"])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let _ = tailed.all();
}

impl Lines {
    fn wait_for_contains(&self, needle: &str, timeout: Duration) -> String {
        let end = Instant::now() + timeout;
        loop {
            if let Some(l) = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(needle))
            {
                return l.clone();
            }
            assert!(
                Instant::now() < end,
                "no line with {needle:?} within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

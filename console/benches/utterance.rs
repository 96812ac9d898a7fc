//! End of a caller's utterance → final transcript and knowledge-base answer
//! in the host seat, with the window open on the runtime (the realistic
//! setting), side by side with the same station run without a window
//! (`airbridge serve`).
//!
//! A station made by `airbridge studio init` gets rehearsal callers
//! speaking espeak-ng Mandarin questions (no sound card: the engine's
//! internal clock) and a script that puts each on air in turn, where they
//! repeat their question after a breath. The end of an utterance is when
//! the caller's speech stops: the time the line went on air (journal), the
//! breath, and where the speech ends in the clip. From it:
//! - **final**: the final transcript committed to the journal;
//! - **KB answer**: the knowledge-base suggestion committed;
//! - **on screen**: the host seat applying that suggestion (the window logs
//!   it), which its next frame draws.
//!
//! Also printed from the speech worker's own end of utterance (0.6 s of
//! silence later: the moment it can know the caller has stopped), which is
//! where `cargo bench -p airbridge-speech` starts its clock.
//!
//! Needs the speech model (`AIRBRIDGE_MODEL`), espeak-ng, and a display or
//! `xvfb-run`. Run on an idle machine:
//! `AIRBRIDGE_MODEL=… cargo bench -p airbridge-console --bench utterance -- [ROUNDS]`

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;

use airbridge_show::{JournalReader, LineState, ShowEvent};

const QUESTIONS: [&str; 3] = [
    "我的社保卡丢了，补办社保卡要去哪里办",
    "孩子刚出生，新生儿落户需要准备哪些材料",
    "我想开个小店，个体工商户营业执照怎么办理",
];
const SLOT: f64 = 19.0;
/// The rehearsal caller repeats the question on air after this breath.
const ON_AIR_PAUSE: f64 = 0.8;
/// Silence the speech worker waits for before it closes an utterance.
const VAD_HANGOVER: f64 = 0.6;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_airbridge")
}

/// Where speech ends in a clip (last 10 ms block above -40 dBFS), seconds.
fn speech_end(path: &Path) -> f64 {
    let x = airbridge_audio_files::read_mono(path, 16_000).unwrap();
    let block = 160;
    let last = x
        .chunks(block)
        .enumerate()
        .filter(|(_, b)| b.iter().map(|v| v * v).sum::<f32>() / b.len() as f32 > 1e-4)
        .map(|(i, _)| i)
        .next_back()
        .unwrap_or(0);
    (last + 1) as f64 * block as f64 / 16_000.0
}

struct Station {
    dir: PathBuf,
    ends: Vec<f64>,
}

fn station(root: &Path, rounds: usize) -> Station {
    let dir = root.join("station");
    let ok = Command::new(bin())
        .args(["studio", "init"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let st = dir.join("station.toml");
    let text = std::fs::read_to_string(&st)
        .unwrap()
        .replace("data_dir = \"\"", "data_dir = \"data\"");
    std::fs::write(&st, text).unwrap();
    let mut studio = String::from("[audio]\noutput_device = \"none\"\n");
    let mut ends = Vec::new();
    for (i, q) in QUESTIONS.iter().enumerate() {
        let clip = dir.join(format!("q{i}.wav"));
        airbridge_speech::synth::mandarin_clip(q, &clip).unwrap();
        ends.push(speech_end(&clip));
        studio.push_str(&format!(
            "[[line]]\nnumber = {}\nkind = \"file\"\npath = \"q{i}.wav\"\n",
            i + 1
        ));
    }
    std::fs::write(dir.join("studio.toml"), studio).unwrap();
    let mut script = String::from("[[at]]\nsecs = 0.5\nshow = \"open\"\n");
    for k in 0..rounds * QUESTIONS.len() {
        let line = k % QUESTIONS.len() + 1;
        let t = 4.0 + SLOT * k as f64;
        // The screener hears the whole question, then puts the caller on
        // air, where they ask it again: that utterance is measured.
        for (dt, state) in [
            (0.0, "ringing"),
            (0.2, "screening"),
            (7.0, "ready"),
            (7.2, "on_air"),
            (SLOT - 1.5, "ended"),
            (SLOT - 1.2, "idle"),
        ] {
            script.push_str(&format!(
                "[[at]]\nsecs = {:.1}\nline = {line}\nstate = \"{state}\"\n",
                t + dt
            ));
        }
    }
    std::fs::write(dir.join("script.toml"), script).unwrap();
    Station { dir, ends }
}

struct Measured {
    finals: Vec<f64>,
    answers: Vec<f64>,
    shown: Vec<f64>,
    missed: usize,
}

fn measure(st: &Station, log: &str) -> Measured {
    let journal = st.dir.join("data/journal/demo-kongzhong.db");
    let events: Vec<_> = JournalReader::open(&journal)
        .unwrap()
        .replay(1)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    // Shown: seq → ms on screen (the log's colours taken out first).
    let plain = strip_ansi(log);
    let shown: std::collections::HashMap<u64, i64> = plain
        .lines()
        .filter(|l| l.contains("kb answer on screen"))
        .filter_map(|l| {
            let field = |k: &str| {
                l.split(&format!("{k}="))
                    .nth(1)
                    .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                    .and_then(|n| n.parse::<i64>().ok())
            };
            Some((field("seq")? as u64, field("shown_ms")?))
        })
        .collect();
    let mut m = Measured {
        finals: Vec::new(),
        answers: Vec::new(),
        shown: Vec::new(),
        missed: 0,
    };
    for (i, ev) in events.iter().enumerate() {
        let ShowEvent::LineStateChanged {
            line,
            to: LineState::OnAir,
            ..
        } = ev.event
        else {
            continue;
        };
        let end = ev.at_ms as f64 + (ON_AIR_PAUSE + st.ends[usize::from(line) - 1]) * 1000.0;
        let mut final_at = None;
        let mut answer = None;
        for later in &events[i + 1..] {
            match &later.event {
                ShowEvent::TranscriptSegment {
                    line: l,
                    is_final: true,
                    ..
                } if *l == line && final_at.is_none() && later.at_ms as f64 >= end - 500.0 => {
                    final_at = Some(later.at_ms as f64);
                }
                ShowEvent::KbSuggested { .. } if final_at.is_some() && answer.is_none() => {
                    answer = Some((later.seq, later.at_ms as f64));
                }
                // A transcript may land after the call ended; the next
                // caller on air is another measurement.
                ShowEvent::LineStateChanged {
                    to: LineState::OnAir,
                    ..
                } => break,
                _ => {}
            }
        }
        match (final_at, answer) {
            (Some(f), Some((seq, a))) => {
                m.finals.push((f - end) / 1000.0);
                m.answers.push((a - end) / 1000.0);
                if let Some(s) = shown.get(&seq) {
                    m.shown.push((*s as f64 - end) / 1000.0);
                }
            }
            _ => m.missed += 1,
        }
    }
    m
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NAN, f64::max)
}

fn run(label: &str, root: &Path, rounds: usize, window: Option<&str>, env: &[(&str, &str)]) {
    let st = station(root, rounds);
    let secs = 4.0 + SLOT * (rounds * QUESTIONS.len()) as f64 + 2.0;
    let mut cmd = if let Some(seat) = window {
        let display = std::env::var_os("DISPLAY").is_some();
        let mut c = if display {
            Command::new(bin())
        } else {
            let mut c = Command::new("xvfb-run");
            c.args(["-a", "-s", "-screen 0 1440x900x24"]).arg(bin());
            c
        };
        c.arg("--config")
            .arg(&st.dir)
            .arg("--script")
            .arg(st.dir.join("script.toml"))
            .args(["--role", seat, "--screenshot-after"])
            .arg(format!("{secs}"))
            .arg("--screenshot-path")
            .arg(root.join("host.png"));
        c
    } else {
        let mut c = Command::new(bin());
        c.arg("--config")
            .arg(&st.dir)
            .args(["serve", "--for"])
            .arg(format!("{secs}"))
            .arg("--script")
            .arg(st.dir.join("script.toml"));
        c
    };
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .env_remove("AIRBRIDGE_DATA_DIR")
        .env_remove("AIRBRIDGE_JOURNAL")
        .env(
            "RUST_LOG",
            "warn,whisper_rs=off,airbridge_console::timing=debug",
        )
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        eprintln!("{label}: the run failed:\n{log}");
        return;
    }
    let m = measure(&st, &log);
    let shown = if window.is_some() {
        format!(
            "on screen median {:.2} s, worst {:.2} s",
            median(&m.shown),
            max(&m.shown)
        )
    } else {
        "no window".to_owned()
    };
    println!(
        "{label:<32} {:>2} utterances ({} missed) | final median {:.2} s, worst {:.2} s | KB answer median {:.2} s, worst {:.2} s | {shown}",
        m.finals.len(),
        m.missed,
        median(&m.finals),
        max(&m.finals),
        median(&m.answers),
        max(&m.answers),
    );
    let after_vad: Vec<f64> = if window.is_some() {
        &m.shown
    } else {
        &m.answers
    }
    .iter()
    .map(|x| x - VAD_HANGOVER)
    .collect();
    println!(
        "{:<32} from the speech worker's end of utterance (after its {VAD_HANGOVER} s of silence): KB answer {} median {:.2} s, worst {:.2} s",
        "",
        if window.is_some() {
            "on screen"
        } else {
            "journaled"
        },
        median(&after_vad),
        max(&after_vad),
    );
}

fn main() {
    let rounds = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(2);
    if std::env::var_os("AIRBRIDGE_MODEL").is_none() {
        println!("set AIRBRIDGE_MODEL to a whisper.cpp ggml model (scripts/test.sh shows how)");
        return;
    }
    println!(
        "end of utterance → final transcript, KB answer, host seat; {} questions × {rounds} rounds each (espeak-ng, 5–7 s each)",
        QUESTIONS.len()
    );
    let a = tempfile::tempdir().unwrap();
    run(
        "host seat (OpenGL, nice 5)",
        a.path(),
        rounds,
        Some("host"),
        &[],
    );
    let d = tempfile::tempdir().unwrap();
    run(
        "screener seat, meters 10 fps",
        d.path(),
        rounds,
        Some("screener"),
        &[],
    );
    let c = tempfile::tempdir().unwrap();
    run(
        "host seat, wgpu, nice 0 (before)",
        c.path(),
        rounds,
        Some("host"),
        &[
            ("AIRBRIDGE_RENDERER", "wgpu"),
            ("AIRBRIDGE_WINDOW_NICE", "0"),
        ],
    );
    let b = tempfile::tempdir().unwrap();
    run("no window (serve)", b.path(), rounds, None, &[]);
    println!("goal: KB answer on screen ≤ 1.0 s after the caller stops (window open)");
}

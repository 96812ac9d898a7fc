//! The demo show behind `airbridge --demo`: the **demo station** — a
//! configuration directory written into the data directory (the built-in
//! station, show, departments and SLA files, plus a `studio.toml` with six
//! rehearsal callers speaking generated Mandarin and the recorded audience
//! trace) — and a **rehearsal script** that plays the producer's routine
//! (ring, screen, note, queue, air, pin, answer or hand to the back office).
//! It runs on the same station runtime as any station: no demo-only wiring.
//!
//! Every part is optional: without a sound card the engine runs on its
//! internal clock; without espeak-ng the caller lines report it and the rest
//! of the show goes on; without a speech model there are no transcripts.

use std::path::{Path, PathBuf};

/// A simulated caller: who they are and what they ask (Simplified Chinese,
/// spoken by espeak-ng).
#[derive(Debug, Clone, Copy)]
pub struct DemoCaller {
    pub name: &'static str,
    pub district: &'static str,
    pub topic: &'static str,
    pub says: &'static str,
    /// Answered on air (true) or handed to the back office (false).
    pub answered_on_air: bool,
}

pub const CALLERS: [DemoCaller; 6] = [
    DemoCaller {
        name: "王建国",
        district: "岳阳楼区",
        topic: "退休提取公积金",
        says: "我今年刚退休，想把住房公积金取出来，需要带什么材料",
        answered_on_air: false,
    },
    DemoCaller {
        name: "李秀英",
        district: "君山区",
        topic: "医保异地就医",
        says: "我妈要去外地住院，医保异地就医备案怎么办理",
        answered_on_air: true,
    },
    DemoCaller {
        name: "张伟",
        district: "云溪区",
        topic: "新生儿落户",
        says: "孩子刚出生，新生儿落户需要准备哪些材料",
        answered_on_air: false,
    },
    DemoCaller {
        name: "刘芳",
        district: "华容县",
        topic: "营业执照",
        says: "我想开个小店，个体工商户营业执照怎么办理",
        answered_on_air: true,
    },
    DemoCaller {
        name: "陈明",
        district: "汨罗市",
        topic: "社保卡补办",
        says: "我的社保卡丢了，补办社保卡要去哪里办",
        answered_on_air: false,
    },
    DemoCaller {
        name: "赵丽",
        district: "平江县",
        topic: "不动产登记",
        says: "买了二手房，不动产转移登记要多长时间",
        answered_on_air: true,
    },
];

/// The demo station's directory under the data directory.
pub fn station_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("demo-station")
}

/// Seconds between two callers in the script (one caller on air at a time,
/// the next rung and screened while the current one talks).
const SLOT_SECS: u32 = 15;

/// Writes (or refreshes) the demo station in `data_dir` and returns its
/// directory and its rehearsal script. Caller clips are made once with
/// espeak-ng; a clip that cannot be made leaves its line failing at start.
pub fn prepare(data_dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    use anyhow::Context;
    let dir = station_dir(data_dir);
    std::fs::create_dir_all(dir.join("callers"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))
    };
    for (name, text) in airbridge_configs::embedded_files() {
        write(name, text)?;
    }
    for (i, c) in CALLERS.iter().enumerate() {
        if let Err(e) = caller_clip(&dir.join("callers"), i, c.says) {
            tracing::warn!("demo caller {}: {e}", i + 1);
        }
    }
    write(airbridge_configs::studio::STUDIO_FILE, &studio_toml(&dir))?;
    write("audience-trace.jsonl", airbridge_feeds::replay::DEMO_TRACE)?;
    let script = dir.join("demo-script.toml");
    std::fs::write(&script, script_toml())
        .with_context(|| format!("cannot write {}", script.display()))?;
    Ok((dir, script))
}

fn studio_toml(dir: &Path) -> String {
    let output = if no_sound_card() {
        "# This machine has no sound card: the engine runs on its internal clock.\noutput_device = \"none\""
    } else {
        "output_device = \"\"   # the default sound card"
    };
    let mut s = format!(
        "# The demo station's studio (written by `airbridge --demo`; rewritten at every start).\n\
         # Six rehearsal callers speak espeak-ng Mandarin on lines 1–6; the\n\
         # audience trace replays through the real triage.\n\n\
         [audio]\n{output}\nbuffer_ms = 40\n\n\
         # What goes out runs 8 s behind the studio: Ctrl+D dumps it.\n\
         [delay]\nsecs = 8\n\n"
    );
    for (i, _) in CALLERS.iter().enumerate() {
        let clip = clip_path(&dir.join("callers"), i, CALLERS[i].says);
        let name = clip
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        s.push_str(&format!(
            "[[line]]\nnumber = {}\nkind = \"file\"\npath = \"callers/{name}\"\n\n",
            i + 1
        ));
    }
    s.push_str("[feeds]\nreplay = \"audience-trace.jsonl\"\nreplay_rate = 1.0\n");
    s
}

/// The producer's routine for the six callers, one every 15 s, looped.
fn script_toml() -> String {
    let mut s = String::from(
        "# The demo show's rehearsal script (written by `airbridge --demo`).\n\
         # One caller every 15 s: ring, screen and note, ready, on air; the\n\
         # producer pins the most-asked audience question; the call is\n\
         # answered on air or handed to the back office as a ticket.\n",
    );
    s.push_str(&format!(
        "loop_secs = {}\n\n",
        SLOT_SECS * CALLERS.len() as u32
    ));
    for (i, c) in CALLERS.iter().enumerate() {
        let line = i + 1;
        let t = SLOT_SECS * i as u32;
        let number = format!("1390000{:04}", 101 + i);
        let step = |secs: u32, body: &str| format!("[[at]]\nsecs = {secs}\n{body}\n");
        s.push_str(&step(
            t,
            &format!("line = {line}\nstate = \"ringing\"\ncaller = \"{number}\""),
        ));
        s.push_str(&step(
            t + 1,
            &format!(
                "line = {line}\nstate = \"screening\"\nnote = {{ name = \"{}\", district = \"{}\", topic = \"{}\" }}",
                c.name, c.district, c.topic
            ),
        ));
        s.push_str(&step(t + 3, &format!("line = {line}\nstate = \"ready\"")));
        s.push_str(&step(t + 4, &format!("line = {line}\nstate = \"on_air\"")));
        s.push_str(&step(t + 6, "pin = \"top\""));
        let verdict = if c.answered_on_air {
            "answered = true"
        } else {
            "offline = true"
        };
        s.push_str(&step(t + 12, &format!("line = {line}\n{verdict}")));
        s.push_str(&step(t + 13, &format!("line = {line}\nstate = \"ended\"")));
        s.push_str(&step(t + 14, &format!("line = {line}\nstate = \"idle\"")));
        s.push('\n');
    }
    s
}

/// True when ALSA lists no card and nothing reroutes the default device
/// (an asoundrc, a PulseAudio or PipeWire server): opening it would fail.
fn no_sound_card() -> bool {
    let cards = std::fs::read_to_string("/proc/asound/cards").unwrap_or_default();
    let home_rc = std::env::var_os("HOME")
        .map(|h| Path::new(&h).join(".asoundrc"))
        .is_some_and(|p| p.is_file());
    let server = std::env::var_os("PULSE_SERVER").is_some()
        || std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .is_some_and(|d| d.join("pulse").exists() || d.join("pipewire-0").exists());
    (cards.is_empty() || cards.contains("no soundcards"))
        && !home_rc
        && !Path::new("/etc/asound.conf").is_file()
        && !server
}

/// Writes the caller's words as a WAV with espeak-ng's Mandarin voice
/// (cached by text).
pub fn caller_clip(dir: &Path, index: usize, text: &str) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = clip_path(dir, index, text);
    if path.is_file() {
        return Ok(path);
    }
    let out = std::process::Command::new("espeak-ng")
        .args(["-v", "cmn-latn-pinyin", "-s", "150", "-w"])
        .arg(&path)
        .arg(text)
        .output()
        .map_err(|e| format!("espeak-ng 无法运行（{e}）：请安装 espeak-ng"))?;
    if !out.status.success() {
        return Err(format!(
            "espeak-ng 失败：{}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(path)
}

/// Where a caller's clip is kept (named by its text, so a changed text
/// makes a new clip).
fn clip_path(dir: &Path, index: usize, text: &str) -> PathBuf {
    let hash = text
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    dir.join(format!("caller-{index}-{hash:08x}.wav"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_script_is_a_valid_rehearsal_script() {
        let script = airbridge_runtime::script::Script::parse(&script_toml()).unwrap();
        assert_eq!(script.steps.len(), CALLERS.len() * 8);
        assert_eq!(script.loop_secs, Some(f64::from(SLOT_SECS) * 6.0));
    }

    #[test]
    fn the_demo_studio_is_a_valid_studio() {
        let dir = Path::new("/tmp/demo-station");
        let load =
            airbridge_configs::studio::parse_studio("studio.toml", &studio_toml(dir), dir, 8);
        assert!(load.issues.is_empty(), "{:?}", load.issues);
        let studio = load.studio.unwrap();
        assert_eq!(studio.lines.len(), CALLERS.len());
        assert_eq!(studio.delay.map(|d| d.secs), Some(8.0));
    }
}

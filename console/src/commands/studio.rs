//! `airbridge studio init DIR`: a commented station configuration made
//! from the sound devices found on this machine; and `airbridge config
//! check DIR`: every file validated, then everything a show would open
//! opened without going on air.

use std::io::Write;
use std::path::{Path, PathBuf};

use airbridge_configs::studio::{STUDIO_FILE, load_studio};
use anyhow::{Context, bail};
use clap::Subcommand;

/// `airbridge studio` actions.
#[derive(Debug, Subcommand)]
pub enum StudioAction {
    /// Write a commented station configuration (station, show, departments, SLA,
    /// studio) into DIR, using the sound devices found on this machine
    Init {
        /// The new configuration directory
        dir: PathBuf,
        /// Overwrite files that exist
        #[arg(long)]
        force: bool,
    },
}

/// Runs `airbridge studio …`.
pub fn run(action: StudioAction) -> anyhow::Result<()> {
    match action {
        StudioAction::Init { dir, force } => init(&dir, force),
    }
}

fn init(dir: &Path, force: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut files: Vec<(String, String)> = airbridge_configs::embedded_files()
        .iter()
        .map(|(n, t)| {
            (
                (*n).to_owned(),
                format!(
                    "# Written by `airbridge studio init` from the built-in demo station:\n# replace the examples with this station's own.\n{t}"
                ),
            )
        })
        .collect();
    let devices = airbridge_media::live::list_devices().unwrap_or_default();
    files.push((STUDIO_FILE.to_owned(), studio_template(&devices)));
    let existing: Vec<&str> = files
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| dir.join(n).exists())
        .collect();
    if !existing.is_empty() && !force {
        bail!(
            "{} already holds {}: nothing written (use --force to overwrite)",
            dir.display(),
            existing.join(", ")
        );
    }
    let mut out = std::io::stdout().lock();
    for (name, text) in &files {
        let p = dir.join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))?;
        writeln!(out, "wrote {}", p.display())?;
    }
    writeln!(
        out,
        "next: edit {} for this studio, then `airbridge config check {}` and `airbridge --config {}`",
        dir.join(STUDIO_FILE).display(),
        dir.display(),
        dir.display()
    )?;
    Ok(())
}

/// A commented `studio.toml` for the devices `(is_input, name, config)`.
fn studio_template(devices: &[(bool, String, String)]) -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "this machine".into());
    let mut s = format!(
        "# studio.toml: this station's studio — sound devices, caller lines,\n\
         # microphones, cue, talkback, hold audio, program outputs, recording and\n\
         # the audience feeds. Written by `airbridge studio init` on {host} from the\n\
         # sound devices found then; check it with `airbridge config check DIR`.\n\
         #\n\
         # Sources: \"device:NAME#CHANNEL\" (a sound card's input channel; NAME or\n\
         # part of it, CHANNEL from 0) or \"file:PATH\" (a WAV file, looped; for\n\
         # rehearsals; relative to this directory). Secrets never go in this file:\n\
         # password_env = \"VARIABLE\" or password_file = \"PATH\" (chmod 600).\n#\n"
    );
    if devices.is_empty() {
        s.push_str("# No sound devices were found on this machine.\n");
    } else {
        s.push_str("# Sound devices found:\n");
        for (is_input, name, cfg) in devices {
            let kind = if *is_input { "input " } else { "output" };
            s.push_str(&format!("#   {kind} {name:?}: {cfg}\n"));
        }
    }
    let output = devices
        .iter()
        .filter(|(i, _, _)| !*i)
        .map(|(_, n, _)| n.as_str())
        .find(|n| *n == "default")
        .or_else(|| {
            devices
                .iter()
                .find(|(i, _, _)| !*i)
                .map(|(_, n, _)| n.as_str())
        });
    let input = devices
        .iter()
        .filter(|(i, _, _)| *i)
        .map(|(_, n, _)| n.as_str())
        .find(|n| *n == "default")
        .or_else(|| {
            devices
                .iter()
                .find(|(i, _, _)| *i)
                .map(|(_, n, _)| n.as_str())
        });
    s.push_str("\n[audio]\n");
    match output {
        Some(o) => s.push_str(&format!(
            "output_device = {o:?}   # program out; \"none\" = no sound card (internal clock)\n"
        )),
        None => {
            s.push_str("output_device = \"none\"   # no output device was found: internal clock\n")
        }
    }
    s.push_str(
        "buffer_ms = 40   # sound-card buffer: lower is less latency, higher rides out a busy PC\n",
    );
    if let Some(o) = output {
        s.push_str(&format!(
            "\n[cue]            # the screener's headphones: what a screened caller says\ndevice = {o:?}\nchannel = 1      # 0-based: the right channel of a stereo output\n"
        ));
    }
    match input {
        Some(i) => s.push_str(&format!(
            "\n[[mic]]          # the studio microphones (one [[mic]] each; all go on air)\nsource = \"device:{i}#0\"\n\n# [talkback]     # what the screener says to a caller being screened\n# source = \"device:{i}#1\"\n"
        )),
        None => s.push_str(
            "\n# [[mic]]\n# source = \"device:USB Audio#0\"\n\n# [talkback]\n# source = \"device:USB Audio#1\"\n",
        ),
    }
    s.push_str(
        "\n# [hold]          # what a waiting caller hears (else program)\n# file = \"hold.wav\"\n\
         \n# A telephone hybrid (电话耦合器) on a sound card: the caller comes in on\n\
         # `input`, the line's mix-minus (program without the caller) goes out on `output`.\n\
         # The screener presses 来电 when the hybrid's lamp lights.\n\
         # [[line]]\n# number = 1\n# kind = \"hybrid\"\n# input = \"device:USB Audio#0\"\n# output = \"device:USB Audio#0\"\n\
         \n# A VoIP gateway or codec sending RTP; the line rings when packets start.\n\
         # The mix-minus goes back as RTP in the same codec, to reply_to or to where\n\
         # the caller's packets come from.\n\
         [[line]]\nnumber = 1\nkind = \"rtp\"\nlisten = \"0.0.0.0:5004\"\ncodec = \"pcmu\"   # or \"pcma\", \"opus\"\n# reply_to = \"192.0.2.10:5004\"\n\
         \n[[line]]\nnumber = 2\nkind = \"rtp\"\nlisten = \"0.0.0.0:5006\"\ncodec = \"pcmu\"\n\
         \n# Phone lines from the station's PBX or SIP trunk (docs/phone.md): a call\n\
         # rings the first free sip line with the caller's number.\n\
         # [[line]]\n# number = 4\n# kind = \"sip\"\n\
         # [sip]\n# bind = \"0.0.0.0:5060\"\n# allow = [\"10.20.0.0/16\"]   # the PBX / trunk network\n\
         # codecs = [\"opus\", \"pcma\", \"pcmu\"]\n\
         # registrar = \"pbx.example.invalid:5060\"   # to register as an extension\n\
         # user = \"8001\"\n# password_file = \"pbx.pass\"\n\
         # auth_user = \"trunk\"   # calls must authenticate (digest) as this user\n\
         # auth_password_file = \"sip-auth.pass\"\n\
         # busy_message = \"sounds/lines-busy.wav\"   # all sip lines taken: play this, then hang up\n\
         \n# A rehearsal caller (彩排): the file plays when the call is answered and on air.\n\
         # [[line]]\n# number = 3\n# kind = \"file\"\n# path = \"callers/question.wav\"\n\
         \n# Program out, besides the sound card:\n\
         # [[output]]\n# kind = \"icecast\"\n# url = \"http://127.0.0.1:8000/live.ogg\"\n# password_file = \"icecast.pass\"\n\
         # [[output]]\n# kind = \"rtmp\"\n# url = \"rtmp://push.example.invalid/live\"\n# password_env = \"RTMP_STREAM_KEY\"   # appended to the URL\n\
         # [[output]]\n# kind = \"file\"\n# path = \"program.ogg\"\n\
         \n# The broadcast delay (延时) on what goes out (the outputs above, an FM feed\n\
         # channel); the studio hears program live. The dump button (Ctrl+D) removes\n\
         # the newest dump_secs (default: all of it); see docs/safety.md.\n\
         # [delay]\n# secs = 8\n# dump_secs = 8\n# air_channel = \"device:USB Audio#2\"   # the FM transmitter's feed\n\
         \n# Words the speech worker flags to the producer (phone, ID and bank-card\n\
         # numbers are always flagged):\n# [flags]\n# words = [\"…\"]\n\
         \n[recording]       # every call (caller + what they hear), and program\ndir = \"recordings\"\nprogram = true\n\
         \n# The audience feeds, in this process (the keys of feeds.toml; see docs/feeds.md):\n\
         # [feeds]\n# listen = \"127.0.0.1:8787\"\n# [feeds.douyin]\n# secret_file = \"douyin.secret\"\n\
         # [feeds.wechat]\n# token_file = \"wechat.token\"\n# encoding_aes_key_file = \"wechat.aeskey\"\n# appid = \"wx0000000000000000\"\n# mode = \"safe\"\n\
         \n# Seats on other PCs (host, screener, 场控, back office; see docs/seats.md):\n\
         # one line per seat in the tokens file: NAME ROLE TOKEN (chmod 600; a token from\n\
         # `airbridge seat token`). Plain ws:// only on 127.0.0.1; otherwise give TLS.\n\
         # [seats]\n# listen = \"0.0.0.0:8750\"\n# tls_cert = \"seats.pem\"\n# tls_key = \"seats.key\"\n# tokens_file = \"seats.tokens\"\n",
    );
    s
}

/// Runs `airbridge config check [DIR]`.
pub fn check(dir: Option<&Path>, files_only: bool) -> anyhow::Result<()> {
    let set = crate::cli::load_config(dir)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "configuration OK: {}", set.origin)?;
    writeln!(
        out,
        "  station: {} ({})",
        set.station.name, set.station.time_zone
    )?;
    let hours: Vec<_> = set
        .station
        .business_hours
        .iter()
        .map(ToString::to_string)
        .collect();
    writeln!(out, "  business hours: {}", hours.join(", "))?;
    writeln!(out, "  show: {} [{}]", set.show.name, set.show.id)?;
    writeln!(out, "  departments: {}", set.departments.len())?;
    let policies: Vec<_> = set.sla_policies.iter().map(|p| p.name.as_str()).collect();
    writeln!(out, "  SLA policies: {}", policies.join(", "))?;
    let years: Vec<_> = set.holidays.keys().map(ToString::to_string).collect();
    writeln!(out, "  holiday calendars: {}", years.join(", "))?;
    let Some(dir) = dir else {
        writeln!(
            out,
            "  studio: none (the built-in demo station has no studio)"
        )?;
        return Ok(());
    };
    let load = load_studio(dir, set.show.lines);
    let mut problems = load.issues.len();
    let Some(studio) = &load.studio else {
        if problems == 0 {
            writeln!(
                out,
                "  studio: no {STUDIO_FILE} (the show runs without audio)"
            )?;
            return Ok(());
        }
        for i in &load.issues {
            writeln!(out, "  problem: {i}")?;
        }
        bail!(
            "{problems} problem(s) in {}",
            dir.join(STUDIO_FILE).display()
        );
    };
    writeln!(
        out,
        "  studio: {} lines, {} mics, {} outputs",
        studio.lines.len(),
        studio.mics.len(),
        studio.outputs.len()
    )?;
    for i in &load.issues {
        writeln!(out, "  problem: {i}")?;
    }
    if !files_only {
        let paths = crate::paths::station(Some(dir), &set, None)?;
        writeln!(
            out,
            "opening what the show would open (nothing goes on air):"
        )?;
        for part in airbridge_runtime::check::check_studio(studio, &paths) {
            if matches!(part.status, airbridge_runtime::PartStatus::Failed(_)) {
                problems += 1;
            }
            writeln!(out, "  {part}")?;
        }
    }
    if problems > 0 {
        bail!("{problems} problem(s) in {}", dir.display());
    }
    writeln!(out, "studio OK")?;
    Ok(())
}

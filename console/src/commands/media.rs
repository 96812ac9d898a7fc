//! `airbridge media …`: the audio engine from the command line — render a
//! scripted scenario to files, list sound devices, run the live engine on a
//! device for a while (soak) and report xruns. The work is done by
//! `airbridge-media`; this module parses arguments and prints.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use airbridge_media::LineState;
use airbridge_media::live::{Engine, EngineOptions, list_devices};
use airbridge_media::render::{RenderOptions, Scenario, render};
use anyhow::Context;
use clap::{Args, Subcommand};

/// `airbridge media` arguments.
#[derive(Debug, Args)]
pub struct MediaArgs {
    #[command(subcommand)]
    action: MediaAction,
}

#[derive(Debug, Subcommand)]
enum MediaAction {
    /// Render a scenario (sources, timed line changes) faster than real time:
    /// writes program.wav, cue.wav and mix-minus-line<N>.wav
    Render {
        /// Scenario file (TOML; see the airbridge-media `render` docs)
        #[arg(long, value_name = "FILE")]
        scenario: PathBuf,
        /// Output directory
        #[arg(long, value_name = "DIR", default_value = "media-out")]
        out: PathBuf,
        /// Also record program and every call (16-bit WAV) into this directory
        #[arg(long, value_name = "DIR")]
        record: Option<PathBuf>,
    },
    /// List sound devices (inputs and outputs) and their default formats
    Devices,
    /// Run the live engine on the output device with a tone on every line,
    /// then report callbacks, xruns and late callbacks
    Soak {
        /// How long, in seconds
        #[arg(long, default_value_t = 10)]
        secs: u64,
        /// Caller lines, all on air
        #[arg(long, default_value_t = 8)]
        lines: usize,
        /// Output device (name or part of one) [default: the default device]
        #[arg(long, value_name = "NAME")]
        device: Option<String>,
    },
}

/// Runs `airbridge media …`.
pub fn run(args: MediaArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match args.action {
        MediaAction::Render {
            scenario,
            out: dir,
            record,
        } => {
            let (sc, base) = Scenario::load(&scenario)?;
            let started = Instant::now();
            let report = render(&sc, &base, &dir, &RenderOptions { record_dir: record })?;
            let wall = started.elapsed().as_secs_f64();
            writeln!(
                out,
                "rendered {:.1} s of audio in {:.2} s ({:.0}× real time), {} blocks",
                report.audio_secs,
                wall,
                report.audio_secs / wall.max(1e-9),
                report.blocks
            )?;
            for f in report.files {
                writeln!(out, "  {}", f.display())?;
            }
            for r in report.recorded {
                writeln!(
                    out,
                    "  {} (recorded, {} frames)",
                    r.path.display(),
                    r.frames
                )?;
            }
            for e in report.events {
                if let Some(ev) = e.to_show_event() {
                    writeln!(out, "  event: {}", serde_json::to_string(&ev)?)?;
                }
            }
        }
        MediaAction::Devices => {
            let devices = list_devices().context("listing sound devices")?;
            if devices.is_empty() {
                writeln!(out, "no sound devices")?;
            }
            for (is_input, name, cfg) in devices {
                let kind = if is_input { "input " } else { "output" };
                writeln!(out, "{kind}  {name}  ({cfg})")?;
            }
        }
        MediaAction::Soak {
            secs,
            lines,
            device,
        } => {
            let engine = Engine::start(
                EngineOptions {
                    lines,
                    output_device: device,
                    ..EngineOptions::default()
                },
                None,
            )?;
            for line in 1..=u8::try_from(lines).context("at most 255 lines")? {
                engine.play_tone(line, 200.0 + 100.0 * f32::from(line), 0.05)?;
                for s in [
                    LineState::Ringing,
                    LineState::Screening,
                    LineState::Ready,
                    LineState::OnAir,
                ] {
                    engine.set_state(line, s)?;
                }
            }
            let started = Instant::now();
            let (tx, rx) = crossbeam_channel::bounded::<()>(1);
            let _keep = tx;
            while started.elapsed() < Duration::from_secs(secs) {
                // wait a second without sleeping the thread's clock away
                let _ = rx.recv_timeout(Duration::from_secs(1));
            }
            let stats = engine.driver_stats();
            let m = engine.meters().snapshot();
            writeln!(
                out,
                "soak {secs} s, {lines} lines on air: {} callbacks, {} xruns, {} late callbacks, \
                 {} blocks, on device: {}, program peak {:.3}, momentary {:.1} LUFS",
                stats.callbacks,
                stats.xruns,
                stats.late_callbacks,
                m.blocks,
                stats.on_device,
                m.program.peak,
                m.momentary_lufs
            )?;
        }
    }
    Ok(())
}

//! `airbridge stt transcribe` and `airbridge ask`: speech-to-text of a WAV
//! file through the streaming worker (the same path live callers take), and
//! the whole audio → transcript → knowledge-base path.

use std::io::Write;
use std::path::{Path, PathBuf};

use airbridge_kb::Kb;
use airbridge_speech::{SpeechEvent, SpeechWorker, WorkerConfig};
use anyhow::Context;
use clap::{Args, Subcommand};

/// `airbridge stt` actions.
#[derive(Debug, Subcommand)]
pub enum SttAction {
    /// Print the final text of a WAV file (any rate; mono or stereo)
    Transcribe {
        file: PathBuf,
        /// One JSON object per utterance (text, start_ms, end_ms)
        #[arg(long)]
        json: bool,
        /// Language code (zh, en, …; "auto" to detect)
        #[arg(long, default_value = "zh")]
        language: String,
    },
}

/// `airbridge ask` arguments.
#[derive(Debug, Args)]
pub struct AskArgs {
    /// What the caller said (WAV)
    file: PathBuf,
    /// How many knowledge-base results
    #[arg(short = 'k', long, default_value_t = 3)]
    k: usize,
    /// Knowledge-base file [default: <data dir>/kb/knowledge-base.db]
    #[arg(long, env = "AIRBRIDGE_KB", value_name = "PATH")]
    kb: Option<PathBuf>,
}

/// The station's paths (the speech model, the knowledge base).
fn paths(config_dir: Option<&Path>) -> anyhow::Result<airbridge_runtime::StationPaths> {
    let set = crate::cli::load_config(config_dir)?;
    crate::paths::station(config_dir, &set, None)
}

/// Runs the file through the streaming worker; returns the finals in order.
fn transcribe(file: &Path, config: WorkerConfig) -> anyhow::Result<Vec<(String, u64, u64)>> {
    let samples = airbridge_speech::audio::read_wav_16k_mono(file)?;
    let (worker, results) = SpeechWorker::start(config, None, None)?;
    tracing::info!("{}", worker.model());
    worker.feed_samples(1, samples, false)?;
    let mut finals = Vec::new();
    for ev in results.iter() {
        match ev {
            SpeechEvent::Segment {
                text,
                start_ms,
                end_ms,
                is_final: true,
                ..
            } => finals.push((text, start_ms, end_ms)),
            SpeechEvent::LineEnded { .. } => break,
            _ => {}
        }
    }
    worker.shutdown();
    Ok(finals)
}

fn worker_config(model: &Path, language: Option<String>, prompt: String) -> WorkerConfig {
    let mut config = WorkerConfig::new(model.to_path_buf());
    config.options.language = language;
    config.options.initial_prompt = prompt;
    // A file: no partials, only finals.
    config.vad.partial_every_s = None;
    config
}

/// Runs `airbridge stt …`.
pub fn run(action: SttAction, config_dir: Option<&Path>) -> anyhow::Result<()> {
    let SttAction::Transcribe {
        file,
        json,
        language,
    } = action;
    let model = paths(config_dir)?.model;
    let lang = (language != "auto").then_some(language);
    let finals = transcribe(&file, worker_config(&model, lang, String::new()))?;
    let mut out = std::io::stdout().lock();
    if json {
        for (text, start_ms, end_ms) in &finals {
            let v = serde_json::json!({"text": text, "start_ms": start_ms, "end_ms": end_ms});
            writeln!(out, "{v}")?;
        }
    } else {
        let text: Vec<&str> = finals.iter().map(|f| f.0.as_str()).collect();
        writeln!(out, "{}", text.join(" "))?;
    }
    Ok(())
}

/// Runs `airbridge ask`: transcript on one line, then one result per line.
pub fn ask(args: AskArgs, config_dir: Option<&Path>) -> anyhow::Result<()> {
    let paths = paths(config_dir)?;
    let model = paths.model;
    let kb_path = args.kb.unwrap_or(paths.kb);
    let kb = Kb::open_or_seed_demo(&kb_path)
        .with_context(|| format!("cannot open the knowledge base {}", kb_path.display()))?;
    let prompt = airbridge_speech::prompt::from_entries(kb.entries());
    let finals = transcribe(&args.file, worker_config(&model, Some("zh".into()), prompt))?;
    let transcript: Vec<&str> = finals.iter().map(|f| f.0.as_str()).collect();
    let transcript = transcript.join(" ");
    let mut out = std::io::stdout().lock();
    writeln!(out, "{transcript}")?;
    if transcript.is_empty() {
        return Ok(());
    }
    for (i, h) in kb.search(&transcript, args.k).iter().enumerate() {
        writeln!(
            out,
            "{}. [{}] {} ({}; score {:.2})",
            i + 1,
            h.id,
            h.question,
            h.department,
            h.score
        )?;
    }
    Ok(())
}

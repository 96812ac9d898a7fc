//! `airbridge moderation blocklist`: the station's block list (authors and
//! callers blocked by the 场控), exported as CSV or JSON — keys are keyed
//! hashes, labels masked; no number or platform id is ever in it.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Args)]
pub struct ModerationArgs {
    #[command(subcommand)]
    action: ModerationAction,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Csv,
    Json,
}

#[derive(Debug, Subcommand)]
enum ModerationAction {
    /// Print the block list (key, label) of the station (--config)
    Blocklist {
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
    },
}

pub fn run(args: ModerationArgs, config_dir: Option<&Path>) -> anyhow::Result<()> {
    let ModerationAction::Blocklist { format } = args.action;
    let set = crate::cli::load_config(config_dir)?;
    let paths = crate::paths::station(config_dir, &set, None)?;
    let file = paths.blocklist();
    let list: std::collections::BTreeMap<String, String> = match std::fs::read_to_string(&file) {
        Ok(text) => serde_json::from_str(&text)
            .with_context(|| format!("{}: not a block list", file.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Default::default(),
        Err(e) => return Err(e).with_context(|| file.display().to_string()),
    };
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?,
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(["key", "label"])?;
            for (k, v) in &list {
                w.write_record([k, v])?;
            }
            w.flush()?;
        }
    }
    Ok(())
}

//! `airbridge guide --from DATE --to DATE`: the 办事攻略 of the station's
//! show journal over a period — the questions answered on air and in
//! writing, by topic, with materials and where to go — as HTML for a WeChat
//! article and as a Word document. Reads the journal read-only (works while
//! a show runs) and the knowledge base.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;

#[derive(Debug, Args)]
pub struct GuideArgs {
    /// First day, YYYY-MM-DD
    #[arg(long)]
    from: String,
    /// Last day, YYYY-MM-DD (inclusive)
    #[arg(long)]
    to: String,
    /// Write the guide as HTML (ready to paste into a WeChat article)
    #[arg(long)]
    html: Option<PathBuf>,
    /// Write the guide as a Word document
    #[arg(long)]
    docx: Option<PathBuf>,
    /// Print the guide as JSON
    #[arg(long)]
    json: bool,
}

fn date(s: &str) -> anyhow::Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .with_context(|| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

pub fn run(
    args: GuideArgs,
    config_dir: Option<&Path>,
    journal: Option<PathBuf>,
) -> anyhow::Result<()> {
    let (from, to) = (date(&args.from)?, date(&args.to)?);
    if to < from {
        bail!("--to {} is before --from {}", args.to, args.from);
    }
    let set = crate::cli::load_config(config_dir)?;
    let paths = crate::paths::station(config_dir, &set, journal)?;
    let reader = airbridge_show::JournalReader::open(&paths.journal)
        .with_context(|| format!("show journal {}", paths.journal.display()))?;
    let kb = match &paths.kb_shared {
        Some(url) => Some(airbridge_kb::Kb::open_postgres(
            url,
            None,
            set.station.code.as_deref(),
            false,
        )?),
        None if paths.kb.is_file() => Some(airbridge_kb::Kb::open(&paths.kb)?),
        None => None,
    };
    let searcher = kb.as_ref().map(airbridge_kb::Kb::searcher);
    let src = airbridge_runtime::guides::GuideSources {
        show_id: &set.show.id,
        show_name: &set.show.name,
        tz: set.station.time_zone,
        kb: searcher.as_deref(),
        departments: &set.departments,
    };
    let events = reader.replay(1)?.filter_map(Result::ok);
    let guide = airbridge_runtime::guides::build(events, &src, from, to);
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&guide)?)?;
    }
    if let Some(p) = &args.html {
        std::fs::write(p, guide.to_html()).with_context(|| format!("{}", p.display()))?;
        writeln!(out, "wrote {} ({} questions)", p.display(), guide.len())?;
    }
    if let Some(p) = &args.docx {
        guide.write_docx(p).map_err(anyhow::Error::msg)?;
        writeln!(out, "wrote {} ({} questions)", p.display(), guide.len())?;
    }
    if !args.json && args.html.is_none() && args.docx.is_none() {
        for t in &guide.topics {
            writeln!(out, "【{}】", t.topic)?;
            for it in &t.items {
                writeln!(out, "  问：{}", it.question)?;
                writeln!(out, "    {}", it.provenance(&guide.show_id))?;
            }
        }
        writeln!(out, "{} questions from {from} to {to}", guide.len())?;
    }
    Ok(())
}

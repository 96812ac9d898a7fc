//! `airbridge kb …`: the knowledge base from the command line (import,
//! export, search, stats, eval). The work is done by `airbridge-kb`; this
//! module parses arguments, finds the default knowledge base and prints.

use std::io::Write;
use std::path::{Path, PathBuf};

use airbridge_kb::{FieldMap, Format, Kb, eval};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};

/// `airbridge kb` arguments.
#[derive(Debug, Args)]
pub struct KbArgs {
    /// Knowledge-base file [default: <data dir>/kb/knowledge-base.db, created from the built-in demo content on first use]
    #[arg(long, global = true, env = "AIRBRIDGE_KB", value_name = "PATH")]
    kb: Option<PathBuf>,

    #[command(subcommand)]
    action: KbAction,
}

#[derive(Debug, Subcommand)]
enum KbAction {
    /// Import entries from CSV, XLSX or JSON Lines (all-or-nothing)
    Import {
        /// The file to import
        file: PathBuf,
        /// Map a field to a column of the file, e.g. --field question=常见问题 (repeatable).
        /// Fields: id, question, alternatives, answer, department, domain, category,
        /// region, tags, source, effective, expiry, reviewed, status
        #[arg(long = "field", value_name = "FIELD=COLUMN")]
        fields: Vec<String>,
        /// File format [default: from the extension]
        #[arg(long, value_name = "csv|xlsx|jsonl")]
        format: Option<String>,
        /// Retire the active entries that are not in the file (replace the whole knowledge base)
        #[arg(long)]
        replace: bool,
    },
    /// Export every entry (round-trips through import)
    Export {
        /// The file to write
        file: PathBuf,
        /// File format [default: from the extension]
        #[arg(long, value_name = "csv|xlsx|jsonl")]
        format: Option<String>,
    },
    /// Search: ranked entries with highlighted snippets
    Search {
        /// What the caller asked (typed, from a comment, or as speech-to-text heard it)
        query: String,
        /// How many results
        #[arg(short = 'k', long, default_value_t = 5)]
        k: usize,
        /// One JSON array
        #[arg(long)]
        json: bool,
    },
    /// Counts: entries, domains, departments
    Stats {
        /// One JSON object
        #[arg(long)]
        json: bool,
    },
    /// Recall@1, recall@K and MRR over a query file, beside the plain baseline
    Eval {
        /// query<TAB>expect_any<TAB>kind per line (expect_any: |-separated phrases or id:XYZ)
        #[arg(long, value_name = "FILE.tsv")]
        queries: PathBuf,
        /// K
        #[arg(short = 'k', long, default_value_t = 3)]
        k: usize,
        /// Also list the queries whose expected entry is not in the top K
        #[arg(long)]
        misses: bool,
    },
}

fn format_of(file: &Path, given: Option<&str>) -> anyhow::Result<Format> {
    match given {
        Some(f) => {
            Format::parse(f).with_context(|| format!("--format {f:?}: use csv, xlsx or jsonl"))
        }
        None => Format::from_path(file).with_context(|| {
            format!(
                "cannot tell the format of {} from its extension: pass --format csv|xlsx|jsonl",
                file.display()
            )
        }),
    }
}

fn open(path: Option<PathBuf>, config_dir: Option<&Path>) -> anyhow::Result<Kb> {
    match path {
        Some(p) => {
            Kb::open(&p).with_context(|| format!("cannot open the knowledge base {}", p.display()))
        }
        None => {
            let set = crate::cli::load_config(config_dir)?;
            let p = crate::paths::station(config_dir, &set, None)?.kb;
            Kb::open_or_seed_demo(&p)
                .with_context(|| format!("cannot open the knowledge base {}", p.display()))
        }
    }
}

/// Runs `airbridge kb …`.
pub fn run(args: KbArgs, config_dir: Option<&Path>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match args.action {
        KbAction::Import {
            file,
            fields,
            format,
            replace,
        } => {
            let format = format_of(&file, format.as_deref())?;
            let map = FieldMap::from_args(&fields).map_err(anyhow::Error::msg)?;
            let mut kb = open(args.kb, config_dir)?;
            let report = kb
                .import(&file, format, &map, replace)
                .with_context(|| format!("import into {} refused", kb.path().display()))?;
            let mapping: Vec<String> = report
                .mapping
                .iter()
                .map(|(f, c)| format!("{f}←{c}"))
                .collect();
            writeln!(out, "imported {} rows from {}", report.rows, file.display())?;
            writeln!(out, "  columns: {}", mapping.join(", "))?;
            let w = report.written;
            writeln!(
                out,
                "  added {}, updated {}, unchanged {}, retired {}",
                w.added, w.updated, w.unchanged, w.retired
            )?;
            let same = report
                .duplicates
                .iter()
                .filter(|d| d.similarity >= 0.999)
                .count();
            writeln!(
                out,
                "  duplicate questions: {same}, near-duplicates: {}",
                report.duplicates.len() - same
            )?;
            for d in report.duplicates.iter().take(20) {
                writeln!(out, "    {} ~ {} ({:.2})", d.a, d.b, d.similarity)?;
            }
            if report.duplicates.len() > 20 {
                writeln!(out, "    … and {} more", report.duplicates.len() - 20)?;
            }
            let s = kb.stats();
            writeln!(
                out,
                "knowledge base {}: {} active entries",
                kb.path().display(),
                s.entries
            )?;
        }
        KbAction::Export { file, format } => {
            let format = format_of(&file, format.as_deref())?;
            let kb = open(args.kb, config_dir)?;
            let n = kb
                .export(&file, format)
                .with_context(|| format!("cannot export {}", kb.path().display()))?;
            writeln!(out, "exported {n} entries to {}", file.display())?;
        }
        KbAction::Search { query, k, json } => {
            let kb = open(args.kb, config_dir)?;
            let hits = kb.search(&query, k);
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&hits)?)?;
            } else if hits.is_empty() {
                writeln!(out, "no entry matches {query:?}")?;
            } else {
                for (i, h) in hits.iter().enumerate() {
                    writeln!(out, "{}. {}  [{}] {:.2}", i + 1, h.question, h.id, h.score)?;
                    writeln!(out, "   {} · {}", h.department, h.category)?;
                    writeln!(out, "   {}", h.snippet.replace('\n', " "))?;
                }
            }
        }
        KbAction::Stats { json } => {
            let kb = open(args.kb, config_dir)?;
            let s = kb.stats();
            if json {
                writeln!(out, "{}", serde_json::to_string(&s)?)?;
            } else {
                writeln!(out, "knowledge base {}", kb.path().display())?;
                writeln!(
                    out,
                    "  entries: {} active, {} retired",
                    s.entries, s.retired
                )?;
                writeln!(out, "  domains: {}", s.domains)?;
                writeln!(out, "  departments: {}", s.departments)?;
                writeln!(out, "  service matters: {}", s.categories)?;
                writeln!(out, "  duplicate questions: {}", s.duplicate_questions)?;
            }
        }
        KbAction::Eval { queries, k, misses } => {
            if k == 0 {
                bail!("-k must be at least 1");
            }
            let text = std::fs::read_to_string(&queries)
                .with_context(|| format!("cannot read {}", queries.display()))?;
            let qs = eval::parse_queries(&queries, &text)?;
            if qs.is_empty() {
                bail!("{}: no queries", queries.display());
            }
            let kb = open(args.kb, config_dir)?;
            let base = kb.baseline_index()?;
            let full = eval::evaluate(kb.index(), &qs, k);
            let plain = eval::evaluate(&base, &qs, k);
            writeln!(
                out,
                "knowledge base {} ({} active entries), {} queries, k={k}",
                kb.path().display(),
                kb.index().len(),
                qs.len()
            )?;
            if misses {
                for (q, first) in &full.misses {
                    writeln!(
                        out,
                        "miss [{}] {} → {}",
                        q.kind,
                        q.text,
                        first.as_deref().unwrap_or("(nothing)")
                    )?;
                }
            }
            writeln!(out, "{}", eval::format_comparison(&full, &plain))?;
        }
    }
    Ok(())
}

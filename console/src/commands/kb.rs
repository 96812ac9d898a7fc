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
    /// Knowledge-base file, or a PostgreSQL connection string for a knowledge base shared by several stations [default: `kb_store` of station.toml, else <data dir>/kb/knowledge-base.db, created from the built-in demo content on first use]
    #[arg(long, global = true, env = "AIRBRIDGE_KB", value_name = "PATH")]
    kb: Option<PathBuf>,

    /// On a shared knowledge base: work on every station's entries, and
    /// import new entries as shared by all (default: this station's view,
    /// new entries its own)
    #[arg(long, global = true)]
    shared: bool,

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
    /// Move this station's knowledge-base file, with every version of every
    /// entry, into the shared PostgreSQL knowledge base (all or nothing).
    /// Entries become this station's own (`code` in station.toml), or shared
    /// by all with --shared; entries already there with the same content
    /// are left alone
    Migrate {
        /// The shared knowledge base: a PostgreSQL connection string
        #[arg(long)]
        to: String,
        /// Give entries whose id is taken there (with other content) the id `<code>-<id>`
        #[arg(long)]
        rename: bool,
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

fn open(path: Option<PathBuf>, shared: bool, config_dir: Option<&Path>) -> anyhow::Result<Kb> {
    let set = crate::cli::load_config(config_dir)?;
    let paths = airbridge_runtime::StationPaths::resolve(
        config_dir,
        &set,
        &airbridge_runtime::PathOverrides {
            kb: path.clone(),
            ..Default::default()
        },
    )?;
    if let Some(url) = &paths.kb_shared {
        let station = if shared {
            None
        } else {
            set.station.code.as_deref()
        };
        return Kb::open_postgres(url, None, station, true).with_context(|| {
            format!(
                "cannot open the shared knowledge base {}",
                airbridge_kb::store_name(url)
            )
        });
    }
    if shared {
        bail!("--shared is for a knowledge base shared on PostgreSQL (kb_store in station.toml)");
    }
    match path {
        Some(p) => {
            Kb::open(&p).with_context(|| format!("cannot open the knowledge base {}", p.display()))
        }
        None => Kb::open_or_seed_demo(&paths.kb)
            .with_context(|| format!("cannot open the knowledge base {}", paths.kb.display())),
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
            let mut kb = open(args.kb, args.shared, config_dir)?;
            let report = kb
                .import(&file, format, &map, replace)
                .with_context(|| format!("import into {} refused", kb.describe()))?;
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
                kb.describe(),
                s.entries
            )?;
        }
        KbAction::Export { file, format } => {
            let format = format_of(&file, format.as_deref())?;
            let kb = open(args.kb, args.shared, config_dir)?;
            let n = kb
                .export(&file, format)
                .with_context(|| format!("cannot export {}", kb.describe()))?;
            writeln!(out, "exported {n} entries to {}", file.display())?;
        }
        KbAction::Migrate { to, rename } => {
            if !airbridge_runtime::paths::is_postgres(&to) {
                bail!(
                    "--to {to:?} is not a PostgreSQL connection string (host=… dbname=… or postgres://…)"
                );
            }
            let set = crate::cli::load_config(config_dir)?;
            let code = set.station.code.clone();
            if code.is_none() && !args.shared {
                bail!(
                    "set `code` in station.toml first (e.g. code = \"yy\"): it marks this station's own entries in the shared knowledge base (or pass --shared to share them all)"
                );
            }
            let station = if args.shared { None } else { code.as_deref() };
            let from = match args.kb {
                Some(p) if !airbridge_runtime::paths::is_postgres(&p.to_string_lossy()) => p,
                _ => crate::paths::station(config_dir, &set, None)?.kb,
            };
            if !from.is_file() {
                bail!("{}: no knowledge-base file to move", from.display());
            }
            let local = Kb::open(&from)
                .with_context(|| format!("cannot open the knowledge base {}", from.display()))?;
            let mut target = Kb::open_postgres(&to, None, code.as_deref(), false)
                .with_context(|| format!("cannot open {}", airbridge_kb::store_name(&to)))?;
            let r = local
                .migrate_into(&mut target, station, rename)
                .with_context(|| format!("nothing was moved into {}", target.describe()))?;
            let whose = match station {
                Some(c) => format!("station {c}'s own"),
                None => "shared by all stations".into(),
            };
            writeln!(
                out,
                "moved {} entries with every version from {} into {} ({whose}); {} already there unchanged",
                r.moved,
                from.display(),
                target.describe(),
                r.already_there
            )?;
            for (old, new) in &r.renamed {
                writeln!(out, "  renamed {old} → {new}")?;
            }
            writeln!(
                out,
                "set kb_store in station.toml to this connection string to use it"
            )?;
        }
        KbAction::Search { query, k, json } => {
            let kb = open(args.kb, args.shared, config_dir)?;
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
            let kb = open(args.kb, args.shared, config_dir)?;
            let s = kb.stats();
            if json {
                writeln!(out, "{}", serde_json::to_string(&s)?)?;
            } else {
                writeln!(out, "knowledge base {}", kb.describe())?;
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
            let kb = open(args.kb, args.shared, config_dir)?;
            let base = kb.baseline_index()?;
            let full = eval::evaluate(kb.index(), &qs, k);
            let plain = eval::evaluate(&base, &qs, k);
            writeln!(
                out,
                "knowledge base {} ({} active entries), {} queries, k={k}",
                kb.describe(),
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

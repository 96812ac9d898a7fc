//! The `airbridge` command line: with no subcommand it opens the console;
//! subcommands are tools for the same data.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airbridge_configs::ConfigSet;
use airbridge_show::{Journal, ShowEvent, StoredEvent};
use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::app::{ConsoleApp, Role, ScreenshotPlan, Startup};

#[derive(Debug, Parser)]
#[command(
    name = "airbridge",
    version,
    about = "AirBridge (空中桥梁): the producer console for call-in radio and live-stream government-service Q&A shows",
    long_about = "AirBridge (空中桥梁): the producer console for call-in radio and live-stream \
                  government-service Q&A shows.\n\nRun without a subcommand to open the console window."
)]
pub struct Cli {
    /// Configuration directory with station.toml, show.toml, departments.toml, sla.toml
    /// [default: the built-in demo station]
    #[arg(long, global = true, env = "AIRBRIDGE_CONFIG", value_name = "DIR")]
    config: Option<PathBuf>,

    /// Show journal file [default: <data dir>/journal/<show id>.db]
    #[arg(long, global = true, env = "AIRBRIDGE_JOURNAL", value_name = "FILE")]
    journal: Option<PathBuf>,

    #[command(flatten)]
    window: WindowArgs,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Args)]
struct WindowArgs {
    /// Start the demo show (built-in demo station, its own journal)
    #[arg(long)]
    demo: bool,

    /// Open at this seat instead of asking: host, screener or backoffice
    #[arg(long, value_name = "ROLE")]
    role: Option<String>,

    /// Take a screenshot this many seconds after start, then quit (needs --screenshot-path)
    #[arg(long, value_name = "SECS", requires = "screenshot_path")]
    screenshot_after: Option<f64>,

    /// Where to write the screenshot (PNG)
    #[arg(long, value_name = "FILE", requires = "screenshot_after")]
    screenshot_path: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check configuration files and list every problem (file, key, reason)
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Look into a show journal: summary, recent events, integrity
    Journal {
        #[command(subcommand)]
        action: JournalAction,
    },
    /// Ticket deadlines: working days, business hours and SLA policies
    Sla {
        #[command(subcommand)]
        action: crate::tickets_cmd::SlaAction,
    },
    /// Follow-up tickets (工单): create, dispatch, resolve, call back, report, export
    Tickets(crate::tickets_cmd::TicketsArgs),
    /// The policy knowledge base: import, export, search, stats, eval
    Kb(crate::kb_cmd::KbArgs),
    /// Audience feeds: serve the WeChat/Douyin/relay receivers, replay a trace
    Feeds(crate::feeds_cmd::FeedsArgs),
    /// The speech-to-text model: fetch (download + convert), verify, status
    Model {
        #[command(subcommand)]
        action: crate::model_cmd::ModelAction,
    },
    /// Speech-to-text of a WAV file
    Stt {
        #[command(subcommand)]
        action: crate::stt_cmd::SttAction,
    },
    /// Audio → transcript → knowledge-base top N, for a WAV file
    Ask(crate::stt_cmd::AskArgs),
    /// The audio engine: render scenarios, list sound devices, soak the live engine
    Media(crate::media_cmd::MediaArgs),
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Validate a configuration directory (or the one given by --config)
    Check {
        /// Directory to check [default: --config, else the built-in demo station]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum JournalAction {
    /// Summary: where it is, how many events, of which kinds
    Info,
    /// Print the last events, one per line (or JSON lines)
    Tail {
        /// How many events
        #[arg(short = 'n', long, default_value_t = 20)]
        count: u64,
        /// Keep printing new events as they are written
        #[arg(short, long)]
        follow: bool,
        /// One JSON object per line
        #[arg(long)]
        json: bool,
    },
    /// Check the file's structure and decode every event
    Verify,
}

/// Runs the command line; prints errors as one line (plus any listed problems).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let window = cli.command.is_none();
    init_logging(window);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(window: bool) {
    // whisper.cpp's own log is off in the window: it prints its model
    // tables at info, and an error line for every partial the speech worker
    // cuts short on purpose; the worker reports real failures itself.
    let default = if window {
        "info,wgpu=warn,naga=warn,eframe=warn,egui_wgpu=warn,whisper_rs=off"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => run_console(cli.config.as_deref(), cli.journal, cli.window),
        Some(Command::Config {
            action: ConfigAction::Check { dir },
        }) => {
            let dir = dir.or(cli.config);
            let set = load_config(dir.as_deref())?;
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
            Ok(())
        }
        Some(Command::Sla { action }) => {
            crate::tickets_cmd::sla(&load_config(cli.config.as_deref())?, action)
        }
        Some(Command::Tickets(args)) => {
            let set = load_config(cli.config.as_deref())?;
            let data = crate::paths::data_dir(set.station.data_dir.as_deref())?;
            crate::tickets_cmd::tickets(&set, &data, None, args)
        }
        Some(Command::Kb(args)) => crate::kb_cmd::run(args, cli.config.as_deref()),
        Some(Command::Feeds(args)) => {
            crate::feeds_cmd::run(args, cli.config.as_deref(), cli.journal)
        }
        Some(Command::Model { action }) => crate::model_cmd::run(action, cli.config.as_deref()),
        Some(Command::Stt { action }) => crate::stt_cmd::run(action, cli.config.as_deref()),
        Some(Command::Ask(args)) => crate::stt_cmd::ask(args, cli.config.as_deref()),
        Some(Command::Media(args)) => crate::media_cmd::run(args),
        Some(Command::Journal { action }) => {
            let set = load_config(cli.config.as_deref())?;
            let path = match cli.journal {
                Some(p) => p,
                None => default_journal_path(&set)?,
            };
            if !path.exists() {
                bail!(
                    "no journal at {} (a show creates it; pass --journal FILE)",
                    path.display()
                );
            }
            journal_command(&path, action)
        }
    }
}

/// Loads `dir`, or the built-in demo station when `None`.
pub fn load_config(dir: Option<&Path>) -> anyhow::Result<ConfigSet> {
    match dir {
        Some(dir) => ConfigSet::load_dir(dir)
            .with_context(|| format!("configuration in {} is not valid", dir.display())),
        None => ConfigSet::embedded_demo().context("the built-in demo configuration is not valid"),
    }
}

fn default_journal_path(set: &ConfigSet) -> anyhow::Result<PathBuf> {
    let data = crate::paths::data_dir(set.station.data_dir.as_deref())?;
    Ok(crate::paths::journal_path(&data, &set.show.id))
}

fn open_journal(path: &Path) -> anyhow::Result<Journal> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    Journal::open(path).with_context(|| format!("cannot open the show journal {}", path.display()))
}

fn run_console(
    config_dir: Option<&Path>,
    journal: Option<PathBuf>,
    window: WindowArgs,
) -> anyhow::Result<()> {
    let config = load_config(if window.demo { None } else { config_dir })?;
    let data_dir = crate::paths::data_dir(config.station.data_dir.as_deref())?;
    let journal_path = match journal {
        Some(p) => p,
        None if window.demo => data_dir.join("journal").join("demo.db"),
        None => crate::paths::journal_path(&data_dir, &config.show.id),
    };
    let journal = open_journal(&journal_path)?;
    if window.demo {
        ensure_show_open(&journal, &config)?;
    }
    let role = match window.role.as_deref() {
        Some(r) => Some(
            Role::parse(r)
                .with_context(|| format!("unknown role {r:?}: use host, screener or backoffice"))?,
        ),
        None => None,
    };
    let model_status = airbridge_models::check(&airbridge_models::model_path(
        config.station.speech_model.as_deref(),
        &data_dir,
    ))
    .describe();
    // Tickets: the show goes on without them if the store cannot be opened.
    let desk = match crate::tickets_cmd::open_store(None, &config, &data_dir) {
        Ok(store) => Some(airbridge_tickets::TicketDesk::new(
            store,
            &config,
            Some(journal.clone()),
        )),
        Err(e) => {
            tracing::error!("follow-up tickets are unavailable: {e:#}");
            None
        }
    };
    // The demo show runs its callers, audio engine, speech and audience feed.
    let mut kb_source = crate::backend::KbSource::Path(crate::paths::kb_path(&data_dir));
    let live = if window.demo {
        let parts = crate::demo::start(&journal, &config, &data_dir);
        kb_source = crate::backend::KbSource::Pending(parts.kb);
        let engine = parts.engine.clone();
        let mut live = crate::live::Live::new(
            parts.meters,
            config.show.lines,
            vec![Box::new(parts.show) as Box<dyn std::any::Any>],
        )
        .with_commands(parts.commands);
        if let Some(engine) = engine {
            live = live.with_line_control(Box::new(move |line, to| {
                engine
                    .set_state(line, to)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }));
        }
        Some(live)
    } else {
        None
    };
    let outcome = Arc::new(Mutex::new(None));
    let screenshot = match (window.screenshot_after, window.screenshot_path) {
        (Some(secs), Some(path)) => Some(ScreenshotPlan {
            after: Duration::try_from_secs_f64(secs.max(0.0))
                .context("--screenshot-after: not a duration")?,
            path,
            requested: false,
            outcome: Arc::clone(&outcome),
        }),
        _ => None,
    };
    let startup = Startup {
        config,
        journal,
        desk,
        kb: kb_source,
        recordings: Some(data_dir.join("recordings")),
        role,
        model_status,
        screenshot,
        clock: crate::app::Clock::System,
        live,
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("AirBridge")
            .with_app_id("airbridge")
            .with_inner_size([1440.0, 900.0])
            .with_min_inner_size([960.0, 600.0]),
        ..Default::default()
    };
    eframe::run_native(
        "AirBridge",
        options,
        Box::new(move |cc| {
            Ok(Box::new(ConsoleApp::new(&cc.egui_ctx, startup)?) as Box<dyn eframe::App>)
        }),
    )
    .map_err(|e| {
        anyhow::anyhow!("cannot open the console window: {e} (is a display available? set DISPLAY)")
    })?;
    let result = outcome.lock().map(|mut o| o.take()).unwrap_or(None);
    match result {
        Some(Err(e)) => bail!("screenshot failed: {e}"),
        Some(Ok(())) | None => Ok(()),
    }
}

/// The demo show is "on air" from the first start: open it if the journal
/// does not say so yet.
fn ensure_show_open(journal: &Journal, config: &ConfigSet) -> anyhow::Result<()> {
    let mut open = false;
    for ev in journal.replay(1)? {
        match ev?.event {
            ShowEvent::ShowOpened { .. } => open = true,
            ShowEvent::ShowClosed { .. } => open = false,
            _ => {}
        }
    }
    if !open {
        journal.append(
            "system",
            ShowEvent::ShowOpened {
                show_id: config.show.id.clone(),
                show_name: config.show.name.clone(),
            },
        )?;
    }
    Ok(())
}

fn journal_command(path: &Path, action: JournalAction) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match action {
        JournalAction::Info => {
            let journal = open_journal(path)?;
            let mut kinds = std::collections::BTreeMap::<&'static str, u64>::new();
            let mut first_last: Option<(i64, i64)> = None;
            for ev in journal.replay(1)? {
                let ev = ev?;
                *kinds.entry(ev.event.kind()).or_default() += 1;
                first_last = Some(first_last.map_or((ev.at_ms, ev.at_ms), |(a, _)| (a, ev.at_ms)));
            }
            writeln!(out, "journal {}", path.display())?;
            writeln!(out, "  events: {}", journal.last_seq())?;
            if let Some((a, b)) = first_last {
                writeln!(out, "  from {} to {}", fmt_time(a), fmt_time(b))?;
            }
            for (k, n) in kinds {
                writeln!(out, "  {k}: {n}")?;
            }
        }
        JournalAction::Tail {
            count,
            follow,
            json,
        } => {
            let journal = open_journal(path)?;
            let from = journal.last_seq().saturating_sub(count) + 1;
            let mut sub = journal.subscribe(from)?;
            loop {
                let next = if follow {
                    Some(sub.next_blocking()?)
                } else {
                    sub.try_next()?
                };
                let Some(ev) = next else { break };
                print_event(&mut out, &ev, json)?;
                out.flush()?;
            }
        }
        JournalAction::Verify => {
            let backend = airbridge_show::store::SqliteBackend::open(path)?;
            backend.integrity_check()?;
            let journal = Journal::open(path)?;
            let mut n = 0u64;
            for (expected, ev) in (1u64..).zip(journal.replay(1)?) {
                let ev = ev?;
                if ev.seq != expected {
                    bail!(
                        "journal {}: event #{expected} is missing (next is #{})",
                        path.display(),
                        ev.seq
                    );
                }
                n += 1;
            }
            writeln!(
                out,
                "journal OK: {} ({n} events, numbered 1…{n} without gaps)",
                path.display()
            )?;
        }
    }
    Ok(())
}

fn fmt_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%Y-%m-%d %H:%M:%S%.3f %:z")
                .to_string()
        })
        .unwrap_or_else(|| ms.to_string())
}

fn print_event(out: &mut impl Write, ev: &StoredEvent, json: bool) -> anyhow::Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string(ev)?)?;
    } else {
        let payload = serde_json::to_value(&ev.event)?;
        writeln!(
            out,
            "#{} {} {} {} {}",
            ev.seq,
            fmt_time(ev.at_ms),
            ev.seat,
            ev.event.kind(),
            payload
        )?;
    }
    Ok(())
}

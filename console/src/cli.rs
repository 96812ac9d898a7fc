//! The `airbridge` command line: with no subcommand it opens the console;
//! subcommands are tools for the same data.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airbridge_configs::ConfigSet;
use airbridge_show::{JournalReader, StoredEvent};
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

    /// Rehearsal script (彩排) to play on the show: timed steps, see `airbridge serve --help`
    #[arg(long, global = true, value_name = "FILE")]
    script: Option<PathBuf>,

    #[command(flatten)]
    window: WindowArgs,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Args)]
struct WindowArgs {
    /// The demo show: the demo station plus its rehearsal script
    #[arg(long, global = true)]
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

    /// Open as a seat of a runtime on another PC: wss://HOST:PORT (needs --token-file)
    #[arg(long, value_name = "URL", requires = "token_file")]
    connect: Option<String>,

    /// This seat's token (with --connect): a file private to its owner
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,

    /// A CA certificate (PEM) to trust for --connect besides the system's
    #[arg(long, value_name = "FILE", env = "AIRBRIDGE_SEATS_CA")]
    ca_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the show without a window (a rack PC, rehearsals, tests): every part of
    /// studio.toml, the feeds, speech and the script; one line per part at start,
    /// a summary at the end
    Serve(crate::commands::serve::ServeArgs),
    /// The station's studio configuration
    Studio {
        #[command(subcommand)]
        action: crate::commands::studio::StudioAction,
    },
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
        action: crate::commands::tickets::SlaAction,
    },
    /// Follow-up tickets (工单): create, dispatch, resolve, call back, report, export
    Tickets(crate::commands::tickets::TicketsArgs),
    /// The policy knowledge base: import, export, search, stats, eval
    Kb(crate::commands::kb::KbArgs),
    /// Audience feeds: serve the WeChat/Douyin/relay receivers, replay a trace
    Feeds(crate::commands::feeds::FeedsArgs),
    /// The speech-to-text model: fetch (download + convert), verify, status
    Model {
        #[command(subcommand)]
        action: crate::commands::model::ModelAction,
    },
    /// Speech-to-text of a WAV file
    Stt {
        #[command(subcommand)]
        action: crate::commands::stt::SttAction,
    },
    /// Audio → transcript → knowledge-base top N, for a WAV file
    Ask(crate::commands::stt::AskArgs),
    /// The audio engine: render scenarios, list sound devices, soak the live engine
    Media(crate::commands::media::MediaArgs),
    /// A seat on the command line: watch a runtime's events, send it a command
    Seat(crate::commands::seat::SeatArgs),
    /// The 场控's block list: export it (CSV or JSON)
    Moderation(crate::commands::moderation::ModerationArgs),
    /// 办事攻略: the questions answered on air and in writing over a period, by
    /// topic, with materials and where to go; HTML for a WeChat article, Word
    Guide(crate::commands::guide::GuideArgs),
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Validate a configuration directory (or the one given by --config), then open
    /// what can be opened without going on air: devices, ports, secrets, hold audio, model
    Check {
        /// Directory to check [default: --config, else the built-in demo station]
        dir: Option<PathBuf>,
        /// Only read the files; open nothing
        #[arg(long)]
        files_only: bool,
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
        "warn,whisper_rs=off"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let choice = crate::station::Choice {
        config_dir: cli.config.clone(),
        journal: cli.journal.clone(),
        script: cli.script.clone(),
        demo: cli.window.demo,
    };
    match cli.command {
        None => run_console(&choice, cli.window),
        Some(Command::Serve(args)) => crate::commands::serve::run(&choice, &args),
        Some(Command::Studio { action }) => crate::commands::studio::run(action),
        Some(Command::Config {
            action: ConfigAction::Check { dir, files_only },
        }) => {
            let dir = dir.or(cli.config);
            crate::commands::studio::check(dir.as_deref(), files_only)
        }
        Some(Command::Sla { action }) => {
            crate::commands::tickets::sla(&load_config(cli.config.as_deref())?, action)
        }
        Some(Command::Tickets(args)) => {
            let set = load_config(cli.config.as_deref())?;
            let data = crate::paths::data_dir(cli.config.as_deref(), &set)?;
            crate::commands::tickets::tickets(&set, &data, None, args)
        }
        Some(Command::Kb(args)) => crate::commands::kb::run(args, cli.config.as_deref()),
        Some(Command::Feeds(args)) => {
            crate::commands::feeds::run(args, cli.config.as_deref(), cli.journal)
        }
        Some(Command::Model { action }) => {
            crate::commands::model::run(action, cli.config.as_deref())
        }
        Some(Command::Stt { action }) => crate::commands::stt::run(action, cli.config.as_deref()),
        Some(Command::Ask(args)) => crate::commands::stt::ask(args, cli.config.as_deref()),
        Some(Command::Media(args)) => crate::commands::media::run(args),
        Some(Command::Seat(args)) => crate::commands::seat::run(args),
        Some(Command::Guide(args)) => {
            crate::commands::guide::run(args, cli.config.as_deref(), cli.journal.clone())
        }
        Some(Command::Moderation(args)) => {
            crate::commands::moderation::run(args, cli.config.as_deref())
        }
        Some(Command::Journal { action }) => {
            let path = match cli.journal {
                Some(p) => p,
                None => {
                    let set = load_config(cli.config.as_deref())?;
                    crate::paths::station(cli.config.as_deref(), &set, None)?.journal
                }
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

fn run_console(choice: &crate::station::Choice, window: WindowArgs) -> anyhow::Result<()> {
    if let (Some(url), Some(token_file)) = (&window.connect, &window.token_file) {
        let args = crate::commands::seat::ConnectArgs {
            connect: url.clone(),
            token_file: token_file.clone(),
            ca_file: window.ca_file.clone(),
        };
        let remote = Arc::new(crate::remote::Remote::connect(&args)?);
        tracing::info!(
            "seat {} ({}) on {}",
            remote.welcome.seat,
            remote.welcome.role.name(),
            remote.url
        );
        let live = Some(crate::live::Live::new(
            Some(Box::new(crate::remote::RemoteMeters(Arc::clone(&remote)))),
            remote.welcome.config.show.lines,
        ))
        .filter(|_| remote.welcome.has_audio);
        return open_window(
            Startup {
                recordings: None,
                link: crate::app::Link::Remote(remote),
                role: None,
                model_status: String::new(),
                screenshot: None,
                clock: crate::app::Clock::System,
                live,
                notice: None,
            },
            &window,
            None,
        );
    }
    let role = match window.role.as_deref() {
        Some(r) => Some(
            Role::parse(r)
                .with_context(|| format!("unknown role {r:?}: use host, screener or backoffice"))?,
        ),
        None => None,
    };
    let station = crate::station::resolve(choice)?;
    let model_status = airbridge_models::check(&station.paths.model).describe();
    let notice = station
        .built_in
        .then(|| crate::station::BUILT_IN_NOTICE.to_owned());
    let show = station.start()?;
    let runtime = show.runtime.clone();
    for part in runtime.parts() {
        tracing::info!("{part}");
    }
    let live = crate::live::Live::of_runtime(&runtime);
    yield_to_the_show();
    let startup = Startup {
        recordings: Some(runtime.recordings_dir()),
        link: runtime.clone().into(),
        role,
        model_status,
        screenshot: None,
        clock: crate::app::Clock::System,
        live,
        notice,
    };
    open_window(startup, &window, Some(show))
}

/// Opens the window on `startup` (adding the screenshot plan the command
/// line asked for); when it closes, stops `show` if this window runs it.
fn open_window(
    mut startup: Startup,
    window: &WindowArgs,
    show: Option<crate::station::Show>,
) -> anyhow::Result<()> {
    let outcome = Arc::new(Mutex::new(None));
    startup.screenshot = match (window.screenshot_after, &window.screenshot_path) {
        (Some(secs), Some(path)) => Some(ScreenshotPlan {
            after: Duration::try_from_secs_f64(secs.max(0.0))
                .context("--screenshot-after: not a duration")?,
            path: path.clone(),
            requested: false,
            outcome: Arc::clone(&outcome),
        }),
        _ => None,
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("AirBridge")
            .with_app_id("airbridge")
            .with_inner_size([1440.0, 900.0])
            .with_min_inner_size([960.0, 600.0]),
        renderer: renderer(),
        ..Default::default()
    };
    let shown = eframe::run_native(
        "AirBridge",
        options,
        Box::new(move |cc| {
            if let crate::app::Link::Remote(r) = &startup.link {
                let ctx = cc.egui_ctx.clone();
                r.on_wake(move || ctx.request_repaint());
            }
            Ok(Box::new(ConsoleApp::new(&cc.egui_ctx, startup)?) as Box<dyn eframe::App>)
        }),
    );
    // The window is closed: the show stops in its fixed order.
    if let Some(show) = show {
        let summary = show.stop();
        tracing::info!("{summary}");
    }
    shown.map_err(|e| {
        anyhow::anyhow!("cannot open the console window: {e} (is a display available? set DISPLAY)")
    })?;
    let result = outcome.lock().map(|mut o| o.take()).unwrap_or(None);
    match result {
        Some(Err(e)) => bail!("screenshot failed: {e}"),
        Some(Ok(())) | None => Ok(()),
    }
}

/// The window gives way to the show: this thread (the UI) and the threads
/// it starts from now on — the renderer's, including a software
/// rasteriser's workers — run at a lower priority (nice +5, or
/// `AIRBRIDGE_WINDOW_NICE`) than the audio engine and the speech worker,
/// started before it. On a machine without a GPU that lets a final
/// transcript through while meters redraw.
fn yield_to_the_show() {
    let by = std::env::var("AIRBRIDGE_WINDOW_NICE")
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
        .unwrap_or(5);
    if by == 0 {
        return;
    }
    // Linux applies nice per thread, and new threads inherit it.
    match rustix::process::nice(by) {
        Ok(n) => tracing::info!("window runs at nice {n}, below the show's threads"),
        Err(e) => tracing::warn!("cannot lower the window's priority: {e}"),
    }
}

/// The window's renderer: `AIRBRIDGE_RENDERER=wgpu|glow`, else OpenGL.
fn renderer() -> eframe::Renderer {
    match std::env::var("AIRBRIDGE_RENDERER").as_deref() {
        Ok("wgpu") => eframe::Renderer::Wgpu,
        _ => eframe::Renderer::Glow,
    }
}

fn journal_command(path: &Path, action: JournalAction) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match action {
        JournalAction::Info => {
            let journal = JournalReader::open(path)?;
            let mut kinds = std::collections::BTreeMap::<&'static str, u64>::new();
            let mut first_last: Option<(i64, i64)> = None;
            for ev in journal.replay(1)? {
                let ev = ev?;
                *kinds.entry(ev.event.kind()).or_default() += 1;
                first_last = Some(first_last.map_or((ev.at_ms, ev.at_ms), |(a, _)| (a, ev.at_ms)));
            }
            writeln!(out, "journal {}", path.display())?;
            writeln!(out, "  events: {}", journal.last_seq()?)?;
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
            // Read-only: works while another program (a running show) writes it.
            let journal = JournalReader::open(path)?;
            let from = journal.last_seq()?.saturating_sub(count) + 1;
            let mut follower = journal.follow(from)?;
            loop {
                let wait = if follow {
                    Duration::from_secs(3600)
                } else {
                    Duration::ZERO
                };
                match follower.next_timeout(wait)? {
                    Some(ev) => {
                        print_event(&mut out, &ev, json)?;
                        out.flush()?;
                    }
                    None if follow => {}
                    None => break,
                }
            }
        }
        JournalAction::Verify => {
            let journal = JournalReader::open(path)?;
            journal.backend().integrity_check()?;
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

pub(crate) fn print_event(
    out: &mut impl Write,
    ev: &StoredEvent,
    json: bool,
) -> anyhow::Result<()> {
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

//! The seat every kittest test drives: a console window over fresh stores
//! (a journal and ticket desk on a fixed clock, the runtime deciding), and
//! the steps a person takes (click a label, wait for what comes back).
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use airbridge_configs::ConfigSet;
use airbridge_console::app::{Clock, ConsoleApp, Role, Startup};
use airbridge_runtime::Runtime;
use airbridge_show::{Journal, JournalOptions};
use airbridge_tickets::{SqliteStore, TicketDesk};
use egui_kittest::kittest::Queryable;
use egui_kittest::{Harness, SnapshotOptions};

/// Thursday 2026-11-26 10:00 in Beijing time.
pub const NOW_MS: i64 = 1_795_658_400_000;

pub fn fixed_now() -> i64 {
    NOW_MS
}

pub fn fixed_utc() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(NOW_MS).unwrap()
}

/// What a test's seat sits on.
pub struct Station {
    pub dir: tempfile::TempDir,
    pub journal: Journal,
    pub runtime: Runtime,
    pub tickets: PathBuf,
}

/// How the seat is made; `Spec::new(role)` is the usual one.
pub struct Spec<'a> {
    pub role: Role,
    /// The knowledge base from the station's paths (the demo KB).
    pub with_kb: bool,
    /// A studio.toml for the station's folder: an audio engine on its clock.
    pub studio: Option<&'a dyn Fn(&Path) -> String>,
    pub height: f32,
    pub model_status: &'static str,
}

impl Spec<'_> {
    pub fn new(role: Role) -> Self {
        Spec {
            role,
            with_kb: false,
            studio: None,
            height: 900.0,
            model_status: "语音模型：ggml-base.bin (Whisper base, 多语种)",
        }
    }
}

/// The one place the image-comparison thresholds are set.
pub fn snapshot_options() -> SnapshotOptions {
    SnapshotOptions::new().threshold(0.6).max_failed_pixels(0)
}

/// A seat over fresh stores. The journal and ticket desk use the fixed
/// clock so deadlines and screenshots are reproducible.
pub fn seat(spec: Spec<'_>) -> (Harness<'static, ConsoleApp>, Station) {
    // as the runtime does: stores made here are the user's only (else the
    // runtime's privacy check fixes them at start and journals it)
    airbridge_runtime::privacy::restrict_new_files();
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigSet::embedded_demo().unwrap();
    let journal = Journal::open_with(
        &dir.path().join("show.db"),
        JournalOptions {
            clock: fixed_now,
            ..JournalOptions::default()
        },
    )
    .unwrap();
    let tickets = dir.path().join("tickets.db");
    let store = SqliteStore::open(&tickets).unwrap();
    let desk =
        TicketDesk::new(Box::new(store), &config, Some(journal.clone())).with_clock(fixed_utc);
    let mut paths = airbridge_runtime::StationPaths::under(dir.path(), &config);
    paths.kb = dir.path().join("kb.sqlite");
    let studio = match spec.studio {
        Some(make) => airbridge_configs::studio::parse_studio(
            "studio.toml",
            &make(dir.path()),
            dir.path(),
            config.show.lines,
        ),
        None => Default::default(),
    };
    let runtime = Runtime::start(airbridge_runtime::RuntimeOptions {
        journal: Some(journal.clone()),
        desk: airbridge_runtime::DeskSource::Given(Box::new(desk)),
        kb: if spec.with_kb {
            airbridge_runtime::KbSource::FromPaths
        } else {
            airbridge_runtime::KbSource::None
        },
        speech: false,
        ..airbridge_runtime::RuntimeOptions::new(config, paths, studio)
    })
    .unwrap();
    let startup = Startup {
        link: runtime.clone().into(),
        notice: None,
        role: Some(spec.role),
        model_status: spec.model_status.to_owned(),
        screenshot: None,
        clock: Clock::Fixed(NOW_MS),
        live: airbridge_console::live::Live::of_runtime(&runtime),
        recordings: Some(dir.path().join("recordings")),
    };
    let harness = Harness::builder()
        .with_size(egui::vec2(1440.0, spec.height))
        .with_options(snapshot_options())
        .with_context_setup(|ctx| {
            airbridge_console::fonts::install(ctx);
            airbridge_console::app::style(ctx);
        })
        .build_ui_state(
            |ui, app: &mut ConsoleApp| app.frame_ui(ui),
            ConsoleApp::with_font(startup, airbridge_console::fonts::find(), || {}).unwrap(),
        );
    (
        harness,
        Station {
            dir,
            journal,
            runtime,
            tickets,
        },
    )
}

/// Steps the UI until `done` holds (backends deliver on their own threads).
#[allow(clippy::disallowed_methods)] // pacing a test, not product code
pub fn step_until(h: &mut Harness<'_, ConsoleApp>, what: &str, done: impl Fn(&ConsoleApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        h.step();
        if done(h.state()) {
            h.run_steps(2);
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn click(h: &mut Harness<'_, ConsoleApp>, label: &str) {
    h.get_by_label(label).click();
    h.run_steps(2);
}

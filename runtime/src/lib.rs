//! # airbridge-runtime: the station runtime
//!
//! Runs one show from the station's own configuration directory: the
//! spine between the show journal and the seats. A [`Runtime`] owns, for
//! its show:
//!
//! - the **journal** — it is the only writer of that file (across
//!   processes: see `airbridge_show::store`);
//! - the **audio engine** on the configured sound devices, the **caller
//!   lines** (telephone hybrids on a sound card, RTP from a VoIP gateway with
//!   the mix-minus sent back, rehearsal files), the **host microphones**,
//!   **cue** to the screener's headphones, **talkback**, **hold** audio;
//! - **call and program recording**, the **program outputs** (file,
//!   Icecast, RTMP);
//! - the **speech worker** on every line, the **knowledge base**, the
//!   **audience feeds** receivers (in-process), the **ticket desk**.
//!
//! It is the one place that decides: every line move, ring, fader, pin or
//! hand-off arrives as an [`Action`] from a seat (the window, a rehearsal
//! script, later remote seats) and is checked here — transitions, the
//! privacy gate — whoever asks. A refusal is journaled.
//!
//! Every part reports how it started as a `Health` journal event and as a
//! [`PartReport`]; one part failing to start leaves the rest running. Only
//! a journal that cannot be opened stops the show.
//!
//! ## Start and stop order
//! Start: journal → ticket desk → knowledge base (loads in the background)
//! → audio engine → lines → microphones, talkback, hold, cue → recording →
//! program outputs → speech (loads its model in the background) → feeds →
//! line watcher → script. Stop runs the other way: script, watcher, feeds,
//! speech, outputs, call and program recordings (finished and journaled),
//! lines, engine, and the journal last, after the summary is read.
//!
//! ## Never
//! It never blocks the audio thread (it talks to the engine's controller);
//! never puts a caller's full number in the journal (masked and hashed, see
//! [`callers`]); never reads a secret from a configuration file or from a
//! file others can read ([`secrets`]).
//!
//! # Layout
//! - [`paths`]: where the station's things are, resolved once.
//! - [`secrets`]: `*_env` / `*_file` secrets, private files only.
//! - [`callers`]: caller numbers masked and hashed.
//! - [`kb`]: the knowledge base, loaded once and shared.
//! - [`script`]: rehearsal scripts.
//! - [`check`]: what `airbridge config check` opens without going on air.
//! - `studio`: starting the engine and the studio's parts; `lines`: calls on
//!   lines and the watcher that rings RTP lines; `actions`: [`Action`] and
//!   the decisions; `feeds`: `[feeds]` of studio.toml; `speech`: the speech
//!   worker on every line.

mod actions;
pub mod backoffice;
pub mod callback;
pub mod callers;
pub mod check;
mod feeds;
pub mod flags;
pub mod guides;
pub mod kb;
mod lines;
mod moderation;
pub mod paths;
pub mod privacy;
pub mod roles;
pub mod script;
pub mod secrets;
mod sip;
mod speech;
mod studio;
mod written;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use airbridge_configs::ConfigSet;
use airbridge_configs::studio::StudioLoad;
use airbridge_media::live::Engine;
use airbridge_show::{Journal, JournalError, LineNo, Projection, ShowBoard, ShowEvent};
use airbridge_tickets::TicketDesk;

pub use actions::{Action, MixInput, Outcome, REHEARSAL_SEAT, Refusal, parse_item};
pub use kb::{KbHandle, LoadedKb};
pub use lines::LineInfo;
pub use paths::{PathOverrides, StationPaths, TicketStoreSpec};
pub use roles::Role;

/// The seat the runtime writes its own events as.
pub const SEAT: &str = "runtime";

/// How often a station looks for other stations' edits of a shared
/// knowledge base when no notification woke it.
pub const KB_REFRESH_EVERY: Duration = Duration::from_secs(5);

/// How one part of the show started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartReport {
    /// What it is, for people: `audio engine`, `line 2`, `feeds`.
    pub name: String,
    /// Its health component in the journal: `audio/line2`, `feeds`.
    pub component: String,
    pub status: PartStatus,
    /// The detail in Chinese, as the journal (and every seat) gets it;
    /// `None`: the status's own words.
    pub zh: Option<String>,
}

impl PartReport {
    /// The detail in Chinese for the journal and the seats.
    pub fn zh(mut self, text: impl Into<String>) -> Self {
        self.zh = Some(text.into());
        self
    }
}

/// A part's state at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartStatus {
    /// Running; what it is doing (English, for the terminal).
    Ok(String),
    /// Not running, and why.
    Failed(String),
    /// Still starting (a model or knowledge base loading).
    Starting(String),
}

impl std::fmt::Display for PartReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.status {
            PartStatus::Ok(d) if d.is_empty() => write!(f, "{}: ok", self.name),
            PartStatus::Ok(d) => write!(f, "{}: ok ({d})", self.name),
            PartStatus::Failed(why) => write!(f, "{}: failed: {why}", self.name),
            PartStatus::Starting(d) => write!(f, "{}: starting ({d})", self.name),
        }
    }
}

/// Where the ticket desk comes from.
#[derive(Debug)]
pub enum DeskSource {
    /// Open the store the paths name.
    FromPaths,
    /// A desk made by the caller (tests with a fixed clock).
    Given(Box<TicketDesk>),
    /// No ticket desk.
    None,
}

/// Where the knowledge base comes from.
#[derive(Debug)]
pub enum KbSource {
    /// Load the file the paths name (seeding the demo content into a new one).
    FromPaths,
    Given(KbHandle),
    None,
}

/// Everything a runtime needs to start.
#[derive(Debug)]
pub struct RuntimeOptions {
    pub config: ConfigSet,
    pub paths: StationPaths,
    /// `studio.toml`, as loaded (its problems become failed parts).
    pub studio: StudioLoad,
    /// A rehearsal script to play.
    pub script: Option<PathBuf>,
    /// A journal opened by the caller (tests with a fixed clock); else the
    /// paths' journal is opened.
    pub journal: Option<Journal>,
    pub desk: DeskSource,
    pub kb: KbSource,
    /// Start the speech worker (when there is an audio engine).
    pub speech: bool,
    /// Open the show (开播) at start if the journal does not say it is open.
    pub open_show: bool,
}

impl RuntimeOptions {
    /// The defaults for a station: everything from the paths, speech on.
    pub fn new(config: ConfigSet, paths: StationPaths, studio: StudioLoad) -> Self {
        Self {
            config,
            paths,
            studio,
            script: None,
            journal: None,
            desk: DeskSource::FromPaths,
            kb: KbSource::FromPaths,
            speech: true,
            open_show: false,
        }
    }
}

/// The show's counts over one run, read from the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Journal events written during the run.
    pub events: u64,
    pub calls: u64,
    pub messages: u64,
    /// Final transcript segments.
    pub transcripts: u64,
    pub recordings: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "summary: events={} calls={} messages={} transcripts={} recordings={}",
            self.events, self.calls, self.messages, self.transcripts, self.recordings
        )
    }
}

/// Why a runtime could not start at all.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot open the show journal: {0}")]
    Journal(#[from] JournalError),
    #[error("{0}")]
    Io(String),
}

/// A running show. Cheap to clone; [`Runtime::stop`] ends it.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("show", &self.inner.config.show.id)
            .field("journal", &self.inner.journal.describe())
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) config: ConfigSet,
    pub(crate) paths: StationPaths,
    pub(crate) journal: Journal,
    pub(crate) engine: Option<Arc<Engine>>,
    /// Calls on lines; its lock serialises every decision.
    pub(crate) lines: Mutex<lines::Lines>,
    pub(crate) board: Mutex<ShowBoard>,
    pub(crate) desk: Mutex<Option<TicketDesk>>,
    pub(crate) kb: KbHandle,
    pub(crate) recorder: Mutex<Option<studio::Recording>>,
    pub(crate) caller_key: callers::CallerKey,
    pub(crate) parts: Mutex<Vec<PartReport>>,
    pub(crate) mix: Mutex<actions::MixState>,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) threads: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) feeds: Mutex<Option<airbridge_feeds::FeedsHandle>>,
    pub(crate) speech: Mutex<Option<speech::SpeechPart>>,
    pub(crate) outputs: Mutex<Vec<String>>,
    /// The journal's last sequence number before this run.
    pub(crate) start_seq: u64,
    pub(crate) stopped: Mutex<Option<Summary>>,
    /// Source modes and the block list, shared with the feeds pipeline.
    pub(crate) moderation: Arc<airbridge_feeds::moderation::Moderation>,
    /// The block list as kept on disk: key → label.
    pub(crate) blocked: Mutex<std::collections::BTreeMap<String, String>>,
    /// `[delay]` and `[flags]` of studio.toml.
    pub(crate) safety: flags::Safety,
    /// WeChat customer-service messages, when `[feeds.wechat]` has an app secret.
    pub(crate) customer_service: Mutex<Option<Arc<airbridge_feeds::wechat_cs::CustomerService>>>,
    /// Seals callers' numbers kept with tickets for call-backs.
    pub(crate) seal: callback::NumberSeal,
    /// The SIP lines, when the studio has `kind = "sip"` lines.
    pub(crate) sip: Mutex<Option<sip::SipPart>>,
}

impl Runtime {
    /// Starts the show. Only a journal that cannot be opened is an error;
    /// every other part that fails is reported ([`Runtime::parts`]) and the
    /// show runs without it.
    pub fn start(opts: RuntimeOptions) -> Result<Self, RuntimeError> {
        let RuntimeOptions {
            config,
            paths,
            studio: studio_load,
            script,
            journal,
            desk,
            kb,
            speech,
            open_show,
        } = opts;
        // What this process creates holds personal data: the owner only.
        privacy::restrict_new_files();
        // 1. The journal: the only writer of the file.
        let journal = match journal {
            Some(j) => j,
            None => {
                if let Some(parent) = paths.journal.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| RuntimeError::Io(format!("{}: {e}", parent.display())))?;
                }
                Journal::open(&paths.journal)?
            }
        };
        let start_seq = journal.last_seq();
        let mut reports: Vec<PartReport> = vec![PartReport {
            name: "journal".into(),
            component: "journal".into(),
            status: PartStatus::Ok(journal.describe()),
            zh: None,
        }];
        // 2. The ticket desk.
        let desk = match desk {
            DeskSource::Given(d) => {
                reports.push(ok("tickets", "tickets", "opened by the caller").zh("已打开"));
                Some(*d)
            }
            DeskSource::None => None,
            DeskSource::FromPaths => match studio::open_desk(&config, &paths, &journal) {
                Ok(d) => {
                    reports.push(
                        ok("tickets", "tickets", &paths.tickets_store.to_string())
                            .zh(format!("工单库 {}", paths.tickets_store)),
                    );
                    Some(d)
                }
                Err(why) => {
                    reports.push(failed("tickets", "tickets", &why));
                    None
                }
            },
        };
        // 3. The knowledge base, loaded in the background.
        let (kb, kb_load) = match kb {
            KbSource::Given(h) => (h, None),
            KbSource::None => (KbHandle::none(), None),
            KbSource::FromPaths => {
                let h = KbHandle::default();
                let place = match &paths.kb_shared {
                    Some(url) => airbridge_kb::store_name(url),
                    None => paths.kb.display().to_string(),
                };
                reports.push(PartReport {
                    name: "knowledge base".into(),
                    component: "kb".into(),
                    status: PartStatus::Starting(place.clone()),
                    zh: Some(format!("加载知识库 {place}")),
                });
                (
                    h.clone(),
                    Some((h, paths.kb.clone(), paths.kb_shared.clone())),
                )
            }
        };
        let caller_key = match callers::CallerKey::load_or_create(&paths.caller_key_file()) {
            Ok(k) => k,
            Err(e) => {
                reports.push(failed(
                    "caller key",
                    "runtime",
                    &format!("{e}; repeat callers are not recognised across runs"),
                ));
                callers::CallerKey::fixed(rand::random())
            }
        };
        // The 场控's source modes and the block list.
        let modes = studio_load
            .studio
            .as_ref()
            .map(|s| s.moderation.clone())
            .unwrap_or_default();
        let (moderation, blocked, problem) = moderation::load(
            &modes,
            caller_key.derive("audience-authors"),
            &paths.blocklist(),
        );
        if let Some(p) = problem {
            reports.push(failed("block list", "moderation", &p));
        }
        let safety = flags::Safety::of(studio_load.studio.as_ref());
        // 4–8. The studio: engine, lines, mics, cue, recording, outputs.
        let studio_parts = studio::start(&config, &paths, &studio_load, &journal);
        reports.extend(studio_parts.reports.iter().cloned());

        let inner = Arc::new(Inner {
            lines: Mutex::new(studio_parts.lines),
            engine: studio_parts.engine,
            recorder: Mutex::new(studio_parts.recording),
            outputs: Mutex::new(studio_parts.outputs),
            config,
            paths,
            journal,
            board: Mutex::new(ShowBoard::default()),
            desk: Mutex::new(desk),
            kb,
            seal: callback::NumberSeal::new(&caller_key),
            caller_key,
            parts: Mutex::new(Vec::new()),
            mix: Mutex::new(actions::MixState::default()),
            stop: Arc::new(AtomicBool::new(false)),
            threads: Mutex::new(Vec::new()),
            feeds: Mutex::new(None),
            speech: Mutex::new(None),
            start_seq,
            stopped: Mutex::new(None),
            moderation,
            blocked: Mutex::new(blocked),
            safety,
            customer_service: Mutex::new(None),
            sip: Mutex::new(None),
        });
        let rt = Runtime { inner };
        for r in &reports {
            if r.name == "journal" {
                // that the journal is written needs no journal entry
                rt.inner
                    .parts
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(r.clone());
            } else {
                rt.report(r.clone());
            }
        }
        // Stores and recordings made readable by others (an older version,
        // a copy, a umask) are made private again, and said.
        let (dirs, files) = privacy::private_places(
            rt.paths(),
            studio_load
                .studio
                .as_ref()
                .and_then(|s| s.recording.as_ref())
                .map(|r| r.dir.as_path()),
        );
        let (fixed, not_fixed) = privacy::check_and_fix(&dirs, &files);
        if !fixed.is_empty() {
            tracing::warn!(
                "personal data was readable by others; made private: {}",
                fixed.join("; ")
            );
            rt.report(
                ok(
                    "privacy",
                    "privacy",
                    &format!(
                        "made private (was readable by others): {}",
                        fixed.join("; ")
                    ),
                )
                .zh(format!(
                    "已改为仅本用户可读（原先他人可读）：{}",
                    fixed.join("；")
                )),
            );
        }
        if !not_fixed.is_empty() {
            rt.report(failed("privacy", "privacy", &not_fixed.join("; ")));
        }
        rt.reset_stale_lines();
        if open_show {
            let _ = rt.execute(SEAT, Action::Show { open: true });
        }
        if let Some((handle, path, shared)) = kb_load {
            let code = rt.inner.config.station.code.clone();
            rt.spawn("runtime-kb", move |rt| match shared {
                Some(url) => {
                    if rt.load_shared_kb(&handle, &url, code.as_deref()) {
                        rt.follow_shared_kb(&url);
                    }
                }
                None => rt.load_kb(&handle, &path),
            });
        }
        // 9. Speech, in the background (a model takes seconds to load).
        if speech && rt.inner.engine.is_some() && rt.has_lines() {
            speech::start(&rt);
        }
        // 10. Feeds.
        if let Some(s) = &studio_load.studio
            && let Some(table) = &s.feeds
        {
            feeds::start(&rt, table, &s.base);
        }
        // 10b. SIP lines: calls from the station's PBX or trunk.
        if let Some(s) = &studio_load.studio {
            sip::start(&rt, s.sip.as_ref(), &s.base);
        }
        // 11. The line watcher: RTP lines ring when packets start, end when they stop.
        rt.spawn("runtime-lines", lines::watch);
        // 12. The script.
        if let Some(path) = script {
            match script::Script::load(&path) {
                Ok(s) => {
                    rt.report(
                        ok(
                            "script",
                            "script",
                            &format!("{} ({} steps)", path.display(), s.steps.len()),
                        )
                        .zh(format!(
                            "彩排脚本 {}，{} 步",
                            path.display(),
                            s.steps.len()
                        )),
                    );
                    rt.spawn("runtime-script", move |rt| actions::play_script(rt, &s));
                }
                Err(e) => rt.report(failed("script", "script", &e.to_string())),
            }
        }
        Ok(rt)
    }

    pub(crate) fn spawn(&self, name: &str, f: impl FnOnce(&Runtime) + Send + 'static) {
        let rt = self.clone();
        match std::thread::Builder::new()
            .name(name.into())
            .spawn(move || f(&rt))
        {
            Ok(h) => self
                .inner
                .threads
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(h),
            Err(e) => self.report(failed(
                name,
                "runtime",
                &format!("cannot start thread: {e}"),
            )),
        }
    }

    /// Opens this station's view of the shared knowledge base; whether it opened.
    fn load_shared_kb(&self, handle: &KbHandle, url: &str, code: Option<&str>) -> bool {
        match LoadedKb::open_shared(url, code) {
            Ok(kb) => {
                let station = code.unwrap_or("全部");
                self.report(
                    ok(
                        "knowledge base",
                        "kb",
                        &format!("{} entries, shared: {}", kb.entries.len(), kb.name),
                    )
                    .zh(format!(
                        "{} 条，共享知识库 {}（本台 {station}）",
                        kb.entries.len(),
                        kb.name
                    )),
                );
                handle.set(Ok(kb));
                true
            }
            Err(e) => {
                self.report(failed("knowledge base", "kb", &e.to_string()));
                handle.set(Err(e.to_string()));
                false
            }
        }
    }

    /// Keeps the shared knowledge base's index current while the runtime
    /// runs: woken by any station's write (`LISTEN`), and every
    /// [`KB_REFRESH_EVERY`] in any case (a lost connection is reopened).
    #[allow(clippy::disallowed_methods)] // waits on its own thread (runtime-kb) while the database is away
    fn follow_shared_kb(&self, url: &str) {
        let mut listener: Option<airbridge_kb::KbListener> = None;
        let mut broken_reported = false;
        let mut looked = Instant::now();
        // short waits, so that stopping the runtime never waits long
        let step = Duration::from_millis(500);
        while !self.stopping() {
            if listener.is_none() {
                match airbridge_kb::KbListener::connect(url, None) {
                    Ok(l) => listener = Some(l),
                    Err(e) if !broken_reported => {
                        broken_reported = true;
                        self.report(failed(
                            "knowledge base",
                            "kb",
                            &format!("cannot follow other stations' edits: {e}"),
                        ));
                    }
                    Err(_) => {}
                }
            }
            let woke = match listener.as_mut() {
                Some(l) => l.wait(step).unwrap_or_else(|_| {
                    listener = None;
                    false
                }),
                None => {
                    std::thread::sleep(step);
                    false
                }
            };
            if self.stopping() {
                break;
            }
            if !woke && looked.elapsed() < KB_REFRESH_EVERY {
                continue;
            }
            looked = Instant::now();
            let Ok(kb) = self.loaded_kb() else {
                continue;
            };
            match kb.refresh() {
                Ok(Some((next, ids))) => {
                    self.publish_kb(next);
                    let _ = self
                        .journal()
                        .append(SEAT, ShowEvent::KbRefreshed { ids: ids.clone() });
                }
                Ok(None) => {}
                Err(e) => {
                    if !broken_reported {
                        broken_reported = true;
                        self.report(failed("knowledge base", "kb", &e.to_string()));
                    }
                }
            }
        }
    }

    fn load_kb(&self, handle: &KbHandle, path: &std::path::Path) {
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        match LoadedKb::open(path) {
            Ok(kb) => {
                self.report(
                    ok(
                        "knowledge base",
                        "kb",
                        &format!("{} entries, {}", kb.entries.len(), path.display()),
                    )
                    .zh(format!("{} 条，{}", kb.entries.len(), path.display())),
                );
                handle.set(Ok(kb));
            }
            Err(e) => {
                self.report(failed("knowledge base", "kb", &e.to_string()));
                handle.set(Err(e.to_string()));
            }
        }
    }

    /// Records how a part started (replacing an earlier report of it) and
    /// journals it as that part's health.
    pub fn report(&self, r: PartReport) {
        let (ok, detail) = match (&r.status, &r.zh) {
            (PartStatus::Ok(_), Some(zh)) => (true, zh.clone()),
            (PartStatus::Ok(d), None) => (true, d.clone()),
            (PartStatus::Failed(d), _) => (false, format!("启动失败：{d}")),
            (PartStatus::Starting(_), Some(zh)) => (true, format!("启动中：{zh}")),
            (PartStatus::Starting(d), None) => (true, format!("启动中：{d}")),
        };
        match &r.status {
            PartStatus::Failed(why) => tracing::warn!(part = %r.name, "{why}"),
            _ => tracing::info!(part = %r.name, "{detail}"),
        }
        let _ = self.inner.journal.append(
            SEAT,
            ShowEvent::Health {
                component: r.component.clone(),
                ok,
                detail,
            },
        );
        let mut parts = self
            .inner
            .parts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match parts.iter_mut().find(|p| p.name == r.name) {
            Some(p) => *p = r,
            None => parts.push(r),
        }
    }

    /// How every part started, in start order.
    pub fn parts(&self) -> Vec<PartReport> {
        self.inner
            .parts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits (up to `timeout`) until no part is still starting.
    #[allow(clippy::disallowed_methods)] // a start-up wait off the UI thread
    pub fn wait_started(&self, timeout: Duration) -> Vec<PartReport> {
        let end = Instant::now() + timeout;
        loop {
            let parts = self.parts();
            let starting = parts
                .iter()
                .any(|p| matches!(p.status, PartStatus::Starting(_)));
            if !starting || Instant::now() >= end {
                return parts;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }

    pub fn config(&self) -> &ConfigSet {
        &self.inner.config
    }

    pub fn paths(&self) -> &StationPaths {
        &self.inner.paths
    }

    /// The audio engine's meters (lock-free), when an engine runs.
    pub fn meters(&self) -> Option<Arc<airbridge_media::Meters>> {
        self.inner.engine.as_ref().map(|e| Arc::clone(e.meters()))
    }

    /// Whether an audio engine runs (a studio is configured).
    pub fn has_audio(&self) -> bool {
        self.inner.engine.is_some()
    }

    /// The knowledge base (possibly still loading).
    pub fn kb(&self) -> KbHandle {
        self.inner.kb.clone()
    }

    /// Where a call's recording is, for playback.
    pub fn recordings_dir(&self) -> PathBuf {
        studio::calls_dir(&self.inner)
    }

    /// Runs `f` with the ticket desk, if the show has one. Blocks while
    /// another seat uses it: call off the UI thread.
    pub fn with_desk<R>(&self, f: impl FnOnce(&mut TicketDesk) -> R) -> Option<R> {
        self.inner
            .desk
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
            .map(f)
    }

    /// The board as the runtime sees it, caught up with the journal.
    pub fn board(&self) -> ShowBoard {
        let mut b = self
            .inner
            .board
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        catch_up(&self.inner.journal, &mut b);
        b.clone()
    }

    fn has_lines(&self) -> bool {
        !self
            .inner
            .lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }

    /// Whether the show is stopping.
    pub fn stopping(&self) -> bool {
        self.inner.stop.load(Ordering::Relaxed)
    }

    /// Lines of a running engine that a previous run left connected are
    /// cleared in the journal: a fresh engine has every line idle.
    fn reset_stale_lines(&self) {
        if self.inner.engine.is_none() {
            return;
        }
        let board = self.board();
        let mut events = Vec::new();
        for (line, view) in &board.lines {
            let from = view.state;
            if from == airbridge_show::LineState::Idle {
                continue;
            }
            if view.call_seq > 0 && from != airbridge_show::LineState::Ended {
                events.push(ShowEvent::CallEnded {
                    line: *line,
                    call: view.call_seq,
                    reason: "上次运行未正常结束，线路已复位".into(),
                });
            }
            if from != airbridge_show::LineState::Ended {
                events.push(ShowEvent::LineStateChanged {
                    line: *line,
                    from,
                    to: airbridge_show::LineState::Ended,
                });
            }
            events.push(ShowEvent::LineStateChanged {
                line: *line,
                from: airbridge_show::LineState::Ended,
                to: airbridge_show::LineState::Idle,
            });
        }
        if !events.is_empty()
            && let Err(e) = self.inner.journal.append_all(SEAT, events)
        {
            tracing::error!("cannot reset lines in the journal: {e}");
        }
    }

    /// Stops the show in the documented order and returns its summary
    /// (read from the journal). Calling it again returns the same summary.
    pub fn stop(&self) -> Summary {
        let mut stopped = self
            .inner
            .stopped
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = *stopped {
            return s;
        }
        self.inner.stop.store(true, Ordering::Relaxed);
        // script and watcher (they check the flag every 50 ms), the KB loader
        let threads: Vec<_> = std::mem::take(
            &mut *self
                .inner
                .threads
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for t in threads {
            let _ = t.join();
        }
        // feeds: receivers stop, the pipeline journals what it had
        if let Some(f) = self
            .inner
            .feeds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            f.shutdown();
        }
        // SIP: no new calls (calls in progress end with the show)
        drop(
            self.inner
                .sip
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        // speech: drop the backlog, finish the model call in progress
        if let Some(s) = self
            .inner
            .speech
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            s.stop();
        }
        // outputs, recordings (finished and journaled), lines, engine
        studio::stop(&self.inner);
        // the engine's event thread journals the last line moves in
        // batches (every 50 ms at most): the summary counts them too
        self.settle_journal();
        let summary = self.summary();
        *stopped = Some(summary);
        summary
    }

    /// Waits (at most 2 s) until nothing new has been journaled for 150 ms.
    #[allow(clippy::disallowed_methods)] // a bounded wait while stopping, never the UI
    fn settle_journal(&self) {
        let end = Instant::now() + Duration::from_secs(2);
        let mut last = self.inner.journal.last_seq();
        let mut quiet_since = Instant::now();
        while Instant::now() < end {
            std::thread::sleep(Duration::from_millis(25));
            let now = self.inner.journal.last_seq();
            if now != last {
                last = now;
                quiet_since = Instant::now();
            } else if quiet_since.elapsed() >= Duration::from_millis(150) {
                break;
            }
        }
    }

    /// The counts of this run so far, read from the journal.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        let Ok(replay) = self.inner.journal.replay(self.inner.start_seq + 1) else {
            return s;
        };
        for ev in replay.flatten() {
            s.events += 1;
            match ev.event {
                ShowEvent::CallRang { .. } => s.calls += 1,
                ShowEvent::AudienceMessage { .. } => s.messages += 1,
                ShowEvent::TranscriptSegment { is_final: true, .. } => s.transcripts += 1,
                ShowEvent::Recorded { .. } => s.recordings += 1,
                _ => {}
            }
        }
        s
    }

    /// The audio engine's driver: callbacks, xruns, late callbacks (`None`
    /// without an engine).
    pub fn driver_stats(&self) -> Option<airbridge_media::live::DriverStats> {
        self.inner.engine.as_ref().map(|e| e.driver_stats())
    }

    /// RTP packets (received, sent) of the call on a network line: an RTP
    /// line's, or the SIP call's in progress; `None` for other lines.
    pub fn rtp_packets(&self, line: LineNo) -> Option<(u64, u64)> {
        let lines = self
            .inner
            .lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let slot = lines.slot(line)?;
        slot.rtp
            .as_ref()
            .or(slot.sip_rtp.as_ref())
            .map(|a| (a.packets_in(), a.packets_out()))
    }

    /// The lines of the studio and what they are.
    pub fn lines(&self) -> Vec<LineInfo> {
        self.inner
            .lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .infos()
    }

    /// The line numbers of the show (1 ..= show.toml `lines`).
    pub fn line_numbers(&self) -> std::ops::RangeInclusive<LineNo> {
        1..=self.inner.config.show.lines
    }
}

pub(crate) fn catch_up(journal: &Journal, board: &mut ShowBoard) {
    let Ok(replay) = journal.replay(board.last_seq + 1) else {
        return;
    };
    for ev in replay.flatten() {
        board.apply(&ev);
    }
}

pub(crate) fn ok(name: &str, component: &str, detail: &str) -> PartReport {
    PartReport {
        name: name.into(),
        component: component.into(),
        status: PartStatus::Ok(detail.into()),
        zh: None,
    }
}

pub(crate) fn failed(name: &str, component: &str, why: &str) -> PartReport {
    PartReport {
        name: name.into(),
        component: component.into(),
        status: PartStatus::Failed(why.into()),
        zh: None,
    }
}

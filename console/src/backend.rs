//! The console's links to the show runtime — its journal, ticket desk and
//! knowledge base — all kept off the UI thread.
//!
//! - A *feed* thread follows the journal (which may read the disk) and hands
//!   events to the UI over a bounded channel, then asks egui to repaint.
//! - A *desk* thread hands what the UI asks for to the runtime
//!   ([`airbridge_runtime::Runtime::execute`]: the runtime decides, and
//!   journals), works the runtime's ticket desk (queues, detail, changes,
//!   export) and answers with [`Update`]s.
//! - A *knowledge-base* thread waits for the runtime's knowledge base and
//!   answers searches typed in the screener's search box.
//!
//! The UI thread only ever does `try_recv`/`try_send`: it never waits on
//! disk, network, a model or the runtime.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use airbridge_kb::{Entry, Hit};
pub use airbridge_runtime::backoffice::{QueueKind, TicketDetail, TicketSnapshot};
use airbridge_runtime::{Action, KbHandle, Outcome, Runtime};
use airbridge_show::StoredEvent;
use airbridge_tickets::report::{GroupBy, Report};
use airbridge_tickets::{Change, Ticket};
use chrono::{DateTime, Utc};
use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

/// What the UI asks the backend to do.
#[derive(Debug, Clone)]
pub enum Command {
    /// Something for the runtime to decide and do (a line move, a pin, a
    /// hand-off to the back office …), as this seat.
    Act { seat: String, action: Action },
    /// A back-office change to a ticket, made on the version the user saw.
    Ticket {
        seat: String,
        id: String,
        based_on: u64,
        change: Change,
    },
    /// Load a ticket with its audit trail and journal context.
    OpenTicket { id: String },
    /// Recompute the back-office queues and statistics.
    RefreshTickets,
    /// Export the last 30 days of tickets (XLSX) to `path`.
    ExportTickets { path: PathBuf },
    /// Search the knowledge base (answered on the knowledge-base thread).
    KbSearch { query: String },
    /// Open a knowledge-base entry for editing: its stored version and history.
    OpenKbEntry { id: String },
    /// The knowledge base's "needs review" queue as of `today` (YYYY-MM-DD).
    KbReview { today: String },
    /// The knowledge base changed (an edit): fetch its entries again.
    ReloadKb,
    /// Compile the 办事攻略 guide from `from` to `to` (YYYY-MM-DD, inclusive).
    BuildGuide { from: String, to: String },
    /// Ticket statistics from `from` to `to` (YYYY-MM-DD, inclusive), grouped.
    TicketReport {
        from: String,
        to: String,
        by: Option<GroupBy>,
    },
    /// Write files made by a view (a printable plan, a guide) on this PC,
    /// off the UI thread; `what` names them in the toast.
    WriteFiles {
        what: String,
        files: Vec<(PathBuf, Vec<u8>)>,
    },
}

/// Writes a view's files (folders made as needed); the paths written.
fn write_files(files: Vec<(PathBuf, Vec<u8>)>) -> Result<Vec<PathBuf>, String> {
    let mut done = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        // written whole, then named: a reader never sees half a file
        let mut part = path.clone().into_os_string();
        part.push(".part");
        let part = PathBuf::from(part);
        std::fs::write(&part, bytes)
            .and_then(|()| std::fs::rename(&part, &path))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        done.push(path);
    }
    Ok(done)
}

/// The knowledge base as the views need it.
#[derive(Debug, Clone)]
pub struct KbView {
    pub describe: String,
    pub entries: Arc<HashMap<String, Entry>>,
}

/// What the backend sends back to the UI.
#[derive(Debug, Clone)]
pub enum Update {
    Tickets(Box<TicketSnapshot>),
    Detail(Box<TicketDetail>),
    /// A change was saved; the new version.
    TicketSaved(Box<Ticket>),
    Exported {
        path: PathBuf,
        rows: usize,
    },
    KbReady(KbView),
    KbResults {
        query: String,
        hits: Vec<Hit>,
    },
    KbEntry {
        entry: Box<Entry>,
        version: u32,
        history: Vec<airbridge_kb::Version>,
    },
    KbReview(Vec<airbridge_kb::ReviewItem>),
    Guide(Box<airbridge_runtime::guides::Guide>),
    TicketReport(Box<Report>),
    /// Files a view asked for are written.
    Written {
        what: String,
        paths: Vec<PathBuf>,
    },
}

/// Entries not reviewed for this long are due for review.
pub const KB_REVIEW_DAYS: u32 = 365;

fn kb_view(kb: &airbridge_runtime::LoadedKb) -> KbView {
    let entries: HashMap<String, Entry> = kb
        .entries
        .iter()
        .map(|e| (e.id.clone(), e.clone()))
        .collect();
    KbView {
        describe: format!("知识库 {} 条 · {}", entries.len(), kb.name),
        entries: Arc::new(entries),
    }
}

/// Channels the UI holds.
#[derive(Debug)]
pub struct Backend {
    pub events: Receiver<Arc<StoredEvent>>,
    pub updates: Receiver<Update>,
    pub problems: Receiver<String>,
    commands: Sender<Command>,
    kb_queries: Sender<String>,
}

const EVENT_QUEUE: usize = 4096;
const COMMAND_QUEUE: usize = 256;
const UPDATE_QUEUE: usize = 64;

type Repaint = Arc<dyn Fn() + Send + Sync>;

impl Backend {
    pub fn start(
        runtime: &Runtime,
        clock: crate::app::Clock,
        repaint: impl Fn() + Send + Sync + 'static,
    ) -> anyhow::Result<Self> {
        let journal = runtime.journal();
        let repaint: Repaint = Arc::new(repaint);
        let (ev_tx, ev_rx) = bounded(EVENT_QUEUE);
        let (cmd_tx, cmd_rx) = bounded::<Command>(COMMAND_QUEUE);
        let (problem_tx, problem_rx) = bounded::<String>(64);
        let (update_tx, update_rx) = bounded::<Update>(UPDATE_QUEUE);
        let (kb_tx, kb_rx) = bounded::<String>(8);

        let mut sub = journal.subscribe(1)?;
        let feed_problems = problem_tx.clone();
        let feed_repaint = Arc::clone(&repaint);
        std::thread::Builder::new()
            .name("console-feed".into())
            .spawn(move || {
                loop {
                    match sub.next_blocking() {
                        Ok(ev) => {
                            if ev_tx.send(ev).is_err() {
                                break; // the UI is gone
                            }
                            feed_repaint();
                        }
                        Err(airbridge_show::JournalError::Closed) => break,
                        Err(e) => {
                            let _ = feed_problems
                                .try_send(format!("读取日志失败 / journal read failed: {e}"));
                            feed_repaint();
                            break;
                        }
                    }
                }
            })?;

        let desk_thread = DeskThread {
            runtime: runtime.clone(),
            clock,
            ui: ToUi {
                updates: update_tx.clone(),
                problems: problem_tx.clone(),
                repaint: Arc::clone(&repaint),
            },
        };
        std::thread::Builder::new()
            .name("console-desk".into())
            .spawn(move || desk_thread.run(&cmd_rx))?;

        let kb_updates = update_tx;
        let kb_problems = problem_tx;
        let kb_repaint = repaint;
        let kb = runtime.kb();
        std::thread::Builder::new()
            .name("console-kb".into())
            .spawn(move || kb_thread(&kb, &kb_rx, &kb_updates, &kb_problems, &kb_repaint))?;

        Ok(Self {
            events: ev_rx,
            updates: update_rx,
            problems: problem_rx,
            commands: cmd_tx,
            kb_queries: kb_tx,
        })
    }

    /// Queues a command without waiting. Returns a message if the queue is full.
    pub fn send(&self, cmd: Command) -> Result<(), String> {
        if let Command::KbSearch { query } = cmd {
            return match self.kb_queries.try_send(query) {
                Ok(()) => Ok(()),
                Err(TrySendError::Full(_)) => Err("知识库检索繁忙，请稍候".to_owned()),
                Err(TrySendError::Disconnected(_)) => Err("知识库不可用".to_owned()),
            };
        }
        match self.commands.try_send(cmd) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                Err("系统繁忙，请稍后重试 (command queue full)".to_owned())
            }
            Err(TrySendError::Disconnected(_)) => Err("日志已关闭 (journal closed)".to_owned()),
        }
    }
}

fn kb_thread(
    source: &KbHandle,
    queries: &Receiver<String>,
    updates: &Sender<Update>,
    problems: &Sender<String>,
    repaint: &Repaint,
) {
    // The runtime loads it (seconds for a big one); a show without one says so.
    let loaded = loop {
        if let Some(r) = source.wait(std::time::Duration::from_secs(10)) {
            break r;
        }
    };
    let kb = match loaded {
        Ok(kb) => kb,
        Err(e) if e.starts_with("no knowledge base") => return,
        Err(e) => {
            let _ = problems.try_send(format!("知识库不可用 / knowledge base unavailable: {e}"));
            repaint();
            return;
        }
    };
    if updates.send(Update::KbReady(kb_view(&kb))).is_err() {
        return;
    }
    repaint();
    for mut query in queries {
        // Typing sends a query per keystroke: answer only the latest.
        while let Ok(newer) = queries.try_recv() {
            query = newer;
        }
        // an edit publishes a new snapshot: search the latest
        let searcher = match source.try_get() {
            Some(Ok(now)) => now.searcher,
            _ => Arc::clone(&kb.searcher),
        };
        let hits = searcher.search(&query, 8);
        if updates.send(Update::KbResults { query, hits }).is_err() {
            return;
        }
        repaint();
    }
}

/// The way back to the UI: answers, problems (toasts), and a repaint.
struct ToUi {
    updates: Sender<Update>,
    problems: Sender<String>,
    repaint: Repaint,
}

impl ToUi {
    fn report(&self, msg: String) {
        let _ = self.problems.try_send(msg);
        (self.repaint)();
    }

    fn update(&self, u: Update) {
        // Snapshots are replaceable: drop one rather than block when the UI lags.
        let _ = self.updates.try_send(u);
        (self.repaint)();
    }
}

struct DeskThread {
    runtime: Runtime,
    clock: crate::app::Clock,
    ui: ToUi,
}

impl DeskThread {
    fn report(&self, msg: String) {
        self.ui.report(msg);
    }

    fn update(&self, u: Update) {
        self.ui.update(u);
    }

    fn run(mut self, commands: &Receiver<Command>) {
        for cmd in commands {
            match cmd {
                Command::Act { seat, action } => {
                    let offline = matches!(action, Action::Offline { .. });
                    match self.runtime.execute(&seat, action) {
                        Ok(Outcome::Ticket(None)) if offline => self.report(
                            "已记录转线下，但未能自动建工单（见健康状态），请后台手工建单"
                                .to_owned(),
                        ),
                        // the editor shows what was saved: version and history
                        Ok(Outcome::Kb { id, .. }) => match self.runtime.kb_entry(&id) {
                            Ok((entry, version, history)) => self.update(Update::KbEntry {
                                entry: Box::new(entry),
                                version,
                                history,
                            }),
                            Err(e) => self.report(e),
                        },
                        Ok(_) => {}
                        Err(refusal) => self.report(refusal.to_string()),
                    }
                    if offline {
                        self.refresh();
                    }
                }
                Command::Ticket {
                    seat,
                    id,
                    based_on,
                    change,
                } => {
                    let applied = self
                        .runtime
                        .with_desk(|desk| desk.apply(&id, based_on, &change, &seat));
                    let Some(applied) = applied else {
                        self.report("工单库不可用 / ticket store unavailable".to_owned());
                        continue;
                    };
                    match applied {
                        Ok(t) => {
                            self.update(Update::TicketSaved(Box::new(t)));
                            self.open(&id);
                            self.refresh();
                        }
                        Err(e) => self.report(format!("工单 {id} 未保存：{e}")),
                    }
                }
                Command::OpenTicket { id } => self.open(&id),
                Command::RefreshTickets => self.refresh(),
                Command::ExportTickets { path } => self.export(path),
                Command::KbSearch { .. } => {} // handled by the knowledge-base thread
                Command::OpenKbEntry { id } => match self.runtime.kb_entry(&id) {
                    Ok((entry, version, history)) => self.update(Update::KbEntry {
                        entry: Box::new(entry),
                        version,
                        history,
                    }),
                    Err(e) => self.report(e),
                },
                Command::KbReview { today } => {
                    let items = self.runtime.kb_review(&today, KB_REVIEW_DAYS);
                    self.update(Update::KbReview(items));
                }
                Command::ReloadKb => {
                    if let Some(Ok(kb)) = self.runtime.kb().try_get() {
                        self.update(Update::KbReady(kb_view(&kb)));
                    }
                }
                Command::BuildGuide { from, to } => match self.runtime.guide_between(&from, &to) {
                    Ok(g) => self.update(Update::Guide(Box::new(g))),
                    Err(e) => self.report(e),
                },
                Command::TicketReport { from, to, by } => {
                    let now = DateTime::from_timestamp_millis(self.clock.now_ms())
                        .unwrap_or_else(Utc::now);
                    match self.runtime.ticket_report(&from, &to, by, now) {
                        Ok(r) => self.update(Update::TicketReport(Box::new(r))),
                        Err(e) => self.report(e),
                    }
                }
                Command::WriteFiles { what, files } => match write_files(files) {
                    Ok(paths) => self.update(Update::Written { what, paths }),
                    Err(e) => self.report(format!("{what}无法写入：{e}")),
                },
            }
        }
    }

    fn refresh(&mut self) {
        let now = DateTime::from_timestamp_millis(self.clock.now_ms()).unwrap_or_else(Utc::now);
        if let Some((snapshot, problems)) = self.runtime.ticket_snapshot(now) {
            for p in problems {
                let _ = self.ui.problems.try_send(p);
            }
            self.update(Update::Tickets(Box::new(snapshot)));
        }
    }

    fn open(&mut self, id: &str) {
        match self.runtime.ticket_detail(id) {
            Some(Ok(detail)) => self.update(Update::Detail(Box::new(detail))),
            Some(Err(e)) => self.report(e),
            None => {}
        }
    }

    fn export(&mut self, path: PathBuf) {
        let now = DateTime::from_timestamp_millis(self.clock.now_ms()).unwrap_or_else(Utc::now);
        match self.runtime.export_tickets(now, &path) {
            Ok(rows) => self.update(Update::Exported { path, rows }),
            Err(e) => self.report(format!("导出失败 {}: {e}", path.display())),
        }
    }
}

impl Backend {
    /// The same channels for a seat on another PC: events come from the
    /// seat's link; commands and questions go to the runtime over it, and
    /// their answers (or refusals) come back as updates and toasts.
    pub fn remote(
        remote: Arc<crate::remote::Remote>,
        repaint: impl Fn() + Send + Sync + 'static,
    ) -> anyhow::Result<Self> {
        let repaint: Repaint = Arc::new(repaint);
        let (cmd_tx, cmd_rx) = bounded::<Command>(COMMAND_QUEUE);
        let (problem_tx, problem_rx) = bounded::<String>(64);
        let (update_tx, update_rx) = bounded::<Update>(UPDATE_QUEUE);
        let (kb_tx, kb_rx) = bounded::<String>(8);
        let events = remote.client.events.clone();
        std::thread::Builder::new()
            .name("console-remote".into())
            .spawn(move || {
                RemoteBridge {
                    remote,
                    ui: ToUi {
                        updates: update_tx,
                        problems: problem_tx,
                        repaint,
                    },
                    asked: HashMap::new(),
                }
                .run(&cmd_rx, &kb_rx);
            })?;
        Ok(Self {
            events,
            updates: update_rx,
            problems: problem_rx,
            commands: cmd_tx,
            kb_queries: kb_tx,
        })
    }
}

/// What a question in flight was for.
#[derive(Debug)]
enum Asked {
    Act { offline: bool },
    Kb,
    KbSearch,
    Tickets,
    Ticket,
    Change { id: String },
    Export { path: PathBuf },
    KbEntry,
    KbReview,
    Guide,
    TicketReport,
}

struct RemoteBridge {
    remote: Arc<crate::remote::Remote>,
    ui: ToUi,
    asked: HashMap<u64, Asked>,
}

impl RemoteBridge {
    fn report(&self, msg: String) {
        self.ui.report(msg);
    }

    fn update(&self, u: Update) {
        self.ui.update(u);
    }

    fn ask(&mut self, ask: airbridge_hub::protocol::Ask, what: Asked) {
        match self.remote.client.ask(ask) {
            Ok(id) => {
                self.asked.insert(id, what);
            }
            Err(why) if matches!(what, Asked::Kb) => {
                tracing::debug!("knowledge base not asked yet: {why}");
            }
            Err(why) => self.report(why),
        }
    }

    #[allow(clippy::disallowed_methods)] // its own thread
    fn run(mut self, commands: &Receiver<Command>, kb_queries: &Receiver<String>) {
        use airbridge_hub::Reply;
        use airbridge_hub::protocol::{Answer, Ask};
        let replies = self.remote.client.replies.clone();
        let mut kb_ready = false;
        let mut kb_asked: Option<std::time::Instant> = None;
        loop {
            if !kb_ready && kb_asked.is_none_or(|t| t.elapsed() > std::time::Duration::from_secs(3))
            {
                kb_asked = Some(std::time::Instant::now());
                self.ask(Ask::Kb, Asked::Kb);
            }
            crossbeam_channel::select! {
                recv(commands) -> cmd => {
                    let Ok(cmd) = cmd else { return };
                    match cmd {
                        Command::Act { action, .. } => {
                            let offline = matches!(action, Action::Offline { .. });
                            match self.remote.client.act(action) {
                                Ok(id) => {
                                    self.asked.insert(id, Asked::Act { offline });
                                }
                                Err(why) => self.report(why),
                            }
                        }
                        Command::Ticket { id, based_on, change, .. } => self.ask(
                            Ask::TicketChange { id: id.clone(), based_on, change },
                            Asked::Change { id },
                        ),
                        Command::OpenTicket { id } => self.ask(Ask::Ticket { id }, Asked::Ticket),
                        Command::RefreshTickets => self.ask(Ask::Tickets, Asked::Tickets),
                        Command::ExportTickets { path } => {
                            self.ask(Ask::ExportTickets, Asked::Export { path });
                        }
                        Command::KbSearch { query } => {
                            self.ask(Ask::KbSearch { query }, Asked::KbSearch);
                        }
                        Command::OpenKbEntry { id } => self.ask(Ask::KbEntry { id }, Asked::KbEntry),
                        Command::KbReview { today } => {
                            self.ask(Ask::KbReview { today }, Asked::KbReview);
                        }
                        Command::ReloadKb => self.ask(Ask::Kb, Asked::Kb),
                        Command::BuildGuide { from, to } => {
                            self.ask(Ask::Guide { from, to }, Asked::Guide);
                        }
                        Command::TicketReport { from, to, by } => {
                            self.ask(Ask::TicketReport { from, to, by }, Asked::TicketReport);
                        }
                        Command::WriteFiles { what, files } => match write_files(files) {
                            Ok(paths) => self.update(Update::Written { what, paths }),
                            Err(e) => self.report(format!("{what}无法写入：{e}")),
                        },
                    }
                }
                recv(kb_queries) -> q => {
                    let Ok(mut query) = q else { return };
                    while let Ok(newer) = kb_queries.try_recv() {
                        query = newer;
                    }
                    self.ask(Ask::KbSearch { query }, Asked::KbSearch);
                }
                recv(replies) -> r => {
                    let Ok(reply) = r else { return };
                    let Some(what) = self.asked.remove(&reply.id()) else { continue };
                    match (what, reply) {
                        (Asked::Act { offline }, Reply::Done { result, .. }) => match result {
                            Ok(Outcome::Ticket(None)) if offline => self.report(
                                "已记录转线下，但未能自动建工单（见健康状态），请后台手工建单".to_owned(),
                            ),
                            Ok(Outcome::Kb { id, .. }) => self.ask(Ask::KbEntry { id }, Asked::KbEntry),
                            Ok(_) => {}
                            Err(why) => self.report(why),
                        },
                        (what, Reply::Answer { result, .. }) => match (what, result) {
                            (Asked::Kb, Ok(Answer::Kb { describe, entries })) => {
                                kb_ready = true;
                                let entries: HashMap<String, Entry> =
                                    entries.into_iter().map(|e| (e.id.clone(), e)).collect();
                                self.update(Update::KbReady(KbView {
                                    describe,
                                    entries: Arc::new(entries),
                                }));
                            }
                            (Asked::Kb, Err(why)) => {
                                tracing::debug!("knowledge base: {why}");
                                if !why.contains("加载") {
                                    kb_ready = true; // none, or not for this role
                                }
                            }
                            (Asked::KbSearch, Ok(Answer::KbHits { query, hits })) => {
                                self.update(Update::KbResults { query, hits });
                            }
                            (Asked::KbEntry, Ok(Answer::KbEntry { entry, version, history })) => {
                                self.update(Update::KbEntry { entry, version, history });
                            }
                            (Asked::KbReview, Ok(Answer::KbReview(items))) => {
                                self.update(Update::KbReview(items));
                            }
                            (Asked::Guide, Ok(Answer::Guide(g))) => self.update(Update::Guide(g)),
                            (Asked::TicketReport, Ok(Answer::TicketReport(r))) => {
                                self.update(Update::TicketReport(r));
                            }
                            (Asked::Tickets, Ok(Answer::Tickets(s))) => self.update(Update::Tickets(s)),
                            (Asked::Ticket, Ok(Answer::Ticket(d))) => self.update(Update::Detail(d)),
                            (Asked::Change { id }, Ok(Answer::TicketSaved(t))) => {
                                self.update(Update::TicketSaved(t));
                                self.ask(Ask::Ticket { id }, Asked::Ticket);
                                self.ask(Ask::Tickets, Asked::Tickets);
                            }
                            (Asked::Export { path }, Ok(Answer::Exported { rows, xlsx })) => {
                                use base64::Engine as _;
                                let written = base64::engine::general_purpose::STANDARD
                                    .decode(xlsx)
                                    .map_err(|e| e.to_string())
                                    .and_then(|b| std::fs::write(&path, b).map_err(|e| e.to_string()));
                                match written {
                                    Ok(()) => self.update(Update::Exported { path, rows }),
                                    Err(e) => self.report(format!("导出失败 {}: {e}", path.display())),
                                }
                            }
                            (_, Err(why)) => self.report(why),
                            (what, Ok(_)) => tracing::warn!("unexpected answer to {what:?}"),
                        },
                        (what, reply) => tracing::warn!("unexpected reply to {what:?}: {reply:?}"),
                    }
                }
                default(std::time::Duration::from_secs(1)) => {}
            }
        }
    }
}

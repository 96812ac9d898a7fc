//! The journal: one writer thread doing group commits, bounded queues in
//! and out, and subscriptions that never miss an event.
//!
//! Guarantees:
//! - **Acknowledged = durable.** [`Journal::append`] (and [`Ack::wait`]) return
//!   only after the store committed the batch (SQLite WAL, `synchronous=FULL`).
//! - **Gapless order.** Sequence numbers are 1, 2, 3 … in commit order; a batch
//!   is atomic, so after a crash no partial batch is visible.
//! - **Backpressure.** The append queue is bounded: producers wait when the
//!   writer is behind. Subscriber channels are bounded too; a subscriber that
//!   falls behind is detached and transparently catches up from the store, so
//!   a slow view can never stall the writer, and never misses an event.

use std::collections::VecDeque;
use std::ops::RangeInclusive;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError, bounded};

use crate::error::JournalError;
use crate::event::{ShowEvent, StoredEvent};
use crate::store::{Backend, RawRecord, SqliteBackend, StoreReader, StoreWriter};

/// Tuning knobs; the defaults suit a show.
#[derive(Debug, Clone, Copy)]
pub struct JournalOptions {
    /// Pending append requests before producers wait.
    pub queue_capacity: usize,
    /// Most events committed in one transaction.
    pub max_batch: usize,
    /// Events buffered per subscriber before it is switched to catch-up reads.
    pub subscriber_capacity: usize,
    /// Where commit times come from (ms since the epoch). The wall clock,
    /// except in tests and replays that need reproducible times.
    pub clock: fn() -> i64,
}

impl Default for JournalOptions {
    fn default() -> Self {
        Self {
            queue_capacity: 1024,
            max_batch: 8192,
            subscriber_capacity: 4096,
            clock: now_ms,
        }
    }
}

/// A function a subscriber wants called when new events are waiting
/// (e.g. egui's `request_repaint`). Called on the writer thread: keep it cheap.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

struct SubEntry {
    tx: Sender<Arc<StoredEvent>>,
    waker: Option<Waker>,
}

struct Shared {
    backend: Arc<dyn Backend>,
    subscribers: Mutex<Vec<SubEntry>>,
    last_seq: AtomicU64,
    closed: AtomicBool,
    options: JournalOptions,
}

struct Request {
    seat: String,
    events: Vec<(ShowEvent, String)>,
    reply: Sender<Result<RangeInclusive<u64>, JournalError>>,
}

struct Inner {
    shared: Arc<Shared>,
    tx: Option<Sender<Request>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.tx.take(); // the writer drains what is queued, then exits
        let handle = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(h) = handle
            && h.join().is_err()
        {
            tracing::error!("journal writer thread panicked");
        }
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// A handle on a show journal. Cloning is cheap; the writer stops when the
/// last clone is dropped, after committing everything already queued.
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("store", &self.inner.shared.backend.describe())
            .field("last_seq", &self.last_seq())
            .finish()
    }
}

/// A pending append; [`Ack::wait`] returns once it is durable.
#[derive(Debug)]
#[must_use = "an append is acknowledged only by waiting on its Ack"]
pub struct Ack {
    rx: Receiver<Result<RangeInclusive<u64>, JournalError>>,
}

impl Ack {
    /// Blocks until the events are durable; returns their sequence numbers.
    pub fn wait(self) -> Result<RangeInclusive<u64>, JournalError> {
        self.rx.recv().unwrap_or(Err(JournalError::Closed))
    }
}

impl Journal {
    /// Opens (or creates) a journal file with default options.
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        Self::open_with(path, JournalOptions::default())
    }

    pub fn open_with(path: &Path, options: JournalOptions) -> Result<Self, JournalError> {
        let backend = SqliteBackend::open(path)?;
        Self::with_backend(Arc::new(backend), options)
    }

    /// Starts a journal over any backend (SQLite today; PostgreSQL later).
    pub fn with_backend(
        backend: Arc<dyn Backend>,
        options: JournalOptions,
    ) -> Result<Self, JournalError> {
        let mut store = backend.open_writer()?;
        let last = store.last_seq()?;
        let shared = Arc::new(Shared {
            backend,
            subscribers: Mutex::new(Vec::new()),
            last_seq: AtomicU64::new(last),
            closed: AtomicBool::new(false),
            options,
        });
        let (tx, rx) = bounded::<Request>(options.queue_capacity.max(1));
        let writer_shared = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("journal-writer".into())
            .spawn(move || writer_loop(&writer_shared, store.as_mut(), &rx, last + 1))
            .map_err(|e| JournalError::Storage {
                path: std::path::PathBuf::new(),
                op: "start writer thread",
                detail: e.to_string(),
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                shared,
                tx: Some(tx),
                writer: Mutex::new(Some(handle)),
            }),
        })
    }

    /// Where the journal is stored, for messages.
    pub fn describe(&self) -> String {
        self.inner.shared.backend.describe()
    }

    /// The highest acknowledged sequence number (0 for an empty journal).
    pub fn last_seq(&self) -> u64 {
        self.inner.shared.last_seq.load(Ordering::SeqCst)
    }

    /// Queues events as one atomic batch; waits only if the queue is full.
    pub fn submit(&self, seat: &str, events: Vec<ShowEvent>) -> Result<Ack, JournalError> {
        let encoded = events
            .into_iter()
            .map(|ev| serde_json::to_string(&ev).map(|json| (ev, json)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| JournalError::Encode(e.to_string()))?;
        let (reply, rx) = bounded(1);
        let tx = self.inner.tx.as_ref().ok_or(JournalError::Closed)?;
        tx.send(Request {
            seat: seat.to_owned(),
            events: encoded,
            reply,
        })
        .map_err(|_| JournalError::Closed)?;
        Ok(Ack { rx })
    }

    /// Appends one event and waits until it is durable.
    pub fn append(&self, seat: &str, event: ShowEvent) -> Result<u64, JournalError> {
        self.submit(seat, vec![event])?.wait().map(|r| *r.start())
    }

    /// Appends events atomically (all or none) and waits until durable.
    pub fn append_all(
        &self,
        seat: &str,
        events: Vec<ShowEvent>,
    ) -> Result<RangeInclusive<u64>, JournalError> {
        self.submit(seat, events)?.wait()
    }

    /// Live events from `from_seq` on: first those already stored, then new
    /// ones as they are committed. Never skips or repeats an event.
    pub fn subscribe(&self, from_seq: u64) -> Result<Subscription, JournalError> {
        self.subscribe_with_waker(from_seq, None)
    }

    pub fn subscribe_with_waker(
        &self,
        from_seq: u64,
        waker: Option<Waker>,
    ) -> Result<Subscription, JournalError> {
        let shared = Arc::clone(&self.inner.shared);
        let reader = shared.backend.open_reader()?;
        let rx = register(&shared, waker.clone());
        Ok(Subscription {
            shared,
            next: from_seq.max(1),
            rx,
            reader,
            backlog: VecDeque::new(),
            catching_up: true,
            waker,
        })
    }

    /// Stored events from `from_seq` on, in order, read in pages.
    pub fn replay(&self, from_seq: u64) -> Result<Replay, JournalError> {
        Ok(Replay {
            reader: self.inner.shared.backend.open_reader()?,
            next: from_seq.max(1),
            page: VecDeque::new(),
            failed: false,
        })
    }

    /// Rebuilds a projection from the whole journal; returns the last sequence applied.
    pub fn rebuild<P: crate::Projection + ?Sized>(
        &self,
        projection: &mut P,
    ) -> Result<u64, JournalError> {
        let mut last = 0;
        for ev in self.replay(1)? {
            let ev = ev?;
            last = ev.seq;
            projection.apply(&ev);
        }
        Ok(last)
    }
}

fn register(shared: &Shared, waker: Option<Waker>) -> Receiver<Arc<StoredEvent>> {
    let (tx, rx) = bounded(shared.options.subscriber_capacity.max(1));
    shared
        .subscribers
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(SubEntry { tx, waker });
    rx
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn writer_loop(
    shared: &Shared,
    store: &mut dyn StoreWriter,
    rx: &Receiver<Request>,
    mut next: u64,
) {
    let max_batch = shared.options.max_batch.max(1);
    while let Ok(first) = rx.recv() {
        let mut count = first.events.len();
        let mut requests = vec![first];
        while count < max_batch {
            match rx.try_recv() {
                Ok(r) => {
                    count += r.events.len();
                    requests.push(r);
                }
                Err(_) => break,
            }
        }
        let at_ms = (shared.options.clock)();
        let mut records = Vec::with_capacity(count);
        let mut seq = next;
        for r in &requests {
            for (ev, payload) in &r.events {
                records.push(RawRecord {
                    seq,
                    at_ms,
                    seat: r.seat.clone(),
                    kind: ev.kind().to_owned(),
                    payload: payload.clone(),
                });
                seq += 1;
            }
        }
        if records.is_empty() {
            for r in requests {
                // An empty batch is trivially durable; it occupies no numbers.
                let _ = r.reply.send(Ok(next..=next.saturating_sub(1)));
            }
            continue;
        }
        match store.append(&records) {
            Ok(()) => {
                shared.last_seq.store(seq - 1, Ordering::SeqCst);
                let mut s = next;
                let mut stored = Vec::with_capacity(count);
                for r in requests {
                    let first = s;
                    for (ev, _) in r.events {
                        stored.push(Arc::new(StoredEvent {
                            seq: s,
                            at_ms,
                            seat: r.seat.clone(),
                            event: ev,
                        }));
                        s += 1;
                    }
                    let _ = r.reply.send(Ok(first..=s - 1));
                }
                next = seq;
                notify(shared, &stored);
            }
            Err(e) => {
                tracing::error!(error = %e, events = count, "journal append failed; nothing of this batch is stored");
                for r in requests {
                    let _ = r.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

fn notify(shared: &Shared, events: &[Arc<StoredEvent>]) {
    let mut subs = shared
        .subscribers
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    subs.retain(|sub| {
        for ev in events {
            if sub.tx.try_send(Arc::clone(ev)).is_err() {
                // Full: the subscriber is behind; dropping the sender makes it
                // catch up from the store. Disconnected: it is gone.
                if let Some(w) = &sub.waker {
                    w();
                }
                return false;
            }
        }
        if let Some(w) = &sub.waker {
            w();
        }
        true
    });
}

fn decode(raw: RawRecord) -> Result<StoredEvent, JournalError> {
    let event: ShowEvent =
        serde_json::from_str(&raw.payload).map_err(|e| JournalError::Decode {
            seq: raw.seq,
            kind: raw.kind.clone(),
            detail: e.to_string(),
        })?;
    Ok(StoredEvent {
        seq: raw.seq,
        at_ms: raw.at_ms,
        seat: raw.seat,
        event,
    })
}

/// Live events in order, without gaps or repeats (see [`Journal::subscribe`]).
pub struct Subscription {
    shared: Arc<Shared>,
    next: u64,
    rx: Receiver<Arc<StoredEvent>>,
    reader: Box<dyn StoreReader>,
    backlog: VecDeque<Arc<StoredEvent>>,
    catching_up: bool,
    waker: Option<Waker>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("next", &self.next)
            .field("catching_up", &self.catching_up)
            .finish()
    }
}

#[derive(Clone, Copy)]
enum Wait {
    No,
    For(Duration),
    Forever,
}

const CATCH_UP_PAGE: usize = 2048;

impl Subscription {
    /// The next sequence number this subscription will deliver.
    pub fn next_seq(&self) -> u64 {
        self.next
    }

    /// The next event if one is ready, without waiting.
    pub fn try_next(&mut self) -> Result<Option<Arc<StoredEvent>>, JournalError> {
        self.next_event(Wait::No)
    }

    /// Waits up to `timeout` for the next event.
    pub fn next_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<Arc<StoredEvent>>, JournalError> {
        self.next_event(Wait::For(timeout))
    }

    /// Waits for the next event; `Err(Closed)` once the journal is closed and drained.
    pub fn next_blocking(&mut self) -> Result<Arc<StoredEvent>, JournalError> {
        loop {
            if let Some(ev) = self.next_event(Wait::Forever)? {
                return Ok(ev);
            }
        }
    }

    fn next_event(&mut self, wait: Wait) -> Result<Option<Arc<StoredEvent>>, JournalError> {
        loop {
            if let Some(ev) = self.backlog.pop_front() {
                if ev.seq < self.next {
                    continue;
                }
                self.next = ev.seq + 1;
                return Ok(Some(ev));
            }
            if self.catching_up {
                let page = self.reader.read_page(self.next, CATCH_UP_PAGE)?;
                if page.is_empty() {
                    self.catching_up = false;
                } else {
                    for raw in page {
                        self.backlog.push_back(Arc::new(decode(raw)?));
                    }
                    continue;
                }
            }
            let got = match wait {
                Wait::No => self.rx.try_recv().map_err(|e| match e {
                    TryRecvError::Empty => None,
                    TryRecvError::Disconnected => Some(()),
                }),
                Wait::For(t) => self.rx.recv_timeout(t).map_err(|e| match e {
                    RecvTimeoutError::Timeout => None,
                    RecvTimeoutError::Disconnected => Some(()),
                }),
                Wait::Forever => self.rx.recv().map_err(|_| Some(())),
            };
            match got {
                Ok(ev) if ev.seq < self.next => continue,
                Ok(ev) if ev.seq == self.next => {
                    self.next += 1;
                    return Ok(Some(ev));
                }
                // A gap: only after a detach; the store has the missing events.
                Ok(_) => self.catching_up = true,
                Err(None) => return Ok(None),
                Err(Some(())) => {
                    // Detached (fell behind) or the journal closed.
                    let page = self.reader.read_page(self.next, CATCH_UP_PAGE)?;
                    let closed = self.shared.closed.load(Ordering::SeqCst);
                    if page.is_empty() && closed {
                        return Err(JournalError::Closed);
                    }
                    for raw in page {
                        self.backlog.push_back(Arc::new(decode(raw)?));
                    }
                    if !closed {
                        self.rx = register(&self.shared, self.waker.clone());
                        self.catching_up = true;
                    }
                }
            }
        }
    }
}

/// Stored events in order; see [`Journal::replay`].
pub struct Replay {
    reader: Box<dyn StoreReader>,
    next: u64,
    page: VecDeque<RawRecord>,
    failed: bool,
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay").field("next", &self.next).finish()
    }
}

const REPLAY_PAGE: usize = 8192;

impl Iterator for Replay {
    type Item = Result<StoredEvent, JournalError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.page.is_empty() {
            match self.reader.read_page(self.next, REPLAY_PAGE) {
                Ok(page) => self.page = page.into(),
                Err(e) => {
                    self.failed = true; // report once, then stop
                    return Some(Err(e));
                }
            }
        }
        let raw = self.page.pop_front()?;
        self.next = raw.seq + 1;
        Some(decode(raw))
    }
}

/// Read-only access to a journal file that another program (or this one)
/// may be writing: replay, and following new events as they are committed.
/// It never takes the writer's lock and never creates a file.
pub struct JournalReader {
    backend: Arc<SqliteBackend>,
}

impl std::fmt::Debug for JournalReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalReader")
            .field("store", &self.backend.describe())
            .finish()
    }
}

/// How often a [`Follow`] looks for events another process committed.
const FOLLOW_POLL: Duration = Duration::from_millis(100);

impl JournalReader {
    /// Opens an existing journal file; an error names the file and the reason.
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        Ok(Self {
            backend: Arc::new(SqliteBackend::open_existing(path)?),
        })
    }

    pub fn describe(&self) -> String {
        self.backend.describe()
    }

    /// The storage backend (for integrity checks).
    pub fn backend(&self) -> &SqliteBackend {
        &self.backend
    }

    /// The highest committed sequence number.
    pub fn last_seq(&self) -> Result<u64, JournalError> {
        self.backend.open_reader()?.last_seq()
    }

    /// Stored events from `from_seq` on, in order.
    pub fn replay(&self, from_seq: u64) -> Result<Replay, JournalError> {
        Ok(Replay {
            reader: self.backend.open_reader()?,
            next: from_seq.max(1),
            page: VecDeque::new(),
            failed: false,
        })
    }

    /// Events from `from_seq` on, then new ones as any process commits them.
    pub fn follow(&self, from_seq: u64) -> Result<Follow, JournalError> {
        Ok(Follow {
            reader: self.backend.open_reader()?,
            next: from_seq.max(1),
            page: VecDeque::new(),
        })
    }
}

/// Events of a journal as they are committed, by whichever process writes
/// it (see [`JournalReader::follow`]): polls the file, so it works across
/// processes; never skips or repeats an event.
pub struct Follow {
    reader: Box<dyn StoreReader>,
    next: u64,
    page: VecDeque<RawRecord>,
}

impl std::fmt::Debug for Follow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follow").field("next", &self.next).finish()
    }
}

impl Follow {
    /// The next sequence number this follower will deliver.
    pub fn next_seq(&self) -> u64 {
        self.next
    }

    /// The next event, waiting up to `timeout` for one to be committed.
    #[allow(clippy::disallowed_methods)] // polling a file another process writes
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<StoredEvent>, JournalError> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(raw) = self.page.pop_front() {
                self.next = raw.seq + 1;
                return decode(raw).map(Some);
            }
            let page = self.reader.read_page(self.next, CATCH_UP_PAGE)?;
            if !page.is_empty() {
                self.page = page.into();
                continue;
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            std::thread::sleep(FOLLOW_POLL.min(deadline - now));
        }
    }
}

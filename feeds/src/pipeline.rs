//! Ingest → dedupe → triage → journal, on one dedicated thread.
//!
//! Receivers (HTTP handlers, WebSocket clients, the replay) push
//! [`Inbound`] messages into a bounded channel; the pipeline thread takes
//! them in batches, drops duplicates (bounded in-memory window plus the raw
//! store's primary key), triages, stores the raw text in the back-office
//! store and appends one `ShowEvent::AudienceMessage` per accepted message
//! in one journal batch. A sender that passed a `done` channel learns the
//! outcome once the journal has made the message durable.

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use airbridge_show::{Journal, MessageKind, ShowEvent};
use tokio::sync::{mpsc, oneshot};

use crate::error::FeedsError;
use crate::model::AudienceMessage;
use crate::store::RawStore;
use crate::triage::{Triage, TriageConfig};

/// What happened to one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Journaled (durable).
    Accepted,
    /// Seen before (same source + id): ignored.
    Duplicate,
    /// Spam: kept in the back-office store only.
    Spam,
    /// The journal or store failed; the sender may retry.
    Failed,
}

/// One message on its way in.
#[derive(Debug)]
pub struct Inbound {
    pub msg: AudienceMessage,
    /// When the bytes arrived (for socket → journal latency).
    pub received: Instant,
    pub done: Option<oneshot::Sender<Outcome>>,
}

impl Inbound {
    pub fn new(msg: AudienceMessage) -> Self {
        Self {
            msg,
            received: Instant::now(),
            done: None,
        }
    }
}

/// Pipeline settings.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub triage: TriageConfig,
    /// Back-office store of raw text; `None` keeps no raw copy (tests, benches).
    pub raw_store: Option<PathBuf>,
    /// Recent (source, id) keys remembered in memory for dedupe.
    pub dedupe_window: usize,
    /// Channel capacity (messages waiting for the pipeline thread).
    pub queue: usize,
    /// Most messages journaled in one batch.
    pub max_batch: usize,
    /// Journal seat written on events.
    pub seat: String,
    /// First cluster id (see [`Triage::with_first_cluster_id`]).
    pub first_cluster_id: u64,
    /// Source modes and the block list (shared with the runtime).
    pub moderation: std::sync::Arc<crate::moderation::Moderation>,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            triage: TriageConfig::default(),
            raw_store: None,
            dedupe_window: 200_000,
            queue: 8192,
            max_batch: 2048,
            seat: "feeds".into(),
            first_cluster_id: 1,
            moderation: std::sync::Arc::default(),
        }
    }
}

/// Counters (lock-free; read any time).
#[derive(Debug, Default)]
pub struct Stats {
    pub received: AtomicU64,
    pub accepted: AtomicU64,
    pub duplicates: AtomicU64,
    pub spam: AtomicU64,
    pub questions: AtomicU64,
    pub failed: AtomicU64,
    pub masked: AtomicU64,
    latency: LatencyHistogram,
}

impl Stats {
    /// Socket → journal latency percentile in microseconds (bucket upper bound).
    pub fn latency_percentile_us(&self, p: f64) -> u64 {
        self.latency.percentile(p)
    }
}

/// Log-spaced latency buckets (µs): bounded memory for any number of samples.
#[derive(Debug)]
struct LatencyHistogram {
    buckets: Vec<AtomicU64>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self {
            buckets: (0..64).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl LatencyHistogram {
    fn bucket_of(us: u64) -> usize {
        // 4 buckets per power of two
        if us < 4 {
            return us as usize;
        }
        let log = 63 - u64::from(us.leading_zeros());
        let frac = (us >> (log - 2)) & 3;
        ((log - 1) * 4 + frac) as usize
    }

    fn upper(bucket: usize) -> u64 {
        if bucket < 4 {
            return bucket as u64;
        }
        let log = bucket as u64 / 4 + 1;
        let frac = bucket as u64 % 4;
        ((4 + frac + 1) << (log - 2)).saturating_sub(1)
    }

    fn record(&self, us: u64) {
        let b = Self::bucket_of(us).min(self.buckets.len() - 1);
        self.buckets[b].fetch_add(1, Ordering::Relaxed);
    }

    fn percentile(&self, p: f64) -> u64 {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0;
        }
        let target = ((total as f64) * p).ceil() as u64;
        let mut acc = 0;
        for (i, c) in counts.iter().enumerate() {
            acc += c;
            if acc >= target {
                return Self::upper(i);
            }
        }
        Self::upper(counts.len() - 1)
    }
}

/// A running pipeline; dropping the last sender stops it after draining.
#[derive(Debug)]
pub struct Pipeline {
    tx: mpsc::Sender<Inbound>,
    stats: Arc<Stats>,
    thread: Option<JoinHandle<()>>,
}

impl Pipeline {
    /// Starts the pipeline thread.
    pub fn start(config: PipelineConfig, journal: Journal) -> Result<Self, FeedsError> {
        let store = match &config.raw_store {
            Some(p) => Some(RawStore::open(p)?),
            None => None,
        };
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let stats = Arc::new(Stats::default());
        let st = Arc::clone(&stats);
        let thread = std::thread::Builder::new()
            .name("feeds-pipeline".into())
            .spawn(move || run(config, journal, store, rx, &st))?;
        Ok(Self {
            tx,
            stats,
            thread: Some(thread),
        })
    }

    /// A sender for receivers (clone freely).
    pub fn sender(&self) -> mpsc::Sender<Inbound> {
        self.tx.clone()
    }

    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.stats)
    }

    /// Stops accepting, drains what is queued, waits for the thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        // replace our sender with a closed one so the thread sees the end
        let (closed, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.tx, closed));
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("feeds pipeline thread panicked");
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Dedupe {
    set: HashSet<(String, String)>,
    order: VecDeque<(String, String)>,
    cap: usize,
}

impl Dedupe {
    fn insert(&mut self, key: (String, String)) -> bool {
        if self.set.contains(&key) {
            return false;
        }
        if self.order.len() >= self.cap
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        self.order.push_back(key.clone());
        self.set.insert(key);
        true
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn run(
    config: PipelineConfig,
    journal: Journal,
    mut store: Option<RawStore>,
    mut rx: mpsc::Receiver<Inbound>,
    stats: &Stats,
) {
    let mut triage = Triage::with_first_cluster_id(config.triage.clone(), config.first_cluster_id);
    let mut dedupe = Dedupe {
        set: HashSet::new(),
        order: VecDeque::new(),
        cap: config.dedupe_window.max(1),
    };
    let max_batch = config.max_batch.max(1);
    if let Some(s) = store.as_mut() {
        recover(&config, &journal, s, &mut triage, &mut dedupe, stats);
    }
    let mut batch: Vec<Inbound> = Vec::with_capacity(max_batch);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        stats
            .received
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        process_batch(
            &config,
            &journal,
            store.as_mut(),
            &mut triage,
            &mut dedupe,
            &mut batch,
            stats,
        );
        batch.clear();
    }
}

/// After a crash between the raw-store commit and the journal commit:
/// pending rows the journal already holds are confirmed, the others are
/// journaled now. Runs before the pipeline takes new messages.
fn recover(
    config: &PipelineConfig,
    journal: &Journal,
    store: &mut RawStore,
    triage: &mut Triage,
    dedupe: &mut Dedupe,
    stats: &Stats,
) {
    let pending = match store.pending() {
        Ok(p) if p.is_empty() => return,
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "feeds raw store: cannot read pending messages");
            return;
        }
    };
    let wanted: HashSet<String> = pending.iter().map(|r| r.message.journal_id()).collect();
    let mut found = HashSet::new();
    match journal.replay(1) {
        Ok(events) => {
            for ev in events {
                match ev {
                    Ok(ev) => {
                        if let ShowEvent::AudienceMessage { id, .. } = &ev.event
                            && wanted.contains(id)
                        {
                            found.insert(id.clone());
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "feeds recovery: cannot read the journal");
                        return;
                    }
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "feeds recovery: cannot read the journal");
            return;
        }
    }
    let (already, missing): (Vec<_>, Vec<_>) = pending
        .into_iter()
        .partition(|r| found.contains(&r.message.journal_id()));
    let keys: Vec<(&str, &str)> = already
        .iter()
        .map(|r| (r.message.source.as_str(), r.message.id.as_str()))
        .collect();
    if let Err(e) = store.confirm(&keys) {
        tracing::error!(error = %e, "feeds recovery: cannot confirm journaled messages");
    }
    tracing::info!(
        journaled_now = missing.len(),
        already_in_journal = already.len(),
        "feeds: recovered raw messages left pending by an interrupted run"
    );
    for chunk in missing.chunks(config.max_batch.max(1)) {
        let mut batch: Vec<Inbound> = chunk
            .iter()
            .map(|r| Inbound::new(r.message.clone()))
            .collect();
        stats
            .received
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        process_batch(
            config,
            journal,
            Some(store),
            triage,
            dedupe,
            &mut batch,
            stats,
        );
    }
}

fn process_batch(
    config: &PipelineConfig,
    journal: &Journal,
    store: Option<&mut RawStore>,
    triage: &mut Triage,
    dedupe: &mut Dedupe,
    batch: &mut [Inbound],
    stats: &Stats,
) {
    // 1. in-memory dedupe (also within the batch)
    let mut outcomes: Vec<Option<Outcome>> = batch
        .iter()
        .map(|m| {
            if dedupe.insert((m.msg.source.clone(), m.msg.id.clone())) {
                None
            } else {
                Some(Outcome::Duplicate)
            }
        })
        .collect();
    // 2. triage the fresh ones
    let mut verdicts = Vec::with_capacity(batch.len());
    for (m, o) in batch.iter().zip(&outcomes) {
        verdicts.push(if o.is_none() {
            Some(triage.triage(&m.msg))
        } else {
            None
        });
    }
    // 3. durable dedupe + raw copy for the back office
    let mut store = store;
    if let Some(store) = store.as_deref_mut() {
        let idx: Vec<usize> = (0..batch.len())
            .filter(|&i| outcomes[i].is_none())
            .collect();
        let rows: Vec<(&AudienceMessage, bool)> = idx
            .iter()
            .map(|&i| (&batch[i].msg, verdicts[i].as_ref().is_some_and(|v| v.spam)))
            .collect();
        match store.insert_batch(&rows, now_ms()) {
            Ok(fresh) => {
                for (k, &i) in idx.iter().enumerate() {
                    if !fresh.get(k).copied().unwrap_or(false) {
                        outcomes[i] = Some(Outcome::Duplicate);
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "feeds raw store failed");
                for &i in &idx {
                    outcomes[i] = Some(Outcome::Failed);
                }
            }
        }
    }
    // 4. journal
    let mut events = Vec::new();
    let mut journaled = Vec::new();
    for (i, v) in verdicts.iter().enumerate() {
        if outcomes[i].is_some() {
            continue;
        }
        let Some(v) = v else { continue };
        if v.spam {
            outcomes[i] = Some(Outcome::Spam);
            continue;
        }
        if v.mask.any() {
            stats.masked.fetch_add(1, Ordering::Relaxed);
        }
        if v.kind == MessageKind::Question {
            stats.questions.fetch_add(1, Ordering::Relaxed);
        }
        let m = &batch[i].msg;
        let (moderation, author_key) = config.moderation.decide(m);
        events.push(ShowEvent::AudienceMessage {
            source: m.source.clone(),
            id: m.journal_id(),
            kind: v.kind,
            author: v.author.clone(),
            text: v.text.clone(),
            // test data never joins (or starts) a cluster of real questions
            // test data, rejected and blocked messages join no cluster
            cluster: if m.test
                || matches!(
                    moderation,
                    airbridge_show::Moderation::Rejected | airbridge_show::Moderation::Blocked
                ) {
                None
            } else {
                v.cluster
            },
            test: m.test,
            moderation,
            author_key,
        });
        journaled.push(i);
    }
    if !events.is_empty() {
        let result = journal
            .submit(&config.seat, events)
            .and_then(|ack| ack.wait());
        let ok = match result {
            Ok(_) => true,
            Err(e) => {
                tracing::error!(error = %e, "feeds journal append failed");
                false
            }
        };
        if let Some(store) = store {
            let keys: Vec<(&str, &str)> = journaled
                .iter()
                .map(|&i| (batch[i].msg.source.as_str(), batch[i].msg.id.as_str()))
                .collect();
            if ok {
                // Still pending if this fails: recovery confirms it at start.
                if let Err(e) = store.confirm(&keys) {
                    tracing::error!(error = %e, "feeds raw store confirm failed");
                }
            } else if let Err(e) = store.delete(&keys) {
                tracing::error!(error = %e, "feeds raw store cleanup failed");
            }
        }
        let now = Instant::now();
        for &i in &journaled {
            outcomes[i] = Some(if ok {
                Outcome::Accepted
            } else {
                Outcome::Failed
            });
            if ok {
                let us = now.duration_since(batch[i].received).as_micros() as u64;
                stats.latency.record(us);
            }
        }
    }
    // 5. report; a failed message is forgotten by dedupe so a retry gets in
    for (m, o) in batch.iter_mut().zip(outcomes) {
        let o = o.unwrap_or(Outcome::Failed);
        if o == Outcome::Failed {
            dedupe.set.remove(&(m.msg.source.clone(), m.msg.id.clone()));
        }
        let counter = match o {
            Outcome::Accepted => &stats.accepted,
            Outcome::Duplicate => &stats.duplicates,
            Outcome::Spam => &stats.spam,
            Outcome::Failed => &stats.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(done) = m.done.take() {
            let _ = done.send(o);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_monotonic() {
        let mut last = 0;
        for us in [1u64, 3, 4, 5, 7, 8, 100, 1000, 5000, 1_000_000] {
            let b = LatencyHistogram::bucket_of(us);
            assert!(b >= last);
            assert!(LatencyHistogram::upper(b) >= us, "{us} bucket {b}");
            last = b;
        }
    }
}

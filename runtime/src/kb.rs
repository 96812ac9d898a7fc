//! The knowledge base of a show: loaded once, off every caller's thread,
//! and shared by the parts that search it (the speech worker, the seats).

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use airbridge_kb::{Entry, Kb};

/// A knowledge base loaded once and shared by the parts that search it: a
/// snapshot (index and entries) that an edit replaces as a whole.
#[derive(Debug, Clone)]
pub struct LoadedKb {
    pub searcher: Arc<airbridge_kb::SearchIndex>,
    pub entries: Arc<Vec<Entry>>,
    /// The file name, for status lines.
    pub name: String,
    /// The store edits go to.
    pub(crate) store: Arc<Mutex<Kb>>,
}

impl LoadedKb {
    /// Opens the knowledge base at `path`, seeding the demo content into a
    /// new file.
    pub fn open(path: &Path) -> Result<Self, airbridge_kb::KbError> {
        let kb = Kb::open_or_seed_demo(path)?;
        Ok(Self::of(kb))
    }

    /// Opens station `station`'s view of the knowledge base shared on the
    /// PostgreSQL database `url` (seeding the demo content, shared, into an
    /// empty one).
    pub fn open_shared(url: &str, station: Option<&str>) -> Result<Self, airbridge_kb::KbError> {
        let kb = Kb::open_postgres(url, None, station, true)?;
        Ok(Self::of(kb))
    }

    /// Applies what other stations wrote since the last look; `Some` with
    /// the new snapshot and the changed ids when anything changed.
    pub(crate) fn refresh(&self) -> Result<Option<(LoadedKb, Vec<String>)>, airbridge_kb::KbError> {
        let (next, ids) = self.edit(Kb::refresh)?;
        Ok((!ids.is_empty()).then_some((next, ids)))
    }

    pub(crate) fn of(kb: Kb) -> Self {
        Self {
            searcher: kb.searcher(),
            entries: Arc::new(kb.entries().to_vec()),
            name: kb.name(),
            store: Arc::new(Mutex::new(kb)),
        }
    }

    /// Runs an edit on the store; on success returns the new snapshot
    /// (searchable at once) with the edit's result.
    pub(crate) fn edit<R>(
        &self,
        f: impl FnOnce(&mut Kb) -> Result<R, airbridge_kb::KbError>,
    ) -> Result<(LoadedKb, R), airbridge_kb::KbError> {
        let mut kb = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        let r = f(&mut kb)?;
        Ok((
            LoadedKb {
                searcher: kb.searcher(),
                entries: Arc::new(kb.entries().to_vec()),
                name: self.name.clone(),
                store: Arc::clone(&self.store),
            },
            r,
        ))
    }

    /// Every version of an entry, newest first.
    pub fn history(&self, id: &str) -> Result<Vec<airbridge_kb::Version>, airbridge_kb::KbError> {
        self.store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .history(id)
    }

    /// The stored version of an entry (`None`: no such entry).
    pub fn version(&self, id: &str) -> Result<Option<u32>, airbridge_kb::KbError> {
        self.store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .current_version(id)
    }

    /// Entries past their expiry or review date.
    pub fn needs_review(&self, today: &str, max_age_days: u32) -> Vec<airbridge_kb::ReviewItem> {
        self.store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .needs_review(today, max_age_days)
    }
}

type Slot = Option<Result<LoadedKb, String>>;

/// A knowledge base that is being loaded (or is loaded, or failed): any
/// part may wait for it.
#[derive(Debug, Clone, Default)]
pub struct KbHandle {
    inner: Arc<(Mutex<Slot>, Condvar)>,
}

impl KbHandle {
    /// A handle that never gets a knowledge base (shows without one).
    pub fn none() -> Self {
        let h = Self::default();
        h.set(Err("no knowledge base for this show".into()));
        h
    }

    /// A handle already holding `kb`.
    pub fn ready(kb: LoadedKb) -> Self {
        let h = Self::default();
        h.set(Ok(kb));
        h
    }

    pub(crate) fn set(&self, r: Result<LoadedKb, String>) {
        let (slot, cv) = &*self.inner;
        *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(r);
        cv.notify_all();
    }

    /// The result once there is one, waiting up to `timeout`.
    pub fn wait(&self, timeout: Duration) -> Option<Result<LoadedKb, String>> {
        let (slot, cv) = &*self.inner;
        let guard = slot.lock().unwrap_or_else(PoisonError::into_inner);
        let (guard, _) = cv
            .wait_timeout_while(guard, timeout, |s| s.is_none())
            .unwrap_or_else(PoisonError::into_inner);
        guard.clone()
    }

    /// The result if there is one now.
    pub fn try_get(&self) -> Option<Result<LoadedKb, String>> {
        self.inner
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

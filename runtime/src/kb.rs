//! The knowledge base of a show: loaded once, off every caller's thread,
//! and shared by the parts that search it (the speech worker, the seats).

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use airbridge_kb::{Entry, Kb};

/// A knowledge base loaded once and shared by the parts that search it.
#[derive(Debug, Clone)]
pub struct LoadedKb {
    pub searcher: Arc<airbridge_kb::SearchIndex>,
    pub entries: Arc<Vec<Entry>>,
    /// The file name, for status lines.
    pub name: String,
}

impl LoadedKb {
    /// Opens the knowledge base at `path`, seeding the demo content into a
    /// new file.
    pub fn open(path: &Path) -> Result<Self, airbridge_kb::KbError> {
        let kb = Kb::open_or_seed_demo(path)?;
        Ok(Self {
            searcher: kb.searcher(),
            entries: Arc::new(kb.entries().to_vec()),
            name: kb
                .path()
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        })
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

//! Durable storage of the knowledge base. `entries` holds the current
//! version of every entry; `entry_versions` keeps every version ever written
//! (edits are versioned, nothing is deleted: an entry is retired instead).
//!
//! Two stores keep the same rows:
//! - [`SqliteStore`], one file: the default, a station on its own;
//! - [`PostgresStore`], one database shared by several stations (1+5+N):
//!   every entry carries a `station` (empty: shared by all), a station sees
//!   the shared entries and its own, and every write gets a revision number
//!   so that the other stations refresh what changed
//!   ([`KbStore::changes_since`]).
//!
//! The search index is never in the database: it stays in memory, built
//! from [`KbStore::load_all`] and refreshed entry by entry.

mod postgres;
mod sqlite;

pub(crate) use self::postgres::redact as redact_url;
pub use self::postgres::{KbListener, PostgresStore};
pub use self::sqlite::SqliteStore;

use crate::entry::Entry;
use crate::error::KbError;

/// What a write changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Entries that did not exist.
    pub added: usize,
    /// Entries whose content changed (a new version was written).
    pub updated: usize,
    /// Entries that were identical (nothing written).
    pub unchanged: usize,
    /// Entries retired because a replacing import did not contain them.
    pub retired: usize,
}

/// What an edit expects to find stored before it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// No entry with this id (adding).
    Absent,
    /// Exactly this current version (the editor's starting point).
    Version(u32),
    /// Anything: the entry may exist or not.
    Any,
}

/// One row of `entry_versions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVersion {
    /// 1 for the first version.
    pub version: u32,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub changed_at: String,
    /// Who or what wrote it (see [`crate::Version::by`]).
    pub origin: String,
    /// The entry as written.
    pub entry: Entry,
}

/// Where the entries are kept. Every method is one transaction.
pub trait KbStore: Send + std::fmt::Debug {
    /// Where the store is, for messages (no credentials).
    fn describe(&self) -> String;
    /// The file, for a store that is one.
    fn path(&self) -> Option<&std::path::Path> {
        None
    }
    /// The station whose view this is (`None`: every entry).
    fn station(&self) -> Option<&str> {
        None
    }
    /// Every entry this station sees (active and retired), in the order
    /// they were first stored, with the revision they were read at.
    fn load_all(&self) -> Result<(u64, Vec<Entry>), KbError>;
    /// The entries this station sees that were written after revision
    /// `since` (by anyone, e.g. another station), and the revision now.
    /// A store written by one process only may answer "nothing".
    fn changes_since(&self, since: u64) -> Result<(u64, Vec<Entry>), KbError>;
    /// Writes `entries` in one transaction: new ids are added, changed ones
    /// get a new version, identical ones are left alone. With `replace`,
    /// active entries not in `entries` are retired (also as a new version).
    fn write(
        &mut self,
        entries: &[Entry],
        origin: &str,
        replace: bool,
    ) -> Result<WriteSummary, KbError>;
    /// Writes one edited entry after checking what is stored, atomically
    /// (two editors, even at two stations, cannot both pass the check).
    /// Returns the entry's version afterwards; an entry identical to the
    /// stored one writes nothing and returns the stored version.
    fn write_edit(&mut self, entry: &Entry, origin: &str, expect: Expect) -> Result<u32, KbError>;
    /// The current version of entry `id` and its content, if this station sees it.
    fn current(&self, id: &str) -> Result<Option<(u32, Entry)>, KbError>;
    /// The stored current version of entry `id`, if it exists.
    fn current_version(&self, id: &str) -> Result<Option<u32>, KbError> {
        Ok(self.current(id)?.map(|(v, _)| v))
    }
    /// Every stored version of entry `id`, newest first (empty when the id
    /// was never stored or belongs to another station).
    fn history(&self, id: &str) -> Result<Vec<StoredVersion>, KbError>;
    /// How many versions entry `id` has.
    fn version_count(&self, id: &str) -> Result<u32, KbError> {
        Ok(u32::try_from(self.history(id)?.len()).unwrap_or(u32::MAX))
    }
    /// Reads a metadata value.
    fn meta(&self, key: &str) -> Result<Option<String>, KbError>;
    /// Writes a metadata value.
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), KbError>;
    /// Stores entries with their whole histories (oldest version first, the
    /// last one being the current entry), all or nothing: moving a
    /// station's knowledge base into a shared one. An id already stored is
    /// an error for the whole batch.
    fn insert_with_history(&mut self, items: &[Vec<StoredVersion>]) -> Result<(), KbError>;
}

pub(crate) fn now_string() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

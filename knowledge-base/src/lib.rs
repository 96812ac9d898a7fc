//! # airbridge-kb
//!
//! Owns the policy knowledge base (知识库): the entries hosts read from, their
//! durable storage with versioned edits, import/export, and Chinese search
//! that tolerates speech-recognition errors.
//!
//! It never touches the show journal or the UI; the console asks it
//! questions ([`Kb::search`]) and shows the hits. Search is in memory and
//! takes well under a millisecond on a station-sized knowledge base, so it may
//! be called from a worker per keystroke; opening a knowledge base (which
//! builds the index) should not be done on the UI thread.
//!
//! # Layout
//! - [`entry`]: the entry model.
//! - [`store`]: SQLite storage (current entries + every version).
//! - [`edit`]: validation of edits, who made each version, fresh ids.
//! - [`review`]: the needs-review queue (expired, review overdue).
//! - [`import`]: CSV / XLSX / JSONL import with field mapping, and export.
//! - [`text`]: normalisation, synonyms, segmentation, pinyin terms.
//! - [`search`]: the BM25F index, snippets, and the plain baseline.
//! - [`eval`]: recall@K / MRR over a query file.
//! - [`demo`]: the built-in demo knowledge base, generated from structured facts.

pub mod demo;
pub mod edit;
pub mod entry;
pub mod error;
pub mod eval;
pub mod import;
pub mod review;
pub mod search;
pub mod store;
pub mod text;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

pub use edit::Version;
pub use entry::{Entry, Status};
pub use error::{ImportError, KbError, Problem};
pub use import::{FieldMap, Format, NearDuplicate};
pub use review::{ReviewItem, ReviewReason};
pub use search::{Hit, SearchIndex};
pub use store::WriteSummary;
pub use text::{Analyzer, Mode};

/// Counts for `kb stats`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Stats {
    /// Active entries.
    pub entries: usize,
    /// Distinct domains of active entries.
    pub domains: usize,
    /// Distinct departments of active entries.
    pub departments: usize,
    /// Distinct service matters of active entries.
    pub categories: usize,
    /// Retired entries.
    pub retired: usize,
    /// Active entries whose question appears more than once.
    pub duplicate_questions: usize,
}

/// The outcome of an import.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// What was written.
    pub written: WriteSummary,
    /// Rows read.
    pub rows: usize,
    /// Which column fed which field.
    pub mapping: Vec<(import::Field, String)>,
    /// Same and near-same questions within the file.
    pub duplicates: Vec<NearDuplicate>,
}

/// An open knowledge base: its store and a search index over its active entries.
#[derive(Debug)]
pub struct Kb {
    store: store::Store,
    all: Vec<Entry>,
    index: Arc<SearchIndex>,
}

impl Kb {
    /// Opens the knowledge base at `path`, creating an empty one if the file
    /// does not exist.
    pub fn open(path: &Path) -> Result<Kb, KbError> {
        let (store, _) = store::Store::open(path)?;
        Kb::from_store(store)
    }

    /// Opens the knowledge base at `path`; a new file is filled with the
    /// built-in demo content (the station's default knowledge base on first use).
    pub fn open_or_seed_demo(path: &Path) -> Result<Kb, KbError> {
        let (mut store, created) = store::Store::open(path)?;
        if created {
            let entries = demo::entries()?;
            store.write(&entries, "built-in demo content", false)?;
            store.set_meta("seeded_from", "built-in demo content")?;
        }
        Kb::from_store(store)
    }

    fn from_store(store: store::Store) -> Result<Kb, KbError> {
        let all = store.load_all()?;
        let index = Arc::new(SearchIndex::build(
            Analyzer::embedded()?,
            all.clone(),
            Mode::Full,
        ));
        Ok(Kb { store, all, index })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        self.store.path()
    }

    /// The `k` best active entries for `query`, best first.
    pub fn search(&self, query: &str, k: usize) -> Vec<Hit> {
        self.index.search(query, k)
    }

    /// The search index (for evaluation and benchmarks).
    pub fn index(&self) -> &SearchIndex {
        &self.index
    }

    /// A shareable snapshot of the index: search it from any thread (e.g. the
    /// console's search worker) while the `Kb` itself stays with its owner.
    /// An import or an edit makes a new snapshot (call this again to get it);
    /// old ones stay valid.
    pub fn searcher(&self) -> Arc<SearchIndex> {
        Arc::clone(&self.index)
    }

    /// Every entry, active and retired.
    pub fn entries(&self) -> &[Entry] {
        &self.all
    }

    /// A plain-baseline index over the same active entries.
    pub fn baseline_index(&self) -> Result<SearchIndex, KbError> {
        Ok(SearchIndex::build(
            Analyzer::embedded()?,
            self.all.clone(),
            Mode::Plain,
        ))
    }

    /// Counts of active entries, domains and departments.
    pub fn stats(&self) -> Stats {
        let active: Vec<&Entry> = self
            .all
            .iter()
            .filter(|e| e.status == Status::Active)
            .collect();
        let set = |f: fn(&Entry) -> &str| -> usize {
            active
                .iter()
                .map(|&e| f(e))
                .filter(|s| !s.is_empty())
                .collect::<BTreeSet<_>>()
                .len()
        };
        let mut seen = std::collections::HashMap::<&str, usize>::new();
        for e in &active {
            *seen.entry(e.question.as_str()).or_default() += 1;
        }
        Stats {
            entries: active.len(),
            domains: set(|e| e.domain_or_category()),
            departments: set(|e| e.department.as_str()),
            categories: set(|e| e.category.as_str()),
            retired: self.all.len() - active.len(),
            duplicate_questions: seen.values().filter(|&&n| n > 1).sum(),
        }
    }

    /// Imports `path` (all-or-nothing) and rebuilds the index. With
    /// `replace`, active entries not in the file are retired.
    pub fn import(
        &mut self,
        path: &Path,
        format: Format,
        map: &FieldMap,
        replace: bool,
    ) -> Result<ImportReport, KbError> {
        let parsed = import::parse_file(path, format, map)?;
        let origin = format!("import {}", path.display());
        let written = self.store.write(&parsed.entries, &origin, replace)?;
        let fresh = Kb::from_store_ref(&self.store)?;
        self.all = fresh.0;
        self.index = Arc::new(fresh.1);
        Ok(ImportReport {
            written,
            rows: parsed.entries.len(),
            mapping: parsed.mapping,
            duplicates: parsed.duplicates,
        })
    }

    fn from_store_ref(store: &store::Store) -> Result<(Vec<Entry>, SearchIndex), KbError> {
        let all = store.load_all()?;
        let index = SearchIndex::build(Analyzer::embedded()?, all.clone(), Mode::Full);
        Ok((all, index))
    }

    /// Adds or edits entries (matched by id; a changed entry gets a new
    /// version, retiring is an edit with `Status::Retired`) and rebuilds the index.
    pub fn save(&mut self, entries: &[Entry], origin: &str) -> Result<WriteSummary, KbError> {
        let written = self.store.write(entries, origin, false)?;
        let (all, index) = Kb::from_store_ref(&self.store)?;
        self.all = all;
        self.index = Arc::new(index);
        Ok(written)
    }

    /// Writes every entry (active and retired) to `path`.
    pub fn export(&self, path: &Path, format: Format) -> Result<usize, KbError> {
        import::export_file(path, format, &self.all)?;
        Ok(self.all.len())
    }

    /// How many stored versions entry `id` has.
    pub fn version_count(&self, id: &str) -> Result<u32, KbError> {
        self.store.version_count(id)
    }

    /// Writes `entry` as a new version of the entry with its id, or as a new
    /// entry when the id is not stored and `expected_version` is `None`;
    /// `by` is who made the edit (stored as `edit:<by>`, see [`edit`]).
    /// Returns the entry's version afterwards. The edit is searchable at
    /// once through [`Kb::search`] and the next [`Kb::searcher`].
    ///
    /// With `expected_version` (the version the editor loaded) the edit is
    /// refused with [`KbError::VersionConflict`] when someone else saved the
    /// entry meanwhile, and with [`KbError::NotFound`] when there is no such
    /// entry. Question and answer must not be blank and dates must be
    /// `YYYY-MM-DD` ([`KbError::InvalidEdit`] names the field); blank dates
    /// count as none. Saving an entry identical to the stored one writes no
    /// version and returns the stored version number.
    pub fn update(
        &mut self,
        entry: Entry,
        by: &str,
        expected_version: Option<u32>,
    ) -> Result<u32, KbError> {
        if entry.id.is_empty() {
            return Err(KbError::InvalidEdit {
                id: edit::NEW_ENTRY.into(),
                field: import::Field::Id,
                reason: "empty (use add to create an entry with a fresh id)".into(),
            });
        }
        let entry = edit::validate(entry, by)?;
        let expect = match expected_version {
            Some(v) => store::Expect::Version(v),
            None => store::Expect::Any,
        };
        self.write_edit(entry, by, expect)
    }

    /// Adds a new entry and returns its id. An empty `entry.id` gets a fresh
    /// `kb-<n>` id (after the highest `kb-<n>` in use); a given id that is
    /// already used is refused with [`KbError::IdTaken`]. Validated as in
    /// [`Kb::update`]; searchable at once.
    pub fn add(&mut self, entry: Entry, by: &str) -> Result<String, KbError> {
        let fresh = entry.id.is_empty();
        let mut entry = edit::validate(entry, by)?;
        if !fresh {
            let id = entry.id.clone();
            self.write_edit(entry, by, store::Expect::Absent)?;
            return Ok(id);
        }
        let mut n = edit::next_id_number(self.all.iter().map(|e| e.id.as_str()));
        // Another process may take ids meanwhile: try the next few.
        for _ in 0..100 {
            entry.id = format!("{}{n}", edit::NEW_ID_PREFIX);
            match self.write_edit(entry.clone(), by, store::Expect::Absent) {
                Ok(_) => return Ok(entry.id),
                Err(KbError::IdTaken { .. }) => n = n.saturating_add(1),
                Err(e) => return Err(e),
            }
        }
        Err(KbError::IdTaken {
            id: entry.id,
            version: 0,
        })
    }

    /// Retires entry `id` (a new version with [`Status::Retired`]; search no
    /// longer returns it) and returns its version afterwards. Retiring a
    /// retired entry writes nothing.
    pub fn retire(&mut self, id: &str, by: &str) -> Result<u32, KbError> {
        let Some((version, mut entry)) = self.store.current(id)? else {
            return Err(KbError::NotFound {
                id: id.into(),
                expected: None,
            });
        };
        if by.trim().is_empty() {
            return Err(KbError::NoEditor { id: id.into() });
        }
        entry.status = Status::Retired;
        self.write_edit(entry, by, store::Expect::Version(version))
    }

    /// Every version of entry `id`, newest first; [`KbError::NotFound`]
    /// when there is no such entry.
    pub fn history(&self, id: &str) -> Result<Vec<Version>, KbError> {
        let versions = self.store.history(id)?;
        if versions.is_empty() {
            return Err(KbError::NotFound {
                id: id.into(),
                expected: None,
            });
        }
        Ok(versions.into_iter().map(Version::from).collect())
    }

    /// The stored current version of entry `id` (`None`: no such entry).
    pub fn current_version(&self, id: &str) -> Result<Option<u32>, KbError> {
        self.store.current_version(id)
    }

    /// Active entries to review on `today` (`YYYY-MM-DD`): those whose
    /// expiry is before today, then those last reviewed more than
    /// `max_age_days` ago or never (oldest first). A `today` that is not
    /// `YYYY-MM-DD` gives an empty queue.
    pub fn needs_review(&self, today: &str, max_age_days: u32) -> Vec<ReviewItem> {
        review::needs_review(&self.all, today, max_age_days)
    }

    /// Stores one validated edit and refreshes the in-memory entries and index.
    fn write_edit(
        &mut self,
        entry: Entry,
        by: &str,
        expect: store::Expect,
    ) -> Result<u32, KbError> {
        let version = self
            .store
            .write_edit(&entry, &edit::edit_origin(by), expect)?;
        let id = entry.id.clone();
        match self.all.iter_mut().find(|e| e.id == id) {
            Some(old) if *old == entry => return Ok(version),
            Some(old) => *old = entry,
            None => self.all.push(entry),
        }
        self.index = Arc::new(self.index.refreshed(&self.all, &id));
        Ok(version)
    }
}

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
//! - [`store`]: storage (current entries + every version): one SQLite file,
//!   or a PostgreSQL database shared by several stations.
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
pub use store::{KbListener, KbStore, PostgresStore, SqliteStore, StoredVersion, WriteSummary};
pub use text::{Analyzer, Mode};

/// A database's name for messages: the connection string without its password.
pub fn store_name(url: &str) -> String {
    format!("postgres:{}", store::redact_url(url))
}

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
    store: Box<dyn KbStore>,
    all: Vec<Entry>,
    index: Arc<SearchIndex>,
    /// The store's revision the entries were read at (shared store).
    rev: u64,
}

/// What moving a station's knowledge base into a shared one did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrateReport {
    /// Entries moved, with every version.
    pub moved: usize,
    /// Entries already in the shared knowledge base with the same content
    /// (e.g. the same built-in demo content at two stations): left alone.
    pub already_there: usize,
    /// Entries given the station's prefix because their id was taken.
    pub renamed: Vec<(String, String)>,
}

impl Kb {
    /// Opens the knowledge base at `path`, creating an empty one if the file
    /// does not exist.
    pub fn open(path: &Path) -> Result<Kb, KbError> {
        let (store, _) = SqliteStore::open(path)?;
        Kb::from_store(Box::new(store))
    }

    /// Opens station `station`'s view of the knowledge base shared on a
    /// PostgreSQL database (`url`: a connection string; `schema` isolates
    /// one system from another in one database). `station: None` sees and
    /// writes every entry (the city's tools). An empty shared knowledge base
    /// is seeded with the built-in demo content, shared, when `seed_demo`.
    pub fn open_postgres(
        url: &str,
        schema: Option<&str>,
        station: Option<&str>,
        seed_demo: bool,
    ) -> Result<Kb, KbError> {
        let (mut store, empty) = PostgresStore::connect(url, schema, station)?;
        if empty && seed_demo {
            store.write(&demo::entries()?, "built-in demo content", false)?;
            store.set_meta("seeded_from", "built-in demo content")?;
        }
        Kb::from_store(Box::new(store))
    }

    /// Opens the knowledge base at `path`; a new file is filled with the
    /// built-in demo content (the station's default knowledge base on first use).
    pub fn open_or_seed_demo(path: &Path) -> Result<Kb, KbError> {
        let (mut store, created) = SqliteStore::open(path)?;
        if created {
            let entries = demo::entries()?;
            store.write(&entries, "built-in demo content", false)?;
            store.set_meta("seeded_from", "built-in demo content")?;
        }
        Kb::from_store(Box::new(store))
    }

    /// A knowledge base over any store.
    pub fn from_store(store: Box<dyn KbStore>) -> Result<Kb, KbError> {
        let (rev, all) = store.load_all()?;
        let index = Arc::new(SearchIndex::build(
            Analyzer::embedded()?,
            all.clone(),
            Mode::Full,
        ));
        Ok(Kb {
            store,
            all,
            index,
            rev,
        })
    }

    /// The file, for a knowledge base that is one.
    pub fn path(&self) -> Option<&Path> {
        self.store.path()
    }

    /// Where the knowledge base is, for messages (no credentials).
    pub fn describe(&self) -> String {
        self.store.describe()
    }

    /// A short name for status lines: the file name, or the database.
    pub fn name(&self) -> String {
        match self.store.path().and_then(Path::file_name) {
            Some(n) => n.to_string_lossy().into_owned(),
            None => self.store.describe(),
        }
    }

    /// The station whose view this is, in a shared knowledge base.
    pub fn station(&self) -> Option<&str> {
        self.store.station()
    }

    /// Applies what other stations (or processes) wrote since this
    /// knowledge base was read: changed entries replace theirs, new ones are
    /// added, retired ones leave the search. Returns the ids that changed
    /// (empty: nothing to do, and nothing was rebuilt). A handful of changes
    /// re-analyse only those entries; many rebuild the index.
    pub fn refresh(&mut self) -> Result<Vec<String>, KbError> {
        let (rev, changed) = self.store.changes_since(self.rev)?;
        self.rev = self.rev.max(rev);
        let mut ids = Vec::new();
        let mut next = self.all.clone();
        for e in changed {
            match next.iter_mut().find(|x| x.id == e.id) {
                Some(old) if *old == e => continue,
                Some(old) => *old = e.clone(),
                None => next.push(e.clone()),
            }
            ids.push(e.id);
        }
        if ids.is_empty() {
            return Ok(ids);
        }
        if ids.len() <= 8 {
            // the index is refreshed one entry at a time, from the entries
            // it was built from with only that entry changed
            let mut all = self.all.clone();
            let mut index = Arc::clone(&self.index);
            for id in &ids {
                let Some(e) = next.iter().find(|x| &x.id == id) else {
                    continue;
                };
                match all.iter_mut().find(|x| &x.id == id) {
                    Some(old) => *old = e.clone(),
                    None => all.push(e.clone()),
                }
                index = Arc::new(index.refreshed(&all, id));
            }
            self.index = index;
        } else {
            self.index = Arc::new(SearchIndex::build(
                Analyzer::embedded()?,
                next.clone(),
                Mode::Full,
            ));
        }
        self.all = next;
        Ok(ids)
    }

    /// Every version of every entry this knowledge base sees, oldest
    /// version first within an entry (moving it to another store).
    pub fn versions_of_all(&self) -> Result<Vec<Vec<StoredVersion>>, KbError> {
        self.all
            .iter()
            .map(|e| {
                let mut v = self.store.history(&e.id)?;
                v.reverse();
                Ok(v)
            })
            .collect()
    }

    /// Moves every entry of this knowledge base, with its history, into
    /// `target` (a station's file into the shared database), all or nothing.
    /// Entries become local to `station`, or keep their own `station`
    /// (shared, when they come from a station's file) with `station: None`.
    /// An id already in `target` with the same content is left alone; with
    /// other content the move is refused ([`KbError::MigrateClash`]) unless
    /// `rename`, which gives such entries the id `<station>-<id>`.
    pub fn migrate_into(
        &self,
        target: &mut Kb,
        station: Option<&str>,
        rename: bool,
    ) -> Result<MigrateReport, KbError> {
        let mut report = MigrateReport::default();
        let mut items = Vec::new();
        let mut clashes = Vec::new();
        for mut versions in self.versions_of_all()? {
            let Some(last) = versions.last() else {
                continue;
            };
            let id = last.entry.id.clone();
            let mut content = last.entry.clone();
            if let Some(code) = station {
                code.clone_into(&mut content.station);
            }
            let mut new_id = id.clone();
            // a clash: the id is taken in the shared database (by anyone)
            if let Some((_, there)) = target.store.current(&id)? {
                let mut same = there.clone();
                same.station = content.station.clone();
                if same == content {
                    report.already_there += 1;
                    continue;
                }
                match station {
                    Some(code) if rename => {
                        new_id = format!("{code}-{id}");
                        report.renamed.push((id.clone(), new_id.clone()));
                    }
                    _ => {
                        clashes.push(id.clone());
                        continue;
                    }
                }
            }
            for v in &mut versions {
                v.entry.id = new_id.clone();
                v.entry.station = content.station.clone();
            }
            items.push(versions);
        }
        if !clashes.is_empty() {
            return Err(KbError::MigrateClash { ids: clashes });
        }
        match target.store.insert_with_history(&items) {
            // taken by an entry this view does not see (another station's)
            Err(KbError::IdTaken { id, .. }) => {
                return Err(KbError::MigrateClash { ids: vec![id] });
            }
            r => r?,
        }
        report.moved = items.len();
        let (rev, all) = target.store.load_all()?;
        target.index = Arc::new(SearchIndex::build(
            Analyzer::embedded()?,
            all.clone(),
            Mode::Full,
        ));
        target.all = all;
        target.rev = rev;
        Ok(report)
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
    /// `replace`, active entries not in the file are retired (in a
    /// station's view of a shared knowledge base: only the station's own).
    pub fn import(
        &mut self,
        path: &Path,
        format: Format,
        map: &FieldMap,
        replace: bool,
    ) -> Result<ImportReport, KbError> {
        let mut parsed = import::parse_file(path, format, map)?;
        // in a station's view of a shared knowledge base, new entries are
        // the station's own and existing ones keep their owner (the
        // every-station view imports shared entries)
        if let Some(code) = self.store.station() {
            for e in &mut parsed.entries {
                e.station = match self.all.iter().find(|x| x.id == e.id) {
                    Some(old) => old.station.clone(),
                    None => code.to_owned(),
                };
            }
        }
        let origin = format!("import {}", path.display());
        let written = self.store.write(&parsed.entries, &origin, replace)?;
        let (rev, all, index) = Kb::from_store_ref(self.store.as_ref())?;
        self.all = all;
        self.index = Arc::new(index);
        self.rev = rev;
        Ok(ImportReport {
            written,
            rows: parsed.entries.len(),
            mapping: parsed.mapping,
            duplicates: parsed.duplicates,
        })
    }

    fn from_store_ref(store: &dyn KbStore) -> Result<(u64, Vec<Entry>, SearchIndex), KbError> {
        let (rev, all) = store.load_all()?;
        let index = SearchIndex::build(Analyzer::embedded()?, all.clone(), Mode::Full);
        Ok((rev, all, index))
    }

    /// Adds or edits entries (matched by id; a changed entry gets a new
    /// version, retiring is an edit with `Status::Retired`) and rebuilds the index.
    pub fn save(&mut self, entries: &[Entry], origin: &str) -> Result<WriteSummary, KbError> {
        let written = self.store.write(entries, origin, false)?;
        let (rev, all, index) = Kb::from_store_ref(self.store.as_ref())?;
        self.all = all;
        self.index = Arc::new(index);
        self.rev = rev;
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
    /// `kb-<n>` id (after the highest `kb-<n>` in use; `<code>-kb-<n>` at a
    /// station of a shared knowledge base, where `entry.station` says whether
    /// the entry is the station's own or shared by all); a given id that is
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
        // a station of a shared knowledge base numbers its own (`yy-kb-<n>`):
        // it does not see the other stations' entries
        let prefix = match self.store.station() {
            Some(code) => format!("{code}-{}", edit::NEW_ID_PREFIX),
            None => edit::NEW_ID_PREFIX.to_owned(),
        };
        let mut n = edit::next_id_number(&prefix, self.all.iter().map(|e| e.id.as_str()));
        // Another process may take ids meanwhile: try the next few.
        for _ in 0..100 {
            entry.id = format!("{prefix}{n}");
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

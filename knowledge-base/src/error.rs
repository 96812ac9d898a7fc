//! The knowledge base's typed errors.

use std::fmt;
use std::path::PathBuf;

use crate::import::Field;

/// Anything the knowledge base can fail with.
#[derive(Debug, thiserror::Error)]
pub enum KbError {
    /// The SQLite store failed.
    #[error("knowledge base {path}: {source}")]
    Store {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The shared PostgreSQL database failed (or refused a statement).
    #[error("knowledge base {store}: {op}: {detail}")]
    Database {
        /// Which database, without credentials.
        store: String,
        /// What was being done.
        op: &'static str,
        /// The server's own words.
        detail: String,
    },
    /// An entry that belongs to another station of a shared knowledge
    /// base: this station may read shared entries and its own, and write
    /// only those. Nothing was written.
    #[error(
        "entry {id} belongs to station {owner:?}; station {station:?} may only edit shared entries and its own; nothing was saved"
    )]
    OtherStation {
        /// Entry id.
        id: String,
        /// The station that owns it.
        owner: String,
        /// The station that tried.
        station: String,
    },
    /// Moving a station's knowledge base into the shared one would change
    /// entries that are already there. Nothing was moved.
    #[error(
        "{} entries have ids already used in the shared knowledge base with different content ({}{}); nothing was moved (use --rename to give them the station's prefix)",
        ids.len(), ids.iter().take(5).cloned().collect::<Vec<_>>().join(", "), if ids.len() > 5 { ", …" } else { "" }
    )]
    MigrateClash {
        /// The clashing ids.
        ids: Vec<String>,
    },
    /// The file is not a knowledge base of this program (or a newer one).
    #[error("{path}: {reason}")]
    NotAKb {
        /// The file.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// An import was refused; nothing was imported.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// Export failed.
    #[error("cannot export to {path}: {reason}")]
    Export {
        /// The output file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The synonym/colloquial vocabulary file is invalid.
    #[error("search vocabulary: {0}")]
    Vocabulary(String),
    /// The built-in demo content is inconsistent (a build problem).
    #[error("demo knowledge base: {0}")]
    Demo(String),
    /// An evaluation query file is malformed.
    #[error("{path}: line {line}: {reason}")]
    Queries {
        /// The query file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Why.
        reason: String,
    },
    /// A stored entry could not be decoded.
    #[error("knowledge base {path}: entry {id}: {reason}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// Entry id.
        id: String,
        /// Why.
        reason: String,
    },
    /// An edit started from an older version than the stored one: someone
    /// else saved the entry meanwhile. Nothing was written.
    #[error(
        "entry {id} was changed by someone else: this edit started from version {expected}, \
         the stored version is {current}; nothing was saved (reload the entry and edit again)"
    )]
    VersionConflict {
        /// Entry id.
        id: String,
        /// The version the editor started from.
        expected: u32,
        /// The version stored now.
        current: u32,
    },
    /// No entry has this id.
    #[error("no entry {id} in the knowledge base{}", started_from(*.expected))]
    NotFound {
        /// The id asked for.
        id: String,
        /// The version an edit started from, when it was an edit.
        expected: Option<u32>,
    },
    /// Adding an entry whose id is already used. Nothing was written.
    #[error("entry {id} already exists (version {version}); edit it instead of adding it")]
    IdTaken {
        /// The id.
        id: String,
        /// Its stored version.
        version: u32,
    },
    /// An edit with a missing or malformed field. Nothing was written.
    #[error("entry {id}: {field}: {reason}; nothing was saved")]
    InvalidEdit {
        /// Entry id (`(new entry)` when adding without one).
        id: String,
        /// The field at fault.
        field: Field,
        /// What is wrong.
        reason: String,
    },
    /// An edit that does not say who made it. Nothing was written.
    #[error("entry {id}: an edit must name who made it (empty editor name); nothing was saved")]
    NoEditor {
        /// Entry id (`(new entry)` when adding without one).
        id: String,
    },
}

fn started_from(expected: Option<u32>) -> String {
    expected.map_or_else(String::new, |v| {
        format!(" (the edit started from its version {v})")
    })
}

/// One problem found in an import file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based row (spreadsheet row, header = row 1; or JSONL line).
    pub row: Option<usize>,
    /// The file's column name (or the field name when there is no column).
    pub column: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.row, &self.column) {
            (Some(r), Some(c)) => write!(f, "row {r}, column {c}: {}", self.reason),
            (Some(r), None) => write!(f, "row {r}: {}", self.reason),
            (None, Some(c)) => write!(f, "column {c}: {}", self.reason),
            (None, None) => write!(f, "{}", self.reason),
        }
    }
}

/// An import refused as a whole: every problem found, nothing imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ImportError {
    /// The file being imported.
    pub file: PathBuf,
    /// The problems, in file order (at most [`ImportError::MAX_PROBLEMS`]).
    pub problems: Vec<Problem>,
}

impl ImportError {
    /// Problems collected before giving up.
    pub const MAX_PROBLEMS: usize = 100;

    pub(crate) fn one(file: &std::path::Path, problem: Problem) -> Self {
        ImportError {
            file: file.to_path_buf(),
            problems: vec![problem],
        }
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: nothing imported: ", self.file.display())?;
        for (i, p) in self.problems.iter().take(3).enumerate() {
            if i > 0 {
                write!(f, "; ")?;
            }
            write!(f, "{p}")?;
        }
        if self.problems.len() > 3 {
            write!(f, " (and {} more problems)", self.problems.len() - 3)?;
        }
        Ok(())
    }
}

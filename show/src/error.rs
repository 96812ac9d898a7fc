use std::path::{Path, PathBuf};

/// Everything that can go wrong with the journal, each naming what to do.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {op} failed: {detail}")]
    Storage {
        path: PathBuf,
        op: &'static str,
        detail: String,
    },

    #[error(
        "journal {path} is damaged ({detail}); keep the file for inspection, then start a new journal or restore a backup"
    )]
    Corrupt { path: PathBuf, detail: String },

    #[error("{path} is not an AirBridge show journal (wrong file type); choose another path")]
    NotAJournal { path: PathBuf },

    #[error(
        "journal {path} was written by a newer AirBridge (schema {found}, this build reads up to {supported})"
    )]
    NewerSchema {
        path: PathBuf,
        found: i32,
        supported: i32,
    },

    #[error("journal event #{seq} ({kind}) cannot be decoded: {detail}")]
    Decode {
        seq: u64,
        kind: String,
        detail: String,
    },

    #[error(
        "journal {path} is in use by {holder}: only one program may write a show journal (stop it first; `airbridge journal info|tail -f|verify` read it meanwhile)"
    )]
    InUse { path: PathBuf, holder: String },

    #[error("journal event could not be encoded: {0}")]
    Encode(String),

    #[error("the journal is closed")]
    Closed,
}

impl JournalError {
    pub(crate) fn from_sqlite(path: &Path, op: &'static str, e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        if let rusqlite::Error::SqliteFailure(f, msg) = &e
            && matches!(f.code, ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
        {
            let detail = msg.clone().unwrap_or_else(|| f.to_string());
            return JournalError::Corrupt {
                path: path.to_path_buf(),
                detail,
            };
        }
        JournalError::Storage {
            path: path.to_path_buf(),
            op,
            detail: e.to_string(),
        }
    }
}

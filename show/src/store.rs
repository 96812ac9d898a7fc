//! Storage behind the journal. The journal talks to a [`Backend`] through two
//! small traits so that a PostgreSQL backend can be added later without
//! touching the writer, subscriptions or projections. Only SQLite exists now.
//!
//! **One writer per file, across processes.** [`Backend::open_writer`] takes
//! an exclusive lock on `<journal>.lock` (an advisory `flock`, released by the
//! kernel when the holder exits, even by a crash) and writes who holds it
//! into the file. A second writer is refused with
//! [`JournalError::InUse`] naming the holder; readers never lock.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::error::JournalError;

/// One stored row, before its JSON payload is decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    pub seq: u64,
    pub at_ms: i64,
    pub seat: String,
    pub kind: String,
    pub payload: String,
}

/// Opens writer and reader handles on one store.
pub trait Backend: Send + Sync + 'static {
    fn open_writer(&self) -> Result<Box<dyn StoreWriter>, JournalError>;
    fn open_reader(&self) -> Result<Box<dyn StoreReader>, JournalError>;
    /// For messages: where the store is.
    fn describe(&self) -> String;
}

/// The single writer. `append` is atomic and durable when it returns `Ok`.
pub trait StoreWriter: Send {
    /// The highest stored sequence number (0 when empty).
    fn last_seq(&mut self) -> Result<u64, JournalError>;
    fn append(&mut self, records: &[RawRecord]) -> Result<(), JournalError>;
}

/// A reader; each sees committed records only.
pub trait StoreReader: Send {
    fn last_seq(&mut self) -> Result<u64, JournalError>;
    /// Records with `seq >= from`, ascending, at most `limit`.
    fn read_page(&mut self, from: u64, limit: usize) -> Result<Vec<RawRecord>, JournalError>;
}

/// `PRAGMA application_id` of a journal file: "ABRJ".
const APPLICATION_ID: i32 = 0x4142_524A;
const SCHEMA_VERSION: i32 = 1;

/// SQLite in WAL mode with `synchronous = FULL`: a commit is on disk when it returns.
#[derive(Debug, Clone)]
pub struct SqliteBackend {
    path: PathBuf,
}

impl SqliteBackend {
    /// Opens (creating if needed) and validates the journal file.
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let backend = Self {
            path: path.to_path_buf(),
        };
        let conn = backend.connect(true)?;
        backend.init_schema(&conn)?;
        Ok(backend)
    }

    /// Opens an existing journal file for reading; never creates one.
    pub fn open_existing(path: &Path) -> Result<Self, JournalError> {
        if !path.is_file() {
            return Err(JournalError::Storage {
                path: path.to_path_buf(),
                op: "open",
                detail: "no such journal file".into(),
            });
        }
        let backend = Self {
            path: path.to_path_buf(),
        };
        let conn = backend.connect(false)?;
        backend.check_schema(&conn)?;
        Ok(backend)
    }

    /// The lock file beside the journal: `<journal>.lock`.
    pub fn lock_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// Takes the writer's lock, or says who holds it.
    fn lock(&self) -> Result<std::fs::File, JournalError> {
        let path = self.lock_path();
        let io = |op: &'static str, e: std::io::Error| JournalError::Storage {
            path: path.clone(),
            op,
            detail: e.to_string(),
        };
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io("open lock file", e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(JournalError::InUse {
                    path: self.path.clone(),
                    holder: if holder.is_empty() {
                        "another program".to_owned()
                    } else {
                        holder.to_owned()
                    },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io("lock", e)),
        }
        file.set_len(0).map_err(|e| io("write lock file", e))?;
        file.rewind().map_err(|e| io("write lock file", e))?;
        file.write_all(holder_description().as_bytes())
            .and_then(|()| file.flush())
            .map_err(|e| io("write lock file", e))?;
        Ok(file)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, op: &'static str, e: rusqlite::Error) -> JournalError {
        JournalError::from_sqlite(&self.path, op, e)
    }

    fn connect(&self, create: bool) -> Result<Connection, JournalError> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn =
            Connection::open_with_flags(&self.path, flags).map_err(|e| self.err("open", e))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| self.err("configure", e))?;
        // Reading the header is the first access to the file: a file that is
        // not a database fails here with a clear error.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| self.err("enable WAL", e))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| self.err("configure", e))?;
        Ok(conn)
    }

    fn init_schema(&self, conn: &Connection) -> Result<(), JournalError> {
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(|e| self.err("read schema", e))?;
        let app_id: i32 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(|e| self.err("read header", e))?;
        if app_id == 0 && tables == 0 {
            conn.execute_batch(&format!(
                "BEGIN;
                 CREATE TABLE events (
                     seq     INTEGER PRIMARY KEY,
                     at_ms   INTEGER NOT NULL,
                     seat    TEXT NOT NULL,
                     kind    TEXT NOT NULL,
                     payload TEXT NOT NULL
                 );
                 PRAGMA application_id = {APPLICATION_ID};
                 PRAGMA user_version = {SCHEMA_VERSION};
                 COMMIT;"
            ))
            .map_err(|e| self.err("create schema", e))?;
            return Ok(());
        }
        self.check_schema(conn)
    }

    fn check_schema(&self, conn: &Connection) -> Result<(), JournalError> {
        let app_id: i32 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(|e| self.err("read header", e))?;
        let version: i32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.err("read header", e))?;
        if app_id != APPLICATION_ID {
            return Err(JournalError::NotAJournal {
                path: self.path.clone(),
            });
        }
        if version > SCHEMA_VERSION {
            return Err(JournalError::NewerSchema {
                path: self.path.clone(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        // Touch the last page of the table: catches truncated files at open.
        conn.query_row(
            "SELECT seq, length(payload) FROM events ORDER BY seq DESC LIMIT 1",
            [],
            |_| Ok(()),
        )
        .optional()
        .map_err(|e| self.err("read last event", e))?;
        Ok(())
    }

    /// Full structural check of the file (reads every page).
    pub fn integrity_check(&self) -> Result<(), JournalError> {
        let conn = self.connect(false)?;
        let mut stmt = conn
            .prepare("PRAGMA quick_check")
            .map_err(|e| self.err("check", e))?;
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .map_err(|e| self.err("check", e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.err("check", e))?;
        if rows.len() == 1 && rows[0] == "ok" {
            Ok(())
        } else {
            Err(JournalError::Corrupt {
                path: self.path.clone(),
                detail: rows.join("; "),
            })
        }
    }
}

impl Backend for SqliteBackend {
    fn open_writer(&self) -> Result<Box<dyn StoreWriter>, JournalError> {
        let lock = self.lock()?;
        let conn = self.connect(false)?;
        Ok(Box::new(SqliteWriter {
            store: SqliteStore {
                conn,
                path: self.path.clone(),
            },
            _lock: lock,
        }))
    }

    fn open_reader(&self) -> Result<Box<dyn StoreReader>, JournalError> {
        let conn = self.connect(false)?;
        Ok(Box::new(SqliteStore {
            conn,
            path: self.path.clone(),
        }))
    }

    fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }
}

struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

impl SqliteStore {
    fn err(&self, op: &'static str, e: rusqlite::Error) -> JournalError {
        JournalError::from_sqlite(&self.path, op, e)
    }

    fn query_last_seq(&mut self) -> Result<u64, JournalError> {
        let seq: Option<i64> = self
            .conn
            .query_row("SELECT max(seq) FROM events", [], |r| r.get(0))
            .map_err(|e| self.err("read", e))?;
        Ok(seq.unwrap_or(0).max(0) as u64)
    }
}

/// Who holds a journal, as written into its lock file: the program and its
/// subcommand (never further arguments: they may carry secrets), the process
/// id and when it started.
fn holder_description() -> String {
    let program: Vec<String> = std::env::args()
        .take(2)
        .map(|a| {
            Path::new(&a)
                .file_name()
                .map_or_else(|| a.clone(), |n| n.to_string_lossy().into_owned())
        })
        .filter(|a| !a.starts_with('-'))
        .collect();
    let since = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC");
    format!(
        "`{}` (pid {}, since {since})",
        program.join(" "),
        std::process::id()
    )
}

/// The writer: a store plus the lock that makes it the only one.
struct SqliteWriter {
    store: SqliteStore,
    /// Held (locked) for as long as this writer lives.
    _lock: std::fs::File,
}

impl StoreWriter for SqliteWriter {
    fn last_seq(&mut self) -> Result<u64, JournalError> {
        self.store.query_last_seq()
    }

    fn append(&mut self, records: &[RawRecord]) -> Result<(), JournalError> {
        let path = self.store.path.clone();
        let err = |op, e| JournalError::from_sqlite(&path, op, e);
        let tx = self.store.conn.transaction().map_err(|e| err("begin", e))?;
        {
            let mut stmt = tx
                .prepare_cached("INSERT INTO events (seq, at_ms, seat, kind, payload) VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(|e| err("prepare", e))?;
            for r in records {
                stmt.execute(params![r.seq as i64, r.at_ms, r.seat, r.kind, r.payload])
                    .map_err(|e| err("append", e))?;
            }
        }
        tx.commit().map_err(|e| err("commit", e))
    }
}

impl StoreReader for SqliteStore {
    fn last_seq(&mut self) -> Result<u64, JournalError> {
        self.query_last_seq()
    }

    fn read_page(&mut self, from: u64, limit: usize) -> Result<Vec<RawRecord>, JournalError> {
        let path = self.path.clone();
        let err = |e| JournalError::from_sqlite(&path, "read", e);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, at_ms, seat, kind, payload FROM events WHERE seq >= ?1 ORDER BY seq LIMIT ?2")
            .map_err(err)?;
        let rows = stmt
            .query_map(params![from as i64, limit as i64], |r| {
                Ok(RawRecord {
                    seq: r.get::<_, i64>(0)? as u64,
                    at_ms: r.get(1)?,
                    seat: r.get(2)?,
                    kind: r.get(3)?,
                    payload: r.get(4)?,
                })
            })
            .map_err(err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(err)
    }
}

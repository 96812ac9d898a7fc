//! The knowledge base in one SQLite file (a station on its own).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Expect, KbStore, StoredVersion, WriteSummary, now_string};
use crate::entry::Entry;
use crate::error::KbError;

/// `PRAGMA application_id` of a knowledge-base file ("AIKB").
const APPLICATION_ID: i32 = 0x4149_4B42;
/// Schema version this build writes and reads.
const SCHEMA_VERSION: i32 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entries (
    id TEXT PRIMARY KEY NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    data TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entry_versions (
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    data TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    origin TEXT NOT NULL,
    PRIMARY KEY (id, version)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
";

/// The SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    conn: Connection,
}

impl SqliteStore {
    /// Opens (creating if needed) the knowledge base at `path`.
    /// Returns the store and whether it was newly created.
    pub fn open(path: &Path) -> Result<(SqliteStore, bool), KbError> {
        let err = |source| KbError::Store {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| KbError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(err)?;
        let app: i32 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::NotADatabase =>
                {
                    KbError::NotAKb {
                        path: path.to_path_buf(),
                        reason: "not a knowledge-base file (not SQLite)".into(),
                    }
                }
                e => err(e),
            })?;
        let version: i32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(err)?;
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(err)?;
        let created = tables == 0;
        if created {
            conn.execute_batch(&format!(
                "PRAGMA journal_mode=WAL; PRAGMA application_id={APPLICATION_ID}; \
                 PRAGMA user_version={SCHEMA_VERSION}; {SCHEMA}"
            ))
            .map_err(err)?;
        } else if app != APPLICATION_ID {
            return Err(KbError::NotAKb {
                path: path.to_path_buf(),
                reason: "an SQLite file, but not an AirBridge knowledge base".into(),
            });
        } else if version > SCHEMA_VERSION {
            return Err(KbError::NotAKb {
                path: path.to_path_buf(),
                reason: format!(
                    "written by a newer AirBridge (schema {version}, this build reads {SCHEMA_VERSION})"
                ),
            });
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        Ok((
            SqliteStore {
                path: path.to_path_buf(),
                conn,
            },
            created,
        ))
    }

    fn err(&self, source: rusqlite::Error) -> KbError {
        KbError::Store {
            path: self.path.clone(),
            source,
        }
    }

    fn decode(&self, id: &str, data: &str) -> Result<Entry, KbError> {
        serde_json::from_str(data).map_err(|e| KbError::Corrupt {
            path: self.path.clone(),
            id: id.to_string(),
            reason: e.to_string(),
        })
    }
}

impl KbStore for SqliteStore {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn path(&self) -> Option<&Path> {
        Some(&self.path)
    }

    /// Every entry (active and retired), ordered by id.
    fn load_all(&self) -> Result<(u64, Vec<Entry>), KbError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, data FROM entries ORDER BY rowid")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, data) = row.map_err(|e| self.err(e))?;
            let entry: Entry = serde_json::from_str(&data).map_err(|e| KbError::Corrupt {
                path: self.path.clone(),
                id,
                reason: e.to_string(),
            })?;
            out.push(entry);
        }
        Ok((0, out))
    }

    /// Writes `entries` in one transaction: new ids are added, changed ones
    /// get a new version, identical ones are left alone. With `replace`,
    /// active entries not in `entries` are retired (also as a new version).
    fn write(
        &mut self,
        entries: &[Entry],
        origin: &str,
        replace: bool,
    ) -> Result<WriteSummary, KbError> {
        let path = self.path.clone();
        let err = |source| KbError::Store {
            path: path.clone(),
            source,
        };
        let now = now_string();
        let tx = self.conn.transaction().map_err(err)?;
        let mut summary = WriteSummary::default();
        {
            let mut get = tx
                .prepare("SELECT version, data FROM entries WHERE id = ?1")
                .map_err(err)?;
            let mut put = tx
                .prepare(
                    "INSERT INTO entries (id, version, status, data, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(id) DO UPDATE SET \
                     version = excluded.version, status = excluded.status, \
                     data = excluded.data, updated_at = excluded.updated_at",
                )
                .map_err(err)?;
            let mut hist = tx
                .prepare(
                    "INSERT INTO entry_versions (id, version, data, changed_at, origin) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(err)?;
            let mut write_one = |e: &Entry, summary: &mut WriteSummary| -> Result<(), KbError> {
                let data = serde_json::to_string(e).map_err(|x| KbError::Corrupt {
                    path: path.clone(),
                    id: e.id.clone(),
                    reason: x.to_string(),
                })?;
                let old: Option<(i64, String)> = get
                    .query_row(params![e.id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
                    .map_err(err)?;
                let version = match &old {
                    Some((_, old_data)) if *old_data == data => {
                        summary.unchanged += 1;
                        return Ok(());
                    }
                    Some((v, _)) => {
                        summary.updated += 1;
                        v + 1
                    }
                    None => {
                        summary.added += 1;
                        1
                    }
                };
                put.execute(params![e.id, version, e.status.as_str(), data, now])
                    .map_err(err)?;
                hist.execute(params![e.id, version, data, now, origin])
                    .map_err(err)?;
                Ok(())
            };
            for e in entries {
                write_one(e, &mut summary)?;
            }
            if replace {
                let keep: std::collections::HashSet<&str> =
                    entries.iter().map(|e| e.id.as_str()).collect();
                let mut active = tx
                    .prepare("SELECT data FROM entries WHERE status = 'active'")
                    .map_err(err)?;
                let stale: Vec<Entry> = active
                    .query_map([], |r| r.get::<_, String>(0))
                    .map_err(err)?
                    .filter_map(|d| d.ok())
                    .filter_map(|d| serde_json::from_str::<Entry>(&d).ok())
                    .filter(|e| !keep.contains(e.id.as_str()))
                    .collect();
                for mut e in stale {
                    e.status = crate::entry::Status::Retired;
                    write_one(&e, &mut summary)?;
                    summary.updated -= 1;
                    summary.retired += 1;
                }
            }
        }
        tx.commit().map_err(err)?;
        Ok(summary)
    }

    /// The stored current version of entry `id`, if it exists.
    fn current_version(&self, id: &str) -> Result<Option<u32>, KbError> {
        self.conn
            .query_row(
                "SELECT version FROM entries WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The current version of entry `id` and its content, if it exists.
    fn current(&self, id: &str) -> Result<Option<(u32, Entry)>, KbError> {
        let row: Option<(u32, String)> = self
            .conn
            .query_row(
                "SELECT version, data FROM entries WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        row.map(|(v, data)| Ok((v, self.decode(id, &data)?)))
            .transpose()
    }

    /// Writes one edited entry in its own transaction, after checking what
    /// is stored (the check and the write hold SQLite's write lock together,
    /// so two editors, even in two processes, cannot both pass the check).
    /// Returns the entry's version afterwards; an entry identical to the
    /// stored one writes nothing and returns the stored version.
    fn write_edit(&mut self, entry: &Entry, origin: &str, expect: Expect) -> Result<u32, KbError> {
        let path = self.path.clone();
        let err = |source| KbError::Store {
            path: path.clone(),
            source,
        };
        let data = serde_json::to_string(entry).map_err(|x| KbError::Corrupt {
            path: path.clone(),
            id: entry.id.clone(),
            reason: x.to_string(),
        })?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let old: Option<(u32, String)> = tx
            .query_row(
                "SELECT version, data FROM entries WHERE id = ?1",
                params![entry.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(err)?;
        let id = entry.id.clone();
        match (expect, &old) {
            (Expect::Absent, Some((v, _))) => {
                return Err(KbError::IdTaken { id, version: *v });
            }
            (Expect::Version(expected), None) => {
                return Err(KbError::NotFound {
                    id,
                    expected: Some(expected),
                });
            }
            (Expect::Version(expected), Some((current, _))) if *current != expected => {
                return Err(KbError::VersionConflict {
                    id,
                    expected,
                    current: *current,
                });
            }
            _ => {}
        }
        let version = match &old {
            Some((v, old_data)) if *old_data == data => return Ok(*v),
            Some((v, _)) => v + 1,
            None => 1,
        };
        let now = now_string();
        tx.execute(
            "INSERT INTO entries (id, version, status, data, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(id) DO UPDATE SET \
             version = excluded.version, status = excluded.status, \
             data = excluded.data, updated_at = excluded.updated_at",
            params![entry.id, version, entry.status.as_str(), data, now],
        )
        .map_err(err)?;
        tx.execute(
            "INSERT INTO entry_versions (id, version, data, changed_at, origin) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![entry.id, version, data, now, origin],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(version)
    }

    /// Every stored version of entry `id`, newest first (empty when the id
    /// was never stored).
    fn history(&self, id: &str) -> Result<Vec<StoredVersion>, KbError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT version, data, changed_at, origin FROM entry_versions \
                 WHERE id = ?1 ORDER BY version DESC",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![id], |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (version, data, changed_at, origin) = row.map_err(|e| self.err(e))?;
            out.push(StoredVersion {
                version,
                entry: self.decode(id, &data)?,
                changed_at,
                origin,
            });
        }
        Ok(out)
    }

    /// How many versions entry `id` has.
    fn version_count(&self, id: &str) -> Result<u32, KbError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM entry_versions WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Reads a metadata value.
    fn meta(&self, key: &str) -> Result<Option<String>, KbError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Writes a metadata value.
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), KbError> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) \
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn changes_since(&self, _since: u64) -> Result<(u64, Vec<Entry>), KbError> {
        // one station, one process writing: its own edits are applied as
        // they are made
        Ok((0, Vec::new()))
    }

    fn insert_with_history(&mut self, items: &[Vec<StoredVersion>]) -> Result<(), KbError> {
        let path = self.path.clone();
        let err = |source| KbError::Store {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        for versions in items {
            let Some(last) = versions.last() else {
                continue;
            };
            let e = &last.entry;
            let data = serde_json::to_string(e).map_err(|x| KbError::Corrupt {
                path: path.clone(),
                id: e.id.clone(),
                reason: x.to_string(),
            })?;
            let taken: Option<u32> = tx
                .query_row(
                    "SELECT version FROM entries WHERE id = ?1",
                    params![e.id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(err)?;
            if let Some(version) = taken {
                return Err(KbError::IdTaken {
                    id: e.id.clone(),
                    version,
                });
            }
            tx.execute(
                "INSERT INTO entries (id, version, status, data, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![e.id, last.version, e.status.as_str(), data, last.changed_at],
            )
            .map_err(err)?;
            for v in versions {
                let data = serde_json::to_string(&v.entry).map_err(|x| KbError::Corrupt {
                    path: path.clone(),
                    id: e.id.clone(),
                    reason: x.to_string(),
                })?;
                tx.execute(
                    "INSERT INTO entry_versions (id, version, data, changed_at, origin) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![e.id, v.version, data, v.changed_at, v.origin],
                )
                .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }
}

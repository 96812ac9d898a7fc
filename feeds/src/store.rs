//! The back-office store of **raw, unmasked** audience messages.
//!
//! A separate SQLite file (never the show journal), created with owner-only
//! permissions (0600 on Unix). Only the back office reads it
//! ([`RawStore::get`]); host and air views only ever see the masked journal.
//! Its primary key `(source, id)` is also the durable dedupe record: a
//! message whose key is already stored is a duplicate (WeChat retries,
//! Douyin re-pushes, a bilibili reconnect replaying the last packets).
//!
//! A row is *pending* from its insert until the pipeline has the journal's
//! acknowledgement for its event ([`RawStore::confirm`]). A crash between
//! the two leaves it pending: it is not a duplicate for a retry, and the
//! pipeline's start-up recovery journals it (or confirms it, when the journal
//! already has it), so every stored message reaches the journal exactly once.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::FeedsError;
use crate::model::AudienceMessage;

/// Raw messages, for the back office only.
#[derive(Debug)]
pub struct RawStore {
    conn: Connection,
    path: PathBuf,
}

/// One stored raw message.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    pub message: AudienceMessage,
    pub received_ms: i64,
    pub spam: bool,
}

impl RawStore {
    /// Opens or creates the store (owner-only file permissions).
    pub fn open(path: &Path) -> Result<Self, FeedsError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        let conn = Connection::open(path)?;
        restrict_permissions(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=NORMAL;
             CREATE TABLE IF NOT EXISTS raw_messages (
                source TEXT NOT NULL,
                id TEXT NOT NULL,
                author TEXT NOT NULL,
                text TEXT NOT NULL,
                hint TEXT NOT NULL,
                ts_ms INTEGER NOT NULL,
                received_ms INTEGER NOT NULL,
                spam INTEGER NOT NULL,
                pending INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (source, id)
             ) WITHOUT ROWID;",
        )?;
        // Stores from before `pending` existed: their rows are all settled.
        let has_pending: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('raw_messages') WHERE name = 'pending'")?
            .exists([])?;
        if !has_pending {
            conn.execute_batch(
                "ALTER TABLE raw_messages ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;",
            )?;
        }
        // Stores from before `author_id` (the platform's user id, for
        // written answers and blocking): unknown for their rows.
        let has_author_id: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('raw_messages') WHERE name = 'author_id'")?
            .exists([])?;
        if !has_author_id {
            conn.execute_batch(
                "ALTER TABLE raw_messages ADD COLUMN author_id TEXT NOT NULL DEFAULT '';",
            )?;
        }
        Ok(Self {
            conn,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Inserts a batch in one transaction; returns, per message, whether it
    /// was new (`false` = already stored and settled: a duplicate). A row
    /// still pending from an earlier attempt counts as new. Non-spam rows
    /// are pending until [`RawStore::confirm`].
    pub fn insert_batch(
        &mut self,
        batch: &[(&AudienceMessage, bool)],
        received_ms: i64,
    ) -> Result<Vec<bool>, FeedsError> {
        let tx = self.conn.transaction()?;
        let mut fresh = Vec::with_capacity(batch.len());
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO raw_messages
                 (source, id, author, text, hint, ts_ms, received_ms, spam, pending, author_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            let mut pending = tx.prepare_cached(
                "SELECT 1 FROM raw_messages WHERE source = ?1 AND id = ?2 AND pending = 1",
            )?;
            for (m, spam) in batch {
                let hint = serde_json::to_string(&m.hint).unwrap_or_default();
                let n = stmt.execute(params![
                    m.source,
                    m.id,
                    m.author,
                    m.text,
                    hint,
                    m.ts_ms,
                    received_ms,
                    *spam,
                    !*spam,
                    m.author_id
                ])?;
                fresh.push(n == 1 || pending.exists(params![m.source, m.id])?);
            }
        }
        tx.commit()?;
        Ok(fresh)
    }

    /// Removes rows again (their journal append failed, so a retry must not
    /// be taken for a duplicate).
    pub fn delete(&mut self, keys: &[(&str, &str)]) -> Result<(), FeedsError> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt =
                tx.prepare_cached("DELETE FROM raw_messages WHERE source = ?1 AND id = ?2")?;
            for (source, id) in keys {
                stmt.execute(params![source, id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Settles rows whose journal events are durable.
    pub fn confirm(&mut self, keys: &[(&str, &str)]) -> Result<(), FeedsError> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE raw_messages SET pending = 0 WHERE source = ?1 AND id = ?2",
            )?;
            for (source, id) in keys {
                stmt.execute(params![source, id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Rows not yet confirmed (after a crash), oldest first.
    pub fn pending(&self) -> Result<Vec<RawRecord>, FeedsError> {
        let mut stmt = self.conn.prepare(
            "SELECT source, id, author, text, hint, ts_ms, received_ms, spam, author_id FROM raw_messages
             WHERE pending = 1 ORDER BY received_ms",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(RawRecord {
                message: AudienceMessage {
                    source: r.get(0)?,
                    id: r.get(1)?,
                    author: r.get(2)?,
                    text: r.get(3)?,
                    hint: serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or_default(),
                    ts_ms: r.get(5)?,
                    test: false,
                    author_id: r.get(8)?,
                },
                received_ms: r.get(6)?,
                spam: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The raw record of one message (back office only).
    pub fn get(&self, source: &str, id: &str) -> Result<Option<RawRecord>, FeedsError> {
        let row = self
            .conn
            .query_row(
                "SELECT author, text, hint, ts_ms, received_ms, spam, author_id FROM raw_messages
                 WHERE source = ?1 AND id = ?2",
                params![source, id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, bool>(5)?,
                        r.get::<_, String>(6)?,
                    ))
                },
            )
            .optional()?;
        Ok(row.map(
            |(author, text, hint, ts_ms, received_ms, spam, author_id)| RawRecord {
                message: AudienceMessage {
                    source: source.to_owned(),
                    id: id.to_owned(),
                    author,
                    text,
                    hint: serde_json::from_str(&hint).unwrap_or_default(),
                    ts_ms,
                    test: false,
                    author_id,
                },
                received_ms,
                spam,
            },
        ))
    }

    /// How many raw messages are stored.
    pub fn count(&self) -> Result<u64, FeedsError> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM raw_messages", [], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) -> Result<(), FeedsError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) -> Result<(), FeedsError> {
    Ok(())
}

//! Tickets in SQLite (WAL, `synchronous=FULL`): the default, one file per station.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    INSERT_TICKET, OPEN_STATES, Query, TicketStore, UNDISPATCHED_STATES, check_scope, decode,
    decode_audit, departments_column, encode, in_list, ms, scope_sql,
};
use crate::error::TicketError;
use crate::model::{AuditEntry, Ticket};

const APPLICATION_ID: i32 = 0x4142_5254; // "ABRT"

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tickets (
    id              TEXT PRIMARY KEY,
    version         INTEGER NOT NULL,
    state           TEXT NOT NULL,
    departments     TEXT NOT NULL,
    received_ms     INTEGER NOT NULL,
    dispatch_due_ms INTEGER NOT NULL,
    resolve_due_ms  INTEGER NOT NULL,
    updated_by      TEXT NOT NULL,
    updated_ms      INTEGER NOT NULL,
    data            TEXT NOT NULL,
    station         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS tickets_state_resolve ON tickets (state, resolve_due_ms);
CREATE INDEX IF NOT EXISTS tickets_state_dispatch ON tickets (state, dispatch_due_ms);
CREATE INDEX IF NOT EXISTS tickets_received ON tickets (received_ms);
CREATE TABLE IF NOT EXISTS audit (
    ticket_id TEXT NOT NULL,
    version   INTEGER NOT NULL,
    at_ms     INTEGER NOT NULL,
    who       TEXT NOT NULL,
    action    TEXT NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (ticket_id, version)
);
";

#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    scope: Option<String>,
}

/// Brings a file made by an older version up to this schema: the station
/// column (tickets made then belong to no station: '').
fn upgrade(conn: &Connection) -> rusqlite::Result<()> {
    let has_station: bool = conn
        .prepare("SELECT 1 FROM pragma_table_info('tickets') WHERE name = 'station'")?
        .exists([])?;
    if !has_station {
        conn.execute_batch("ALTER TABLE tickets ADD COLUMN station TEXT NOT NULL DEFAULT '';")?;
    }
    conn.execute_batch(
        "CREATE INDEX IF NOT EXISTS tickets_station_state_resolve ON tickets (station, state, resolve_due_ms);",
    )
}

impl SqliteStore {
    /// Opens or creates the ticket database at `path`.
    pub fn open(path: &Path) -> Result<Self, TicketError> {
        let store = path.display().to_string();
        let err = |op: &'static str| {
            let store = store.clone();
            move |e: rusqlite::Error| map_err(&store, op, e)
        };
        let conn = Connection::open(path).map_err(err("open"))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err("configure"))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err("enable WAL"))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err("configure"))?;
        let app_id: i32 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(err("read header"))?;
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(err("read schema"))?;
        if app_id == 0 && tables == 0 {
            conn.execute_batch(&format!(
                "BEGIN; {SCHEMA} PRAGMA application_id = {APPLICATION_ID}; COMMIT;"
            ))
            .map_err(err("create schema"))?;
        } else if app_id != APPLICATION_ID {
            return Err(TicketError::Store {
                store,
                op: "open",
                detail: "not an AirBridge ticket database (wrong file type)".into(),
            });
        }
        upgrade(&conn).map_err(err("upgrade schema"))?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
            scope: None,
        })
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn tickets(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<Ticket>, TicketError> {
        let name = self.name();
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| map_err(&name, "query", e))?;
        let rows = stmt
            .query_map(params, |r| r.get::<_, String>(0))
            .map_err(|e| map_err(&name, "query", e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| map_err(&name, "query", e))?;
        rows.iter().map(|json| decode(&name, json)).collect()
    }
}

fn map_err(store: &str, op: &'static str, e: rusqlite::Error) -> TicketError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e
        && matches!(
            f.code,
            rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
        )
    {
        return TicketError::Corrupt {
            store: store.to_owned(),
            detail: msg.clone().unwrap_or_else(|| f.to_string()),
        };
    }
    TicketError::Store {
        store: store.to_owned(),
        op,
        detail: e.to_string(),
    }
}

/// Inserts one ticket row; `Ok(false)` when the id is taken. SQLite accepts
/// `$N` placeholders, so the SQL is shared with PostgreSQL.
fn insert_ticket(
    tx: &rusqlite::Transaction<'_>,
    store: &str,
    t: &Ticket,
    who: &str,
    json: &str,
) -> Result<bool, TicketError> {
    let mut stmt = tx
        .prepare_cached(INSERT_TICKET)
        .map_err(|e| map_err(store, "prepare", e))?;
    let n = stmt
        .execute(params![
            t.id,
            t.version as i64,
            t.state.as_str(),
            departments_column(t),
            ms(t.received_at),
            ms(t.dispatch_due),
            ms(t.resolve_due),
            who,
            ms(t.updated_at),
            json,
            t.station
        ])
        .map_err(|e| map_err(store, "insert ticket", e))?;
    Ok(n == 1)
}

fn insert_audit(
    tx: &rusqlite::Transaction<'_>,
    store: &str,
    audit: &AuditEntry,
) -> Result<(), TicketError> {
    let json = serde_json::to_string(audit).map_err(|e| TicketError::Invalid {
        field: "audit",
        reason: e.to_string(),
    })?;
    tx.execute(
        "INSERT INTO audit (ticket_id, version, at_ms, who, action, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![audit.ticket_id, audit.version as i64, ms(audit.at), audit.who, audit.action, json],
    )
    .map_err(|e| map_err(store, "write audit", e))?;
    Ok(())
}

impl TicketStore for SqliteStore {
    fn describe(&self) -> String {
        format!("sqlite:{}", self.name())
    }

    fn insert(&mut self, t: &Ticket, audit: &AuditEntry) -> Result<bool, TicketError> {
        let name = self.name();
        let json = encode(t)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| map_err(&name, "begin", e))?;
        if !insert_ticket(&tx, &name, t, &audit.who, &json)? {
            return Ok(false);
        }
        insert_audit(&tx, &name, audit)?;
        tx.commit().map_err(|e| map_err(&name, "commit", e))?;
        Ok(true)
    }

    fn insert_many(&mut self, items: &[(Ticket, AuditEntry)]) -> Result<(), TicketError> {
        let name = self.name();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| map_err(&name, "begin", e))?;
        for (t, audit) in items {
            if !insert_ticket(&tx, &name, t, &audit.who, &encode(t)?)? {
                return Err(TicketError::Invalid {
                    field: "id",
                    reason: format!("ticket {} already exists", t.id),
                });
            }
            insert_audit(&tx, &name, audit)?;
        }
        tx.commit().map_err(|e| map_err(&name, "commit", e))
    }

    fn update(&mut self, t: &Ticket, audit: &AuditEntry) -> Result<(), TicketError> {
        let name = self.name();
        let json = encode(t)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| map_err(&name, "begin", e))?;
        let expected = t.version - 1;
        let changed = tx
            .execute(
                "UPDATE tickets SET version = ?1, state = ?2, departments = ?3, dispatch_due_ms = ?4,
                     resolve_due_ms = ?5, updated_by = ?6, updated_ms = ?7, data = ?8
                 WHERE id = ?9 AND version = ?10",
                params![
                    t.version as i64,
                    t.state.as_str(),
                    departments_column(t),
                    ms(t.dispatch_due),
                    ms(t.resolve_due),
                    audit.who,
                    ms(t.updated_at),
                    json,
                    t.id,
                    expected as i64
                ],
            )
            .map_err(|e| map_err(&name, "update ticket", e))?;
        if changed == 0 {
            let current: Option<(i64, String, i64)> = tx
                .query_row(
                    "SELECT version, updated_by, updated_ms FROM tickets WHERE id = ?1",
                    params![t.id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(|e| map_err(&name, "read ticket", e))?;
            return Err(match current {
                None => TicketError::NotFound { id: t.id.clone() },
                Some((actual, by, at)) => TicketError::Conflict {
                    id: t.id.clone(),
                    expected,
                    actual: actual as u64,
                    by,
                    at: chrono::DateTime::from_timestamp_millis(at).unwrap_or_default(),
                },
            });
        }
        insert_audit(&tx, &name, audit)?;
        tx.commit().map_err(|e| map_err(&name, "commit", e))
    }

    fn get(&mut self, id: &str) -> Result<Option<Ticket>, TicketError> {
        Ok(self
            .tickets("SELECT data FROM tickets WHERE id = ?1", params![id])?
            .pop())
    }

    fn audit(&mut self, id: &str) -> Result<Vec<AuditEntry>, TicketError> {
        let name = self.name();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT data FROM audit WHERE ticket_id = ?1 ORDER BY version")
            .map_err(|e| map_err(&name, "query", e))?;
        let rows = stmt
            .query_map(params![id], |r| r.get::<_, String>(0))
            .map_err(|e| map_err(&name, "query", e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| map_err(&name, "query", e))?;
        rows.iter().map(|json| decode_audit(&name, json)).collect()
    }

    fn query(&mut self, query: &Query) -> Result<Vec<Ticket>, TicketError> {
        let open = in_list(&OPEN_STATES);
        let undispatched = in_list(&UNDISPATCHED_STATES);
        let sc = scope_sql(self.scope.as_deref());
        match query {
            Query::Overdue { now, limit } => self.tickets(
                &format!(
                    "SELECT data, resolve_due_ms FROM tickets WHERE state IN ({open}) AND resolve_due_ms < ?1{sc}
                     UNION
                     SELECT data, resolve_due_ms FROM tickets WHERE state IN ({undispatched}) AND dispatch_due_ms < ?1{sc}
                     ORDER BY 2 LIMIT ?2"
                ),
                params![ms(*now), *limit as i64],
            ),
            Query::DueSoon { now, until, limit } => self.tickets(
                &format!(
                    "SELECT data FROM tickets WHERE state IN ({open}) AND resolve_due_ms > ?1 AND resolve_due_ms <= ?2{sc}
                     ORDER BY resolve_due_ms LIMIT ?3"
                ),
                params![ms(*now), ms(*until), *limit as i64],
            ),
            Query::State { state, limit } => self.tickets(
                &format!(
                    "SELECT data FROM tickets WHERE state = ?1{sc} ORDER BY resolve_due_ms LIMIT ?2"
                ),
                params![state.as_str(), *limit as i64],
            ),
            Query::Department { department, limit } => self.tickets(
                &format!(
                    "SELECT data FROM tickets WHERE state IN ({open}) AND departments LIKE ?1{sc}
                     ORDER BY resolve_due_ms LIMIT ?2"
                ),
                params![format!("%,{department},%"), *limit as i64],
            ),
            Query::ReceivedBetween { from, to } => self.tickets(
                &format!(
                    "SELECT data FROM tickets WHERE received_ms >= ?1 AND received_ms < ?2{sc} ORDER BY received_ms, id"
                ),
                params![ms(*from), ms(*to)],
            ),
        }
    }

    fn count_prefix(&mut self, prefix: &str) -> Result<u64, TicketError> {
        let name = self.name();
        // Ids are "<prefix><4+ digits>": a range scan on the primary key.
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM tickets WHERE id >= ?1 AND id < ?2",
                params![prefix, format!("{prefix}\u{10FFFF}")],
                |r| r.get(0),
            )
            .map_err(|e| map_err(&name, "count", e))?;
        Ok(n as u64)
    }

    fn count(&mut self) -> Result<u64, TicketError> {
        let name = self.name();
        let sc = scope_sql(self.scope.as_deref());
        let n: i64 = self
            .conn
            .query_row(
                &format!("SELECT count(*) FROM tickets WHERE 1 = 1{sc}"),
                [],
                |r| r.get(0),
            )
            .map_err(|e| map_err(&name, "count", e))?;
        Ok(n as u64)
    }

    fn set_scope(&mut self, station: Option<String>) -> Result<(), TicketError> {
        check_scope(&self.name(), station.as_ref())?;
        self.scope = station;
        Ok(())
    }

    fn insert_with_audit(
        &mut self,
        items: &[(Ticket, Vec<AuditEntry>)],
    ) -> Result<(), TicketError> {
        let name = self.name();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| map_err(&name, "begin", e))?;
        for (t, audits) in items {
            let who = audits.last().map_or("migration", |a| a.who.as_str());
            if !insert_ticket(&tx, &name, t, who, &encode(t)?)? {
                return Err(TicketError::Invalid {
                    field: "id",
                    reason: format!("ticket {} already exists", t.id),
                });
            }
            for a in audits {
                insert_audit(&tx, &name, a)?;
            }
        }
        tx.commit().map_err(|e| map_err(&name, "commit", e))
    }
}

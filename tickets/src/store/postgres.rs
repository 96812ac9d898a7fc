//! Tickets in PostgreSQL: for stations sharing one ticket system
//! (e.g. a city studio and its county studios). Same rows as SQLite.

use postgres::{Client, NoTls};

use super::{
    INSERT_TICKET, OPEN_STATES, Query, TicketStore, UNDISPATCHED_STATES, check_scope, decode,
    decode_audit, departments_column, encode, in_list, ms, scope_sql,
};
use crate::error::TicketError;
use crate::model::{AuditEntry, Ticket};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tickets (
    id              TEXT PRIMARY KEY,
    version         BIGINT NOT NULL,
    state           TEXT NOT NULL,
    departments     TEXT NOT NULL,
    received_ms     BIGINT NOT NULL,
    dispatch_due_ms BIGINT NOT NULL,
    resolve_due_ms  BIGINT NOT NULL,
    updated_by      TEXT NOT NULL,
    updated_ms      BIGINT NOT NULL,
    data            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tickets_state_resolve ON tickets (state, resolve_due_ms);
CREATE INDEX IF NOT EXISTS tickets_state_dispatch ON tickets (state, dispatch_due_ms);
CREATE INDEX IF NOT EXISTS tickets_received ON tickets (received_ms);
CREATE INDEX IF NOT EXISTS tickets_id_prefix ON tickets (id text_pattern_ops);
ALTER TABLE tickets ADD COLUMN IF NOT EXISTS station TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS tickets_station_state_resolve ON tickets (station, state, resolve_due_ms);
CREATE INDEX IF NOT EXISTS tickets_station_received ON tickets (station, received_ms);
CREATE TABLE IF NOT EXISTS audit (
    ticket_id TEXT NOT NULL,
    version   BIGINT NOT NULL,
    at_ms     BIGINT NOT NULL,
    who       TEXT NOT NULL,
    action    TEXT NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (ticket_id, version)
);
";

pub struct PostgresStore {
    client: Client,
    name: String,
    scope: Option<String>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("name", &self.name)
            .finish()
    }
}

/// A connection URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

fn pg_err(store: &str, op: &'static str, e: &postgres::Error) -> TicketError {
    // the server's own words ("db error" alone says nothing)
    let detail = match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    };
    TicketError::Store {
        store: store.to_owned(),
        op,
        detail,
    }
}

impl PostgresStore {
    /// Connects and creates the tables if needed. `schema` isolates one
    /// system (or one test) from another in the same database.
    pub fn connect(url: &str, schema: Option<&str>) -> Result<Self, TicketError> {
        let name = format!("postgres:{}", redact(url));
        let mut client = Client::connect(url, NoTls).map_err(|e| pg_err(&name, "connect", &e))?;
        if let Some(schema) = schema {
            if !schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(TicketError::Invalid {
                    field: "schema",
                    reason: format!("{schema:?}: letters, digits, _"),
                });
            }
            client
                .batch_execute(&format!(
                    "CREATE SCHEMA IF NOT EXISTS {schema}; SET search_path TO {schema};"
                ))
                .map_err(|e| pg_err(&name, "select schema", &e))?;
        }
        // stations starting at the same time create the tables one at a time
        client
            .batch_execute(&format!(
                "BEGIN; SELECT pg_advisory_xact_lock(hashtext('airbridge-tickets-schema')); {SCHEMA} COMMIT;"
            ))
            .map_err(|e| pg_err(&name, "create schema", &e))?;
        Ok(Self {
            client,
            name,
            scope: None,
        })
    }

    fn tickets(
        &mut self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Ticket>, TicketError> {
        let rows = self
            .client
            .query(sql, params)
            .map_err(|e| pg_err(&self.name, "query", &e))?;
        rows.iter()
            .map(|r| decode(&self.name, r.get::<_, &str>(0)))
            .collect()
    }
}

/// Inserts one ticket row; `Ok(false)` when the id is taken.
fn insert_ticket(
    tx: &mut postgres::Transaction<'_>,
    store: &str,
    t: &Ticket,
    who: &str,
    json: &str,
) -> Result<bool, TicketError> {
    let n = tx
        .execute(
            INSERT_TICKET,
            &[
                &t.id,
                &(t.version as i64),
                &t.state.as_str(),
                &departments_column(t),
                &ms(t.received_at),
                &ms(t.dispatch_due),
                &ms(t.resolve_due),
                &who,
                &ms(t.updated_at),
                &json,
                &t.station,
            ],
        )
        .map_err(|e| pg_err(store, "insert ticket", &e))?;
    Ok(n == 1)
}

fn insert_audit(
    tx: &mut postgres::Transaction<'_>,
    store: &str,
    audit: &AuditEntry,
) -> Result<(), TicketError> {
    let json = serde_json::to_string(audit).map_err(|e| TicketError::Invalid {
        field: "audit",
        reason: e.to_string(),
    })?;
    tx.execute(
        "INSERT INTO audit (ticket_id, version, at_ms, who, action, data) VALUES ($1, $2, $3, $4, $5, $6)",
        &[&audit.ticket_id, &(audit.version as i64), &ms(audit.at), &audit.who, &audit.action, &json],
    )
    .map_err(|e| pg_err(store, "write audit", &e))?;
    Ok(())
}

impl TicketStore for PostgresStore {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn insert(&mut self, t: &Ticket, audit: &AuditEntry) -> Result<bool, TicketError> {
        let json = encode(t)?;
        let name = self.name.clone();
        let mut tx = self
            .client
            .transaction()
            .map_err(|e| pg_err(&name, "begin", &e))?;
        if !insert_ticket(&mut tx, &name, t, &audit.who, &json)? {
            return Ok(false);
        }
        insert_audit(&mut tx, &name, audit)?;
        tx.commit().map_err(|e| pg_err(&name, "commit", &e))?;
        Ok(true)
    }

    fn insert_many(&mut self, items: &[(Ticket, AuditEntry)]) -> Result<(), TicketError> {
        let name = self.name.clone();
        let mut tx = self
            .client
            .transaction()
            .map_err(|e| pg_err(&name, "begin", &e))?;
        for (t, audit) in items {
            if !insert_ticket(&mut tx, &name, t, &audit.who, &encode(t)?)? {
                return Err(TicketError::Invalid {
                    field: "id",
                    reason: format!("ticket {} already exists", t.id),
                });
            }
            insert_audit(&mut tx, &name, audit)?;
        }
        tx.commit().map_err(|e| pg_err(&name, "commit", &e))
    }

    fn update(&mut self, t: &Ticket, audit: &AuditEntry) -> Result<(), TicketError> {
        let json = encode(t)?;
        let name = self.name.clone();
        let expected = t.version - 1;
        let mut tx = self
            .client
            .transaction()
            .map_err(|e| pg_err(&name, "begin", &e))?;
        let changed = tx
            .execute(
                "UPDATE tickets SET version = $1, state = $2, departments = $3, dispatch_due_ms = $4,
                     resolve_due_ms = $5, updated_by = $6, updated_ms = $7, data = $8
                 WHERE id = $9 AND version = $10",
                &[
                    &(t.version as i64),
                    &t.state.as_str(),
                    &departments_column(t),
                    &ms(t.dispatch_due),
                    &ms(t.resolve_due),
                    &audit.who,
                    &ms(t.updated_at),
                    &json,
                    &t.id,
                    &(expected as i64),
                ],
            )
            .map_err(|e| pg_err(&name, "update ticket", &e))?;
        if changed == 0 {
            let row = tx
                .query_opt(
                    "SELECT version, updated_by, updated_ms FROM tickets WHERE id = $1",
                    &[&t.id],
                )
                .map_err(|e| pg_err(&name, "read ticket", &e))?;
            return Err(match row {
                None => TicketError::NotFound { id: t.id.clone() },
                Some(r) => TicketError::Conflict {
                    id: t.id.clone(),
                    expected,
                    actual: r.get::<_, i64>(0) as u64,
                    by: r.get(1),
                    at: chrono::DateTime::from_timestamp_millis(r.get(2)).unwrap_or_default(),
                },
            });
        }
        insert_audit(&mut tx, &name, audit)?;
        tx.commit().map_err(|e| pg_err(&name, "commit", &e))
    }

    fn get(&mut self, id: &str) -> Result<Option<Ticket>, TicketError> {
        Ok(self
            .tickets("SELECT data FROM tickets WHERE id = $1", &[&id])?
            .pop())
    }

    fn audit(&mut self, id: &str) -> Result<Vec<AuditEntry>, TicketError> {
        let rows = self
            .client
            .query(
                "SELECT data FROM audit WHERE ticket_id = $1 ORDER BY version",
                &[&id],
            )
            .map_err(|e| pg_err(&self.name, "query", &e))?;
        rows.iter()
            .map(|r| decode_audit(&self.name, r.get::<_, &str>(0)))
            .collect()
    }

    fn query(&mut self, query: &Query) -> Result<Vec<Ticket>, TicketError> {
        let open = in_list(&OPEN_STATES);
        let undispatched = in_list(&UNDISPATCHED_STATES);
        let sc = scope_sql(self.scope.as_deref());
        match query {
            Query::Overdue { now, limit } => self.tickets(
                &format!(
                    "SELECT data, resolve_due_ms FROM tickets WHERE state IN ({open}) AND resolve_due_ms < $1{sc}
                     UNION
                     SELECT data, resolve_due_ms FROM tickets WHERE state IN ({undispatched}) AND dispatch_due_ms < $1{sc}
                     ORDER BY 2 LIMIT $2"
                ),
                &[&ms(*now), &(*limit as i64)],
            ),
            Query::DueSoon { now, until, limit } => self.tickets(
                &format!(
                    "SELECT data FROM tickets WHERE state IN ({open}) AND resolve_due_ms > $1 AND resolve_due_ms <= $2{sc}
                     ORDER BY resolve_due_ms LIMIT $3"
                ),
                &[&ms(*now), &ms(*until), &(*limit as i64)],
            ),
            Query::State { state, limit } => self.tickets(
                &format!(
                    "SELECT data FROM tickets WHERE state = $1{sc} ORDER BY resolve_due_ms LIMIT $2"
                ),
                &[&state.as_str(), &(*limit as i64)],
            ),
            Query::Department { department, limit } => self.tickets(
                &format!(
                    "SELECT data FROM tickets WHERE state IN ({open}) AND departments LIKE $1{sc}
                     ORDER BY resolve_due_ms LIMIT $2"
                ),
                &[&format!("%,{department},%"), &(*limit as i64)],
            ),
            Query::ReceivedBetween { from, to } => self.tickets(
                &format!(
                    "SELECT data FROM tickets WHERE received_ms >= $1 AND received_ms < $2{sc} ORDER BY received_ms, id"
                ),
                &[&ms(*from), &ms(*to)],
            ),
        }
    }

    fn count_prefix(&mut self, prefix: &str) -> Result<u64, TicketError> {
        let row = self
            .client
            .query_one(
                "SELECT count(*) FROM tickets WHERE id LIKE $1",
                &[&format!("{prefix}%")],
            )
            .map_err(|e| pg_err(&self.name, "count", &e))?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    fn count(&mut self) -> Result<u64, TicketError> {
        let sc = scope_sql(self.scope.as_deref());
        let row = self
            .client
            .query_one(
                &format!("SELECT count(*) FROM tickets WHERE 1 = 1{sc}"),
                &[],
            )
            .map_err(|e| pg_err(&self.name, "count", &e))?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    fn set_scope(&mut self, station: Option<String>) -> Result<(), TicketError> {
        check_scope(&self.name, station.as_ref())?;
        self.scope = station;
        Ok(())
    }

    fn insert_with_audit(
        &mut self,
        items: &[(Ticket, Vec<AuditEntry>)],
    ) -> Result<(), TicketError> {
        let name = self.name.clone();
        let mut tx = self
            .client
            .transaction()
            .map_err(|e| pg_err(&name, "begin", &e))?;
        for (t, audits) in items {
            let who = audits.last().map_or("migration", |a| a.who.as_str());
            if !insert_ticket(&mut tx, &name, t, who, &encode(t)?)? {
                return Err(TicketError::Invalid {
                    field: "id",
                    reason: format!("ticket {} already exists", t.id),
                });
            }
            for a in audits {
                insert_audit(&mut tx, &name, a)?;
            }
        }
        tx.commit().map_err(|e| pg_err(&name, "commit", &e))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            super::redact("postgres://desk:s3cret@127.0.0.1:5432/tickets"),
            "postgres://desk@127.0.0.1:5432/tickets"
        );
        assert_eq!(super::redact("host=/tmp user=x"), "host=/tmp user=x");
    }
}

//! Where tickets live. The desk ([`crate::TicketDesk`]) holds every rule;
//! a store only keeps rows, with two duties:
//! - a ticket and its audit entry are written in one transaction, durably;
//! - an update succeeds only if the stored version is the one the change was
//!   based on (optimistic concurrency between seats).
//!
//! SQLite is the default; PostgreSQL serves stations sharing one system.
//! Both store the ticket as JSON plus the columns that queries filter on.

mod postgres;
mod sqlite;

use chrono::{DateTime, Utc};

pub use self::postgres::PostgresStore;
pub use self::sqlite::SqliteStore;
use crate::error::TicketError;
use crate::model::{AuditEntry, Ticket};

/// A question for the store; results are ordered by the relevant deadline
/// (or receipt time) and capped by `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Open tickets past a deadline at `now`: dispatch (not yet dispatched) or resolve.
    Overdue { now: DateTime<Utc>, limit: usize },
    /// Open tickets whose resolve deadline falls within `(now, until]`.
    DueSoon {
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    },
    /// Tickets in one state.
    State {
        state: crate::model::TicketState,
        limit: usize,
    },
    /// Open tickets for one department.
    Department { department: String, limit: usize },
    /// All tickets received in `[from, to)`, for reports and exports.
    ReceivedBetween {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
}

pub trait TicketStore: Send {
    /// Where the store is, for messages (no credentials).
    fn describe(&self) -> String;
    /// Inserts a new ticket (version 1) and its creation audit entry.
    /// Fails with `Ok(false)` when the id is taken.
    fn insert(&mut self, ticket: &Ticket, audit: &AuditEntry) -> Result<bool, TicketError>;
    /// Inserts many tickets in one transaction, all or nothing (migration of
    /// an older system's tickets, benchmarks). A taken id fails the whole batch.
    fn insert_many(&mut self, items: &[(Ticket, AuditEntry)]) -> Result<(), TicketError>;
    /// Replaces a ticket whose stored version is `ticket.version - 1`, and adds
    /// the audit entry, atomically; a different stored version is a `Conflict`.
    fn update(&mut self, ticket: &Ticket, audit: &AuditEntry) -> Result<(), TicketError>;
    fn get(&mut self, id: &str) -> Result<Option<Ticket>, TicketError>;
    fn audit(&mut self, id: &str) -> Result<Vec<AuditEntry>, TicketError>;
    fn query(&mut self, query: &Query) -> Result<Vec<Ticket>, TicketError>;
    /// How many ticket ids start with `prefix` (for numbering within a day).
    fn count_prefix(&mut self, prefix: &str) -> Result<u64, TicketError>;
    fn count(&mut self) -> Result<u64, TicketError>;
    /// Limits every query (not `get`, which is by id) to one station's
    /// tickets; `None`: every station (a city-level view). The code must
    /// pass [`airbridge_configs::is_station_code`].
    fn set_scope(&mut self, station: Option<String>) -> Result<(), TicketError>;
    /// Inserts tickets with their whole audit trails, all or nothing
    /// (moving a station's data into a shared database).
    fn insert_with_audit(&mut self, items: &[(Ticket, Vec<AuditEntry>)])
    -> Result<(), TicketError>;
}

/// The SQL condition of a scope (`AND station = '…'`), empty for all
/// stations. Codes are checked when the scope is set, so inlining is safe.
pub(crate) fn scope_sql(scope: Option<&str>) -> String {
    match scope {
        Some(code) => format!(" AND station = '{code}'"),
        None => String::new(),
    }
}

/// Checks a scope before it reaches SQL.
pub(crate) fn check_scope(store: &str, station: Option<&String>) -> Result<(), TicketError> {
    match station {
        Some(c) if !airbridge_configs::is_station_code(c) => Err(TicketError::Store {
            store: store.to_owned(),
            op: "scope",
            detail: format!("{c:?} is not a station code"),
        }),
        _ => Ok(()),
    }
}

/// States still waiting for resolution, as stored strings.
pub(crate) const OPEN_STATES: [&str; 3] = ["received", "classified", "dispatched"];
/// States waiting for dispatch.
pub(crate) const UNDISPATCHED_STATES: [&str; 2] = ["received", "classified"];

/// `'a','b'` for an SQL `IN (…)` list of fixed state names.
pub(crate) fn in_list(states: &[&str]) -> String {
    states
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The departments column: `,rsj,ybj,` so that `LIKE '%,rsj,%'` finds one.
pub(crate) fn departments_column(t: &Ticket) -> String {
    format!(",{},", t.departments.join(","))
}

/// A new ticket row; the same SQL on both backends (`?N` and `$N` differ only
/// in spelling). Taking an existing id inserts nothing.
pub(crate) const INSERT_TICKET: &str =
    "INSERT INTO tickets (id, version, state, departments, received_ms,
        dispatch_due_ms, resolve_due_ms, updated_by, updated_ms, data, station)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING";

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn encode(ticket: &Ticket) -> Result<String, TicketError> {
    serde_json::to_string(ticket).map_err(|e| TicketError::Invalid {
        field: "ticket",
        reason: e.to_string(),
    })
}

pub(crate) fn decode(store: &str, json: &str) -> Result<Ticket, TicketError> {
    serde_json::from_str(json).map_err(|e| TicketError::Corrupt {
        store: store.to_owned(),
        detail: format!("undecodable ticket row: {e}"),
    })
}

pub(crate) fn decode_audit(store: &str, json: &str) -> Result<AuditEntry, TicketError> {
    serde_json::from_str(json).map_err(|e| TicketError::Corrupt {
        store: store.to_owned(),
        detail: format!("undecodable audit row: {e}"),
    })
}

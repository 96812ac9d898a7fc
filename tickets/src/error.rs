use chrono::{DateTime, Utc};

use crate::calendar::CalendarError;
use crate::model::TicketState;

#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    #[error("ticket {id}: cannot {action} while it is {} ({}): {reason}", state.label_zh(), state.as_str())]
    InvalidTransition {
        id: String,
        action: &'static str,
        state: TicketState,
        reason: &'static str,
    },

    #[error(
        "ticket {id} was changed by {by} at {at} (now version {actual}) while you were working on version {expected}; \
         reload it and apply your change again"
    )]
    Conflict {
        id: String,
        expected: u64,
        actual: u64,
        by: String,
        at: DateTime<Utc>,
    },

    #[error("no ticket {id}")]
    NotFound { id: String },

    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },

    #[error("no SLA policy named {name:?} (known: {known})")]
    UnknownPolicy { name: String, known: String },

    #[error("no department {id:?} in the departments directory")]
    UnknownDepartment { id: String },

    #[error(transparent)]
    Calendar(#[from] CalendarError),

    #[error("ticket store {store}: {op} failed: {detail}")]
    Store {
        store: String,
        op: &'static str,
        detail: String,
    },

    #[error("ticket store {store} is damaged ({detail}); keep the file and restore a backup")]
    Corrupt { store: String, detail: String },

    #[error("ticket {id} is saved, but its journal event was not written: {detail}")]
    Journal { id: String, detail: String },

    #[error("export to {path}: {detail}")]
    Export { path: String, detail: String },
}

//! # airbridge-tickets
//!
//! Owns follow-up tickets (工单): what could not be answered on air, turned
//! into work for departments with deadlines in working days, dispatched,
//! resolved, called back and reported on.
//!
//! Never: guesses a deadline in a year whose holiday calendar is not loaded
//! (that is an error naming the year); shows a citizen's full contact in a
//! list view; loses an update between two seats (optimistic versions).
//!
//! # Layout
//! - [`calendar`]: working days (statutory holidays, 调休) and business hours.
//! - [`sla`]: dispatch and resolve deadlines from the configured policies.
//! - [`model`]: the ticket, its states, call-backs, satisfaction, audit entries.
//! - [`lifecycle`]: which changes are allowed, as one pure function.
//! - [`store`]: SQLite (default) and PostgreSQL behind one trait.
//! - [`desk`]: the service the console and CLI use; mirrors changes into the journal.
//! - [`prefill`]: a new ticket pre-filled from a show item (call, message, cluster).
//! - [`report`], [`export`]: statistics and XLSX/CSV export.

pub mod calendar;
pub mod desk;
mod error;
pub mod export;
pub mod lifecycle;
pub mod model;
pub mod prefill;
pub mod report;
pub mod sla;
pub mod store;

pub use calendar::{CalendarError, WorkCalendar};
pub use desk::{NewTicket, Reminder, TicketDesk, WorkQueue};
pub use error::TicketError;
pub use model::{
    Attachment, AuditEntry, CallbackAttempt, CallbackOutcome, Change, MAX_ATTACHMENT_BYTES,
    Satisfaction, Source, Ticket, TicketState, attachment_problem, mask_contact,
};
pub use sla::{Deadlines, Stage};
pub use store::{PostgresStore, Query, SqliteStore, TicketStore};

//! Shared by the ticket tests: the PostgreSQL test server, when there is one.

#[path = "../../../tests/src/pg.rs"]
mod pg;
pub use pg::pg_url;

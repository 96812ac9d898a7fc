//! The knowledge base in a PostgreSQL database shared by several stations
//! (a city studio and its county studios, 1+5+N). Same rows as SQLite, plus:
//! - `station` on every entry: empty for an entry shared by every station,
//!   else the code of the one station it is local to. A station's view is
//!   the shared entries and its own; it may write only those.
//! - `rev` on every entry: a database-wide revision taken by each write
//!   (writes take one advisory lock, so revisions commit in order and a
//!   reader that saw revision N has seen every write up to N). Stations
//!   refresh their in-memory index from `rev > N`, woken by `NOTIFY airbridge_kb`.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use postgres::{Client, NoTls, Transaction};

use super::{Expect, KbStore, StoredVersion, WriteSummary, now_string};
use crate::entry::{Entry, Status};
use crate::error::KbError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS kb_entries (
    seq        BIGSERIAL,
    id         TEXT PRIMARY KEY,
    station    TEXT NOT NULL DEFAULT '',
    version    BIGINT NOT NULL,
    status     TEXT NOT NULL,
    data       TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    rev        BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS kb_entries_rev ON kb_entries (rev);
CREATE INDEX IF NOT EXISTS kb_entries_station ON kb_entries (station);
CREATE TABLE IF NOT EXISTS kb_versions (
    id         TEXT NOT NULL,
    version    BIGINT NOT NULL,
    data       TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    origin     TEXT NOT NULL,
    PRIMARY KEY (id, version)
);
CREATE SEQUENCE IF NOT EXISTS kb_rev;
CREATE TABLE IF NOT EXISTS kb_meta (
    station TEXT NOT NULL,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (station, key)
);
";

/// The channel stations listen on; the payload is the new revision.
const CHANNEL: &str = "airbridge_kb";

/// A station's view of the shared knowledge base.
pub struct PostgresStore {
    client: Mutex<Client>,
    name: String,
    station: Option<String>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("name", &self.name)
            .field("station", &self.station)
            .finish_non_exhaustive()
    }
}

/// A connection string without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
    if let (Some(scheme), Some(at)) = (url.find("://"), url.rfind('@'))
        && at > scheme
    {
        let user = url[scheme + 3..at].split(':').next().unwrap_or("");
        return format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..]);
    }
    url.split_whitespace()
        .map(|kv| {
            if kv.to_ascii_lowercase().starts_with("password=") {
                "password=***"
            } else {
                kv
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn db_err(store: &str, op: &'static str, e: &postgres::Error) -> KbError {
    let detail = match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    };
    KbError::Database {
        store: store.to_owned(),
        op,
        detail,
    }
}

/// Whether `code` may name a station (the rule of `station.toml`'s `code`).
fn is_station_code(code: &str) -> bool {
    (1..=16).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && !code.starts_with(['-', '_'])
}

fn check_schema_name(schema: &str) -> Result<(), KbError> {
    if schema.is_empty()
        || !schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(KbError::Database {
            store: "postgres".into(),
            op: "select schema",
            detail: format!("{schema:?}: a schema name is letters, digits and _"),
        });
    }
    Ok(())
}

fn connect(url: &str, schema: Option<&str>, name: &str) -> Result<Client, KbError> {
    let mut client = Client::connect(url, NoTls).map_err(|e| db_err(name, "connect", &e))?;
    if let Some(schema) = schema {
        check_schema_name(schema)?;
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {schema}; SET search_path TO {schema};"
            ))
            .map_err(|e| db_err(name, "select schema", &e))?;
    }
    Ok(client)
}

impl PostgresStore {
    /// Connects, creating the tables if needed, as the view of `station`
    /// (`None`: every entry, e.g. the city's tools). `schema` isolates one
    /// system (or one test) from another in the same database. Returns the
    /// store and whether the knowledge base was empty.
    pub fn connect(
        url: &str,
        schema: Option<&str>,
        station: Option<&str>,
    ) -> Result<(PostgresStore, bool), KbError> {
        let name = format!("postgres:{}", redact(url));
        if let Some(code) = station
            && !is_station_code(code)
        {
            return Err(KbError::Database {
                store: name,
                op: "station",
                detail: format!("{code:?} is not a station code (a-z, 0-9, - and _, at most 16)"),
            });
        }
        let mut client = connect(url, schema, &name)?;
        // stations starting at the same time create the tables one at a time
        client
            .batch_execute(&format!(
                "BEGIN; SELECT pg_advisory_xact_lock(hashtext('airbridge-kb-schema')); {SCHEMA} COMMIT;"
            ))
            .map_err(|e| db_err(&name, "create schema", &e))?;
        let n: i64 = client
            .query_one("SELECT count(*) FROM kb_entries", &[])
            .map_err(|e| db_err(&name, "count", &e))?
            .get(0);
        Ok((
            PostgresStore {
                client: Mutex::new(client),
                name,
                station: station.map(str::to_owned),
            },
            n == 0,
        ))
    }

    fn client(&self) -> std::sync::MutexGuard<'_, Client> {
        self.client.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn err(&self, op: &'static str) -> impl Fn(postgres::Error) -> KbError + '_ {
        move |e| db_err(&self.name, op, &e)
    }

    /// The SQL condition of this station's view (codes are checked when
    /// the store is made, so inlining is safe).
    fn visible(&self) -> String {
        match &self.station {
            Some(code) => format!("(station = '' OR station = '{code}')"),
            None => "TRUE".into(),
        }
    }

    fn decode(&self, id: &str, data: &str) -> Result<Entry, KbError> {
        serde_json::from_str(data).map_err(|e| KbError::Corrupt {
            path: self.name.clone().into(),
            id: id.to_owned(),
            reason: e.to_string(),
        })
    }

    fn encode(&self, e: &Entry) -> Result<String, KbError> {
        serde_json::to_string(e).map_err(|x| KbError::Corrupt {
            path: self.name.clone().into(),
            id: e.id.clone(),
            reason: x.to_string(),
        })
    }

    /// Whether this station may write an entry owned by `owner`.
    fn may_write(&self, id: &str, owner: &str) -> Result<(), KbError> {
        match &self.station {
            Some(code) if !owner.is_empty() && owner != code => Err(KbError::OtherStation {
                id: id.to_owned(),
                owner: owner.to_owned(),
                station: code.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Starts a write: one writer at a time across every station, with the
    /// revision this write will carry.
    fn begin_write<'a>(&self, client: &'a mut Client) -> Result<(Transaction<'a>, i64), KbError> {
        let mut tx = client.transaction().map_err(self.err("begin"))?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('airbridge-kb-write'))",
            &[],
        )
        .map_err(self.err("lock"))?;
        let rev: i64 = tx
            .query_one("SELECT nextval('kb_rev')", &[])
            .map_err(self.err("revision"))?
            .get(0);
        Ok((tx, rev))
    }

    fn finish_write(&self, mut tx: Transaction<'_>, rev: i64) -> Result<(), KbError> {
        tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &rev.to_string()])
            .map_err(self.err("notify"))?;
        tx.commit().map_err(self.err("commit"))
    }

    /// Stores `entry` as version `version` (current row and history row).
    #[allow(clippy::too_many_arguments)]
    fn put(
        &self,
        tx: &mut Transaction<'_>,
        entry: &Entry,
        data: &str,
        version: i64,
        origin: &str,
        now: &str,
        rev: i64,
    ) -> Result<(), KbError> {
        tx.execute(
            "INSERT INTO kb_entries (id, station, version, status, data, updated_at, rev) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET \
             station = excluded.station, version = excluded.version, status = excluded.status, \
             data = excluded.data, updated_at = excluded.updated_at, rev = excluded.rev",
            &[
                &entry.id,
                &entry.station,
                &version,
                &entry.status.as_str(),
                &data,
                &now,
                &rev,
            ],
        )
        .map_err(self.err("write entry"))?;
        tx.execute(
            "INSERT INTO kb_versions (id, version, data, changed_at, origin) \
             VALUES ($1, $2, $3, $4, $5)",
            &[&entry.id, &version, &data, &now, &origin],
        )
        .map_err(self.err("write version"))?;
        Ok(())
    }

    /// The visible entries written after revision `since`, and the latest
    /// revision, read in one snapshot (the two agree).
    fn snapshot(&self, since: i64, what: &'static str) -> Result<(u64, Vec<Entry>), KbError> {
        let mut client = self.client();
        let mut tx = client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(self.err("begin"))?;
        let rev: i64 = tx
            .query_one("SELECT coalesce(max(rev), 0) FROM kb_entries", &[])
            .map_err(self.err("revision"))?
            .get(0);
        if rev <= since {
            tx.commit().map_err(self.err("commit"))?;
            return Ok((since.max(0).unsigned_abs(), Vec::new()));
        }
        let rows = tx
            .query(
                &format!(
                    "SELECT id, data FROM kb_entries WHERE rev > $1 AND {} ORDER BY seq",
                    self.visible()
                ),
                &[&since],
            )
            .map_err(self.err(what))?;
        tx.commit().map_err(self.err("commit"))?;
        Ok((rev.max(0).unsigned_abs(), self.rows_to_entries(&rows)?))
    }

    fn rows_to_entries(&self, rows: &[postgres::Row]) -> Result<Vec<Entry>, KbError> {
        rows.iter()
            .map(|r| self.decode(r.get(0), r.get(1)))
            .collect()
    }
}

impl KbStore for PostgresStore {
    fn describe(&self) -> String {
        match &self.station {
            Some(code) => format!("{} (station {code})", self.name),
            None => self.name.clone(),
        }
    }

    fn station(&self) -> Option<&str> {
        self.station.as_deref()
    }

    fn load_all(&self) -> Result<(u64, Vec<Entry>), KbError> {
        // every revision is at least 0
        self.snapshot(-1, "load")
    }

    fn changes_since(&self, since: u64) -> Result<(u64, Vec<Entry>), KbError> {
        self.snapshot(i64::try_from(since).unwrap_or(i64::MAX), "changes")
    }

    fn write(
        &mut self,
        entries: &[Entry],
        origin: &str,
        replace: bool,
    ) -> Result<WriteSummary, KbError> {
        let now = now_string();
        let mut client = self.client();
        let (mut tx, rev) = self.begin_write(&mut client)?;
        let mut summary = WriteSummary::default();
        let write_one = |tx: &mut Transaction<'_>,
                         e: &Entry,
                         summary: &mut WriteSummary|
         -> Result<(), KbError> {
            let old = tx
                .query_opt(
                    "SELECT version, data, station FROM kb_entries WHERE id = $1 FOR UPDATE",
                    &[&e.id],
                )
                .map_err(self.err("read entry"))?;
            self.may_write(&e.id, &e.station)?;
            let data = self.encode(e)?;
            let version = match &old {
                Some(row) => {
                    self.may_write(&e.id, row.get(2))?;
                    if row.get::<_, &str>(1) == data {
                        summary.unchanged += 1;
                        return Ok(());
                    }
                    summary.updated += 1;
                    row.get::<_, i64>(0) + 1
                }
                None => {
                    summary.added += 1;
                    1
                }
            };
            self.put(tx, e, &data, version, origin, &now, rev)
        };
        for e in entries {
            write_one(&mut tx, e, &mut summary)?;
        }
        if replace {
            let keep: std::collections::HashSet<&str> =
                entries.iter().map(|e| e.id.as_str()).collect();
            // a station replaces its own entries, never the shared ones
            let own = match &self.station {
                Some(code) => format!("station = '{code}'"),
                None => "TRUE".into(),
            };
            let rows = tx
                .query(
                    &format!("SELECT id, data FROM kb_entries WHERE status = 'active' AND {own}"),
                    &[],
                )
                .map_err(self.err("read active"))?;
            let stale: Vec<Entry> = self
                .rows_to_entries(&rows)?
                .into_iter()
                .filter(|e| !keep.contains(e.id.as_str()))
                .collect();
            for mut e in stale {
                e.status = Status::Retired;
                write_one(&mut tx, &e, &mut summary)?;
                summary.updated -= 1;
                summary.retired += 1;
            }
        }
        self.finish_write(tx, rev)?;
        Ok(summary)
    }

    fn write_edit(&mut self, entry: &Entry, origin: &str, expect: Expect) -> Result<u32, KbError> {
        let data = self.encode(entry)?;
        let mut client = self.client();
        let (mut tx, rev) = self.begin_write(&mut client)?;
        let old = tx
            .query_opt(
                "SELECT version, data, station FROM kb_entries WHERE id = $1 FOR UPDATE",
                &[&entry.id],
            )
            .map_err(self.err("read entry"))?;
        let id = entry.id.clone();
        let old: Option<(u32, String, String)> = old.map(|r| {
            (
                u32::try_from(r.get::<_, i64>(0)).unwrap_or(u32::MAX),
                r.get(1),
                r.get(2),
            )
        });
        // another station's entry is, for this station, not there, except
        // that its id is taken
        let foreign = match (&self.station, &old) {
            (Some(code), Some((_, _, owner))) => !owner.is_empty() && owner != code,
            _ => false,
        };
        match (expect, &old) {
            (Expect::Absent, Some((v, _, _))) => {
                return Err(KbError::IdTaken { id, version: *v });
            }
            (Expect::Version(expected), None) => {
                return Err(KbError::NotFound {
                    id,
                    expected: Some(expected),
                });
            }
            (Expect::Version(expected), Some(_)) if foreign => {
                return Err(KbError::NotFound {
                    id,
                    expected: Some(expected),
                });
            }
            (Expect::Version(expected), Some((current, _, _))) if *current != expected => {
                return Err(KbError::VersionConflict {
                    id,
                    expected,
                    current: *current,
                });
            }
            _ => {}
        }
        if let Some((_, _, owner)) = &old {
            self.may_write(&id, owner)?;
        }
        self.may_write(&id, &entry.station)?;
        let version = match &old {
            Some((v, old_data, _)) if *old_data == data => return Ok(*v),
            Some((v, _, _)) => v + 1,
            None => 1,
        };
        self.put(
            &mut tx,
            entry,
            &data,
            i64::from(version),
            origin,
            &now_string(),
            rev,
        )?;
        self.finish_write(tx, rev)?;
        Ok(version)
    }

    fn current(&self, id: &str) -> Result<Option<(u32, Entry)>, KbError> {
        let row = self
            .client()
            .query_opt(
                &format!(
                    "SELECT version, data FROM kb_entries WHERE id = $1 AND {}",
                    self.visible()
                ),
                &[&id],
            )
            .map_err(self.err("read entry"))?;
        row.map(|r| {
            Ok((
                u32::try_from(r.get::<_, i64>(0)).unwrap_or(u32::MAX),
                self.decode(id, r.get(1))?,
            ))
        })
        .transpose()
    }

    fn history(&self, id: &str) -> Result<Vec<StoredVersion>, KbError> {
        let rows = self
            .client()
            .query(
                &format!(
                    "SELECT v.version, v.data, v.changed_at, v.origin FROM kb_versions v \
                     JOIN kb_entries e ON e.id = v.id \
                     WHERE v.id = $1 AND {} ORDER BY v.version DESC",
                    self.visible().replace("station", "e.station")
                ),
                &[&id],
            )
            .map_err(self.err("history"))?;
        rows.iter()
            .map(|r| {
                Ok(StoredVersion {
                    version: u32::try_from(r.get::<_, i64>(0)).unwrap_or(u32::MAX),
                    entry: self.decode(id, r.get(1))?,
                    changed_at: r.get(2),
                    origin: r.get(3),
                })
            })
            .collect()
    }

    fn meta(&self, key: &str) -> Result<Option<String>, KbError> {
        let station = self.station.clone().unwrap_or_default();
        let row = self
            .client()
            .query_opt(
                "SELECT value FROM kb_meta WHERE station = $1 AND key = $2",
                &[&station, &key],
            )
            .map_err(self.err("read meta"))?;
        Ok(row.map(|r| r.get(0)))
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), KbError> {
        let station = self.station.clone().unwrap_or_default();
        self.client()
            .execute(
                "INSERT INTO kb_meta (station, key, value) VALUES ($1, $2, $3) \
                 ON CONFLICT (station, key) DO UPDATE SET value = excluded.value",
                &[&station, &key, &value],
            )
            .map(|_| ())
            .map_err(self.err("write meta"))
    }

    fn insert_with_history(&mut self, items: &[Vec<StoredVersion>]) -> Result<(), KbError> {
        let mut client = self.client();
        let (mut tx, rev) = self.begin_write(&mut client)?;
        for versions in items {
            let Some(last) = versions.last() else {
                continue;
            };
            let e = &last.entry;
            self.may_write(&e.id, &e.station)?;
            if let Some(row) = tx
                .query_opt("SELECT version FROM kb_entries WHERE id = $1", &[&e.id])
                .map_err(self.err("read entry"))?
            {
                return Err(KbError::IdTaken {
                    id: e.id.clone(),
                    version: u32::try_from(row.get::<_, i64>(0)).unwrap_or(u32::MAX),
                });
            }
            let data = self.encode(e)?;
            tx.execute(
                "INSERT INTO kb_entries (id, station, version, status, data, updated_at, rev) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &e.id,
                    &e.station,
                    &i64::from(last.version),
                    &e.status.as_str(),
                    &data,
                    &last.changed_at,
                    &rev,
                ],
            )
            .map_err(self.err("write entry"))?;
            for v in versions {
                let data = self.encode(&v.entry)?;
                tx.execute(
                    "INSERT INTO kb_versions (id, version, data, changed_at, origin) \
                     VALUES ($1, $2, $3, $4, $5)",
                    &[
                        &e.id,
                        &i64::from(v.version),
                        &data,
                        &v.changed_at,
                        &v.origin,
                    ],
                )
                .map_err(self.err("write version"))?;
            }
        }
        self.finish_write(tx, rev)
    }
}

/// Wakes a station when any station writes the shared knowledge base
/// (`LISTEN airbridge_kb` on a connection of its own).
pub struct KbListener {
    client: Client,
    name: String,
}

impl std::fmt::Debug for KbListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KbListener")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl KbListener {
    /// Connects and listens.
    pub fn connect(url: &str, schema: Option<&str>) -> Result<KbListener, KbError> {
        let name = format!("postgres:{}", redact(url));
        let mut client = connect(url, schema, &name)?;
        client
            .batch_execute(&format!("LISTEN {CHANNEL}"))
            .map_err(|e| db_err(&name, "listen", &e))?;
        Ok(KbListener { client, name })
    }

    /// Waits up to `timeout` for a write by any station; `Ok(true)` when
    /// there was one (several writes wake it once).
    pub fn wait(&mut self, timeout: Duration) -> Result<bool, KbError> {
        use postgres::fallible_iterator::FallibleIterator;
        let name = &self.name;
        let err = |e: postgres::Error| db_err(name, "listen", &e);
        let mut n = self.client.notifications();
        let woke = n.timeout_iter(timeout).next().map_err(err)?.is_some();
        // drain what is already here without waiting
        while n.iter().next().map_err(err)?.is_some() {}
        Ok(woke)
    }
}

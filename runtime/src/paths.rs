//! Where a station's things are on this machine, resolved once for the
//! window and every tool: the configuration directory, the data directory,
//! the show journal, the knowledge base, the ticket store, the speech model
//! and the recordings — each from its flag, else its environment variable,
//! else the station's configuration, else the default.
//!
//! | what | flag | environment | station.toml | default |
//! |---|---|---|---|---|
//! | configuration | `--config` | `AIRBRIDGE_CONFIG` | — | the built-in demo station |
//! | data directory | — | `AIRBRIDGE_DATA_DIR` | `data_dir` | the user's data directory |
//! | journal | `--journal` | `AIRBRIDGE_JOURNAL` | — | `<data>/journal/<show id>.db` |
//! | knowledge base | `--kb` | `AIRBRIDGE_KB` | — | `<data>/kb/knowledge-base.db` |
//! | shared knowledge base | `--kb` (a connection string) | `AIRBRIDGE_KB_STORE` | `kb_store` | — (the file above) |
//! | ticket store | `--store` | `AIRBRIDGE_TICKETS_STORE` | `tickets_store` | `<data>/tickets.db` |
//! | speech model | — | `AIRBRIDGE_MODEL` | `speech_model` | `<data>/models/ggml-base.bin` |
//! | recordings | — | — | `studio.toml [recording] dir` | `<data>/recordings` |

use std::path::{Path, PathBuf};

use airbridge_configs::ConfigSet;

/// What the command line said (flags win over the environment).
#[derive(Debug, Clone, Default)]
pub struct PathOverrides {
    pub journal: Option<PathBuf>,
    pub kb: Option<PathBuf>,
    pub tickets_store: Option<String>,
}

/// Every place a show's data lives, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationPaths {
    /// The configuration directory (`None`: the built-in demo station).
    pub config_dir: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub journal: PathBuf,
    /// The station's own knowledge-base file (when `kb_shared` is set: the
    /// file `kb migrate` moves into the shared database).
    pub kb: PathBuf,
    /// A PostgreSQL connection string: the knowledge base shared by several
    /// stations, in place of the file.
    pub kb_shared: Option<String>,
    /// A SQLite file path or a PostgreSQL connection string.
    pub tickets_store: TicketStoreSpec,
    pub model: PathBuf,
    pub recordings: PathBuf,
}

/// Where tickets are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketStoreSpec {
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (no password in it: `~/.pgpass`).
    Postgres(String),
}

impl std::fmt::Display for TicketStoreSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TicketStoreSpec::Sqlite(p) => write!(f, "{}", p.display()),
            TicketStoreSpec::Postgres(s) => write!(f, "postgres ({})", redact_conninfo(s)),
        }
    }
}

/// A connection string without any `password=…`.
fn redact_conninfo(s: &str) -> String {
    s.split_whitespace()
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

/// Whether a ticket-store setting names PostgreSQL.
pub fn is_postgres(spec: &str) -> bool {
    spec.starts_with("postgres://")
        || spec.starts_with("postgresql://")
        || spec.contains("host=")
        || spec.contains("dbname=")
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Why paths could not be resolved.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot find a home directory for AirBridge's data: set AIRBRIDGE_DATA_DIR or data_dir in station.toml"
)]
pub struct NoDataDir;

impl StationPaths {
    /// Resolves every path for `config` (loaded from `config_dir`, or the
    /// built-in demo station when `None`).
    pub fn resolve(
        config_dir: Option<&Path>,
        config: &ConfigSet,
        overrides: &PathOverrides,
    ) -> Result<Self, NoDataDir> {
        let data_dir = data_dir(config.station.data_dir.as_deref(), config_dir)?;
        let journal = overrides
            .journal
            .clone()
            .or_else(|| env("AIRBRIDGE_JOURNAL").map(PathBuf::from))
            .unwrap_or_else(|| {
                data_dir
                    .join("journal")
                    .join(format!("{}.db", config.show.id))
            });
        let kb_flag = overrides
            .kb
            .clone()
            .or_else(|| env("AIRBRIDGE_KB").map(PathBuf::from));
        // `--kb` naming a database instead of a file
        let kb_flag_db = kb_flag
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned())
            .filter(|s| is_postgres(s));
        let kb_shared = kb_flag_db
            .clone()
            .or_else(|| env("AIRBRIDGE_KB_STORE"))
            .or_else(|| config.station.kb_store.clone());
        let kb = kb_flag
            .filter(|_| kb_flag_db.is_none())
            .unwrap_or_else(|| data_dir.join("kb").join("knowledge-base.db"));
        let store = overrides
            .tickets_store
            .clone()
            .or_else(|| env("AIRBRIDGE_TICKETS_STORE"))
            .or_else(|| config.station.tickets_store.clone());
        let tickets_store = match store {
            Some(s) if is_postgres(&s) => TicketStoreSpec::Postgres(s),
            Some(p) => TicketStoreSpec::Sqlite(relative_to(config_dir, PathBuf::from(p))),
            None => TicketStoreSpec::Sqlite(data_dir.join("tickets.db")),
        };
        let model = airbridge_models::model_path(config.station.speech_model.as_deref(), &data_dir);
        Ok(Self {
            config_dir: config_dir.map(Path::to_path_buf),
            recordings: data_dir.join("recordings"),
            data_dir,
            journal,
            kb,
            kb_shared,
            tickets_store,
            model,
        })
    }

    /// Every path under one data directory, ignoring the environment
    /// (tests, benchmarks, tools that manage their own directory).
    pub fn under(data_dir: &Path, config: &ConfigSet) -> Self {
        Self {
            config_dir: None,
            data_dir: data_dir.to_path_buf(),
            journal: data_dir
                .join("journal")
                .join(format!("{}.db", config.show.id)),
            kb: data_dir.join("kb").join("knowledge-base.db"),
            kb_shared: None,
            tickets_store: TicketStoreSpec::Sqlite(data_dir.join("tickets.db")),
            model: data_dir
                .join("models")
                .join(airbridge_models::DEFAULT_MODEL_FILE),
            recordings: data_dir.join("recordings"),
        }
    }

    /// Where the station's secret for hashing caller numbers lives.
    pub fn caller_key_file(&self) -> PathBuf {
        self.data_dir.join("secrets").join("caller-key")
    }

    /// The block list (authors' and callers' keys, labels), kept across runs.
    pub fn blocklist(&self) -> PathBuf {
        self.data_dir.join("moderation").join("blocked.json")
    }

    /// The back-office store of raw (unmasked) audience messages.
    pub fn raw_messages(&self) -> PathBuf {
        self.data_dir.join("feeds").join("raw-messages.db")
    }
}

/// A relative path in station.toml is relative to its directory.
fn relative_to(config_dir: Option<&Path>, p: PathBuf) -> PathBuf {
    match config_dir {
        Some(dir) if p.is_relative() => dir.join(p),
        _ => p,
    }
}

/// `$AIRBRIDGE_DATA_DIR`, else the station's `data_dir` (relative to the
/// configuration directory), else the user's data directory.
pub fn data_dir(
    configured: Option<&Path>,
    config_dir: Option<&Path>,
) -> Result<PathBuf, NoDataDir> {
    if let Some(dir) = env("AIRBRIDGE_DATA_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = configured {
        return Ok(relative_to(config_dir, dir.to_path_buf()));
    }
    directories::ProjectDirs::from("", "", "airbridge")
        .map(|d| d.data_dir().to_path_buf())
        .ok_or(NoDataDir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_reaches_a_message() {
        let s = TicketStoreSpec::Postgres("host=db dbname=ab user=desk password=hunter2".into());
        let text = s.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("password=***"));
        assert!(is_postgres("postgres://db/ab"));
        assert!(!is_postgres("/var/lib/airbridge/tickets.db"));
    }
}

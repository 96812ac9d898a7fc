//! Where a station's data lives on this machine, for the window and every
//! tool alike: one resolution ([`airbridge_runtime::StationPaths`]) of the
//! configuration directory, data directory, journal, knowledge base, ticket
//! store, speech model and recordings, with their environment variables
//! (`AIRBRIDGE_DATA_DIR`, `AIRBRIDGE_JOURNAL`, `AIRBRIDGE_KB`,
//! `AIRBRIDGE_TICKETS_STORE`, `AIRBRIDGE_MODEL`).

use std::path::{Path, PathBuf};

use airbridge_configs::ConfigSet;
use airbridge_runtime::{PathOverrides, StationPaths};

/// Every path of the station whose configuration `set` is (loaded from
/// `config_dir`, or built in when `None`); `journal` is `--journal`.
pub fn station(
    config_dir: Option<&Path>,
    set: &ConfigSet,
    journal: Option<PathBuf>,
) -> anyhow::Result<StationPaths> {
    Ok(StationPaths::resolve(
        config_dir,
        set,
        &PathOverrides {
            journal,
            ..PathOverrides::default()
        },
    )?)
}

/// The data directory alone.
pub fn data_dir(config_dir: Option<&Path>, set: &ConfigSet) -> anyhow::Result<PathBuf> {
    Ok(station(config_dir, set, None)?.data_dir)
}

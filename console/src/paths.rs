//! Where AirBridge keeps its data on this machine.

use std::path::PathBuf;

use anyhow::Context;

/// The data directory: `$AIRBRIDGE_DATA_DIR`, else the station config's
/// `data_dir`, else the user's data directory (e.g. `~/.local/share/airbridge`).
pub fn data_dir(station_data_dir: Option<&std::path::Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("AIRBRIDGE_DATA_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = station_data_dir {
        return Ok(dir.to_path_buf());
    }
    let dirs = directories::ProjectDirs::from("", "", "airbridge")
        .context("cannot find a home directory for AirBridge's data; set AIRBRIDGE_DATA_DIR")?;
    Ok(dirs.data_dir().to_path_buf())
}

/// The journal file of a show: one file per show id.
pub fn journal_path(data_dir: &std::path::Path, show_id: &str) -> PathBuf {
    data_dir.join("journal").join(format!("{show_id}.db"))
}

/// The default knowledge base: one file under the data directory.
pub fn kb_path(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("kb").join("knowledge-base.db")
}

//! Personal data stays private on disk. Tickets hold citizens' numbers,
//! recordings their voices, the journal the names the screener noted: what
//! the runtime creates is readable by the station's user only (the process
//! creates files under umask 077), and at every start the stores and
//! folders already there are checked — anything group or others can read is
//! made private again and named in a warning.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::paths::{StationPaths, TicketStoreSpec};

/// New files and folders of this process: the owner only (0600 / 0700).
pub fn restrict_new_files() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// What holds personal data: folders made private with everything in them
/// (recordings, exports, raw messages, the block list, secrets, show
/// plans, journals under the data folder), and single files and folders
/// made private on their own (the data folder itself — never what else is
/// in it —, the journal and the tickets store with their SQLite sidecars,
/// wherever they are).
pub fn private_places(
    paths: &StationPaths,
    recordings: Option<&Path>,
) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut trees = vec![paths.recordings.clone()];
    for sub in [
        "exports",
        "feeds",
        "moderation",
        "secrets",
        "shows",
        "journal",
    ] {
        trees.push(paths.data_dir.join(sub));
    }
    if let Some(r) = recordings {
        trees.push(r.to_path_buf());
    }
    let mut single = vec![paths.data_dir.clone()];
    single.extend(with_sidecars(&paths.journal));
    if let TicketStoreSpec::Sqlite(db) = &paths.tickets_store {
        single.extend(with_sidecars(db));
    }
    (trees, single)
}

/// A SQLite file and the files beside it that hold its data too.
fn with_sidecars(db: &Path) -> Vec<PathBuf> {
    let mut out = vec![db.to_path_buf()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        out.push(PathBuf::from(p));
    }
    out
}

/// Makes one file or folder private if group or others can read, write or
/// enter it; returns what was changed (`path: 0644 → 0600`).
fn fix(path: &Path) -> Option<Result<String, String>> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if meta.file_type().is_symlink() {
        return None;
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return None;
    }
    let private = if meta.is_dir() { 0o700 } else { mode & 0o600 };
    Some(
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(private))
            .map(|()| format!("{}: {mode:04o} → {private:04o}", path.display()))
            .map_err(|e| {
                format!(
                    "{}: {mode:04o}, cannot make it private: {e}",
                    path.display()
                )
            }),
    )
}

/// Checks and fixes every place that holds personal data (folders
/// recursively). Returns the changes made and the ones that failed.
pub fn check_and_fix(dirs: &[PathBuf], files: &[PathBuf]) -> (Vec<String>, Vec<String>) {
    let (mut fixed, mut failed) = (Vec::new(), Vec::new());
    let mut note = |r: Option<Result<String, String>>| match r {
        Some(Ok(m)) => fixed.push(m),
        Some(Err(m)) => failed.push(m),
        None => {}
    };
    let mut seen = std::collections::BTreeSet::new();
    for d in dirs {
        let mut stack = vec![d.clone()];
        while let Some(p) = stack.pop() {
            if !seen.insert(p.clone()) {
                continue;
            }
            note(fix(&p));
            if p.is_dir()
                && let Ok(rd) = std::fs::read_dir(&p)
            {
                // the tree under the data folder can be large (recordings):
                // files are checked, folders entered
                stack.extend(rd.flatten().map(|e| e.path()));
            }
        }
    }
    for f in files {
        if seen.insert(f.clone()) {
            note(fix(f));
        }
    }
    (fixed, failed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn readable_stores_and_recordings_are_made_private_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let rec = dir.path().join("recordings");
        std::fs::create_dir_all(rec.join("2026-12-02")).unwrap();
        let wav = rec.join("2026-12-02").join("call-7-line1.wav");
        std::fs::write(&wav, b"RIFF").unwrap();
        let db = dir.path().join("tickets.db");
        std::fs::write(&db, b"x").unwrap();
        let wal = dir.path().join("tickets.db-wal");
        std::fs::write(&wal, b"x").unwrap();
        let day = rec.join("2026-12-02");
        for (p, m) in [
            (&rec, 0o755),
            (&day, 0o755),
            (&wav, 0o644),
            (&db, 0o644),
            (&wal, 0o664),
        ] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
        }
        let (fixed, failed) = check_and_fix(std::slice::from_ref(&rec), &with_sidecars(&db));
        assert!(failed.is_empty(), "{failed:?}");
        assert_eq!(fixed.len(), 5, "{fixed:?}");
        assert!(fixed.iter().any(|f| f.contains("tickets.db: 0644 → 0600")));
        assert_eq!(mode(&rec), 0o700);
        assert_eq!(mode(&wav), 0o600);
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&wal), 0o600);
        // a second check finds nothing to do
        let (fixed, _) = check_and_fix(&[rec], &with_sidecars(&db));
        assert!(fixed.is_empty());
    }
}

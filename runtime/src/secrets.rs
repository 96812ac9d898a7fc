//! Secrets named by the configuration (`*_env`, `*_file`), read when a part
//! starts. A secret file must be readable by its owner only: a password
//! others on the machine can read is refused, with the `chmod` that fixes it.

use std::path::{Path, PathBuf};

use airbridge_configs::studio::SecretRef;

/// Why a secret could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable {0} is not set (or empty)")]
    EnvMissing(String),
    #[error("secret file {}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error(
        "secret file {} can be read by others (mode {mode:03o}): run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("secret file {} is empty", path.display())]
    Empty { path: PathBuf },
}

/// Reads a secret; relative files are relative to `base` (the
/// configuration directory). Surrounding whitespace is trimmed.
pub fn resolve(secret: &SecretRef, base: &Path) -> Result<String, SecretError> {
    match secret {
        SecretRef::Env(name) => std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.trim().to_owned())
            .ok_or_else(|| SecretError::EnvMissing(name.clone())),
        SecretRef::File(p) => read_private_file(&base.join(p)),
    }
}

/// Reads a file that must be private to its owner (no group or other
/// permission bits for reading).
pub fn read_private_file(path: &Path) -> Result<String, SecretError> {
    check_private(path)?;
    let text = std::fs::read_to_string(path).map_err(|e| SecretError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let text = text.trim();
    if text.is_empty() {
        return Err(SecretError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(text.to_owned())
}

/// Refuses a file that anyone but its owner can read.
pub fn check_private(path: &Path) -> Result<(), SecretError> {
    let meta = std::fs::metadata(path).map_err(|e| SecretError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o044 != 0 {
            return Err(SecretError::TooOpen {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    Ok(())
}

/// Writes a new private file (mode 0600) holding `text`; never follows an
/// existing file's permissions.
pub fn write_private_file(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    std::io::Write::write_all(&mut f, text.as_bytes())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_secret_file_others_can_read_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("icecast.pass");
        std::fs::write(&p, "hackme\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = resolve(&SecretRef::File(p.clone()), dir.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "secret file {} can be read by others (mode 644): run `chmod 600 {}`",
                p.display(),
                p.display()
            )
        );
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            resolve(&SecretRef::File("icecast.pass".into()), dir.path()).unwrap(),
            "hackme"
        );
    }

    #[test]
    fn a_missing_variable_or_file_is_named() {
        let err = resolve(
            &SecretRef::Env("AIRBRIDGE_TEST_NO_SUCH_VARIABLE".into()),
            Path::new("/"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("AIRBRIDGE_TEST_NO_SUCH_VARIABLE"));
        let err =
            resolve(&SecretRef::File("/nonexistent/pass".into()), Path::new("/")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/pass"), "{err}");
    }

    #[test]
    fn private_files_are_made_private() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s/key");
        write_private_file(&p, "k").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(read_private_file(&p).unwrap(), "k");
    }
}

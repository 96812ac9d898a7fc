//! Shared by the speech integration tests: finding the model.
#![allow(dead_code, clippy::print_stderr)]

use std::path::PathBuf;

/// The model from `$AIRBRIDGE_MODEL` (scripts/test.sh prepares it with
/// `airbridge model fetch`). Missing: a printed notice and `None` — or a
/// failure naming the fix when `AIRBRIDGE_REQUIRE_MODEL=1` (as in CI).
pub fn model() -> Option<PathBuf> {
    let required = std::env::var("AIRBRIDGE_REQUIRE_MODEL").is_ok_and(|v| v == "1");
    let path = std::env::var_os("AIRBRIDGE_MODEL").map(PathBuf::from);
    match path {
        Some(p) if airbridge_models::check(&p).is_ready() => Some(p),
        other => {
            let why = match other {
                Some(p) => airbridge_models::check(&p).describe(),
                None => "AIRBRIDGE_MODEL is not set".into(),
            };
            assert!(
                !required,
                "speech model required (AIRBRIDGE_REQUIRE_MODEL=1) but {why}: run `AIRBRIDGE_MODEL=$(cargo run -p airbridge-console -- model fetch | tail -n1)` first (scripts/test.sh does)"
            );
            eprintln!(
                "SKIPPED: no speech model ({why}); set AIRBRIDGE_MODEL (see scripts/test.sh)"
            );
            None
        }
    }
}

/// Test pacing / waiting helper: collect worker events until the line ends.
pub fn collect_until_end(
    rx: &crossbeam_channel::Receiver<airbridge_speech::SpeechEvent>,
) -> Vec<airbridge_speech::SpeechEvent> {
    let mut out = Vec::new();
    while let Ok(ev) = rx.recv_timeout(std::time::Duration::from_secs(600)) {
        let end = matches!(ev, airbridge_speech::SpeechEvent::LineEnded { .. });
        out.push(ev);
        if end {
            break;
        }
    }
    out
}

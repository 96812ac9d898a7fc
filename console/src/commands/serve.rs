//! `airbridge serve`: the show without a window — for a rack PC, a
//! rehearsal, a test. It starts the station runtime from `--config DIR`
//! (or `--demo`), prints one line per part (`ok` or `failed: why`), plays
//! `--script FILE` if given, runs for `--for SECS` or until Ctrl+C /
//! SIGTERM, stops in the runtime's fixed order and prints
//! `summary: events=N calls=N messages=N transcripts=N recordings=N`,
//! counted from the journal.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Args;

/// `airbridge serve` arguments (with the global `--config`, `--script`,
/// `--journal`, `--demo`).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Stop after this many seconds [default: until Ctrl+C or SIGTERM]
    #[arg(long = "for", value_name = "SECS")]
    for_secs: Option<f64>,
}

/// Runs `airbridge serve`.
#[allow(clippy::disallowed_methods)] // the main thread waits for the end of the show
pub fn run(choice: &crate::station::Choice, args: &ServeArgs) -> anyhow::Result<()> {
    let station = crate::station::resolve(choice)?;
    let mut out = std::io::stdout().lock();
    if station.built_in {
        writeln!(
            out,
            "note: no --config: the built-in demo station, without a studio (make your own with `airbridge studio init DIR`)"
        )?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .map_err(|e| anyhow::anyhow!("cannot watch for Ctrl+C: {e}"))?;
    }
    let show = station.start()?;
    let runtime = show.runtime.clone();
    for part in runtime.wait_started(Duration::from_secs(90)) {
        writeln!(out, "{part}")?;
    }
    out.flush()?;
    let until = args
        .for_secs
        .map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    while !stop.load(Ordering::SeqCst) && until.is_none_or(|u| Instant::now() < u) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let summary = show.stop();
    writeln!(out, "{summary}")?;
    out.flush()?;
    Ok(())
}

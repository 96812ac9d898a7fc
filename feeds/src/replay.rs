//! Replaying a recorded trace (JSON Lines) through the real pipeline.
//!
//! Each line is a relay message (see [`crate::relay::RelayMessage`]) plus
//! `t_ms`, its offset from the start of the trace:
//! `{"t_ms":1200,"source":"douyin","id":"c-1","author":"观众A","text":"公积金怎么取？"}`.
//! Messages are sent at `t_ms / rate` (bursts in the trace stay bursts);
//! `rate = 0` sends as fast as the pipeline takes them.

use std::io::BufRead;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use airbridge_show::Journal;
use serde::Deserialize;

use crate::error::FeedsError;
use crate::pipeline::{Inbound, Pipeline, PipelineConfig};
use crate::relay::RelayMessage;

#[derive(Debug, Deserialize)]
struct TraceLine {
    #[serde(default)]
    t_ms: u64,
    #[serde(flatten)]
    msg: RelayMessage,
}

/// What a replay did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayReport {
    pub lines: u64,
    pub malformed: u64,
    pub accepted: u64,
    pub duplicates: u64,
    pub spam: u64,
    pub questions: u64,
    pub masked: u64,
}

/// Replays `path` at `rate` × real time into `journal` with default triage.
pub fn replay_trace(path: &Path, rate: f64, journal: Journal) -> Result<ReplayReport, FeedsError> {
    replay_trace_with(path, rate, journal, PipelineConfig::default())
}

/// Replays with a given pipeline configuration.
pub fn replay_trace_with(
    path: &Path,
    rate: f64,
    journal: Journal,
    config: PipelineConfig,
) -> Result<ReplayReport, FeedsError> {
    replay_trace_until(path, rate, journal, config, &AtomicBool::new(false))
}

/// Replays until the trace ends or `stop` turns true (checked at least
/// every 100 ms while waiting for the next message); what was sent is
/// journaled either way.
pub fn replay_trace_until(
    path: &Path,
    rate: f64,
    journal: Journal,
    config: PipelineConfig,
    stop: &AtomicBool,
) -> Result<ReplayReport, FeedsError> {
    let file = std::fs::File::open(path)?;
    let pipeline = Pipeline::start(config, journal)?;
    let tx = pipeline.sender();
    let stats = pipeline.stats();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let mut report = ReplayReport::default();
    let result: Result<(), FeedsError> = rt.block_on(async {
        let start = tokio::time::Instant::now();
        for line in std::io::BufReader::new(file).lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            report.lines += 1;
            let parsed = serde_json::from_str::<TraceLine>(&line)
                .map_err(|e| FeedsError::malformed("trace line", e))
                .and_then(|t| Ok((t.t_ms, t.msg.into_audience()?)));
            let (t_ms, msg) = match parsed {
                Ok(x) => x,
                Err(e) => {
                    report.malformed += 1;
                    tracing::warn!(line = report.lines, error = %e, "trace line skipped");
                    continue;
                }
            };
            if rate > 0.0 {
                let at = start + Duration::from_secs_f64(t_ms as f64 / 1000.0 / rate);
                while tokio::time::Instant::now() < at {
                    if stop.load(Ordering::Relaxed) {
                        return Ok(());
                    }
                    let step = tokio::time::Instant::now() + Duration::from_millis(100);
                    tokio::time::sleep_until(at.min(step)).await;
                }
            }
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            tx.send(Inbound::new(msg))
                .await
                .map_err(|_| FeedsError::Closed)?;
        }
        Ok(())
    });
    drop(tx);
    pipeline.shutdown();
    result?;
    report.accepted = stats.accepted.load(Ordering::Relaxed);
    report.duplicates = stats.duplicates.load(Ordering::Relaxed);
    report.spam = stats.spam.load(Ordering::Relaxed);
    report.questions = stats.questions.load(Ordering::Relaxed);
    report.masked = stats.masked.load(Ordering::Relaxed);
    Ok(report)
}

/// The demo show's audience trace (synthetic), compiled in so the demo runs
/// without the source tree.
pub const DEMO_TRACE: &str = include_str!("../demo/trace.jsonl");

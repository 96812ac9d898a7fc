#![allow(clippy::unwrap_used, clippy::print_stderr)]
//! The demo trace through the real pipeline: every unique message journaled
//! once, duplicates and spam dropped, nothing unmasked reaches the journal,
//! repeated questions grouped.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use airbridge_feeds::pii::contains_unmasked_number;
use airbridge_feeds::{PipelineConfig, replay::replay_trace_with};
use airbridge_show::{MessageKind, ShowEvent};
use common::open_journal;

#[test]
fn demo_trace_replays_masked_grouped_and_exactly_once() {
    let trace = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/trace.jsonl");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let unique: HashSet<(String, String)> = lines
        .iter()
        .map(|l| {
            (
                l["source"].as_str().unwrap().to_owned(),
                l["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(lines.len() >= 300 && lines.len() > unique.len());

    let dir = tempfile::tempdir().unwrap();
    let journal = open_journal(dir.path());
    let raw = dir.path().join("raw.db");
    let report = replay_trace_with(
        &trace,
        0.0,
        journal.clone(),
        PipelineConfig {
            raw_store: Some(raw.clone()),
            ..PipelineConfig::default()
        },
    )
    .unwrap();
    eprintln!("{report:?}");
    assert_eq!(report.lines as usize, lines.len());
    assert_eq!(report.malformed, 0);
    assert_eq!(report.duplicates as usize, lines.len() - unique.len());
    assert!(report.spam > 0);
    assert_eq!((report.accepted + report.spam) as usize, unique.len());

    let mut ids = HashSet::new();
    let mut clusters: HashMap<u64, u32> = HashMap::new();
    for ev in journal.replay(1).unwrap() {
        if let ShowEvent::AudienceMessage {
            id,
            kind,
            author,
            text,
            cluster,
            ..
        } = ev.unwrap().event
        {
            assert!(ids.insert(id.clone()), "{id} journaled twice");
            assert!(!contains_unmasked_number(&text), "{text}");
            assert!(!contains_unmasked_number(&author), "{author}");
            assert!(
                !text.contains("张小明") && !text.contains("李红梅"),
                "{text}"
            );
            if kind == MessageKind::Question {
                *clusters.entry(cluster.unwrap()).or_default() += 1;
            }
        }
    }
    assert_eq!(ids.len() as u64, report.accepted);
    let mut sizes: Vec<u32> = clusters.values().copied().collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    eprintln!(
        "{} questions in {} clusters, biggest {:?}",
        report.questions,
        sizes.len(),
        &sizes[..sizes.len().min(8)]
    );
    assert!(sizes[0] >= 20, "{sizes:?}");
    assert!(sizes.len() < report.questions as usize / 3, "{sizes:?}");

    // the raw (unmasked) text is kept for the back office only
    let store = airbridge_feeds::store::RawStore::open(&raw).unwrap();
    assert_eq!(store.count().unwrap() as usize, unique.len());
    let sms = store.get("sms", "demo-sms-1").unwrap().unwrap();
    assert!(sms.message.text.contains("13800006686"));
}

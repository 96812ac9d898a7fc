#![allow(clippy::unwrap_used, clippy::print_stderr)]
//! A crash between the raw-store commit and the journal commit: the next
//! start journals what the journal lacks and confirms what it has, so every
//! stored message is in the journal exactly once and a retry is a duplicate.

mod common;

use std::collections::HashMap;

use airbridge_feeds::store::RawStore;
use airbridge_feeds::{AudienceMessage, Inbound, Outcome, Pipeline, PipelineConfig};
use airbridge_show::{MessageKind, ShowEvent};
use common::open_journal;

#[test]
fn a_batch_left_pending_by_a_crash_is_journaled_exactly_once_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open_journal(dir.path());
    let raw = dir.path().join("raw.db");
    let a = AudienceMessage::text("wechat", "m-a", "听众甲", "社保卡丢了怎么补办？", 1);
    let b = AudienceMessage::text("wechat", "m-b", "听众乙", "公积金退休怎么提取？", 2);
    {
        // The interrupted run: both rows stored, only A's event made it.
        let mut store = RawStore::open(&raw).unwrap();
        let fresh = store.insert_batch(&[(&a, false), (&b, false)], 10).unwrap();
        assert_eq!(fresh, [true, true]);
        journal
            .append(
                "feeds",
                ShowEvent::AudienceMessage {
                    source: a.source.clone(),
                    id: a.journal_id(),
                    kind: MessageKind::Question,
                    author: "听众甲".into(),
                    text: a.text.clone(),
                    cluster: None,
                    test: false,
                    moderation: Default::default(),
                    author_key: String::new(),
                },
            )
            .unwrap();
        assert_eq!(store.pending().unwrap().len(), 2);
    }

    let pipeline = Pipeline::start(
        PipelineConfig {
            raw_store: Some(raw.clone()),
            ..PipelineConfig::default()
        },
        journal.clone(),
    )
    .unwrap();
    // The platform retries both (neither was acknowledged): duplicates now.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let outcomes: Vec<Outcome> = rt.block_on(async {
        let mut out = Vec::new();
        for m in [&a, &b] {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let mut inbound = Inbound::new(m.clone());
            inbound.done = Some(tx);
            pipeline.sender().send(inbound).await.unwrap();
            out.push(rx.await.unwrap());
        }
        out
    });
    assert_eq!(outcomes, [Outcome::Duplicate, Outcome::Duplicate]);
    pipeline.shutdown();

    let mut seen: HashMap<String, u32> = HashMap::new();
    for ev in journal.replay(1).unwrap() {
        if let ShowEvent::AudienceMessage { id, .. } = ev.unwrap().event {
            *seen.entry(id).or_default() += 1;
        }
    }
    assert_eq!(seen.get("wechat:m-a"), Some(&1), "{seen:?}");
    assert_eq!(seen.get("wechat:m-b"), Some(&1), "{seen:?}");
    assert_eq!(seen.len(), 2, "{seen:?}");
    let store = RawStore::open(&raw).unwrap();
    assert!(store.pending().unwrap().is_empty());
    assert_eq!(store.count().unwrap(), 2);
}

/// A store written before rows had a pending flag opens, and its rows count
/// as settled (duplicates for a retry).
#[test]
fn a_store_from_before_the_pending_flag_is_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw.db");
    {
        let conn = rusqlite::Connection::open(&raw).unwrap();
        conn.execute_batch(
            "CREATE TABLE raw_messages (
                source TEXT NOT NULL, id TEXT NOT NULL, author TEXT NOT NULL,
                text TEXT NOT NULL, hint TEXT NOT NULL, ts_ms INTEGER NOT NULL,
                received_ms INTEGER NOT NULL, spam INTEGER NOT NULL,
                PRIMARY KEY (source, id)) WITHOUT ROWID;
             INSERT INTO raw_messages VALUES ('douyin','x1','a','hi','null',1,1,0);",
        )
        .unwrap();
    }
    let mut store = RawStore::open(&raw).unwrap();
    assert!(store.pending().unwrap().is_empty());
    let old = AudienceMessage::text("douyin", "x1", "a", "hi", 1);
    assert_eq!(store.insert_batch(&[(&old, false)], 5).unwrap(), [false]);
}

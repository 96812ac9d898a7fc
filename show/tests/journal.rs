//! Journal behaviour through its public API, on real SQLite files.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use airbridge_show::{
    CallerNote, ItemRef, Journal, JournalError, JournalOptions, KbHit, LineState, MessageKind,
    Projection, ShowBoard, ShowEvent, StoredEvent,
};
use proptest::prelude::*;

fn msg(i: u64) -> ShowEvent {
    ShowEvent::AudienceMessage {
        source: "douyin".into(),
        id: format!("m{i}"),
        kind: MessageKind::Question,
        author: "用户*".into(),
        text: format!("第{i}个问题：公积金怎么提取？"),
        cluster: Some(i % 7),
        test: false,
        moderation: Default::default(),
        author_key: String::new(),
    }
}

#[test]
fn appended_events_replay_in_order_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("show.db");
    {
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.append("screener", msg(1)).unwrap(), 1);
        assert_eq!(
            j.append_all("screener", vec![msg(2), msg(3), msg(4)])
                .unwrap(),
            2..=4
        );
        assert_eq!(j.last_seq(), 4);
    }
    let j = Journal::open(&path).unwrap();
    assert_eq!(j.last_seq(), 4);
    let events: Vec<StoredEvent> = j.replay(1).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(events[2].event, msg(3));
    assert_eq!(events[2].seat, "screener");
    // Replay from the middle.
    let tail: Vec<u64> = j.replay(3).unwrap().map(|e| e.unwrap().seq).collect();
    assert_eq!(tail, [3, 4]);
    // New appends continue the numbering.
    assert_eq!(j.append("host", msg(5)).unwrap(), 5);
}

#[test]
fn subscription_sees_history_then_live_events() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(&dir.path().join("show.db")).unwrap();
    for i in 1..=3 {
        j.append("t", msg(i)).unwrap();
    }
    let woken = Arc::new(AtomicUsize::new(0));
    let w = Arc::clone(&woken);
    let mut sub = j
        .subscribe_with_waker(
            2,
            Some(Arc::new(move || _ = w.fetch_add(1, Ordering::SeqCst))),
        )
        .unwrap();
    assert_eq!(sub.try_next().unwrap().unwrap().seq, 2);
    assert_eq!(sub.try_next().unwrap().unwrap().seq, 3);
    assert!(sub.try_next().unwrap().is_none());
    j.append("t", msg(4)).unwrap();
    assert!(
        woken.load(Ordering::SeqCst) >= 1,
        "the waker runs when events arrive"
    );
    let ev = sub.next_timeout(Duration::from_secs(5)).unwrap().unwrap();
    assert_eq!((ev.seq, &ev.event), (4, &msg(4)));
}

#[test]
fn a_slow_subscriber_is_detached_and_catches_up_without_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let options = JournalOptions {
        subscriber_capacity: 4,
        ..JournalOptions::default()
    };
    let j = Journal::open_with(&dir.path().join("show.db"), options).unwrap();
    let mut sub = j.subscribe(1).unwrap();
    // Many more events than the subscriber's channel holds, from two threads.
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let j = j.clone();
            s.spawn(move || {
                for i in 0..250 {
                    j.append("t", msg(t * 1000 + i)).unwrap();
                }
            });
        }
    });
    let mut seen = Vec::new();
    while let Some(ev) = sub.try_next().unwrap() {
        seen.push(ev.seq);
    }
    assert_eq!(seen, (1..=500).collect::<Vec<_>>());
}

#[test]
fn closing_the_journal_ends_subscriptions_after_the_last_event() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(&dir.path().join("show.db")).unwrap();
    let mut sub = j.subscribe(1).unwrap();
    j.append("t", msg(1)).unwrap();
    drop(j);
    assert_eq!(sub.next_blocking().unwrap().seq, 1);
    assert!(matches!(sub.next_blocking(), Err(JournalError::Closed)));
}

#[test]
fn a_truncated_journal_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("show.db");
    {
        let j = Journal::open(&path).unwrap();
        for chunk in 0..20 {
            j.append_all("t", (0..200).map(|i| msg(chunk * 200 + i)).collect())
                .unwrap();
        }
    }
    // Fold the WAL into the main file so the truncation hits real pages.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")
        .unwrap();
    drop(conn);
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len > 64 * 1024, "journal is {len} bytes");
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);

    let outcome = Journal::open(&path).and_then(|j| j.replay(1)?.collect::<Result<Vec<_>, _>>());
    let err = outcome.expect_err("a truncated journal must not read as fine");
    let text = err.to_string();
    assert!(matches!(err, JournalError::Corrupt { .. }), "{err:?}");
    assert!(
        text.contains("show.db") && text.contains("damaged"),
        "{text}"
    );
}

#[test]
fn garbage_and_foreign_files_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x5a; 8192]).unwrap();
    let err = Journal::open(&garbage).unwrap_err();
    assert!(matches!(err, JournalError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("garbage.db"));

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "这不是数据库\n".repeat(200)).unwrap();
    assert!(Journal::open(&text).is_err());

    // A valid SQLite database that is not a journal.
    let foreign = dir.path().join("other.db");
    let conn = rusqlite::Connection::open(&foreign).unwrap();
    conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    drop(conn);
    let err = Journal::open(&foreign).unwrap_err();
    assert!(matches!(err, JournalError::NotAJournal { .. }), "{err:?}");
    assert!(err.to_string().contains("not an AirBridge show journal"));

    // An empty file becomes a fresh journal: that is fine.
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    Journal::open(&empty).unwrap();
}

#[test]
fn an_undecodable_event_names_its_sequence_number() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("show.db");
    {
        let j = Journal::open(&path).unwrap();
        j.append_all("t", vec![msg(1), msg(2)]).unwrap();
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE events SET payload = '{\"type\":\"no_such_event\"}' WHERE seq = 2",
        [],
    )
    .unwrap();
    drop(conn);
    let j = Journal::open(&path).unwrap();
    let results: Vec<_> = j.replay(1).unwrap().collect();
    assert!(results[0].is_ok());
    let err = results[1].as_ref().unwrap_err();
    assert!(
        matches!(err, JournalError::Decode { seq: 2, .. }),
        "{err:?}"
    );
    let mut board = ShowBoard::default();
    assert!(j.rebuild(&mut board).is_err());
}

#[test]
fn projections_rebuilt_from_replay_match_live_state() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(&dir.path().join("show.db")).unwrap();
    let mut sub = j.subscribe(1).unwrap();
    let script = vec![
        ShowEvent::ShowOpened {
            show_id: "demo".into(),
            show_name: "演示".into(),
        },
        ShowEvent::CallRang {
            line: 1,
            caller_masked: "138****0000".into(),
            caller_key: "a".into(),
        },
        ShowEvent::LineStateChanged {
            line: 1,
            from: LineState::Ringing,
            to: LineState::Screening,
        },
        ShowEvent::CallerNoted {
            line: 1,
            note: CallerNote {
                name: "张**".into(),
                district: "禅城".into(),
                topic: "医保".into(),
                urgency: 1,
                private: false,
            },
        },
        ShowEvent::KbSuggested {
            about: Some(ItemRef::Call(2)),
            query: "异地就医".into(),
            hits: vec![KbHit {
                entry_id: "kb-1".into(),
                question: "异地就医怎么备案".into(),
                score: 3.5,
            }],
        },
        msg(1),
        ShowEvent::Pinned {
            item: ItemRef::Cluster(1),
        },
        ShowEvent::TakenOffline {
            item: ItemRef::Cluster(1),
            ticket_id: Some("T-1".into()),
        },
    ];
    let mut live = ShowBoard::default();
    for ev in script {
        j.append("t", ev).unwrap();
    }
    while let Some(ev) = sub.try_next().unwrap() {
        live.apply(&ev);
    }
    let mut rebuilt = ShowBoard::default();
    assert_eq!(j.rebuild(&mut rebuilt).unwrap(), 8);
    assert_eq!(live, rebuilt);
    assert_eq!(rebuilt.offline.len(), 1);
    assert!(rebuilt.pinned.is_empty());
}

fn arb_item() -> impl Strategy<Value = ItemRef> {
    prop_oneof![
        (0u64..5).prop_map(ItemRef::Cluster),
        "[a-c]{1}".prop_map(ItemRef::Message),
        (1u64..50).prop_map(ItemRef::Call),
    ]
}

fn arb_state() -> impl Strategy<Value = LineState> {
    proptest::sample::select(LineState::ALL.to_vec())
}

fn arb_event() -> impl Strategy<Value = ShowEvent> {
    prop_oneof![
        ("[a-z]{1,8}", "\\PC{0,12}")
            .prop_map(|(show_id, show_name)| ShowEvent::ShowOpened { show_id, show_name }),
        (1u8..5, "\\PC{0,12}", "[a-f0-9]{4}").prop_map(|(line, caller_masked, caller_key)| {
            ShowEvent::CallRang {
                line,
                caller_masked,
                caller_key,
            }
        }),
        (1u8..5, arb_state(), arb_state())
            .prop_map(|(line, from, to)| ShowEvent::LineStateChanged { line, from, to }),
        (1u8..5, 0u64..4, "\\PC{0,20}", any::<bool>()).prop_map(
            |(line, utterance, text, is_final)| {
                ShowEvent::TranscriptSegment {
                    line,
                    utterance,
                    text,
                    start_ms: 0,
                    end_ms: 10,
                    is_final,
                }
            }
        ),
        (
            0u64..1000,
            proptest::option::of(0u64..6),
            "\\PC{0,20}",
            0usize..5
        )
            .prop_map(|(i, cluster, text, k)| {
                let kinds = [
                    MessageKind::Question,
                    MessageKind::Chatter,
                    MessageKind::Gift,
                    MessageKind::Like,
                    MessageKind::System,
                ];
                ShowEvent::AudienceMessage {
                    source: ["douyin", "wechat", "sms"][k % 3].into(),
                    id: format!("m{i}"),
                    kind: kinds[k],
                    author: "某*".into(),
                    text,
                    cluster,
                    test: false,
                    moderation: Default::default(),
                    author_key: String::new(),
                }
            }),
        arb_item().prop_map(|item| ShowEvent::Pinned { item }),
        arb_item().prop_map(|item| ShowEvent::Unpinned { item }),
        arb_item().prop_map(|item| ShowEvent::AnsweredOnAir { item }),
        (arb_item(), proptest::option::of("T-[0-9]{3}"))
            .prop_map(|(item, ticket_id)| ShowEvent::TakenOffline { item, ticket_id }),
        "\\PC{0,30}".prop_map(|text| ShowEvent::ProducerMessage { text }),
        ("[a-z/]{1,10}", any::<bool>(), "\\PC{0,10}").prop_map(|(component, ok, detail)| {
            ShowEvent::Health {
                component,
                ok,
                detail,
            }
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Random event sequences, appended in random batches: the live projection,
    /// the projection rebuilt by replay after reopening, and a plain fold of the
    /// events as written are identical, and numbering has no gaps.
    #[test]
    fn replay_reproduces_the_live_projection(
        events in proptest::collection::vec(arb_event(), 0..120),
        cuts in proptest::collection::vec(1usize..10, 1..40),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("show.db");
        let mut live = ShowBoard::default();
        let mut written: Vec<(u64, ShowEvent)> = Vec::new();
        {
            let j = Journal::open(&path).unwrap();
            let mut sub = j.subscribe(1).unwrap();
            let mut rest = events.as_slice();
            let mut cut = cuts.iter().cycle();
            while !rest.is_empty() {
                let n = (*cut.next().unwrap()).min(rest.len());
                let (batch, tail) = rest.split_at(n);
                let range = j.append_all("prop", batch.to_vec()).unwrap();
                prop_assert_eq!(*range.start() as usize, written.len() + 1);
                for (seq, ev) in range.zip(batch) {
                    written.push((seq, ev.clone()));
                }
                rest = tail;
            }
            while let Some(ev) = sub.try_next().unwrap() {
                live.apply(&ev);
            }
            prop_assert_eq!(live.last_seq as usize, events.len());
        }
        let j = Journal::open(&path).unwrap();
        let mut rebuilt = ShowBoard::default();
        j.rebuild(&mut rebuilt).unwrap();
        let replayed: Vec<StoredEvent> = j.replay(1).unwrap().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(replayed.len(), written.len());
        for (stored, (seq, ev)) in replayed.iter().zip(&written) {
            prop_assert_eq!(stored.seq, *seq);
            prop_assert_eq!(&stored.event, ev);
        }
        // A fold over the stored events (with their stored times) gives the same board.
        let mut folded = ShowBoard::default();
        for ev in &replayed {
            folded.apply(ev);
        }
        prop_assert_eq!(&live, &rebuilt);
        prop_assert_eq!(&folded, &rebuilt);
    }
}

#[test]
fn a_second_writer_is_refused_with_the_holder_named_and_readers_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("show.db");
    let first = Journal::open(&path).unwrap();
    first.append("host", msg(1)).unwrap();
    let refused = Journal::open(&path).unwrap_err();
    let text = refused.to_string();
    assert!(matches!(refused, JournalError::InUse { .. }), "{text}");
    assert!(
        text.contains(&format!("pid {}", std::process::id())),
        "the refusal names the holder: {text}"
    );
    // The first writer lost nothing and goes on.
    first.append("host", msg(2)).unwrap();
    let reader = airbridge_show::JournalReader::open(&path).unwrap();
    assert_eq!(reader.last_seq().unwrap(), 2);
    drop(first);
    // Once the holder is gone the file can be written again.
    let again = Journal::open(&path).unwrap();
    assert_eq!(again.append("host", msg(3)).unwrap(), 3);
}

#[test]
fn a_follower_sees_what_a_writer_commits_without_sharing_its_handle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("show.db");
    let writer = Journal::open(&path).unwrap();
    writer.append("host", msg(1)).unwrap();
    let reader = airbridge_show::JournalReader::open(&path).unwrap();
    let mut follow = reader.follow(1).unwrap();
    assert_eq!(
        follow
            .next_timeout(Duration::from_millis(10))
            .unwrap()
            .unwrap()
            .seq,
        1
    );
    assert!(
        follow
            .next_timeout(Duration::from_millis(50))
            .unwrap()
            .is_none()
    );
    let w = writer.clone();
    let t = std::thread::spawn(move || {
        for i in 2..=40 {
            w.append("screener", msg(i)).unwrap();
        }
    });
    let mut seen = Vec::new();
    while seen.len() < 39 {
        let ev = follow
            .next_timeout(Duration::from_secs(5))
            .unwrap()
            .expect("the follower keeps up with the writer");
        seen.push(ev.seq);
    }
    t.join().unwrap();
    assert_eq!(seen, (2..=40).collect::<Vec<u64>>());
}

#[test]
fn a_reader_never_creates_a_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.db");
    let err = airbridge_show::JournalReader::open(&path).unwrap_err();
    assert!(err.to_string().contains("absent.db"), "{err}");
    assert!(!path.exists());
}

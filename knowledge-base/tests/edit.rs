//! Editing from the console: every edit is a new version with who and when,
//! two editors cannot overwrite each other, edits are searchable at once and
//! survive reopening the file, retired entries leave search.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use airbridge_kb::{Entry, Kb, KbError, ReviewReason, Status};

fn entry(id: &str, question: &str, answer: &str) -> Entry {
    Entry {
        id: id.into(),
        question: question.into(),
        answer: answer.into(),
        department: "示例市人社局".into(),
        ..Entry::default()
    }
}

fn kb_with_one(dir: &Path) -> Kb {
    let mut kb = Kb::open(&dir.join("kb.db")).unwrap();
    let v = kb
        .update(
            entry("s1", "社保卡丢了怎么补办？", "到社保卡服务网点挂失补办。"),
            "李制片",
            None,
        )
        .unwrap();
    assert_eq!(v, 1);
    kb
}

fn top_id(kb: &Kb, query: &str) -> Option<String> {
    kb.search(query, 3).first().map(|h| h.id.clone())
}

#[test]
fn an_edit_is_a_new_version_searchable_at_once_and_kept_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let mut kb = kb_with_one(dir.path());
    let before = kb.searcher();
    assert_eq!(top_id(&kb, "社保卡补办"), Some("s1".into()));
    assert!(kb.search("扫码就医", 3).is_empty());

    let mut e = kb.entries()[0].clone();
    e.answer = "可在示例市人社APP申领电子社保卡，扫码就医。".into();
    e.alternatives = vec!["电子社保卡怎么用".into()];
    let v = kb.update(e.clone(), "王编导", Some(1)).unwrap();
    assert_eq!(v, 2);
    assert_eq!(kb.current_version("s1").unwrap(), Some(2));
    // Searchable at once, through search() and a new searcher snapshot; the
    // old snapshot still answers as before.
    assert_eq!(top_id(&kb, "电子社保卡"), Some("s1".into()));
    let after = kb.searcher();
    assert!(!std::sync::Arc::ptr_eq(&before, &after));
    assert!(after.search("扫码就医", 3).iter().any(|h| h.id == "s1"));
    assert!(
        before
            .search("扫码就医", 3)
            .iter()
            .all(|h| !h.answer.contains("扫码"))
    );

    // Saving the same content again is not a new version.
    assert_eq!(kb.update(e, "王编导", Some(2)).unwrap(), 2);

    let history = kb.history("s1").unwrap();
    assert_eq!(
        history.iter().map(|v| v.version).collect::<Vec<_>>(),
        [2, 1]
    );
    assert_eq!(history[0].by, "王编导");
    assert_eq!(history[1].by, "李制片");
    assert!(history[0].entry.answer.contains("电子社保卡"));
    assert!(history[1].entry.answer.contains("挂失补办"));
    assert_eq!(history[0].changed_at.len(), "2026-03-05T10:00:00Z".len());

    drop(kb);
    let kb = Kb::open(&dir.path().join("kb.db")).unwrap();
    assert_eq!(kb.current_version("s1").unwrap(), Some(2));
    assert_eq!(kb.history("s1").unwrap(), history);
    assert_eq!(top_id(&kb, "电子社保卡"), Some("s1".into()));
}

#[test]
fn two_editors_cannot_overwrite_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let mut kb = kb_with_one(dir.path());
    // A second console on the same file.
    let mut other = Kb::open(&dir.path().join("kb.db")).unwrap();
    let mut mine = kb.entries()[0].clone();
    let mut theirs = other.entries()[0].clone();
    theirs.answer = "他们的答案。".into();
    assert_eq!(other.update(theirs, "赵编导", Some(1)).unwrap(), 2);
    mine.answer = "我的答案。".into();
    let err = kb.update(mine.clone(), "王编导", Some(1)).unwrap_err();
    assert!(
        matches!(
            err,
            KbError::VersionConflict {
                ref id,
                expected: 1,
                current: 2
            } if id == "s1"
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "entry s1 was changed by someone else: this edit started from version 1, \
         the stored version is 2; nothing was saved (reload the entry and edit again)"
    );
    assert_eq!(kb.version_count("s1").unwrap(), 2);
    // Starting again from the stored version works.
    assert_eq!(kb.update(mine, "王编导", Some(2)).unwrap(), 3);
    // An expected version for an id that does not exist is refused too.
    let err = kb
        .update(entry("nope", "问", "答"), "王编导", Some(4))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no entry nope in the knowledge base (the edit started from its version 4)"
    );
    assert_eq!(kb.current_version("nope").unwrap(), None);
}

#[test]
fn invalid_edits_name_the_field_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut kb = kb_with_one(dir.path());
    let mut e = kb.entries()[0].clone();
    e.answer = "   ".into();
    let err = kb.update(e, "王编导", Some(1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "entry s1: answer: empty; nothing was saved"
    );
    let mut e = kb.entries()[0].clone();
    e.expiry = Some("2026/06/30".into());
    let err = kb.update(e, "王编导", Some(1)).unwrap_err();
    assert!(matches!(err, KbError::InvalidEdit { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "entry s1: expiry: \"2026/06/30\" is not a date (use YYYY-MM-DD); nothing was saved"
    );
    let err = kb
        .update(entry("", "问", "答"), "王编导", None)
        .unwrap_err();
    assert!(err.to_string().contains("id: empty (use add"), "{err}");
    let err = kb.update(kb.entries()[0].clone(), "", None).unwrap_err();
    assert!(err.to_string().contains("must name who made it"), "{err}");
    assert_eq!(kb.version_count("s1").unwrap(), 1);
}

#[test]
fn add_allocates_fresh_ids_and_refuses_a_taken_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut kb = kb_with_one(dir.path());
    let a = kb
        .add(
            entry("", "公积金提取到账要多久？", "三个工作日内到账。"),
            "王编导",
        )
        .unwrap();
    let b = kb
        .add(
            entry("", "灵活就业能交公积金吗？", "可以，按月自愿缴存。"),
            "王编导",
        )
        .unwrap();
    assert_eq!((a.as_str(), b.as_str()), ("kb-1", "kb-2"));
    assert_eq!(top_id(&kb, "公积金到账"), Some("kb-1".into()));
    let err = kb
        .add(entry("s1", "重复的", "重复的答案"), "王编导")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "entry s1 already exists (version 1); edit it instead of adding it"
    );
    // Ids taken by someone else's import are skipped.
    kb.save(&[entry("kb-7", "别处导入的", "答案")], "import other.csv")
        .unwrap();
    let c = kb.add(entry("", "新问题", "新答案"), "王编导").unwrap();
    assert_eq!(c, "kb-8");
    assert_eq!(kb.history("kb-7").unwrap()[0].by, "import other.csv");
    drop(kb);
    let kb = Kb::open(&dir.path().join("kb.db")).unwrap();
    assert_eq!(kb.stats().entries, 5);
    assert_eq!(kb.history("kb-8").unwrap()[0].by, "王编导");
}

#[test]
fn retired_entries_leave_search_and_keep_their_history() {
    let dir = tempfile::tempdir().unwrap();
    let mut kb = kb_with_one(dir.path());
    kb.add(
        entry("s2", "医保卡丢了怎么办？", "到医保窗口补办。"),
        "王编导",
    )
    .unwrap();
    assert_eq!(top_id(&kb, "社保卡补办"), Some("s1".into()));
    assert_eq!(kb.retire("s1", "王编导").unwrap(), 2);
    assert!(kb.search("社保卡补办", 5).iter().all(|h| h.id != "s1"));
    assert!(kb.searcher().search("sbk", 5).iter().all(|h| h.id != "s1"));
    // Retiring again writes nothing.
    assert_eq!(kb.retire("s1", "王编导").unwrap(), 2);
    let err = kb.retire("s9", "王编导").unwrap_err();
    assert_eq!(err.to_string(), "no entry s9 in the knowledge base");
    assert!(matches!(kb.history("s9"), Err(KbError::NotFound { .. })));
    let h = kb.history("s1").unwrap();
    assert_eq!(h[0].entry.status, Status::Retired);
    assert_eq!(h[1].entry.status, Status::Active);
    // Bringing it back is an edit like any other.
    let mut back = h[0].entry.clone();
    back.status = Status::Active;
    assert_eq!(kb.update(back, "王编导", Some(2)).unwrap(), 3);
    assert_eq!(top_id(&kb, "社保卡补办"), Some("s1".into()));
    drop(kb);
    let kb = Kb::open(&dir.path().join("kb.db")).unwrap();
    assert_eq!(kb.stats().entries, 2);
}

#[test]
fn incremental_index_ranks_like_a_fresh_build() {
    let dir = tempfile::tempdir().unwrap();
    let mut kb = Kb::open_or_seed_demo(&dir.path().join("kb.db")).unwrap();
    let first = kb.entries()[0].clone();
    let mid = kb.entries()[700].clone();
    kb.retire(&first.id, "王编导").unwrap();
    let mut e = mid.clone();
    e.question = format!("{}（电子社保卡也可以）", e.question);
    kb.update(e, "王编导", None).unwrap();
    kb.add(
        entry("", "社保卡可以在手机上挂失吗？", "可以，在人社APP挂失。"),
        "王编导",
    )
    .unwrap();
    let fresh = Kb::open(kb.path().unwrap()).unwrap();
    for q in [
        "设保卡丢了",
        "电子社保卡",
        "公积金提取",
        "sbk",
        "gongji",
        "异地就医备案",
        "社保卡手机挂失",
    ] {
        let a: Vec<(String, u32)> = kb
            .search(q, 10)
            .into_iter()
            .map(|h| (h.id, (h.score * 1000.0).round() as u32))
            .collect();
        let b: Vec<(String, u32)> = fresh
            .search(q, 10)
            .into_iter()
            .map(|h| (h.id, (h.score * 1000.0).round() as u32))
            .collect();
        assert_eq!(a, b, "{q}");
    }
    assert_eq!(kb.index().len(), fresh.index().len());
    assert_eq!(kb.index().term_count(), fresh.index().term_count());
}

#[test]
fn the_review_queue_lists_expired_then_overdue_entries() {
    let dir = tempfile::tempdir().unwrap();
    let mut kb = Kb::open(&dir.path().join("kb.db")).unwrap();
    let dated = |id: &str, expiry: Option<&str>, reviewed: Option<&str>| Entry {
        expiry: expiry.map(Into::into),
        reviewed: reviewed.map(Into::into),
        ..entry(id, &format!("问题{id}"), "答案")
    };
    kb.update(
        dated("ok", Some("2027-01-01"), Some("2026-02-01")),
        "王",
        None,
    )
    .unwrap();
    kb.update(
        dated("expired", Some("2026-01-31"), Some("2026-02-01")),
        "王",
        None,
    )
    .unwrap();
    kb.update(dated("stale", None, Some("2025-01-01")), "王", None)
        .unwrap();
    kb.update(dated("never", None, None), "王", None).unwrap();
    kb.update(dated("gone", Some("2020-01-01"), None), "王", None)
        .unwrap();
    kb.retire("gone", "王").unwrap();
    let q = kb.needs_review("2026-03-05", 180);
    let ids: Vec<&str> = q.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["expired", "never", "stale"]);
    assert_eq!(
        q[0].reason,
        ReviewReason::Expired {
            expiry: "2026-01-31".into()
        }
    );
    assert_eq!(
        q[2].reason,
        ReviewReason::ReviewDue {
            reviewed: Some("2025-01-01".into())
        }
    );
    assert_eq!(q[0].question, "问题expired");
}

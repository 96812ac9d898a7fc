//! One knowledge base for many stations (1+5+N) on a real PostgreSQL
//! server: each station sees the shared entries and its own; two stations
//! editing the same entry at once never lose work; an edit at one station
//! reaches the other's search by refresh; a station's SQLite file moves into
//! the shared database with every version and comes back out identical.
//! Needs `AIRBRIDGE_TEST_PG` (scripts/test.sh starts a server).
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::time::Duration;

use airbridge_kb::{Entry, Kb, KbError, KbListener, Status};

#[path = "../../tests/src/pg.rs"]
mod pg;
use pg::pg_url;

/// A schema of its own per test run, so runs never see each other's rows.
fn schema(tag: &str) -> String {
    format!(
        "kbtest_{tag}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    )
}

fn entry(question: &str, answer: &str) -> Entry {
    Entry {
        question: question.into(),
        answer: answer.into(),
        department: "市人社局".into(),
        category: "社保卡".into(),
        ..Entry::default()
    }
}

#[test]
fn each_station_sees_the_shared_entries_and_its_own() {
    let Some(url) = pg_url() else { return };
    let s = schema("scope");
    // the city's tools seed the demo content, shared by all
    let city = Kb::open_postgres(&url, Some(&s), None, true).unwrap();
    let shared = city.entries().len();
    assert!(shared > 100);
    assert!(city.entries().iter().all(|e| e.station.is_empty()));

    let mut yy = Kb::open_postgres(&url, Some(&s), Some("yy"), true).unwrap();
    let mut hx = Kb::open_postgres(&url, Some(&s), Some("hx"), true).unwrap();
    assert_eq!(
        yy.entries().len(),
        shared,
        "a second open does not seed again"
    );

    // a county's own entry: numbered with its code, seen by it alone
    let mut own = entry(
        "华容县新农合在哪里缴费？",
        "在华容县各乡镇便民服务中心缴费。",
    );
    own.station = "hx".into();
    let id = hx.add(own, "hx-producer").unwrap();
    assert_eq!(id, "hx-kb-1");
    assert_eq!(hx.search("华容县新农合缴费", 3)[0].id, id);
    yy.refresh().unwrap();
    assert!(yy.entries().iter().all(|e| e.id != id));
    assert!(yy.search("华容县新农合缴费", 3).iter().all(|h| h.id != id));
    assert!(matches!(yy.history(&id), Err(KbError::NotFound { .. })));

    // the city station cannot edit, retire or take over the county's entry
    let mut forged = hx.entries().iter().find(|e| e.id == id).unwrap().clone();
    forged.answer = "改掉".into();
    assert!(matches!(
        yy.update(forged.clone(), "yy-producer", Some(1)),
        Err(KbError::NotFound { .. })
    ));
    assert!(matches!(
        yy.update(forged.clone(), "yy-producer", None),
        Err(KbError::OtherStation { .. })
    ));
    assert!(matches!(
        yy.retire(&id, "yy-producer"),
        Err(KbError::NotFound { .. })
    ));
    forged.station = "yy".into();
    assert!(matches!(
        yy.add(forged, "yy-producer"),
        Err(KbError::IdTaken { .. })
    ));

    // the city tools see every station's entries
    let mut all = Kb::open_postgres(&url, Some(&s), None, false).unwrap();
    all.refresh().unwrap();
    assert_eq!(all.entries().len(), shared + 1);
    assert_eq!(hx.history(&id).unwrap().len(), 1);
}

#[test]
fn an_edit_at_one_station_reaches_the_other_stations_search() {
    let Some(url) = pg_url() else { return };
    let s = schema("refresh");
    let mut yy = Kb::open_postgres(&url, Some(&s), Some("yy"), true).unwrap();
    let mut hx = Kb::open_postgres(&url, Some(&s), Some("hx"), true).unwrap();
    let mut listener = KbListener::connect(&url, Some(&s)).unwrap();
    assert!(!listener.wait(Duration::from_millis(50)).unwrap(), "quiet");

    // the city adds a shared entry and changes a shared one
    let id = yy
        .add(
            entry(
                "退捕渔民养老保险补贴怎么申请？",
                "退捕渔民到户籍所在地乡镇人社服务站申请养老保险补贴，带身份证和退捕证明。",
            ),
            "yy-producer",
        )
        .unwrap();
    assert_eq!(id, "yy-kb-1");
    let target = hx.entries()[0].clone();
    let mut changed = target.clone();
    changed.answer = format!("{}（2026年起在岳阳市政务服务中心三楼办理）", target.answer);
    yy.update(changed.clone(), "yy-producer", Some(1)).unwrap();

    // the county is woken, and its search has both after a refresh
    assert!(listener.wait(Duration::from_secs(5)).unwrap());
    assert!(hx.search("退捕渔民补贴", 3).iter().all(|h| h.id != id));
    let mut ids = hx.refresh().unwrap();
    ids.sort();
    let mut want = vec![id.clone(), target.id.clone()];
    want.sort();
    assert_eq!(ids, want);
    assert_eq!(hx.search("退捕渔民补贴", 3)[0].id, id);
    assert_eq!(
        hx.entries().iter().find(|e| e.id == target.id).unwrap(),
        &changed
    );
    // the index after a refresh ranks exactly as one built from scratch
    let fresh = Kb::open_postgres(&url, Some(&s), Some("hx"), false).unwrap();
    for q in [
        "退捕渔民补贴",
        "大病保险报销",
        "社保卡丢了",
        "公积金提取",
        "营业执照",
    ] {
        let a: Vec<_> = hx.search(q, 5).into_iter().map(|h| h.id).collect();
        let b: Vec<_> = fresh.search(q, 5).into_iter().map(|h| h.id).collect();
        assert_eq!(a, b, "{q}");
    }
    // nothing new: nothing rebuilt
    assert!(hx.refresh().unwrap().is_empty());

    // a retire elsewhere takes the entry out of this station's search
    yy.retire(&id, "yy-producer").unwrap();
    hx.refresh().unwrap();
    assert!(hx.search("退捕渔民补贴", 3).iter().all(|h| h.id != id));
    assert_eq!(
        hx.entries().iter().find(|e| e.id == id).unwrap().status,
        Status::Retired
    );
}

/// Two stations edit the same shared entry at once, each retrying on a
/// conflict as the console does (reload, edit again): every edit lands.
#[test]
fn two_stations_editing_one_entry_at_once_lose_nothing() {
    let Some(url) = pg_url() else { return };
    let s = schema("race");
    let seed = Kb::open_postgres(&url, Some(&s), None, true).unwrap();
    let id = seed.entries()[0].id.clone();
    const EDITS: usize = 15;
    let run = |code: &'static str| {
        let url = url.clone();
        let s = s.clone();
        let id = id.clone();
        std::thread::spawn(move || {
            let mut kb = Kb::open_postgres(&url, Some(&s), Some(code), false).unwrap();
            let mut conflicts = 0;
            for i in 0..EDITS {
                loop {
                    // the entry and its version, read together (as the
                    // console's editor loads them)
                    let latest = kb.history(&id).unwrap().remove(0);
                    let (mut e, version) = (latest.entry, latest.version);
                    e.tags.push(format!("{code}-{i}"));
                    match kb.update(e, &format!("{code}-editor"), Some(version)) {
                        Ok(_) => break,
                        Err(KbError::VersionConflict { .. }) => conflicts += 1,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            conflicts
        })
    };
    let (a, b) = (run("yy"), run("hx"));
    let conflicts = a.join().unwrap() + b.join().unwrap();
    eprintln!("{conflicts} conflicts retried");
    let mut check = Kb::open_postgres(&url, Some(&s), None, false).unwrap();
    check.refresh().unwrap();
    let e = check.entries().iter().find(|e| e.id == id).unwrap();
    for code in ["yy", "hx"] {
        for i in 0..EDITS {
            assert!(
                e.tags.contains(&format!("{code}-{i}")),
                "{code}-{i} lost: {:?}",
                e.tags
            );
        }
    }
    let history = check.history(&id).unwrap();
    assert_eq!(history.len(), 1 + 2 * EDITS);
    assert_eq!(history[0].version, u32::try_from(1 + 2 * EDITS).unwrap());
}

/// A station's own file moves into the shared database with every version,
/// and back out into a new file identical (round trip).
#[test]
fn a_stations_file_moves_into_the_shared_database_and_back() {
    let Some(url) = pg_url() else { return };
    let s = schema("migrate");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hx.db");
    let mut local = Kb::open_or_seed_demo(&file).unwrap();
    let id = local
        .add(
            entry("华容县城区公交卡在哪里办？", "在华容县公交公司营业厅办理。"),
            "hx-producer",
        )
        .unwrap();
    let mut e = local.entries().iter().find(|e| e.id == id).unwrap().clone();
    e.answer.push_str("带身份证。");
    local.update(e, "hx-producer", Some(1)).unwrap();
    // one demo entry edited locally: the same id as the shared one, other content
    let demo_id = local.entries()[0].id.clone();
    let mut d = local.entries()[0].clone();
    d.answer.push_str("（华容县另有规定）");
    local.update(d, "hx-producer", Some(1)).unwrap();

    // the city put the demo content in first, shared
    let mut shared = Kb::open_postgres(&url, Some(&s), None, true).unwrap();
    let before = shared.entries().len();
    let mut hx = Kb::open_postgres(&url, Some(&s), Some("hx"), false).unwrap();

    // a clash refuses the whole move
    let err = local.migrate_into(&mut hx, Some("hx"), false).unwrap_err();
    assert!(
        matches!(&err, KbError::MigrateClash { ids } if ids == &vec![demo_id.clone()]),
        "{err}"
    );
    shared.refresh().unwrap();
    assert_eq!(shared.entries().len(), before, "nothing moved");

    // with --rename the clashing entry becomes the station's own variant
    let r = local.migrate_into(&mut hx, Some("hx"), true).unwrap();
    assert_eq!(r.moved, 2);
    assert_eq!(r.already_there, before - 1);
    assert_eq!(r.renamed, vec![(demo_id.clone(), format!("hx-{demo_id}"))]);
    let moved = hx.entries().iter().find(|e| e.id == id).unwrap();
    assert_eq!(moved.station, "hx");
    let h = hx.history(&id).unwrap();
    assert_eq!(h.len(), 2, "every version moved");
    assert_eq!(h[0].by, "hx-producer");
    assert_eq!(hx.search("华容县公交卡", 1)[0].id, id);

    // and back out: a new file with the same entries and histories
    let back_file = dir.path().join("back.db");
    let mut back = Kb::open(&back_file).unwrap();
    let own = Kb::open_postgres(&url, Some(&s), Some("hx"), false).unwrap();
    own.migrate_into(&mut back, None, false).unwrap();
    let back = Kb::open(&back_file).unwrap();
    assert_eq!(back.entries().len(), own.entries().len());
    for e in own.entries() {
        let b = back.entries().iter().find(|x| x.id == e.id).unwrap();
        assert_eq!(b, e);
        assert_eq!(back.history(&e.id).unwrap(), own.history(&e.id).unwrap());
    }
    assert_eq!(
        back.entries().iter().filter(|e| e.station == "hx").count(),
        2
    );
}

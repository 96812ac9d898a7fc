//! Two stations of a city (1+5+N) running on one shared knowledge base on
//! a real PostgreSQL server: an edit at one station reaches the other
//! station's search while both shows run, and a station's own entry stays
//! its own. Needs `AIRBRIDGE_TEST_PG` (scripts/test.sh starts a server).
#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use airbridge_configs::ConfigSet;
use airbridge_runtime::{Action, Outcome, Role, Runtime, RuntimeOptions, StationPaths};
use airbridge_show::ShowEvent;

#[path = "../../tests/src/pg.rs"]
mod pg;
use pg::pg_url;

fn station(code: &str, dir: &std::path::Path, url: &str) -> Runtime {
    let mut config = ConfigSet::embedded_demo().unwrap();
    config.station.code = Some(code.to_owned());
    let mut paths = StationPaths::under(dir, &config);
    paths.kb_shared = Some(url.to_owned());
    Runtime::start(RuntimeOptions {
        speech: false,
        ..RuntimeOptions::new(config, paths, Default::default())
    })
    .unwrap()
}

/// Waits up to 20 s for `ok` on the station's current knowledge base.
fn until(rt: &Runtime, what: &str, ok: impl Fn(&airbridge_runtime::LoadedKb) -> bool) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(20) {
        if let Some(Ok(kb)) = rt.kb().try_get()
            && ok(&kb)
        {
            eprintln!("{what}: {} ms", t.elapsed().as_millis());
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what}: not within 20 s");
}

fn save(rt: &Runtime, entry: airbridge_kb::Entry, expected: Option<u32>) -> (String, u32) {
    match rt
        .execute_as(
            "producer",
            Role::Screener,
            Action::KbSave {
                entry: Box::new(entry),
                expected_version: expected,
            },
        )
        .unwrap()
    {
        Outcome::Kb { id, version } => (id, version),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_edit_at_the_city_station_reaches_the_county_stations_search() {
    let Some(url) = pg_url() else { return };
    let schema = format!("kbrt_{}", std::process::id());
    // the shared knowledge base, seeded once with the demo content
    drop(airbridge_kb::Kb::open_postgres(&url, Some(&schema), None, true).unwrap());
    let url = format!("{url} options='-c search_path={schema}'");
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let yy = station("yy", d1.path(), &url);
    let hx = station("hx", d2.path(), &url);
    let a = yy.kb().wait(Duration::from_secs(60)).unwrap().unwrap();
    let b = hx.kb().wait(Duration::from_secs(60)).unwrap().unwrap();
    assert_eq!(a.entries.len(), b.entries.len());
    assert!(a.name.starts_with("postgres:"), "{}", a.name);

    // the county adds its own entry; the city corrects a shared one
    let own = airbridge_kb::Entry {
        question: "华容县退捕渔民补贴在哪里申请？".into(),
        answer: "到华容县各乡镇人社服务站申请，带身份证和退捕证明。".into(),
        station: "hx".into(),
        ..Default::default()
    };
    let (own_id, _) = save(&hx, own, None);
    assert_eq!(own_id, "hx-kb-1");
    let hit = a.searcher.search("社保卡丢了怎么办", 1)[0].clone();
    let mut entry = a.entries.iter().find(|e| e.id == hit.id).unwrap().clone();
    entry.answer = "携带身份证到任一社保服务网点即可补办，当场出卡（市台订正）".into();
    let v = a.version(&entry.id).unwrap().unwrap();
    save(&yy, entry.clone(), Some(v));

    // the county's search has the correction, without a restart
    until(&hx, "city edit in county search", |kb| {
        kb.searcher.search("社保卡丢了怎么办", 1)[0]
            .answer
            .contains("市台订正")
    });
    let refreshed = hx
        .journal()
        .replay(1)
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| matches!(&e.event, ShowEvent::KbRefreshed { ids } if ids.contains(&entry.id)));
    assert!(refreshed, "the refresh is in the county's journal");
    // the city never sees the county's own entry
    let city = yy.kb().try_get().unwrap().unwrap();
    assert!(city.entries.iter().all(|e| e.id != own_id));
    assert!(
        city.searcher
            .search("华容县退捕渔民补贴", 3)
            .iter()
            .all(|h| h.id != own_id)
    );
    yy.stop();
    hx.stop();
}

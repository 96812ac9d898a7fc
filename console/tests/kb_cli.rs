//! `airbridge kb …` end to end: the default KB is created from the built-in
//! demo content, search/stats/eval print what the issue specifies, and a bad
//! import fails with one line and a non-zero exit.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

fn airbridge(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_airbridge"))
        .args(args)
        .env("AIRBRIDGE_DATA_DIR", data)
        .env_remove("AIRBRIDGE_KB")
        .env_remove("AIRBRIDGE_CONFIG")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn default_kb_stats_search_and_eval() {
    let dir = tempfile::tempdir().unwrap();
    let stats: serde_json::Value =
        serde_json::from_str(&stdout(&airbridge(dir.path(), &["kb", "stats", "--json"]))).unwrap();
    assert!(stats["entries"].as_u64().unwrap() >= 1600, "{stats}");
    assert!(stats["domains"].as_u64().unwrap() >= 25, "{stats}");
    assert!(stats["departments"].as_u64().unwrap() >= 20, "{stats}");
    assert!(dir.path().join("kb/knowledge-base.db").exists());

    let hits: serde_json::Value = serde_json::from_str(&stdout(&airbridge(
        dir.path(),
        &["kb", "search", "设保卡丢了咋补", "-k", "3", "--json"],
    )))
    .unwrap();
    let first = hits[0]["question"].as_str().unwrap();
    assert!(first.contains("社会保障卡"), "{hits}");

    let dev = Path::new(env!("CARGO_MANIFEST_DIR")).join("../knowledge-base/eval/dev.tsv");
    let out = stdout(&airbridge(
        dir.path(),
        &["kb", "eval", "--queries", dev.to_str().unwrap(), "-k", "3"],
    ));
    let last = out.lines().last().unwrap();
    let parts: Vec<&str> = last.split(' ').collect();
    assert_eq!(parts.len(), 3, "{last}");
    assert!(
        parts[0].starts_with("recall@3=0.") && parts[0].len() == "recall@3=0.000".len(),
        "{last}"
    );
    assert!(
        parts[1].starts_with("mrr=") && parts[1].len() == "mrr=0.000".len(),
        "{last}"
    );
    assert!(parts[2].starts_with("n="), "{last}");
    assert!(out.contains("baseline"), "{out}");
}

#[test]
fn import_with_mapping_and_a_refused_import() {
    let dir = tempfile::tempdir().unwrap();
    let kb = dir.path().join("station.db");
    let kb = kb.to_str().unwrap();
    let sheet = dir.path().join("faq.csv");
    std::fs::write(
        &sheet,
        "序號,常見問題,答覆說明\nA1,<p>護照遺失怎麼補發？</p>,請攜帶身分證辦理。\nA2,驾照到期怎么换,带身份证和体检证明\n",
    )
    .unwrap();
    let sheet = sheet.to_str().unwrap();
    // Without a mapping the answer column is not recognised: refused, one line, exit 1.
    let o = airbridge(dir.path(), &["kb", "--kb", kb, "import", sheet]);
    assert!(!o.status.success());
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("missing required column for answer"), "{err}");
    // With the mapping it loads.
    let out = stdout(&airbridge(
        dir.path(),
        &[
            "kb",
            "--kb",
            kb,
            "import",
            sheet,
            "--field",
            "id=序號",
            "--field",
            "question=常見問題",
            "--field",
            "answer=答覆說明",
        ],
    ));
    assert!(out.contains("added 2"), "{out}");
    let hits: serde_json::Value = serde_json::from_str(&stdout(&airbridge(
        dir.path(),
        &["kb", "--kb", kb, "search", "护照丢了", "--json"],
    )))
    .unwrap();
    assert_eq!(hits[0]["id"], "A1", "{hits}");
    // The station KB is not the default one and holds only its own entries.
    let stats: serde_json::Value = serde_json::from_str(&stdout(&airbridge(
        dir.path(),
        &["kb", "stats", "--kb", kb, "--json"],
    )))
    .unwrap();
    assert_eq!(stats["entries"], 2);
}

/// A station's file moves into a knowledge base shared on PostgreSQL, and
/// the tools then work on the shared one (`kb_store`). Needs
/// `AIRBRIDGE_TEST_PG` (scripts/test.sh starts a server).
#[test]
fn migrate_into_a_shared_knowledge_base() {
    let url = match std::env::var("AIRBRIDGE_TEST_PG") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            assert!(std::env::var("AIRBRIDGE_REQUIRE_PG").as_deref() != Ok("1"));
            return;
        }
    };
    let schema = format!("kbcli_{}", std::process::id());
    let made = Command::new("psql")
        .args([url.as_str(), "-q", "-c", &format!("CREATE SCHEMA {schema}")])
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let shared = format!("{url} options='-c search_path={schema}'");
    let dir = tempfile::tempdir().unwrap();
    let stats = |o: Output| -> u64 {
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        v["entries"].as_u64().unwrap()
    };
    let local = stats(airbridge(dir.path(), &["kb", "stats", "--json"]));

    // the demo station has no code: its entries can only move as shared
    let o = airbridge(dir.path(), &["kb", "migrate", "--to", &shared]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("code"));
    let o = airbridge(dir.path(), &["kb", "migrate", "--to", &shared, "--shared"]);
    let out = stdout(&o);
    assert!(out.contains(&format!("moved {local} entries")), "{out}");
    // a second move finds them all there already
    let out = stdout(&airbridge(
        dir.path(),
        &["kb", "migrate", "--to", &shared, "--shared"],
    ));
    assert!(
        out.contains("moved 0 entries") && out.contains(&format!("{local} already there")),
        "{out}"
    );

    // with kb_store set, the tools use the shared knowledge base
    let on_pg = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_airbridge"))
            .args(args)
            .env("AIRBRIDGE_DATA_DIR", dir.path())
            .env("AIRBRIDGE_KB_STORE", &shared)
            .env_remove("AIRBRIDGE_KB")
            .env_remove("AIRBRIDGE_CONFIG")
            .output()
            .unwrap()
    };
    assert_eq!(stats(on_pg(&["kb", "stats", "--json"])), local);
    let hits: serde_json::Value = serde_json::from_str(&stdout(&on_pg(&[
        "kb",
        "search",
        "设保卡丢了咋补",
        "-k",
        "3",
        "--json",
    ])))
    .unwrap();
    assert!(
        hits[0]["question"].as_str().unwrap().contains("社会保障卡"),
        "{hits}"
    );
    let _ = Command::new("psql")
        .args([
            url.as_str(),
            "-q",
            "-c",
            &format!("DROP SCHEMA {schema} CASCADE"),
        ])
        .output();
}

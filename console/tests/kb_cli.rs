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

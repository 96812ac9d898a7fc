//! Seats on other PCs from the command line, against a real `airbridge
//! serve` with `[seats]`: `seat do … line 1 on_air` from a screener token
//! moves the line, from a host token it is refused (exit non-zero, with the
//! reason, journaled); `seat watch --json` prints one object per event with
//! its `seq`; a wrong token is refused.
#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::disallowed_methods)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_airbridge")
}

fn private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The built-in station's files in `d`, its data under `d/data`.
fn station(d: &Path) {
    for (name, text) in airbridge_configs::embedded_files() {
        let text = if name == "station.toml" {
            text.replace("data_dir = \"\"", "data_dir = \"data\"")
        } else {
            text.to_owned()
        };
        std::fs::write(d.join(name), text).unwrap();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn seat(dir: &Path, url: &str, token: &str, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("seat")
        .args(args)
        .arg("--connect")
        .arg(url)
        .arg("--token-file")
        .arg(dir.join(token))
        .env_remove("AIRBRIDGE_CONFIG")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn seat_commands_are_decided_by_the_runtime_for_the_tokens_role() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    station(d);
    let port = free_port();
    std::fs::write(
        d.join("studio.toml"),
        format!(
            "[audio]\noutput_device = \"none\"\n[seats]\nlisten = \"127.0.0.1:{port}\"\ntokens_file = \"seats.tokens\"\n"
        ),
    )
    .unwrap();
    private(
        &d.join("seats.tokens"),
        "scr screener 0123456789abcdef0123\nhost1 host fedcba9876543210fedc\n",
    );
    private(&d.join("scr.token"), "0123456789abcdef0123\n");
    private(&d.join("host.token"), "fedcba9876543210fedc\n");
    private(&d.join("wrong.token"), "ffffffffffffffffffff\n");
    let mut child = Command::new(bin())
        .arg("--config")
        .arg(d)
        .args(["serve", "--for", "60"])
        .env_remove("AIRBRIDGE_DATA_DIR")
        .env_remove("AIRBRIDGE_JOURNAL")
        .env_remove("AIRBRIDGE_KB")
        .env_remove("AIRBRIDGE_TICKETS_STORE")
        .env_remove("AIRBRIDGE_CONFIG")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _reap = Reap(child);
    let mut lines = BufReader::new(stdout).lines();
    let end = Instant::now() + Duration::from_secs(90);
    loop {
        assert!(Instant::now() < end, "serve did not report its seats");
        let line = lines.next().unwrap().unwrap();
        eprintln!("serve: {line}");
        if line.starts_with("seats:") {
            assert!(line.contains("seats: ok"), "{line}");
            break;
        }
    }
    let url = format!("ws://127.0.0.1:{port}");

    // a watcher from the start, in JSON
    let watch = Command::new(bin())
        .args([
            "seat",
            "watch",
            "--from",
            "1",
            "--for",
            "8",
            "--json",
            "--connect",
            &url,
            "--token-file",
        ])
        .arg(d.join("host.token"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let out = seat(d, &url, "scr.token", &["do", "ring", "1", "13800001234"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("call:"), "{}", text(&out.stdout));
    for state in ["screening", "ready"] {
        let out = seat(d, &url, "scr.token", &["do", "line", "1", state]);
        assert!(out.status.success(), "{state}: {}", text(&out.stderr));
    }
    // the host may not put the line on air: refused, non-zero, the reason
    let out = seat(d, &url, "host.token", &["do", "line", "1", "on_air"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("refused") && err.contains("主持人"), "{err}");
    // the screener may
    let out = seat(d, &url, "scr.token", &["do", "line", "1", "on_air"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // a wrong token never gets in
    let out = seat(d, &url, "wrong.token", &["do", "message", "hello"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("401"), "{}", text(&out.stderr));
    // a bad action is a usage error naming the choices
    let out = seat(d, &url, "scr.token", &["do", "line", "1", "flying"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("on_air"),
        "{}",
        text(&out.stderr)
    );

    let watched = watch.wait_with_output().unwrap();
    assert!(watched.status.success(), "{}", text(&watched.stderr));
    let events: Vec<serde_json::Value> = text(&watched.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "from 1, no gap"
    );
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"]["type"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"call_rang"), "{kinds:?}");
    let on_air = events
        .iter()
        .any(|e| e["event"]["type"] == "line_state_changed" && e["event"]["to"] == "on_air");
    assert!(on_air, "the screener's move reached the host's watcher");
    let refused = events
        .iter()
        .any(|e| e["event"]["type"] == "command_refused" && e["seat"] == "host1");
    assert!(refused, "the host's refusal is journaled under its seat");
}

/// The block list is exported as the station keeps it (keys and masked labels).
#[test]
fn the_block_list_exports_as_csv_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    station(d);
    std::fs::create_dir_all(d.join("data/moderation")).unwrap();
    std::fs::write(
        d.join("data/moderation/blocked.json"),
        r#"{"0a1b2c3d4e5f60718293a4b5":"wechat · 微信用户**","ffeeddccbbaa998877665544":"来电 · 139****0001"}"#,
    )
    .unwrap();
    let run = |format: &str| {
        let out = Command::new(bin())
            .arg("--config")
            .arg(d)
            .args(["moderation", "blocklist", "--format", format])
            .env_remove("AIRBRIDGE_DATA_DIR")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let csv = run("csv");
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        [
            "key,label",
            "0a1b2c3d4e5f60718293a4b5,wechat · 微信用户**",
            "ffeeddccbbaa998877665544,来电 · 139****0001"
        ]
    );
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(json.as_object().unwrap().len(), 2);
}

//! The `airbridge` command as a user runs it: help in plain words, one-line
//! errors with a non-zero exit, and the ticket tools end to end.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::process::{Command, Output};

fn airbridge(args: &[&str], data: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_airbridge"))
        .args(args)
        .env("AIRBRIDGE_DATA_DIR", data)
        .env_remove("AIRBRIDGE_CONFIG")
        .env_remove("AIRBRIDGE_TICKETS_STORE")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn help_lists_the_subcommands_in_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    let o = airbridge(&["--help"], dir.path());
    assert!(o.status.success());
    let text = stdout(&o);
    for sub in ["config", "journal", "sla", "tickets"] {
        assert!(
            text.contains(&format!("  {sub} ")),
            "{sub} missing from help:\n{text}"
        );
    }
    assert!(text.contains("Run without a subcommand to open the console window"));
}

#[test]
fn errors_are_one_clear_line_and_fail() {
    let dir = tempfile::tempdir().unwrap();
    let o = airbridge(
        &["journal", "info", "--journal", "/nonexistent/show.db"],
        dir.path(),
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: no journal at /nonexistent/show.db"),
        "{err}"
    );

    let o = airbridge(
        &[
            "sla",
            "due",
            "--policy",
            "nope",
            "--class",
            "general",
            "--stage",
            "resolve",
            "--received",
            "2026-03-10T09:00:00+08:00",
        ],
        dir.path(),
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("no SLA policy named \"nope\" (known: yueyang-125, changping, gaoyou)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn sla_due_prints_the_deadline_on_its_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let due = |policy: &str, class: &str, stage: &str, received: &str| {
        let o = airbridge(
            &[
                "sla",
                "due",
                "--policy",
                policy,
                "--class",
                class,
                "--stage",
                stage,
                "--received",
                received,
            ],
            dir.path(),
        );
        (
            o.status.success(),
            stdout(&o).lines().last().unwrap_or_default().to_owned(),
            stderr(&o),
        )
    };
    assert_eq!(
        due(
            "yueyang-125",
            "general",
            "dispatch",
            "2026-03-10T11:30:00+08:00"
        )
        .1,
        "2026-03-10T14:30:00+08:00"
    );
    // Spring Festival 2026: Thu 12 Feb + 5 working days → Sat 14 (make-up), Tue 24 … Thu 26.
    assert_eq!(
        due(
            "yueyang-125",
            "complex",
            "resolve",
            "2026-02-12T10:00:00+08:00"
        )
        .1,
        "2026-02-26T17:30:00+08:00"
    );
    let (ok, _, err) = due("gaoyou", "simple", "resolve", "2027-01-04T10:00:00+08:00");
    assert!(!ok);
    assert!(
        err.contains("no holiday calendar is loaded for 2027"),
        "{err}"
    );
}

#[test]
fn a_ticket_from_creation_to_export() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tickets.db");
    let store = db.to_str().unwrap();
    let o = airbridge(
        &[
            "tickets",
            "--store",
            store,
            "--as",
            "screener",
            "create",
            "--source",
            "wechat",
            "--question",
            "公租房申请条件是什么？",
            "--department",
            "zjj",
            "--contact",
            "13800002222",
            "--received",
            "2026-03-10T09:00:00+08:00",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("T20260310-0001 已受理"),
        "{}",
        stdout(&o)
    );
    let steps: &[&[&str]] = &[
        &[
            "classify",
            "T20260310-0001",
            "--class",
            "general",
            "--department",
            "zjj",
        ],
        &["dispatch", "T20260310-0001"],
        &[
            "resolve",
            "T20260310-0001",
            "--resolution",
            "已告知申请条件",
        ],
        &[
            "callback",
            "T20260310-0001",
            "--outcome",
            "reached",
            "--satisfaction",
            "满意",
        ],
        &["close", "T20260310-0001"],
    ];
    for step in steps {
        let mut args = vec!["tickets", "--store", store, "--as", "backoffice"];
        args.extend_from_slice(step);
        let o = airbridge(&args, dir.path());
        assert!(o.status.success(), "{step:?}: {}", stderr(&o));
    }
    // A change based on an old version is refused.
    let o = airbridge(
        &[
            "tickets",
            "--store",
            store,
            "note",
            "T20260310-0001",
            "--text",
            "x",
            "--version",
            "2",
        ],
        dir.path(),
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("reload it and apply your change again"),
        "{}",
        stderr(&o)
    );
    // Lists mask the contact; --full shows it.
    let o = airbridge(
        &["tickets", "--store", store, "show", "T20260310-0001"],
        dir.path(),
    );
    assert!(
        stdout(&o).contains("138****2222") && !stdout(&o).contains("13800002222"),
        "{}",
        stdout(&o)
    );
    let o = airbridge(
        &[
            "tickets",
            "--store",
            store,
            "show",
            "T20260310-0001",
            "--full",
        ],
        dir.path(),
    );
    assert!(stdout(&o).contains("13800002222"));
    let xlsx = dir.path().join("march.xlsx");
    let o = airbridge(
        &[
            "tickets",
            "--store",
            store,
            "export",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-31",
            "--format",
            "xlsx",
            xlsx.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("exported 1 tickets"));
    assert!(std::fs::metadata(&xlsx).unwrap().len() > 1000);
    let o = airbridge(
        &[
            "tickets",
            "--store",
            store,
            "report",
            "--period",
            "month",
            "--date",
            "2026-03-15",
        ],
        dir.path(),
    );
    assert!(stdout(&o).contains("受理 1"), "{}", stdout(&o));
    assert!(stdout(&o).contains("满意率 100.0%"), "{}", stdout(&o));
    // a chosen range, per department, as JSON with the documented keys
    let o = airbridge(
        &[
            "tickets",
            "--store",
            store,
            "report",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-31",
            "--by",
            "department",
            "--json",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["received"], 1);
    assert_eq!(v["by"], "department");
    for key in [
        "resolved",
        "resolved_on_time",
        "resolution_rate",
        "on_time_rate",
        "satisfaction_rate",
        "overdue_rate",
    ] {
        assert!(v.get(key).is_some(), "{key} missing: {v}");
        assert!(
            v["groups"][0].get(key).is_some(),
            "group {key} missing: {v}"
        );
    }
    assert_eq!(v["satisfaction_rate"], 1.0);
    // the month for the station's leadership: XLSX and PDF (LibreOffice)
    let book = dir.path().join("month.xlsx");
    let pdf = dir.path().join("month.pdf");
    let o = airbridge(
        &[
            "tickets",
            "--store",
            store,
            "report",
            "--date",
            "2026-03-15",
            "--by",
            "department",
            "--xlsx",
            book.to_str().unwrap(),
            "--pdf",
            pdf.to_str().unwrap(),
        ],
        dir.path(),
    );
    let soffice = ["soffice", "libreoffice"].into_iter().any(|b| {
        Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let required = std::env::var("AIRBRIDGE_REQUIRE_LIBREOFFICE").as_deref() == Ok("1");
    assert!(
        soffice || !required,
        "LibreOffice required but not installed"
    );
    assert!(std::fs::metadata(&book).unwrap().len() > 1000);
    if soffice {
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"));
    } else {
        assert!(
            stderr(&o).contains("PDF needs LibreOffice"),
            "{}",
            stderr(&o)
        );
    }
    let o = airbridge(
        &[
            "tickets",
            "--store",
            store,
            "report",
            "--from",
            "2026-03-31",
            "--to",
            "2026-03-01",
        ],
        dir.path(),
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("is before --from"), "{}", stderr(&o));
}

/// A station's own ggml model through `speech_model` in station.toml: the
/// commands name the configured file; a missing one is one clear error, and
/// `model fetch` will not write the base model under the station's name.
#[test]
fn the_station_config_names_its_own_speech_model() {
    let data = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    for entry in std::fs::read_dir(&repo).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&path, config.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::create_dir(config.path().join("holidays")).unwrap();
    for entry in std::fs::read_dir(repo.join("holidays")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(
            &path,
            config
                .path()
                .join("holidays")
                .join(path.file_name().unwrap()),
        )
        .unwrap();
    }
    let station = config.path().join("station.toml");
    let text = std::fs::read_to_string(&station).unwrap();
    assert!(text.contains("speech_model = \"\""));
    std::fs::write(
        &station,
        text.replace(
            "speech_model = \"\"",
            "speech_model = \"ggml-large-v3.bin\"",
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_airbridge"))
            .arg("--config")
            .arg(config.path())
            .args(args)
            .env("AIRBRIDGE_DATA_DIR", data.path())
            .env_remove("AIRBRIDGE_CONFIG")
            .env_remove("AIRBRIDGE_MODEL")
            .output()
            .unwrap()
    };
    let expected = data.path().join("models").join("ggml-large-v3.bin");

    let o = run(&["model", "status"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains(&format!("no speech model at {}", expected.display())),
        "{err}"
    );

    let o = run(&["model", "fetch"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("station.toml names speech_model"), "{err}");
    assert!(!expected.exists(), "fetch wrote under the station's name");

    // A file that is not a ggml model: unusable, named.
    std::fs::create_dir_all(expected.parent().unwrap()).unwrap();
    std::fs::write(&expected, b"not a model").unwrap();
    let o = run(&["model", "status"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains(&expected.display().to_string()), "{err}");
    assert!(err.contains("unusable"), "{err}");
}

#[test]
fn studio_init_writes_a_station_that_config_check_opens_and_faults_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let station = dir.path().join("station");
    let st = station.to_str().unwrap();
    let o = airbridge(&["studio", "init", st], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    for f in [
        "station.toml",
        "show.toml",
        "departments.toml",
        "sla.toml",
        "studio.toml",
    ] {
        assert!(station.join(f).is_file(), "{f} written");
    }
    // A second init refuses to overwrite the station's files.
    let again = airbridge(&["studio", "init", st], dir.path());
    assert!(!again.status.success());
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));

    // The files only: every written file is valid.
    let o = airbridge(&["config", "check", st, "--files-only"], dir.path());
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("studio: 2 lines"), "{}", stdout(&o));

    // Opening what a show would open: a busy RTP port, a password file others
    // can read, a hold file that is not audio — each named on its own line.
    let busy = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    std::fs::write(station.join("hold.wav"), b"not audio").unwrap();
    std::fs::write(station.join("icecast.pass"), "hackme").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            station.join("icecast.pass"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
    }
    std::fs::write(
        station.join("studio.toml"),
        format!(
            "[audio]\noutput_device = \"none\"\n[hold]\nfile = \"hold.wav\"\n\
             [[line]]\nnumber = 1\nkind = \"rtp\"\nlisten = \"127.0.0.1:{port}\"\ncodec = \"pcmu\"\n\
             [[output]]\nkind = \"icecast\"\nurl = \"http://127.0.0.1:8000/live.ogg\"\npassword_file = \"icecast.pass\"\n"
        ),
    )
    .unwrap();
    let o = airbridge(&["config", "check", st], dir.path());
    assert!(!o.status.success());
    let out = stdout(&o);
    let line = |prefix: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{out}"))
            .to_owned()
    };
    assert!(line("line 1: failed:").contains(&port.to_string()));
    assert!(line("output 1 (icecast): failed:").contains("chmod 600"));
    assert!(line("hold: failed:").contains("hold.wav"));
    assert!(stderr(&o).contains("problem(s)"), "{}", stderr(&o));
    drop(busy);
}

/// `airbridge guide`: the 办事攻略 of a show journal over a period, as HTML
/// and Word, read while nothing else runs; a bad range is one clear error.
#[test]
fn guide_writes_html_and_word_from_the_journal() {
    use airbridge_show::{ItemRef, Journal, MessageKind, Moderation, ShowEvent};
    let dir = tempfile::tempdir().unwrap();
    let journal_path = dir.path().join("show.db");
    {
        let j = Journal::open(&journal_path).unwrap();
        j.append(
            "feeds",
            ShowEvent::AudienceMessage {
                source: "wechat".into(),
                id: "wx:1".into(),
                kind: MessageKind::Question,
                author: "听众".into(),
                text: "低保申请多久能批下来".into(),
                cluster: None,
                test: false,
                moderation: Moderation::default(),
                author_key: String::new(),
            },
        )
        .unwrap();
        j.append(
            "backoffice",
            ShowEvent::AnsweredInWriting {
                item: ItemRef::Message("wx:1".into()),
                text: "一般在受理后 20 个工作日内审批。所需材料：身份证、户口簿。".into(),
                sent_via: None,
            },
        )
        .unwrap();
    }
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        .to_string();
    let html = dir.path().join("guide.html");
    let docx = dir.path().join("guide.docx");
    let j = journal_path.to_str().unwrap();
    let o = airbridge(
        &[
            "--journal",
            j,
            "guide",
            "--from",
            &today,
            "--to",
            &today,
            "--html",
            html.to_str().unwrap(),
            "--docx",
            docx.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("1 questions"), "{}", stdout(&o));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("低保申请多久能批下来") && page.contains("<li>户口簿</li>"));
    assert!(std::fs::read(&docx).unwrap().starts_with(b"PK"));
    let o = airbridge(
        &[
            "--journal",
            j,
            "guide",
            "--from",
            "2026-12-31",
            "--to",
            "2026-01-01",
        ],
        dir.path(),
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("is before --from"), "{}", stderr(&o));
}

//! Export: the XLSX is read back (calamine) and, where LibreOffice is
//! installed, converted headless by it; both must match the database.
//! CI sets `AIRBRIDGE_REQUIRE_LIBREOFFICE=1` so the conversion cannot be skipped there.

#![allow(clippy::unwrap_used, clippy::print_stderr)] // tests fail loudly and say what they skip

use airbridge_configs::{ConfigSet, TicketClass};
use airbridge_tickets::export::{COLUMNS, ExportFormat, export, row};
use airbridge_tickets::report;
use airbridge_tickets::{
    CallbackOutcome, Change, NewTicket, Satisfaction, Source, SqliteStore, TicketDesk, WorkCalendar,
};
use calamine::{Reader, Xlsx, open_workbook};
use chrono::{DateTime, NaiveDate, Utc};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn filled_desk(dir: &std::path::Path) -> (TicketDesk, ConfigSet) {
    let config = ConfigSet::embedded_demo().unwrap();
    let store = SqliteStore::open(&dir.join("tickets.db")).unwrap();
    let mut desk = TicketDesk::new(Box::new(store), &config, None)
        .with_clock(|| at("2026-03-20T10:00:00+08:00"));
    let questions = [
        (
            Source::Call,
            "公积金提取需要带哪些材料，逗号,和\"引号\"也要导出",
            "rsj",
            Some("13800001234"),
        ),
        (Source::Danmaku, "小孩出生后医保怎么办理？", "ybj", None),
        (
            Source::Wechat,
            "二手房带押过户流程\n第二行",
            "bdc",
            Some("0730-0000000"),
        ),
        (
            Source::Sms,
            "低保申请多久能批下来",
            "mzj",
            Some("13900000000"),
        ),
    ];
    for (i, (source, q, dept, contact)) in questions.into_iter().enumerate() {
        let mut n = NewTicket::new(
            source,
            q,
            at(&format!("2026-03-{:02}T09:{:02}:00+08:00", 9 + i, 10 + i)),
        );
        n.topic = "测试".into();
        n.contact = contact.map(str::to_owned);
        let t = desk.create(n, "screener").unwrap();
        let t = desk
            .apply(
                &t.id,
                1,
                &Change::Classify {
                    class: TicketClass::General,
                    departments: vec![dept.into()],
                },
                "s",
            )
            .unwrap();
        if i % 2 == 0 {
            let t = desk
                .apply(&t.id, 2, &Change::Dispatch { assignee: None }, "s")
                .unwrap();
            let t = desk
                .apply(
                    &t.id,
                    3,
                    &Change::Resolve {
                        resolution: "已答复".into(),
                    },
                    "d",
                )
                .unwrap();
            desk.apply(
                &t.id,
                4,
                &Change::CallBack {
                    outcome: CallbackOutcome::Reached,
                    satisfaction: Some(Satisfaction::Satisfied),
                    note: String::new(),
                },
                "c",
            )
            .unwrap();
        }
    }
    (desk, config)
}

#[test]
fn xlsx_and_csv_exports_match_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let (mut desk, config) = filled_desk(dir.path());
    let tz = config.station.time_zone;
    let calendar = WorkCalendar::from_config(&config);
    let from = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let to = NaiveDate::from_ymd_opt(2026, 4, 1).unwrap();
    let tickets = desk
        .tickets_received_between(
            at("2026-03-01T00:00:00+08:00"),
            at("2026-04-01T00:00:00+08:00"),
        )
        .unwrap();
    assert_eq!(tickets.len(), 4);
    let now = at("2026-03-20T10:00:00+08:00");
    let r = report::build(&tickets, &calendar, from, to, now).unwrap();
    assert_eq!(r.received, 4);
    assert_eq!(r.satisfied, 2);

    let expected: Vec<Vec<String>> =
        std::iter::once(COLUMNS.iter().map(|s| (*s).to_owned()).collect())
            .chain(tickets.iter().map(|t| row(t, tz, false).to_vec()))
            .collect();
    // Contacts are masked unless asked for.
    assert!(
        expected
            .iter()
            .all(|r| !r.iter().any(|c| c.contains("13800001234")))
    );

    let xlsx = dir.path().join("tickets.xlsx");
    export(&tickets, &r, tz, &xlsx, ExportFormat::Xlsx, false).unwrap();
    let mut wb: Xlsx<_> = open_workbook(&xlsx).unwrap();
    assert_eq!(wb.sheet_names(), ["工单", "统计"]);
    let range = wb.worksheet_range("工单").unwrap();
    let got: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(got, expected);
    let stats = wb.worksheet_range("统计").unwrap();
    let cell = |name: &str| stats.rows().find(|r| r[0] == name).unwrap()[1].to_string();
    assert_eq!(cell("受理"), "4");
    // two of four resolved: the same 办结率 as the report
    assert_eq!(cell("办结"), "2");
    assert_eq!(cell("办结率"), "0.5");

    let csv_path = dir.path().join("tickets.csv");
    export(&tickets, &r, tz, &csv_path, ExportFormat::Csv, true).unwrap();
    let text = std::fs::read_to_string(&csv_path).unwrap();
    let text = text
        .strip_prefix('\u{feff}')
        .expect("UTF-8 BOM for spreadsheet programs");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    let with_contact: Vec<Vec<String>> =
        std::iter::once(COLUMNS.iter().map(|s| (*s).to_owned()).collect())
            .chain(tickets.iter().map(|t| row(t, tz, true).to_vec()))
            .collect();
    assert_eq!(rows, with_contact);
    assert!(
        rows.iter().any(|r| r.iter().any(|c| c == "13800001234")),
        "--with-contact keeps the full number"
    );

    libreoffice_reads(&xlsx, &expected, dir.path());
}

/// Converts the XLSX with LibreOffice (headless) and compares its CSV.
fn libreoffice_reads(xlsx: &std::path::Path, expected: &[Vec<String>], dir: &std::path::Path) {
    let soffice = ["soffice", "libreoffice"].into_iter().find(|b| {
        std::process::Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(soffice) = soffice else {
        assert!(
            std::env::var("AIRBRIDGE_REQUIRE_LIBREOFFICE").as_deref() != Ok("1"),
            "AIRBRIDGE_REQUIRE_LIBREOFFICE=1 but LibreOffice is not installed"
        );
        eprintln!("LibreOffice not installed: conversion check skipped");
        return;
    };
    let out = dir.join("lo");
    let profile = dir.join("lo-profile");
    let status = std::process::Command::new(soffice)
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .args([
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1",
            "--outdir",
        ])
        .arg(&out)
        .arg(xlsx)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "LibreOffice failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let text = std::fs::read_to_string(out.join("tickets.csv")).unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(rows, expected, "LibreOffice reads the same cells");
}

//! Import and export: malformed files are refused with a precise problem and
//! nothing is imported; exports round-trip; edits are versioned.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use airbridge_kb::{Entry, FieldMap, Format, Kb, KbError, Status};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A KB holding one entry, so "nothing imported" is visible as "still one".
fn kb_with_one(dir: &Path) -> Kb {
    let mut kb = Kb::open(&dir.join("kb.db")).unwrap();
    let seed = write(
        dir,
        "seed.csv",
        "id,question,answer\ns1,已有的问题,已有的答案\n".as_bytes(),
    );
    kb.import(&seed, Format::Csv, &FieldMap::default(), false)
        .unwrap();
    assert_eq!(kb.stats().entries, 1);
    kb
}

fn import_err(kb: &mut Kb, file: &Path, format: Format, map: &FieldMap) -> String {
    let err = kb.import(file, format, map, false).unwrap_err();
    assert!(matches!(err, KbError::Import(_)), "{err:?}");
    // Nothing imported: the KB on disk still has exactly the seed entry.
    assert_eq!(kb.stats().entries, 1);
    let reopened = Kb::open(kb.path().unwrap()).unwrap();
    assert_eq!(reopened.stats().entries, 1);
    err.to_string()
}

#[test]
fn gbk_bytes_are_refused_with_row_and_column() {
    let dir = tmp();
    let mut kb = kb_with_one(dir.path());
    let mut bytes = "id,question,answer\na1,社保卡怎么补办,到网点补办\na2,医保怎么交,"
        .as_bytes()
        .to_vec();
    // "社保" in GBK.
    bytes.extend_from_slice(&[0xC9, 0xE7, 0xB1, 0xA3, b'\n']);
    let f = write(dir.path(), "gbk.csv", &bytes);
    let msg = import_err(&mut kb, &f, Format::Csv, &FieldMap::default());
    assert!(
        msg.contains("row 3, column answer: not valid UTF-8"),
        "{msg}"
    );
    assert!(msg.contains("GBK"), "{msg}");
}

#[test]
fn missing_required_column_names_the_field_and_the_fix() {
    let dir = tmp();
    let mut kb = kb_with_one(dir.path());
    let f = write(
        dir.path(),
        "q.csv",
        "编号,问题,部门\n1,社保卡怎么补办,人社局\n".as_bytes(),
    );
    let msg = import_err(&mut kb, &f, Format::Csv, &FieldMap::default());
    assert!(msg.contains("missing required column for answer"), "{msg}");
    assert!(msg.contains("--field answer=COLUMN"), "{msg}");
    // A mapping to a column that is not there is just as precise.
    let map = FieldMap::from_args(&["answer=答复内容"]).unwrap();
    let msg = import_err(&mut kb, &f, Format::Csv, &map);
    assert!(
        msg.contains("column 答复内容: mapped to answer but the file has no such column"),
        "{msg}"
    );
}

#[test]
fn broken_xlsx_is_refused() {
    let dir = tmp();
    let mut kb = kb_with_one(dir.path());
    let f = write(
        dir.path(),
        "broken.xlsx",
        b"PK\x03\x04 this is not really a workbook",
    );
    let msg = import_err(&mut kb, &f, Format::Xlsx, &FieldMap::default());
    assert!(msg.contains("not a readable XLSX workbook"), "{msg}");
    // A CSV renamed to .xlsx too.
    let f = write(
        dir.path(),
        "csv.xlsx",
        "id,question,answer\n1,q,a\n".as_bytes(),
    );
    let msg = import_err(&mut kb, &f, Format::Xlsx, &FieldMap::default());
    assert!(msg.contains("not a readable XLSX workbook"), "{msg}");
}

#[test]
fn duplicate_ids_are_refused_with_both_rows() {
    let dir = tmp();
    let mut kb = kb_with_one(dir.path());
    let f = write(
        dir.path(),
        "dup.csv",
        "id,question,answer\nx1,问题一,答案一\nx2,问题二,答案二\nx1,问题三,答案三\n".as_bytes(),
    );
    let msg = import_err(&mut kb, &f, Format::Csv, &FieldMap::default());
    assert!(
        msg.contains("row 4, column id: duplicate id \"x1\" (also on row 2)"),
        "{msg}"
    );
}

#[test]
fn bad_rows_in_xlsx_and_jsonl_give_row_column_reason() {
    let dir = tmp();
    let mut kb = kb_with_one(dir.path());
    // XLSX with an empty answer on spreadsheet row 3 and a bad date on row 2.
    let p = dir.path().join("bad.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["编号", "标准问题", "答案", "生效日期"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "a").unwrap();
    ws.write_string(1, 1, "问题甲").unwrap();
    ws.write_string(1, 2, "答案甲").unwrap();
    ws.write_string(1, 3, "明年").unwrap();
    ws.write_string(2, 0, "b").unwrap();
    ws.write_string(2, 1, "问题乙").unwrap();
    wb.save(&p).unwrap();
    let msg = import_err(&mut kb, &p, Format::Xlsx, &FieldMap::default());
    assert!(
        msg.contains("row 2, column 生效日期: \"明年\" is not a date"),
        "{msg}"
    );
    assert!(msg.contains("row 3, column 答案: empty answer"), "{msg}");

    let f = write(
        dir.path(),
        "bad.jsonl",
        "{\"question\":\"问\",\"answer\":\"答\"}\n{\"question\": 不是JSON}\n".as_bytes(),
    );
    let msg = import_err(&mut kb, &f, Format::Jsonl, &FieldMap::default());
    assert!(msg.contains("row 2: not a JSON object"), "{msg}");
}

#[test]
fn a_stations_own_sheet_loads_through_the_field_mapping() {
    let dir = tmp();
    let mut kb = Kb::open(&dir.path().join("kb.db")).unwrap();
    let f = write(
        dir.path(),
        "station.csv",
        "序號,常見問題,答覆內容,承辦單位\n101,<p>駕照過期怎麼換？</p>,請攜帶<b>身分證</b>&nbsp;到監理站辦理。<br/>規費200元。,監理站\n102,社保卡丢了怎么办,到网点补办,人社局\n"
            .as_bytes(),
    );
    let map = FieldMap::from_args(&[
        "id=序號",
        "question=常見問題",
        "answer=答覆內容",
        "department=承辦單位",
    ])
    .unwrap();
    let report = kb.import(&f, Format::Csv, &map, false).unwrap();
    assert_eq!(report.written.added, 2);
    let e = kb.entries().iter().find(|e| e.id == "101").unwrap();
    assert_eq!(e.question, "駕照過期怎麼換？");
    assert_eq!(e.answer, "請攜帶身分證 到監理站辦理。\n規費200元。");
    assert_eq!(e.department, "監理站");
    // Simplified and synonym queries find the Traditional entry.
    assert_eq!(kb.search("驾驶证到期换证", 1)[0].id, "101");
}

fn sample() -> Vec<Entry> {
    let mut v = airbridge_kb::demo::entries().unwrap();
    v.truncate(40);
    v[0].alternatives = vec!["第一种问法".into(), "第二种，问法".into()];
    v[1].status = Status::Retired;
    v[1].expiry = Some("2026-12-31".into());
    v[2].answer = "多行答案\n第二行，带\"引号\"和逗号".into();
    v[3].tags.clear();
    v[3].effective = None;
    v
}

#[test]
fn export_round_trips_in_every_format() {
    let dir = tmp();
    let src = write(dir.path(), "src.jsonl", b"");
    let mut text = String::new();
    for e in sample() {
        text.push_str(&serde_json::to_string(&e).unwrap());
        text.push('\n');
    }
    std::fs::write(&src, text).unwrap();
    let mut kb = Kb::open(&dir.path().join("a.db")).unwrap();
    kb.import(&src, Format::Jsonl, &FieldMap::default(), false)
        .unwrap();
    assert_eq!(kb.entries(), &sample()[..]);
    for (name, format) in [
        ("x.csv", Format::Csv),
        ("x.xlsx", Format::Xlsx),
        ("x.jsonl", Format::Jsonl),
    ] {
        let out = dir.path().join(name);
        assert_eq!(kb.export(&out, format).unwrap(), 40);
        let mut back = Kb::open(&dir.path().join(format!("{name}.db"))).unwrap();
        let r = back
            .import(&out, format, &FieldMap::default(), false)
            .unwrap();
        assert_eq!(r.written.added, 40, "{name}");
        assert_eq!(back.entries(), kb.entries(), "{name}");
    }
}

#[test]
fn edits_are_versioned_and_replace_retires_missing_entries() {
    let dir = tmp();
    let mut kb = Kb::open(&dir.path().join("kb.db")).unwrap();
    let v1 = write(
        dir.path(),
        "v1.csv",
        "id,question,answer\na,问题A,答案一\nb,问题B,答案B\n".as_bytes(),
    );
    let v2 = write(
        dir.path(),
        "v2.csv",
        "id,question,answer\na,问题A,答案二\n".as_bytes(),
    );
    kb.import(&v1, Format::Csv, &FieldMap::default(), false)
        .unwrap();
    let r = kb
        .import(&v1, Format::Csv, &FieldMap::default(), false)
        .unwrap();
    assert_eq!((r.written.added, r.written.unchanged), (0, 2));
    let r = kb
        .import(&v2, Format::Csv, &FieldMap::default(), true)
        .unwrap();
    assert_eq!((r.written.updated, r.written.retired), (1, 1));
    assert_eq!(kb.version_count("a").unwrap(), 2);
    assert_eq!(kb.version_count("b").unwrap(), 2);
    assert_eq!(kb.stats().entries, 1);
    assert_eq!(kb.stats().retired, 1);
    assert!(kb.search("问题B", 5).iter().all(|h| h.id != "b"));
}

#[test]
fn duplicates_and_near_duplicates_are_reported_not_refused() {
    let dir = tmp();
    let mut kb = Kb::open(&dir.path().join("kb.db")).unwrap();
    let f = write(
        dir.path(),
        "d.csv",
        "id,question,answer\n1,退休提取住房公积金需要哪些材料？,甲\n2,退休提取住房公积金需要哪些材料,乙\n3,异地就医备案怎么办理,丙\n"
            .as_bytes(),
    );
    let r = kb
        .import(&f, Format::Csv, &FieldMap::default(), false)
        .unwrap();
    assert_eq!(r.written.added, 3);
    assert_eq!(r.duplicates.len(), 1);
    assert_eq!(
        (r.duplicates[0].a.as_str(), r.duplicates[0].b.as_str()),
        ("1", "2")
    );
}

#[test]
fn a_file_that_is_not_a_knowledge_base_is_refused() {
    let dir = tmp();
    let f = write(
        dir.path(),
        "x.db",
        b"hello, I am a text file, not SQLite at all......",
    );
    let err = Kb::open(&f).unwrap_err();
    assert!(
        matches!(err, KbError::NotAKb { .. } | KbError::Store { .. }),
        "{err:?}"
    );
}

#[test]
fn saving_an_edit_keeps_the_old_version_and_updates_search() {
    let dir = tmp();
    let mut kb = kb_with_one(dir.path());
    let mut e = kb.entries()[0].clone();
    e.answer = "改过的答案：请到市民中心办理".into();
    let w = kb.save(std::slice::from_ref(&e), "edit by test").unwrap();
    assert_eq!(w.updated, 1);
    assert_eq!(kb.version_count(&e.id).unwrap(), 2);
    assert!(
        kb.search("已有的问题", 1)[0]
            .answer
            .starts_with("改过的答案")
    );
    e.status = Status::Retired;
    kb.save(std::slice::from_ref(&e), "retire").unwrap();
    assert_eq!(kb.stats().entries, 0);
    assert_eq!(
        Kb::open(kb.path().unwrap()).unwrap().entries()[0].status,
        Status::Retired
    );
}

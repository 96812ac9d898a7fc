//! Broken configuration files: every problem is reported with file, key and reason.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::path::Path;

use airbridge_configs::{ConfigErrors, ConfigSet};

/// A copy of the demo station in a temp dir, with some files replaced.
fn station_with(replace: &[(&str, &str)]) -> (tempfile::TempDir, Result<ConfigSet, ConfigErrors>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    for f in ["station.toml", "show.toml", "departments.toml", "sla.toml"] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    for (name, text) in replace {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let result = ConfigSet::load_dir(dir.path());
    (dir, result)
}

/// Asserts an issue exists whose file ends with `file`, key equals `key`,
/// and reason contains `reason`.
fn assert_issue(errors: &ConfigErrors, file: &str, key: &str, reason: &str) {
    let found = errors
        .issues
        .iter()
        .any(|i| i.file.ends_with(file) && i.key == key && i.reason.contains(reason));
    assert!(found, "expected {file}: {key}: …{reason}… in\n{errors}");
    // The one-line rendering carries all three parts.
    let line = errors
        .issues
        .iter()
        .find(|i| i.key == key)
        .unwrap()
        .to_string();
    assert!(line.contains(file) && line.contains(key), "{line}");
}

#[test]
fn the_shipped_directory_is_valid() {
    let (_dir, result) = station_with(&[]);
    result.unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn several_problems_in_one_file_are_all_reported() {
    let (_dir, result) = station_with(&[(
        "station.toml",
        r#"
name = "测试台"
time_zone = "Asia/Shanghia"
business_hours = ["08:30-12:00", "11:00-13:00", "25:00-26:00"]
data_dri = "/tmp"
"#,
    )]);
    let errors = result.unwrap_err();
    assert_issue(
        &errors,
        "station.toml",
        "time_zone",
        "unknown IANA time zone \"Asia/Shanghia\"",
    );
    assert_issue(
        &errors,
        "station.toml",
        "business_hours[2]",
        "expected a time as HH:MM",
    );
    assert_issue(&errors, "station.toml", "business_hours", "overlap");
    assert_issue(&errors, "station.toml", "data_dri", "unknown key");
    assert!(errors.issues.len() >= 4, "{errors}");
}

#[test]
fn problems_across_files_are_all_reported() {
    let (_dir, result) = station_with(&[
        (
            "show.toml",
            "id = \"Demo Show\"\nname = \"x\"\nchannels = [\"fm\", \"tiktok\"]\nsla_policy = \"nope\"\nlines = 0\n",
        ),
        (
            "departments.toml",
            "[[department]]\nid = \"rsj\"\nname = \"人社局\"\n\n[[department]]\nid = \"rsj\"\nname = \"又一个\"\n\n[[department]]\nname = \"无编号\"\n",
        ),
        (
            "sla.toml",
            "[[policy]]\nname = \"fast\"\ndispatch_business_minutes = \"sixty\"\nresolve_working_days = { simple = 5, general = 2, complex = 1 }\n",
        ),
    ]);
    let errors = result.unwrap_err();
    assert_issue(&errors, "show.toml", "id", "lowercase letters");
    assert_issue(&errors, "show.toml", "channels", "tiktok");
    assert_issue(&errors, "show.toml", "lines", "between 1 and 64");
    assert_issue(
        &errors,
        "departments.toml",
        "department[1].id",
        "duplicate department id \"rsj\"",
    );
    assert_issue(
        &errors,
        "departments.toml",
        "department[2].id",
        "required key is missing",
    );
    assert_issue(
        &errors,
        "sla.toml",
        "policy[0].dispatch_business_minutes",
        "invalid type",
    );
    assert_issue(
        &errors,
        "sla.toml",
        "policy[0].resolve_working_days",
        "simple <= general <= complex",
    );
    // The show names a policy that does not exist: only checkable when sla.toml parsed,
    // so here (sla.toml has errors) it must not produce a misleading extra message.
    assert!(errors.issues.iter().all(|i| !i.reason.contains("panicked")));
}

#[test]
fn an_unknown_sla_policy_in_the_show_is_named() {
    let (_dir, result) = station_with(&[(
        "show.toml",
        "id = \"demo\"\nname = \"演示\"\nchannels = [\"fm\"]\nsla_policy = \"beijing-fast\"\n",
    )]);
    let errors = result.unwrap_err();
    assert_issue(
        &errors,
        "show.toml",
        "sla_policy",
        "no SLA policy named \"beijing-fast\"",
    );
    assert_issue(&errors, "show.toml", "sla_policy", "yueyang-125");
}

#[test]
fn a_syntax_error_names_line_and_column() {
    let (_dir, result) = station_with(&[(
        "station.toml",
        "name = \"测试台\"\ntime_zone = Asia/Shanghai\n",
    )]);
    let errors = result.unwrap_err();
    let issue = &errors.issues[0];
    assert!(issue.file.ends_with("station.toml"), "{issue}");
    assert!(issue.key.starts_with("(syntax) line 2, column"), "{issue}");
    assert!(!issue.reason.is_empty());
}

#[test]
fn holiday_files_are_checked_day_by_day() {
    let (_dir, result) = station_with(&[(
        "holidays/2027.toml",
        r#"year = 2027
[[days]]
date = "2027-02-30"
name = "春节"
off = true

[[days]]
date = "2027-03-03"
name = "春节"
off = false

[[days]]
date = "2025-10-01"
name = "国庆节"
off = true

[[days]]
date = "2027-10-01"
name = "国庆节"
"#,
    )]);
    let errors = result.unwrap_err();
    assert_issue(
        &errors,
        "2027.toml",
        "days[0].date",
        "expected a date as YYYY-MM-DD, found \"2027-02-30\"",
    );
    assert_issue(
        &errors,
        "2027.toml",
        "days[1].off",
        "only a weekend day can be a make-up working day",
    );
    assert_issue(
        &errors,
        "2027.toml",
        "days[2].date",
        "outside the 2027 notice",
    );
    assert_issue(
        &errors,
        "2027.toml",
        "days[3].off",
        "required key is missing",
    );
}

#[test]
fn missing_and_unreadable_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("station.toml"),
        "name = \"x\"\ntime_zone = \"Asia/Shanghai\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("sla.toml"), [0xff, 0xfe, 0x00]).unwrap();
    let errors = ConfigSet::load_dir(dir.path()).unwrap_err();
    for f in ["show.toml", "departments.toml", "sla.toml"] {
        assert!(
            errors.issues.iter().any(|i| i.file.ends_with(f)
                && i.key == "(file)"
                && i.reason.contains("cannot read")),
            "{f} not reported:\n{errors}"
        );
    }
}

//! # airbridge-configs
//!
//! Owns the station's configuration — station, show, departments directory,
//! SLA policies and statutory holiday calendars — as TOML files in this
//! directory, and the loader that turns them into validated types.
//!
//! Loading never stops at the first problem: it reports every problem as a
//! [`ConfigIssue`] naming the file, the key path and the reason.
//! This crate never panics on bad input and does no I/O beyond reading the files.
//!
//! # Layout
//! - `station.toml`, `show.toml`, `departments.toml`, `sla.toml`: the demo station,
//!   also compiled into the binary and used when no directory is given.
//! - `holidays/YYYY.toml`: the State Council calendars for 2024–2026.
//! - [`model`]: validated types; [`ConfigSet`]: all of them together.
//! - [`studio`]: the optional `studio.toml` (devices, lines, outputs, feeds),
//!   loaded part by part so that one bad part never stops the show.

mod error;
pub mod model;
mod reader;
pub mod studio;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate, Weekday};

pub use error::{ConfigErrors, ConfigIssue};
pub use model::*;
use reader::{Section, parse_table};

/// The file names a configuration directory holds.
pub const STATION_FILE: &str = "station.toml";
pub const SHOW_FILE: &str = "show.toml";
pub const DEPARTMENTS_FILE: &str = "departments.toml";
pub const SLA_FILE: &str = "sla.toml";
pub const HOLIDAYS_DIR: &str = "holidays";

const EMBEDDED: [(&str, &str); 4] = [
    (STATION_FILE, include_str!("../station.toml")),
    (SHOW_FILE, include_str!("../show.toml")),
    (DEPARTMENTS_FILE, include_str!("../departments.toml")),
    (SLA_FILE, include_str!("../sla.toml")),
];

const EMBEDDED_HOLIDAYS: [(&str, &str); 3] = [
    ("holidays/2024.toml", include_str!("../holidays/2024.toml")),
    ("holidays/2025.toml", include_str!("../holidays/2025.toml")),
    ("holidays/2026.toml", include_str!("../holidays/2026.toml")),
];

/// The built-in demo station's files, `(file name, text)`: written out by
/// `airbridge --demo` and `airbridge studio init` as a starting point.
pub fn embedded_files() -> [(&'static str, &'static str); 4] {
    EMBEDDED
}

/// A complete, validated configuration. Serializable, so the runtime can
/// hand a seat on another PC the show it joins.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConfigSet {
    pub origin: ConfigOrigin,
    pub station: Station,
    pub show: ShowConfig,
    pub departments: Vec<Department>,
    pub sla_policies: Vec<SlaPolicy>,
    /// Calendars by year of the notice.
    pub holidays: BTreeMap<i32, HolidayCalendar>,
}

/// One configuration file's name (for messages) and text.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
}

impl ConfigSet {
    /// The demo station compiled into the binary. Always valid (tested).
    pub fn embedded_demo() -> Result<Self, ConfigErrors> {
        let get = |name: &str| {
            EMBEDDED
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(n, t)| Source {
                    name: format!("embedded:{n}"),
                    text: (*t).to_owned(),
                })
        };
        Self::from_sources(
            ConfigOrigin::EmbeddedDemo,
            get(STATION_FILE),
            get(SHOW_FILE),
            get(DEPARTMENTS_FILE),
            get(SLA_FILE),
            embedded_holidays(),
        )
    }

    /// Loads a configuration directory. Files missing from the directory are
    /// reported, except `holidays/`: the built-in national calendars are used
    /// for every year the directory does not provide.
    pub fn load_dir(dir: &Path) -> Result<Self, ConfigErrors> {
        let mut issues = Vec::new();
        let mut read = |name: &str| -> Option<Source> {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(text) => Some(Source {
                    name: path.display().to_string(),
                    text,
                }),
                Err(e) => {
                    issues.push(ConfigIssue::new(
                        path.display().to_string(),
                        "(file)",
                        format!("cannot read: {e}"),
                    ));
                    None
                }
            }
        };
        let station = read(STATION_FILE);
        let show = read(SHOW_FILE);
        let departments = read(DEPARTMENTS_FILE);
        let sla = read(SLA_FILE);

        let mut holidays = Vec::new();
        let hdir = dir.join(HOLIDAYS_DIR);
        if hdir.is_dir() {
            match list_toml(&hdir) {
                Ok(files) => {
                    for path in files {
                        match std::fs::read_to_string(&path) {
                            Ok(text) => holidays.push(Source {
                                name: path.display().to_string(),
                                text,
                            }),
                            Err(e) => issues.push(ConfigIssue::new(
                                path.display().to_string(),
                                "(file)",
                                format!("cannot read: {e}"),
                            )),
                        }
                    }
                }
                Err(e) => issues.push(ConfigIssue::new(
                    hdir.display().to_string(),
                    "(dir)",
                    format!("cannot list: {e}"),
                )),
            }
        }
        // Built-in years the directory does not override (matched by file stem).
        let own_stems: BTreeSet<String> = holidays
            .iter()
            .filter_map(|s| {
                Path::new(&s.name)
                    .file_stem()
                    .map(|f| f.to_string_lossy().into_owned())
            })
            .collect();
        for s in embedded_holidays() {
            let stem = Path::new(&s.name)
                .file_stem()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !own_stems.contains(&stem) {
                holidays.push(s);
            }
        }

        let result = Self::from_sources(
            ConfigOrigin::Directory(dir.to_path_buf()),
            station,
            show,
            departments,
            sla,
            holidays,
        );
        match result {
            Ok(set) if issues.is_empty() => Ok(set),
            Ok(_) => Err(ConfigErrors { issues }),
            Err(mut e) => {
                issues.append(&mut e.issues);
                Err(ConfigErrors { issues })
            }
        }
    }

    /// Validates a set of sources. `None` for a file means it could not be
    /// read (already reported by the caller); validation of the rest goes on.
    pub fn from_sources(
        origin: ConfigOrigin,
        station: Option<Source>,
        show: Option<Source>,
        departments: Option<Source>,
        sla: Option<Source>,
        holidays: Vec<Source>,
    ) -> Result<Self, ConfigErrors> {
        let mut issues = Vec::new();
        let station = station.and_then(|s| parse_station(&s, &mut issues));
        let departments = departments.and_then(|s| parse_departments(&s, &mut issues));
        let sla_policies = sla.and_then(|s| parse_sla(&s, &mut issues));
        let show = show.and_then(|s| parse_show(&s, sla_policies.as_deref(), &mut issues));
        let mut calendars: BTreeMap<i32, HolidayCalendar> = BTreeMap::new();
        for src in &holidays {
            if let Some(cal) = parse_holidays(src, &mut issues) {
                match calendars.entry(cal.year) {
                    std::collections::btree_map::Entry::Occupied(_) => {
                        issues.push(ConfigIssue::new(
                            &src.name,
                            "year",
                            format!("a calendar for {} is already loaded", cal.year),
                        ))
                    }
                    std::collections::btree_map::Entry::Vacant(v) => {
                        v.insert(cal);
                    }
                }
            }
        }
        match (station, show, departments, sla_policies) {
            (Some(station), Some(show), Some(departments), Some(sla_policies))
                if issues.is_empty() =>
            {
                Ok(Self {
                    origin,
                    station,
                    show,
                    departments,
                    sla_policies,
                    holidays: calendars,
                })
            }
            _ => Err(ConfigErrors { issues }),
        }
    }

    pub fn sla_policy(&self, name: &str) -> Option<&SlaPolicy> {
        self.sla_policies.iter().find(|p| p.name == name)
    }

    pub fn department(&self, id: &str) -> Option<&Department> {
        self.departments.iter().find(|d| d.id == id)
    }
}

fn embedded_holidays() -> Vec<Source> {
    EMBEDDED_HOLIDAYS
        .iter()
        .map(|(n, t)| Source {
            name: format!("embedded:{n}"),
            text: (*t).to_owned(),
        })
        .collect()
}

fn list_toml(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn parse_station(src: &Source, issues: &mut Vec<ConfigIssue>) -> Option<Station> {
    let table = parse_table(&src.name, &src.text, issues)?;
    let before = issues.len();
    let mut s = Section::new(&src.name, "", table, issues);
    let name: Option<String> = s.req("name");
    let short_name: Option<String> = s.or("short_name", None);
    let tz_text: Option<String> = s.req("time_zone");
    let time_zone = tz_text.and_then(|t| match t.parse::<chrono_tz::Tz>() {
        Ok(tz) => Some(tz),
        Err(_) => {
            s.issue(
                "time_zone",
                format!("unknown IANA time zone {t:?} (e.g. \"Asia/Shanghai\")"),
            );
            None
        }
    });
    let hours_text: Vec<String> = s.or(
        "business_hours",
        vec!["08:30-12:00".to_owned(), "14:00-17:30".to_owned()],
    );
    let mut business_hours = Vec::new();
    for (i, h) in hours_text.iter().enumerate() {
        match TimeSpan::parse(h) {
            Ok(span) => business_hours.push(span),
            Err(reason) => s.issue(&format!("business_hours[{i}]"), reason),
        }
    }
    business_hours.sort();
    if business_hours.is_empty() && hours_text.is_empty() {
        s.issue(
            "business_hours",
            "at least one span of business hours is needed",
        );
    }
    for pair in business_hours.windows(2) {
        if pair[1].start < pair[0].end {
            s.issue(
                "business_hours",
                format!("spans {} and {} overlap", pair[0], pair[1]),
            );
        }
    }
    let data_dir: String = s.or("data_dir", String::new());
    let tickets_store: String = s.or("tickets_store", String::new());
    let kb_store: String = s.or("kb_store", String::new());
    let speech_model: String = s.or("speech_model", String::new());
    let code: String = s.or("code", String::new());
    let code = code.trim().to_owned();
    if !code.is_empty() && !is_station_code(&code) {
        s.issue(
            "code",
            format!("{code:?}: 1 to 16 of a-z, 0-9, - and _, starting with a letter or digit (it prefixes ticket numbers in a shared database)"),
        );
    }
    if let Some(n) = &name
        && n.trim().is_empty()
    {
        s.issue("name", "must not be empty");
    }
    s.finish();
    let ok = issues.len() == before;
    let name = name?;
    Some(Station {
        short_name: short_name.unwrap_or_else(|| name.clone()),
        name,
        time_zone: time_zone?,
        business_hours,
        data_dir: (!data_dir.is_empty()).then(|| PathBuf::from(data_dir)),
        tickets_store: (!tickets_store.is_empty()).then_some(tickets_store),
        kb_store: (!kb_store.trim().is_empty()).then(|| kb_store.trim().to_owned()),
        speech_model: (!speech_model.trim().is_empty()).then(|| PathBuf::from(speech_model.trim())),
        code: (!code.is_empty()).then_some(code),
    })
    .filter(|_| ok)
}

/// A station code: 1 to 16 of `a-z 0-9 - _`, starting with a letter or digit.
pub fn is_station_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 16
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && code
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
}

fn parse_weekday(n: u8) -> Option<Weekday> {
    match n {
        1 => Some(Weekday::Mon),
        2 => Some(Weekday::Tue),
        3 => Some(Weekday::Wed),
        4 => Some(Weekday::Thu),
        5 => Some(Weekday::Fri),
        6 => Some(Weekday::Sat),
        7 => Some(Weekday::Sun),
        _ => None,
    }
}

fn parse_show(
    src: &Source,
    policies: Option<&[SlaPolicy]>,
    issues: &mut Vec<ConfigIssue>,
) -> Option<ShowConfig> {
    let table = parse_table(&src.name, &src.text, issues)?;
    let before = issues.len();
    let mut s = Section::new(&src.name, "", table, issues);
    let id: Option<String> = s.req("id");
    if let Some(id) = &id
        && !is_slug(id)
    {
        s.issue(
            "id",
            format!("{id:?} must be lowercase letters, digits and '-'"),
        );
    }
    let name: Option<String> = s.req("name");
    let frequency: Option<String> = s.or("frequency", None);
    let channels: Vec<Channel> = s.req("channels").unwrap_or_default();
    if channels.is_empty() {
        s.issue(
            "channels",
            "list at least one channel (fm, douyin, bilibili, wechat, sms)",
        );
    }
    let sla_policy: Option<String> = s.req("sla_policy");
    if let (Some(name), Some(policies)) = (&sla_policy, policies)
        && !policies.iter().any(|p| &p.name == name)
    {
        let known: Vec<_> = policies.iter().map(|p| p.name.as_str()).collect();
        s.issue(
            "sla_policy",
            format!(
                "no SLA policy named {name:?} in {SLA_FILE} (known: {})",
                known.join(", ")
            ),
        );
    }
    let lines: u8 = s.or("lines", 8);
    if lines == 0 || lines > 64 {
        s.issue("lines", format!("{lines} lines: must be between 1 and 64"));
    }

    let mut schedule = Vec::new();
    for (path, t) in s.tables("schedule", false) {
        let file = s.file();
        let mut slot = Section::new(file, path, t, s.issues());
        let weekday: Option<u8> = slot.req("weekday");
        let start: Option<String> = slot.req("start");
        let minutes: Option<u32> = slot.req("minutes");
        let weekday = weekday.and_then(|w| {
            let d = parse_weekday(w);
            if d.is_none() {
                slot.issue(
                    "weekday",
                    format!("{w} is not a weekday (1 = Monday … 7 = Sunday)"),
                );
            }
            d
        });
        let start = start.and_then(|t| {
            model::parse_hhmm(&t)
                .map_err(|r| slot.issue("start", r))
                .ok()
        });
        if minutes == Some(0) {
            slot.issue("minutes", "a slot must last at least one minute");
        }
        slot.finish();
        if let (Some(weekday), Some(start), Some(minutes)) = (weekday, start, minutes) {
            schedule.push(Slot {
                weekday,
                start,
                minutes,
            });
        }
    }

    let mut rundown = Vec::new();
    for (path, t) in s.tables("rundown", false) {
        let file = s.file();
        let mut item = Section::new(file, path, t, s.issues());
        let title: Option<String> = item.req("title");
        let minutes: Option<u32> = item.req("minutes");
        item.finish();
        if let (Some(title), Some(minutes)) = (title, minutes) {
            rundown.push(RundownItem { title, minutes });
        }
    }

    let emergency_phrases: BTreeMap<String, String> = s.or("emergency_phrases", BTreeMap::new());
    for key in emergency_phrases.keys() {
        let valid = key
            .strip_prefix('F')
            .and_then(|n| n.parse::<u8>().ok())
            .is_some_and(|n| (2..=12).contains(&n));
        if !valid {
            s.issue(
                &format!("emergency_phrases.{key}"),
                "key must be a function key F2…F12 (F1 is help)",
            );
        }
    }
    s.finish();
    let ok = issues.len() == before;
    Some(ShowConfig {
        id: id?,
        name: name?,
        frequency,
        channels,
        sla_policy: sla_policy?,
        schedule,
        lines,
        rundown,
        emergency_phrases,
    })
    .filter(|_| ok)
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn parse_departments(src: &Source, issues: &mut Vec<ConfigIssue>) -> Option<Vec<Department>> {
    let table = parse_table(&src.name, &src.text, issues)?;
    let before = issues.len();
    let mut s = Section::new(&src.name, "", table, issues);
    let mut out: Vec<Department> = Vec::new();
    for (path, t) in s.tables("department", true) {
        let file = s.file();
        let mut d = Section::new(file, path, t, s.issues());
        let id: Option<String> = d.req("id");
        let name: Option<String> = d.req("name");
        let short_name: Option<String> = d.or("short_name", None);
        let topics: Vec<String> = d.or("topics", Vec::new());
        let contact: String = d.or("contact", String::new());
        let hours: String = d.or("hours", String::new());
        if let Some(id) = &id {
            if !is_slug(id) {
                d.issue(
                    "id",
                    format!("{id:?} must be lowercase letters, digits and '-'"),
                );
            } else if out.iter().any(|o| &o.id == id) {
                d.issue("id", format!("duplicate department id {id:?}"));
            }
        }
        d.finish();
        if let (Some(id), Some(name)) = (id, name) {
            out.push(Department {
                id,
                short_name: short_name.unwrap_or_else(|| name.clone()),
                name,
                topics,
                contact,
                hours,
            });
        }
    }
    s.finish();
    (issues.len() == before).then_some(out)
}

fn parse_sla(src: &Source, issues: &mut Vec<ConfigIssue>) -> Option<Vec<SlaPolicy>> {
    let table = parse_table(&src.name, &src.text, issues)?;
    let before = issues.len();
    let mut s = Section::new(&src.name, "", table, issues);
    let mut out: Vec<SlaPolicy> = Vec::new();
    for (path, t) in s.tables("policy", true) {
        let file = s.file();
        let mut p = Section::new(file, path, t, s.issues());
        let name: Option<String> = p.req("name");
        let description: String = p.or("description", String::new());
        let dispatch: Option<u32> = p.req("dispatch_business_minutes");
        let resolve: Option<ResolveDays> = p.req("resolve_working_days");
        if let Some(name) = &name {
            if !is_slug(name) {
                p.issue(
                    "name",
                    format!("{name:?} must be lowercase letters, digits and '-'"),
                );
            } else if out.iter().any(|o| &o.name == name) {
                p.issue("name", format!("duplicate policy name {name:?}"));
            }
        }
        if dispatch == Some(0) {
            p.issue("dispatch_business_minutes", "must be at least 1 minute");
        }
        if let Some(r) = resolve
            && !(r.simple <= r.general && r.general <= r.complex)
        {
            p.issue(
                "resolve_working_days",
                "expected simple <= general <= complex",
            );
        }
        p.finish();
        if let (Some(name), Some(dispatch), Some(resolve)) = (name, dispatch, resolve) {
            out.push(SlaPolicy {
                name,
                description,
                dispatch_business_minutes: dispatch,
                resolve_working_days: resolve,
            });
        }
    }
    s.finish();
    (issues.len() == before).then_some(out)
}

fn parse_holidays(src: &Source, issues: &mut Vec<ConfigIssue>) -> Option<HolidayCalendar> {
    let table = parse_table(&src.name, &src.text, issues)?;
    let before = issues.len();
    let mut s = Section::new(&src.name, "", table, issues);
    let year: Option<i32> = s.req("year");
    if let Some(y) = year
        && !(2000..=2100).contains(&y)
    {
        s.issue("year", format!("{y} is not a plausible calendar year"));
    }
    let sources: Vec<String> = s.or("sources", Vec::new());
    let mut days = BTreeMap::new();
    for (path, t) in s.tables("days", true) {
        let file = s.file();
        let mut d = Section::new(file, path, t, s.issues());
        let date: Option<String> = d.req("date");
        let name: Option<String> = d.req("name");
        let off: Option<bool> = d.req("off");
        let date = date.and_then(|t| match NaiveDate::parse_from_str(&t, "%Y-%m-%d") {
            Ok(date) => Some(date),
            Err(_) => {
                d.issue(
                    "date",
                    format!("expected a date as YYYY-MM-DD, found {t:?}"),
                );
                None
            }
        });
        if let (Some(date), Some(y)) = (date, year) {
            let in_scope = date.year() == y || (date.year() == y - 1 && date.month() == 12);
            if !in_scope {
                d.issue(
                    "date",
                    format!(
                        "{date} is outside the {y} notice (its year, or the previous December)"
                    ),
                );
            }
            if days.contains_key(&date) {
                d.issue("date", format!("{date} is listed twice"));
            }
            let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
            if off == Some(false) && !weekend {
                d.issue(
                    "off",
                    format!("{date} is a weekday: only a weekend day can be a make-up working day"),
                );
            }
        }
        d.finish();
        if let (Some(date), Some(name), Some(off)) = (date, name, off) {
            days.insert(date, HolidayDay { name, off });
        }
    }
    s.finish();
    let ok = issues.len() == before;
    Some(HolidayCalendar {
        year: year?,
        sources,
        days,
    })
    .filter(|_| ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_demo_is_valid() {
        let set = ConfigSet::embedded_demo().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set.station.time_zone, chrono_tz::Asia::Shanghai);
        assert_eq!(set.station.business_hours.len(), 2);
        assert!(set.departments.len() >= 20);
        assert!(set.sla_policy("yueyang-125").is_some());
        assert!(set.sla_policy("changping").is_some());
        assert!(set.sla_policy("gaoyou").is_some());
        assert_eq!(
            set.holidays.keys().copied().collect::<Vec<_>>(),
            [2024, 2025, 2026]
        );
        let y2026 = &set.holidays[&2026];
        // 2026-01-04 (Sunday) is a make-up working day after New Year.
        let d = NaiveDate::from_ymd_opt(2026, 1, 4).unwrap();
        assert_eq!(y2026.days.get(&d).map(|h| h.off), Some(false));
    }

    #[test]
    fn repo_directory_loads_like_the_embedded_copy() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let from_dir = ConfigSet::load_dir(dir).unwrap_or_else(|e| panic!("{e}"));
        let embedded = ConfigSet::embedded_demo().unwrap();
        assert_eq!(from_dir.station, embedded.station);
        assert_eq!(from_dir.show, embedded.show);
        assert_eq!(from_dir.holidays, embedded.holidays);
    }
}

//! The validated configuration types. Everything here has passed validation:
//! code that receives a [`crate::ConfigSet`] does not re-check it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use chrono::{NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

/// The broadcaster: name, local time zone and office hours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Station {
    pub name: String,
    pub short_name: String,
    pub time_zone: chrono_tz::Tz,
    /// Office hours (办公时间), sorted, non-overlapping, each `start < end`.
    pub business_hours: Vec<TimeSpan>,
    /// Where the journal and other data live; `None` = the user's data directory.
    pub data_dir: Option<PathBuf>,
    /// Ticket store: a SQLite file path or a PostgreSQL connection string;
    /// `None` = `tickets.db` in the data directory.
    pub tickets_store: Option<String>,
    /// Knowledge base shared by several stations: a PostgreSQL connection
    /// string; `None` = the station's own SQLite file.
    pub kb_store: Option<String>,
    /// The station's code in a database shared by several stations
    /// (1+5+N): every ticket carries it, numbers are prefixed with it and
    /// queues show this station's only. `None`: a station on its own.
    pub code: Option<String>,
    /// A whisper.cpp ggml model of the station's choice (tiny … large-v3);
    /// `None` = the base model `airbridge model fetch` prepares. A relative
    /// name is looked up in the data directory's `models/`.
    pub speech_model: Option<PathBuf>,
}

/// A half-open span of local time within one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TimeSpan {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl TimeSpan {
    /// Parses `HH:MM-HH:MM`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("expected \"HH:MM-HH:MM\", found {s:?}"))?;
        let start = parse_hhmm(a.trim())?;
        let end = parse_hhmm(b.trim())?;
        if start >= end {
            return Err(format!("span {s:?} ends before it starts"));
        }
        Ok(Self { start, end })
    }

    pub fn minutes(&self) -> i64 {
        (self.end - self.start).num_minutes()
    }
}

impl fmt::Display for TimeSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

pub(crate) fn parse_hhmm(s: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(s, "%H:%M")
        .map_err(|_| format!("expected a time as HH:MM, found {s:?}"))
}

/// Where questions reach the show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// The radio broadcast and its phone lines.
    Fm,
    Douyin,
    Bilibili,
    Wechat,
    Sms,
}

impl Channel {
    pub fn label_zh(self) -> &'static str {
        match self {
            Channel::Fm => "广播",
            Channel::Douyin => "抖音",
            Channel::Bilibili => "哔哩哔哩",
            Channel::Wechat => "微信公众号",
            Channel::Sms => "短信",
        }
    }
}

/// A weekly broadcast slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub weekday: Weekday,
    pub start: NaiveTime,
    pub minutes: u32,
}

/// One segment of the rundown (节目串联单).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RundownItem {
    pub title: String,
    pub minutes: u32,
}

/// The show: its name, channels, schedule, rundown and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShowConfig {
    pub id: String,
    pub name: String,
    pub frequency: Option<String>,
    pub channels: Vec<Channel>,
    /// Name of an entry in the SLA policies (checked to exist).
    pub sla_policy: String,
    pub schedule: Vec<Slot>,
    pub lines: u8,
    pub rundown: Vec<RundownItem>,
    /// Function key (`F2`…`F12`) → phrase the host can read at once.
    pub emergency_phrases: BTreeMap<String, String>,
}

/// One department in the directory (部门名录).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    pub id: String,
    pub name: String,
    pub short_name: String,
    pub topics: Vec<String>,
    /// Where citizens go or call (窗口地址、咨询方式), for 办事攻略 guides.
    pub contact: String,
    /// Office hours of that window, as citizens read them.
    pub hours: String,
}

/// Ticket class: how hard the follow-up is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketClass {
    Simple,
    General,
    Complex,
}

/// Working days to resolve, per class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveDays {
    pub simple: u32,
    pub general: u32,
    pub complex: u32,
}

impl ResolveDays {
    pub fn for_class(&self, class: TicketClass) -> u32 {
        match class {
            TicketClass::Simple => self.simple,
            TicketClass::General => self.general,
            TicketClass::Complex => self.complex,
        }
    }
}

/// A service-level policy for follow-up tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaPolicy {
    pub name: String,
    pub description: String,
    pub dispatch_business_minutes: u32,
    pub resolve_working_days: ResolveDays,
}

/// One listed day in a holiday notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolidayDay {
    pub name: String,
    /// `true`: a statutory day off; `false`: a make-up working day (调休上班).
    pub off: bool,
}

/// The statutory calendar of one year, as published by the State Council.
/// It may list days of the previous December.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolidayCalendar {
    pub year: i32,
    pub sources: Vec<String>,
    pub days: BTreeMap<NaiveDate, HolidayDay>,
}

/// Where a configuration set was read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConfigOrigin {
    /// The demo station compiled into the binary.
    EmbeddedDemo,
    Directory(PathBuf),
    /// Handed over by a runtime on another PC (its seats listener).
    Runtime(String),
}

impl fmt::Display for ConfigOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigOrigin::EmbeddedDemo => f.write_str("built-in demo station"),
            ConfigOrigin::Directory(p) => write!(f, "{}", p.display()),
            ConfigOrigin::Runtime(at) => write!(f, "runtime {at}"),
        }
    }
}

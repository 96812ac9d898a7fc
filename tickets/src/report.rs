//! Statistics over a period: counts, 办结率, 按期办结率, 满意率, overdue
//! rate and handling time in business hours, for the whole range and per
//! department, topic, channel or station (formulas on [`Figures`]).
//! Computed from the tickets themselves, so SQLite and PostgreSQL give the
//! same figures.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::calendar::{CalendarError, WorkCalendar};
use crate::model::{CallbackOutcome, Satisfaction, Ticket};

/// The figures of a set of tickets (the whole range, or one group).
///
/// Over the tickets *received* in the range (formulas in
/// `docs/tickets.md`, checked against a hand-computed fixture):
/// - 办结率 `resolution_rate` = resolved (办结, called back and closed
///   included) ÷ received;
/// - 按期办结率 `on_time_rate` = resolved by their resolve deadline ÷ resolved;
/// - 满意率 `satisfaction_rate` = (满意 + 基本满意) ÷ call-backs that reached
///   the citizen;
/// - overdue rate `overdue_rate` = (open past the resolve deadline + resolved
///   after it) ÷ received.
///
/// A rate whose denominator is 0 is `None` (JSON `null`): no tickets is not 0 %.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Figures {
    pub received: u64,
    pub resolved: u64,
    pub resolved_on_time: u64,
    /// Open past the resolve deadline at the report's "now".
    pub open_overdue: u64,
    /// Resolved after the resolve deadline.
    pub resolved_late: u64,
    pub satisfied: u64,
    pub basically_satisfied: u64,
    pub dissatisfied: u64,
    /// Tickets called back without ever reaching the citizen.
    pub callbacks_unreached: u64,
    pub resolution_rate: Option<f64>,
    pub on_time_rate: Option<f64>,
    pub satisfaction_rate: Option<f64>,
    pub overdue_rate: Option<f64>,
    /// Mean business hours (the station's working calendar) from receipt to
    /// resolution, over resolved tickets.
    pub avg_handling_business_hours: Option<f64>,
    /// Mean calendar hours from receipt to resolution.
    pub avg_handling_hours: Option<f64>,
    #[serde(skip)]
    business_minutes: i64,
    #[serde(skip)]
    calendar_minutes: i64,
    #[serde(skip)]
    handled: u64,
}

fn rate(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

impl Figures {
    /// Overdue tickets (open past the deadline, or resolved late).
    pub fn overdue(&self) -> u64 {
        self.open_overdue + self.resolved_late
    }

    /// Call-backs that reached the citizen.
    pub fn reached(&self) -> u64 {
        self.satisfied + self.basically_satisfied + self.dissatisfied
    }

    fn add(
        &mut self,
        t: &Ticket,
        calendar: &WorkCalendar,
        now: DateTime<Utc>,
    ) -> Result<(), CalendarError> {
        let tz = calendar.time_zone();
        self.received += 1;
        if is_resolved(t) {
            self.resolved += 1;
            // closed without a resolution time: resolved, neither on time
            // nor known to be late
            match t.resolved_at {
                Some(at) if at <= t.resolve_due => self.resolved_on_time += 1,
                Some(_) => self.resolved_late += 1,
                None => {}
            }
        } else if now > t.resolve_due {
            self.open_overdue += 1;
        }
        if let Some(resolved) = t.resolved_at {
            self.handled += 1;
            self.calendar_minutes += (resolved - t.received_at).num_minutes().max(0);
            self.business_minutes += calendar.business_minutes_between(
                t.received_at.with_timezone(&tz),
                resolved.with_timezone(&tz),
            )?;
        }
        match t.satisfaction {
            Some(Satisfaction::Satisfied) => self.satisfied += 1,
            Some(Satisfaction::BasicallySatisfied) => self.basically_satisfied += 1,
            Some(Satisfaction::Dissatisfied) => self.dissatisfied += 1,
            None => {}
        }
        if !t.callbacks.is_empty()
            && t.callbacks
                .iter()
                .all(|c| c.outcome != CallbackOutcome::Reached)
        {
            self.callbacks_unreached += 1;
        }
        Ok(())
    }

    fn finish(&mut self) {
        self.resolution_rate = rate(self.resolved, self.received);
        self.on_time_rate = rate(self.resolved_on_time, self.resolved);
        self.satisfaction_rate = rate(self.satisfied + self.basically_satisfied, self.reached());
        self.overdue_rate = rate(self.overdue(), self.received);
        if self.handled > 0 {
            self.avg_handling_business_hours =
                Some(self.business_minutes as f64 / 60.0 / self.handled as f64);
            self.avg_handling_hours =
                Some(self.calendar_minutes as f64 / 60.0 / self.handled as f64);
        }
    }
}

/// Resolved (办结): resolved, called back or closed. A reopened ticket is
/// open again.
fn is_resolved(t: &Ticket) -> bool {
    !t.state.is_open()
}

/// What a report can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// Each department the ticket was given to (a ticket for two
    /// departments counts in both); `(未分派)` when none.
    Department,
    Topic,
    /// Where the question came from (call, danmaku, WeChat, SMS, walk-in).
    Channel,
    /// The station the ticket belongs to (tickets of a station on its own:
    /// the name given to [`build_by`]).
    Station,
}

impl GroupBy {
    pub fn parse(s: &str) -> Option<GroupBy> {
        match s {
            "department" => Some(GroupBy::Department),
            "topic" => Some(GroupBy::Topic),
            "channel" | "source" => Some(GroupBy::Channel),
            "station" => Some(GroupBy::Station),
            _ => None,
        }
    }

    fn keys(self, t: &Ticket, station: &str) -> Vec<String> {
        match self {
            GroupBy::Department if t.departments.is_empty() => vec!["(未分派)".to_owned()],
            GroupBy::Department => t.departments.clone(),
            GroupBy::Topic if t.topic.is_empty() => vec!["(未标注)".to_owned()],
            GroupBy::Topic => vec![t.topic.clone()],
            GroupBy::Channel => vec![t.source.as_str().to_owned()],
            GroupBy::Station if t.station.is_empty() => vec![station.to_owned()],
            GroupBy::Station => vec![t.station.clone()],
        }
    }
}

/// One group's figures.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Group {
    pub key: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Report {
    pub from: NaiveDate,
    /// Exclusive.
    pub to: NaiveDate,
    /// The whole range.
    #[serde(flatten)]
    pub figures: Figures,
    pub by_source: BTreeMap<String, u64>,
    pub by_department: BTreeMap<String, u64>,
    pub by_topic: BTreeMap<String, u64>,
    pub by_state: BTreeMap<String, u64>,
    /// With a grouping: what it is by, and one entry per group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<GroupBy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Group>,
}

impl std::ops::Deref for Report {
    type Target = Figures;
    fn deref(&self) -> &Figures {
        &self.figures
    }
}

/// The report of tickets received in `[from, to)` (local dates), as of `now`.
pub fn build(
    tickets: &[Ticket],
    calendar: &WorkCalendar,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Report, CalendarError> {
    build_by(tickets, calendar, from, to, now, None, "")
}

/// [`build`], with one set of figures per group of `by` (`station`: the
/// station the tickets belong to, for `GroupBy::Station`).
pub fn build_by(
    tickets: &[Ticket],
    calendar: &WorkCalendar,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
    by: Option<GroupBy>,
    station: &str,
) -> Result<Report, CalendarError> {
    let mut r = Report {
        from,
        to,
        figures: Figures::default(),
        by_source: BTreeMap::new(),
        by_department: BTreeMap::new(),
        by_topic: BTreeMap::new(),
        by_state: BTreeMap::new(),
        by,
        groups: Vec::new(),
    };
    let mut groups: BTreeMap<String, Figures> = BTreeMap::new();
    for t in tickets {
        r.figures.add(t, calendar, now)?;
        *r.by_source.entry(t.source.as_str().to_owned()).or_default() += 1;
        for d in &t.departments {
            *r.by_department.entry(d.clone()).or_default() += 1;
        }
        if t.departments.is_empty() {
            *r.by_department.entry("(未分派)".to_owned()).or_default() += 1;
        }
        let topic = if t.topic.is_empty() {
            "(未标注)"
        } else {
            t.topic.as_str()
        };
        *r.by_topic.entry(topic.to_owned()).or_default() += 1;
        *r.by_state.entry(t.state.as_str().to_owned()).or_default() += 1;
        if let Some(by) = by {
            for key in by.keys(t, station) {
                groups.entry(key).or_default().add(t, calendar, now)?;
            }
        }
    }
    r.figures.finish();
    r.groups = groups
        .into_iter()
        .map(|(key, mut figures)| {
            figures.finish();
            Group { key, figures }
        })
        .collect();
    Ok(r)
}

/// A reporting period containing `date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Monday to Sunday.
    Week,
    Month,
}

impl Period {
    /// `[start, end)` of the period containing `date`.
    pub fn bounds(self, date: NaiveDate) -> (NaiveDate, NaiveDate) {
        match self {
            Period::Week => {
                let start = date - Duration::days(i64::from(date.weekday().num_days_from_monday()));
                (start, start + Duration::days(7))
            }
            Period::Month => {
                let start = date.with_day(1).unwrap_or(date);
                let end = if start.month() == 12 {
                    NaiveDate::from_ymd_opt(start.year() + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(start.year(), start.month() + 1, 1)
                };
                (start, end.unwrap_or(start))
            }
        }
    }
}

impl Report {
    /// Plain-text rendering for the terminal.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!("工单统计 {} 至 {}（不含）\n", self.from, self.to));
        s.push_str(&self.figures.to_text("  "));
        for (title, map) in [
            ("来源", &self.by_source),
            ("部门", &self.by_department),
            ("话题", &self.by_topic),
        ] {
            let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k} {v}")).collect();
            s.push_str(&format!("  按{title}：{}\n", parts.join("，")));
        }
        for g in &self.groups {
            s.push_str(&format!("【{}】\n", g.key));
            s.push_str(&g.figures.to_text("  "));
        }
        s
    }
}

/// A rate as a percentage, or `—` when there is nothing to divide by.
pub fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "—".to_owned(), |x| format!("{:.1}%", x * 100.0))
}

impl Figures {
    /// Plain-text lines, each starting with `indent`.
    pub fn to_text(&self, indent: &str) -> String {
        let hours = |x: Option<f64>| x.map_or_else(|| "—".to_owned(), |h| format!("{h:.1}"));
        format!(
            "{indent}受理 {}，办结 {}，办结率 {}，按期办结 {}，按期办结率 {}\n\
             {indent}超期 {}（未办结 {}，逾期办结 {}），超期率 {}\n\
             {indent}回访：满意 {}，基本满意 {}，不满意 {}，满意率 {}，未联系上 {}\n\
             {indent}平均办理时长 {} 工作小时（{} 自然小时）\n",
            self.received,
            self.resolved,
            pct(self.resolution_rate),
            self.resolved_on_time,
            pct(self.on_time_rate),
            self.overdue(),
            self.open_overdue,
            self.resolved_late,
            pct(self.overdue_rate),
            self.satisfied,
            self.basically_satisfied,
            self.dissatisfied,
            pct(self.satisfaction_rate),
            self.callbacks_unreached,
            hours(self.avg_handling_business_hours),
            hours(self.avg_handling_hours),
        )
    }
}

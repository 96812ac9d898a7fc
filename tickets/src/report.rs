//! Statistics over a period: counts, 办结率 (resolved on time ÷ due),
//! 满意率, overdue rate and handling time. Computed from the tickets
//! themselves, so SQLite and PostgreSQL give the same figures.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::calendar::{CalendarError, WorkCalendar};
use crate::model::{CallbackOutcome, Satisfaction, Ticket};

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Report {
    pub from: NaiveDate,
    /// Exclusive.
    pub to: NaiveDate,
    pub total: u64,
    pub by_source: BTreeMap<String, u64>,
    pub by_department: BTreeMap<String, u64>,
    pub by_topic: BTreeMap<String, u64>,
    pub by_state: BTreeMap<String, u64>,
    /// Tickets whose resolve deadline has passed (or that are resolved).
    pub due: u64,
    pub resolved_on_time: u64,
    /// 办结率: resolved on time ÷ due (1.0 when nothing is due yet).
    pub on_time_rate: f64,
    pub overdue: u64,
    /// Overdue (open past the deadline, or resolved late) ÷ due.
    pub overdue_rate: f64,
    pub satisfied: u64,
    pub basically_satisfied: u64,
    pub dissatisfied: u64,
    /// 满意率: (满意 + 基本满意) ÷ citizens reached.
    pub satisfaction_rate: f64,
    pub callbacks_unreached: u64,
    /// Mean business hours from receipt to resolution, over resolved tickets.
    pub avg_handling_business_hours: f64,
    /// Mean calendar hours from receipt to resolution.
    pub avg_handling_hours: f64,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// The report of tickets received in `[from, to)` (local dates), as of `now`.
pub fn build(
    tickets: &[Ticket],
    calendar: &WorkCalendar,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Report, CalendarError> {
    let tz = calendar.time_zone();
    let mut r = Report {
        from,
        to,
        total: 0,
        by_source: BTreeMap::new(),
        by_department: BTreeMap::new(),
        by_topic: BTreeMap::new(),
        by_state: BTreeMap::new(),
        due: 0,
        resolved_on_time: 0,
        on_time_rate: 1.0,
        overdue: 0,
        overdue_rate: 0.0,
        satisfied: 0,
        basically_satisfied: 0,
        dissatisfied: 0,
        satisfaction_rate: 1.0,
        callbacks_unreached: 0,
        avg_handling_business_hours: 0.0,
        avg_handling_hours: 0.0,
    };
    let mut handled = 0u64;
    let mut business_minutes = 0i64;
    let mut calendar_minutes = 0i64;
    for t in tickets {
        r.total += 1;
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
        let is_due = t.resolved_at.is_some() || now > t.resolve_due;
        if is_due {
            r.due += 1;
            if t.resolved_at.is_some_and(|at| at <= t.resolve_due) {
                r.resolved_on_time += 1;
            }
            if t.is_late(now) {
                r.overdue += 1;
            }
        }
        if let Some(resolved) = t.resolved_at {
            handled += 1;
            calendar_minutes += (resolved - t.received_at).num_minutes().max(0);
            business_minutes += calendar.business_minutes_between(
                t.received_at.with_timezone(&tz),
                resolved.with_timezone(&tz),
            )?;
        }
        match t.satisfaction {
            Some(Satisfaction::Satisfied) => r.satisfied += 1,
            Some(Satisfaction::BasicallySatisfied) => r.basically_satisfied += 1,
            Some(Satisfaction::Dissatisfied) => r.dissatisfied += 1,
            None => {}
        }
        if !t.callbacks.is_empty()
            && t.callbacks
                .iter()
                .all(|c| c.outcome != CallbackOutcome::Reached)
        {
            r.callbacks_unreached += 1;
        }
    }
    r.on_time_rate = ratio(r.resolved_on_time, r.due);
    r.overdue_rate = if r.due == 0 {
        0.0
    } else {
        r.overdue as f64 / r.due as f64
    };
    let reached = r.satisfied + r.basically_satisfied + r.dissatisfied;
    r.satisfaction_rate = ratio(r.satisfied + r.basically_satisfied, reached);
    if handled > 0 {
        r.avg_handling_business_hours = business_minutes as f64 / 60.0 / handled as f64;
        r.avg_handling_hours = calendar_minutes as f64 / 60.0 / handled as f64;
    }
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
        let pct = |x: f64| format!("{:.1}%", x * 100.0);
        s.push_str(&format!("工单统计 {} 至 {}（不含）\n", self.from, self.to));
        s.push_str(&format!("  工单总数 {}\n", self.total));
        s.push_str(&format!(
            "  到期 {}，按时办结 {}，办结率 {}，超期率 {}\n",
            self.due,
            self.resolved_on_time,
            pct(self.on_time_rate),
            pct(self.overdue_rate)
        ));
        s.push_str(&format!(
            "  回访：满意 {}，基本满意 {}，不满意 {}，满意率 {}，未联系上 {}\n",
            self.satisfied,
            self.basically_satisfied,
            self.dissatisfied,
            pct(self.satisfaction_rate),
            self.callbacks_unreached
        ));
        s.push_str(&format!(
            "  平均办理时长 {:.1} 工作小时（{:.1} 自然小时）\n",
            self.avg_handling_business_hours, self.avg_handling_hours
        ));
        for (title, map) in [
            ("来源", &self.by_source),
            ("部门", &self.by_department),
            ("话题", &self.by_topic),
        ] {
            let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k} {v}")).collect();
            s.push_str(&format!("  按{title}：{}\n", parts.join("，")));
        }
        s
    }
}

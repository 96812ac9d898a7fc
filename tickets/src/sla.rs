//! SLA deadlines for follow-up tickets, from configured policies.
//!
//! Conventions (as the stations run them):
//! - **dispatch**: `dispatch_business_minutes` of business time after receipt;
//!   a receipt outside business hours starts counting at the next opening.
//! - **resolve**: close of business on the Nth working day *after* the day of
//!   receipt (N per ticket class); N = 0 is the same working day.

use airbridge_configs::{SlaPolicy, TicketClass};
use chrono::DateTime;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::calendar::{CalendarError, WorkCalendar};

/// Which deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Dispatch,
    Resolve,
}

impl Stage {
    /// 转办 (the dispatch deadline) or 办结 (the resolve deadline).
    pub fn label_zh(self) -> &'static str {
        match self {
            Stage::Dispatch => "转办",
            Stage::Resolve => "办结",
        }
    }
}

impl std::str::FromStr for Stage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "dispatch" => Ok(Stage::Dispatch),
            "resolve" => Ok(Stage::Resolve),
            other => Err(format!("unknown stage {other:?}: use dispatch or resolve")),
        }
    }
}

/// The deadline of one stage under one policy.
pub fn due(
    calendar: &WorkCalendar,
    policy: &SlaPolicy,
    class: TicketClass,
    stage: Stage,
    received: DateTime<Tz>,
) -> Result<DateTime<Tz>, CalendarError> {
    match stage {
        Stage::Dispatch => {
            calendar.add_business_minutes(received, policy.dispatch_business_minutes)
        }
        Stage::Resolve => calendar
            .close_after_working_days(received, policy.resolve_working_days.for_class(class)),
    }
}

/// Both deadlines of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    pub dispatch: DateTime<Tz>,
    pub resolve: DateTime<Tz>,
}

impl Deadlines {
    pub fn compute(
        calendar: &WorkCalendar,
        policy: &SlaPolicy,
        class: TicketClass,
        received: DateTime<Tz>,
    ) -> Result<Self, CalendarError> {
        Ok(Self {
            dispatch: due(calendar, policy, class, Stage::Dispatch, received)?,
            resolve: due(calendar, policy, class, Stage::Resolve, received)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use airbridge_configs::ConfigSet;

    use super::*;

    struct Fixture {
        cal: WorkCalendar,
        config: ConfigSet,
    }

    fn fx() -> Fixture {
        let config = ConfigSet::embedded_demo().unwrap();
        Fixture {
            cal: WorkCalendar::from_config(&config),
            config,
        }
    }

    impl Fixture {
        fn due(&self, policy: &str, class: TicketClass, stage: Stage, received: &str) -> String {
            let received = DateTime::parse_from_rfc3339(received)
                .unwrap()
                .with_timezone(&self.cal.time_zone());
            let p = self.config.sla_policy(policy).unwrap();
            due(&self.cal, p, class, stage, received)
                .unwrap()
                .to_rfc3339()
        }
    }

    use Stage::{Dispatch, Resolve};
    use TicketClass::{Complex, General, Simple};

    #[test]
    fn dispatch_counts_business_minutes() {
        let f = fx();
        // Plain working morning.
        assert_eq!(
            f.due(
                "yueyang-125",
                General,
                Dispatch,
                "2026-03-10T09:15:00+08:00"
            ),
            "2026-03-10T10:15:00+08:00"
        );
        // Across the lunch break: 11:30 + 30 min before lunch + 30 after 14:00.
        assert_eq!(
            f.due(
                "yueyang-125",
                General,
                Dispatch,
                "2026-03-10T11:30:00+08:00"
            ),
            "2026-03-10T14:30:00+08:00"
        );
        // Received during lunch: counting starts at 14:00.
        assert_eq!(
            f.due(
                "yueyang-125",
                General,
                Dispatch,
                "2026-03-10T12:40:00+08:00"
            ),
            "2026-03-10T15:00:00+08:00"
        );
        // After hours: next opening.
        assert_eq!(
            f.due(
                "yueyang-125",
                General,
                Dispatch,
                "2026-03-10T19:05:00+08:00"
            ),
            "2026-03-11T09:30:00+08:00"
        );
        // Friday 17:10: 20 minutes left that day, 40 more on Monday.
        assert_eq!(
            f.due(
                "yueyang-125",
                General,
                Dispatch,
                "2026-03-13T17:10:00+08:00"
            ),
            "2026-03-16T09:10:00+08:00"
        );
        // Seconds are kept; UTC input is answered in station time.
        assert_eq!(
            f.due("yueyang-125", General, Dispatch, "2026-03-10T01:00:30Z"),
            "2026-03-10T10:00:30+08:00"
        );
        // Exactly at the close of a span.
        assert_eq!(
            f.due(
                "yueyang-125",
                General,
                Dispatch,
                "2026-03-10T11:00:00+08:00"
            ),
            "2026-03-10T12:00:00+08:00"
        );
    }

    #[test]
    fn dispatch_skips_the_spring_festival_and_uses_make_up_saturdays() {
        let f = fx();
        // Friday 13 Feb 2026 after hours; Saturday 14 Feb is a make-up working day.
        assert_eq!(
            f.due(
                "yueyang-125",
                General,
                Dispatch,
                "2026-02-13T18:00:00+08:00"
            ),
            "2026-02-14T09:30:00+08:00"
        );
        // Saturday 14 Feb after hours: the break runs 15–23 Feb; next opening Tue 24 Feb.
        assert_eq!(
            f.due(
                "yueyang-125",
                General,
                Dispatch,
                "2026-02-14T17:45:00+08:00"
            ),
            "2026-02-24T09:30:00+08:00"
        );
    }

    #[test]
    fn resolve_counts_working_days_after_the_day_of_receipt() {
        let f = fx();
        // Tuesday → 2 working days after → Thursday close.
        assert_eq!(
            f.due("yueyang-125", General, Resolve, "2026-03-10T09:00:00+08:00"),
            "2026-03-12T17:30:00+08:00"
        );
        // Complex, 5 working days from Tuesday → next Tuesday.
        assert_eq!(
            f.due("yueyang-125", Complex, Resolve, "2026-03-10T09:00:00+08:00"),
            "2026-03-17T17:30:00+08:00"
        );
        // Received on a Saturday: counting starts from the following days.
        assert_eq!(
            f.due("yueyang-125", General, Resolve, "2026-03-14T10:00:00+08:00"),
            "2026-03-17T17:30:00+08:00"
        );
        // Changping complex: 10 working days.
        assert_eq!(
            f.due("changping", Complex, Resolve, "2026-03-02T10:00:00+08:00"),
            "2026-03-16T17:30:00+08:00"
        );
        // Gaoyou complex: 7 working days.
        assert_eq!(
            f.due("gaoyou", Complex, Resolve, "2026-03-02T10:00:00+08:00"),
            "2026-03-11T17:30:00+08:00"
        );
    }

    #[test]
    fn same_working_day_policy() {
        let f = fx();
        assert_eq!(
            f.due("changping", Simple, Resolve, "2026-03-10T09:00:00+08:00"),
            "2026-03-10T17:30:00+08:00"
        );
        // After the close: the next working day.
        assert_eq!(
            f.due("changping", Simple, Resolve, "2026-03-10T18:00:00+08:00"),
            "2026-03-11T17:30:00+08:00"
        );
        // On a holiday (Labour Day): the first working day after it.
        assert_eq!(
            f.due("changping", Simple, Resolve, "2026-05-02T10:00:00+08:00"),
            "2026-05-06T17:30:00+08:00"
        );
    }

    #[test]
    fn resolve_across_holidays_and_make_up_days() {
        let f = fx();
        // Thu 12 Feb: working days after are Fri 13, Sat 14 (make-up), then Tue 24 Feb.
        assert_eq!(
            f.due("yueyang-125", General, Resolve, "2026-02-12T10:00:00+08:00"),
            "2026-02-14T17:30:00+08:00"
        );
        assert_eq!(
            f.due("yueyang-125", Complex, Resolve, "2026-02-12T10:00:00+08:00"),
            "2026-02-26T17:30:00+08:00"
        );
        // Labour Day: Thu 30 Apr + 2 → Wed 6 May (1–5 May off).
        assert_eq!(
            f.due("yueyang-125", General, Resolve, "2026-04-30T10:00:00+08:00"),
            "2026-05-07T17:30:00+08:00"
        );
        // Sat 9 May is a make-up working day: Thu 7 May + 2 → Fri 8, Sat 9.
        assert_eq!(
            f.due("yueyang-125", General, Resolve, "2026-05-07T10:00:00+08:00"),
            "2026-05-09T17:30:00+08:00"
        );
        // National Day and Mid-Autumn: Wed 30 Sep + 2 → Thu 8, Fri 9 Oct.
        assert_eq!(
            f.due("yueyang-125", General, Resolve, "2026-09-30T10:00:00+08:00"),
            "2026-10-09T17:30:00+08:00"
        );
        // … and + 5 → Sat 10 (make-up), Mon 12, Tue 13 Oct.
        assert_eq!(
            f.due("yueyang-125", Complex, Resolve, "2026-09-30T10:00:00+08:00"),
            "2026-10-13T17:30:00+08:00"
        );
        // Sun 20 Sep is a make-up working day: received Fri 18 Sep + 1 (changping simple=0, general=5).
        // Sun 20 Sep is a make-up working day: Fri 18 Sep + 5 → Sun 20, Mon 21 … Thu 24.
        assert_eq!(
            f.due("changping", General, Resolve, "2026-09-18T10:00:00+08:00"),
            "2026-09-24T17:30:00+08:00"
        );
    }

    #[test]
    fn a_year_without_a_calendar_is_an_error() {
        let f = fx();
        let p = f.config.sla_policy("yueyang-125").unwrap();
        let t = DateTime::parse_from_rfc3339("2027-01-05T10:00:00+08:00")
            .unwrap()
            .with_timezone(&f.cal.time_zone());
        let err = due(&f.cal, p, General, Resolve, t).unwrap_err();
        assert_eq!(err, CalendarError::UnknownYear { year: 2027 });
    }
}

//! The working-day calendar: China's statutory holidays and make-up working
//! days (调休) from the State Council notices, plus the station's business hours.
//!
//! A date is a working day when its notice lists it as a make-up working day,
//! or when it is Monday–Friday and not listed as a day off. A date in a year
//! whose notice is not loaded is an error naming that year — never a guess.

use std::collections::{BTreeMap, BTreeSet};

use airbridge_configs::{ConfigSet, TimeSpan};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Weekday};
use chrono_tz::Tz;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error(
        "no holiday calendar is loaded for {year}: add configs/holidays/{year}.toml from the State Council notice for {year}"
    )]
    UnknownYear { year: i32 },
    #[error("no working day found within {days} days after {from}")]
    NoWorkingDay { from: NaiveDate, days: u32 },
    #[error("{0} does not exist in the station's time zone")]
    NoSuchLocalTime(NaiveDateTime),
}

/// Working days and business hours of one station.
#[derive(Debug, Clone)]
pub struct WorkCalendar {
    tz: Tz,
    hours: Vec<TimeSpan>,
    years: BTreeSet<i32>,
    /// Listed dates: `true` = day off, `false` = make-up working day.
    listed: BTreeMap<NaiveDate, bool>,
}

/// The longest stretch of days without a working day we accept before
/// calling the calendar broken (the longest real one is 9 days).
const MAX_SEARCH_DAYS: u32 = 60;

impl WorkCalendar {
    pub fn from_config(config: &ConfigSet) -> Self {
        let mut listed = BTreeMap::new();
        for cal in config.holidays.values() {
            for (date, day) in &cal.days {
                listed.insert(*date, day.off);
            }
        }
        Self {
            tz: config.station.time_zone,
            hours: config.station.business_hours.clone(),
            years: config.holidays.keys().copied().collect(),
            listed,
        }
    }

    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    pub fn business_hours(&self) -> &[TimeSpan] {
        &self.hours
    }

    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        if !self.years.contains(&date.year()) {
            return Err(CalendarError::UnknownYear { year: date.year() });
        }
        Ok(match self.listed.get(&date) {
            Some(off) => !off,
            None => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
        })
    }

    /// The first working day strictly after `date`.
    pub fn next_working_day(&self, date: NaiveDate) -> Result<NaiveDate, CalendarError> {
        let mut d = date;
        for _ in 0..MAX_SEARCH_DAYS {
            d = d.succ_opt().ok_or(CalendarError::NoWorkingDay {
                from: date,
                days: MAX_SEARCH_DAYS,
            })?;
            if self.is_working_day(d)? {
                return Ok(d);
            }
        }
        Err(CalendarError::NoWorkingDay {
            from: date,
            days: MAX_SEARCH_DAYS,
        })
    }

    /// Close of business (end of the last span) on `date`, in the station's zone.
    pub fn close_of_business(&self, date: NaiveDate) -> Result<DateTime<Tz>, CalendarError> {
        let close = self.hours.last().map_or(chrono::NaiveTime::MIN, |s| s.end);
        self.local(date.and_time(close))
    }

    pub fn local(&self, t: NaiveDateTime) -> Result<DateTime<Tz>, CalendarError> {
        self.tz
            .from_local_datetime(&t)
            .earliest()
            .ok_or(CalendarError::NoSuchLocalTime(t))
    }

    /// Adds `minutes` of business time to `from`. Time outside business
    /// hours does not count: a start outside hours begins at the next opening.
    pub fn add_business_minutes(
        &self,
        from: DateTime<Tz>,
        minutes: u32,
    ) -> Result<DateTime<Tz>, CalendarError> {
        let local = from.with_timezone(&self.tz).naive_local();
        let mut remaining = chrono::Duration::minutes(i64::from(minutes));
        let mut day = local.date();
        let mut not_before = local.time();
        for _ in 0..MAX_SEARCH_DAYS {
            if self.is_working_day(day)? {
                for span in &self.hours {
                    let start = span.start.max(not_before);
                    if start >= span.end {
                        continue;
                    }
                    let available = span.end - start;
                    if remaining <= available {
                        return self.local(day.and_time(start) + remaining);
                    }
                    remaining -= available;
                }
            }
            day = day.succ_opt().ok_or(CalendarError::NoWorkingDay {
                from: local.date(),
                days: MAX_SEARCH_DAYS,
            })?;
            not_before = chrono::NaiveTime::MIN;
        }
        Err(CalendarError::NoWorkingDay {
            from: local.date(),
            days: MAX_SEARCH_DAYS,
        })
    }

    /// Close of business on the `n`th working day after the day of `received`.
    /// `n = 0` means the same working day; if `received` is on a rest day or
    /// after the close, "the same working day" is the next working day.
    pub fn close_after_working_days(
        &self,
        received: DateTime<Tz>,
        n: u32,
    ) -> Result<DateTime<Tz>, CalendarError> {
        let local = received.with_timezone(&self.tz).naive_local();
        let day0 = local.date();
        if n == 0 {
            let close = self.close_of_business(day0)?;
            if self.is_working_day(day0)? && received < close {
                return Ok(close);
            }
            return self.close_of_business(self.next_working_day(day0)?);
        }
        let mut d = day0;
        for _ in 0..n {
            d = self.next_working_day(d)?;
        }
        self.close_of_business(d)
    }

    /// Business minutes between two instants (0 if `to <= from`): used for
    /// "average handling time" in working terms.
    pub fn business_minutes_between(
        &self,
        from: DateTime<Tz>,
        to: DateTime<Tz>,
    ) -> Result<i64, CalendarError> {
        if to <= from {
            return Ok(0);
        }
        let a = from.with_timezone(&self.tz).naive_local();
        let b = to.with_timezone(&self.tz).naive_local();
        let mut total = chrono::Duration::zero();
        let mut day = a.date();
        while day <= b.date() {
            if self.is_working_day(day)? {
                for span in &self.hours {
                    let s = day.and_time(span.start).max(a);
                    let e = day.and_time(span.end).min(b);
                    if e > s {
                        total += e - s;
                    }
                }
            }
            match day.succ_opt() {
                Some(d) => day = d,
                None => break,
            }
        }
        Ok(total.num_minutes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal() -> WorkCalendar {
        WorkCalendar::from_config(&ConfigSet::embedded_demo().unwrap())
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn make_up_weekends_and_holidays_follow_the_2026_notice() {
        let c = cal();
        assert!(
            c.is_working_day(d("2026-01-04")).unwrap(),
            "Sunday 4 Jan is a make-up working day"
        );
        assert!(
            c.is_working_day(d("2026-02-14")).unwrap(),
            "Saturday 14 Feb works (Spring Festival)"
        );
        assert!(
            !c.is_working_day(d("2026-02-16")).unwrap(),
            "Monday in the Spring Festival break"
        );
        assert!(c.is_working_day(d("2026-02-28")).unwrap());
        assert!(!c.is_working_day(d("2026-10-07")).unwrap());
        assert!(
            c.is_working_day(d("2026-10-10")).unwrap(),
            "Saturday 10 Oct works (National Day)"
        );
        assert!(
            !c.is_working_day(d("2026-03-07")).unwrap(),
            "an ordinary Saturday"
        );
        assert!(
            c.is_working_day(d("2026-03-09")).unwrap(),
            "an ordinary Monday"
        );
    }

    #[test]
    fn an_unloaded_year_is_an_error_naming_it() {
        let err = cal().is_working_day(d("2027-03-01")).unwrap_err();
        assert_eq!(err, CalendarError::UnknownYear { year: 2027 });
        assert!(err.to_string().contains("2027"));
        // Crossing into an unloaded year while counting is the same error.
        let c = cal();
        let t = c
            .local(d("2026-12-31").and_hms_opt(10, 0, 0).unwrap())
            .unwrap();
        assert_eq!(
            c.close_after_working_days(t, 2).unwrap_err(),
            CalendarError::UnknownYear { year: 2027 }
        );
    }
}

//! The running order: the plan against when its segments actually started,
//! for the "are we on time" display and the printed rundown.
//!
//! Pure arithmetic on the plan, the starts and `now`: no clock is read here.

use std::collections::BTreeMap;

use super::ShowPlan;

/// One segment of the running order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningSegment {
    pub id: u32,
    pub title: String,
    pub planned_minutes: u32,
    /// Where the plan puts its start, from the start of the show.
    pub planned_start_offset_secs: u64,
    /// When it first started (ms since the epoch), once it has.
    pub actual_start_ms: Option<u64>,
    /// How long it has run: until the next segment started, or until `now`
    /// for the current one (summed when a segment was returned to).
    pub actual_secs: Option<u64>,
    /// `actual - planned`: positive = over, negative = under (for the
    /// current segment: the time still left, as a negative number).
    pub over_secs: Option<i64>,
}

/// The plan with the actual times, and where the show stands as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunningOrder {
    /// Every segment of the plan, in plan order.
    pub segments: Vec<RunningSegment>,
    /// The segment on air: the last one started (if it is still in the plan).
    pub current: Option<u32>,
    /// When the first segment started (ms since the epoch).
    pub show_start_ms: Option<u64>,
    /// How far the show is over (positive) or under (negative) its plan so
    /// far: finished segments count in full, the current one only once it
    /// runs over, time on segments no longer in the plan counts as over.
    pub over_secs: i64,
    /// Of that, time spent on segments since removed from the plan.
    pub unplanned_secs: u64,
    /// The planned length of the whole show.
    pub planned_total_secs: u64,
    /// The show's start plus its planned length, once it has started.
    pub planned_end_ms: Option<u64>,
    /// `now` plus what the current segment has left plus every segment not
    /// yet started (if the show has not started: `now` plus the whole plan).
    pub projected_end_ms: u64,
}

const MIN_MS: u64 = 60_000;

fn secs(ms: i64) -> i64 {
    ms / 1000
}

/// The running order of `plan`, given the segment starts in the order they
/// happened (segment id, ms since the epoch) and the time now.
pub fn running_order(plan: &ShowPlan, started: &[(u32, u64)], now_ms: u64) -> RunningOrder {
    // Each start runs until the next start, the last one until now.
    let mut actual: BTreeMap<u32, (u64, u64)> = BTreeMap::new(); // id → (first start, ms run)
    for (i, &(id, at)) in started.iter().enumerate() {
        let end = started.get(i + 1).map_or(now_ms, |next| next.1);
        let run = actual.entry(id).or_insert((at, 0));
        run.1 += end.saturating_sub(at);
    }
    let current = started
        .last()
        .map(|s| s.0)
        .filter(|id| plan.segment(*id).is_some());

    let mut segments = Vec::with_capacity(plan.segments.len());
    let mut offset_ms = 0u64;
    let mut over_ms = 0i64;
    let mut remaining_ms = 0u64;
    for s in &plan.segments {
        let planned_ms = u64::from(s.minutes) * MIN_MS;
        let run = actual.remove(&s.id);
        let over = run.map(|(_, ran)| ran as i64 - planned_ms as i64);
        match (run, over) {
            (Some((_, ran)), Some(over)) if Some(s.id) == current => {
                over_ms += over.max(0);
                remaining_ms += planned_ms.saturating_sub(ran);
            }
            (Some(_), Some(over)) => over_ms += over,
            _ => remaining_ms += planned_ms,
        }
        segments.push(RunningSegment {
            id: s.id,
            title: s.title.clone(),
            planned_minutes: s.minutes,
            planned_start_offset_secs: offset_ms / 1000,
            actual_start_ms: run.map(|r| r.0),
            actual_secs: run.map(|r| r.1 / 1000),
            over_secs: over.map(secs),
        });
        offset_ms += planned_ms;
    }
    // What is left in `actual` ran on segments no longer in the plan.
    let unplanned_ms: u64 = actual.values().map(|r| r.1).sum();
    over_ms += unplanned_ms as i64;

    let show_start_ms = started.iter().map(|s| s.1).min();
    RunningOrder {
        segments,
        current,
        show_start_ms,
        over_secs: secs(over_ms),
        unplanned_secs: unplanned_ms / 1000,
        planned_total_secs: offset_ms / 1000,
        planned_end_ms: show_start_ms.map(|s| s + offset_ms),
        projected_end_ms: now_ms + remaining_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PlanEdit;

    const T0: u64 = 1_700_000_000_000;
    const S: u64 = 1000;

    /// 开场 5′ (1), 访谈 30′ (2), 热线 20′ (3), 结束 10′ (4): 65 minutes.
    fn plan() -> ShowPlan {
        let mut p = ShowPlan::default();
        for (title, minutes) in [("开场", 5), ("访谈", 30), ("热线", 20), ("结束", 10)] {
            p.apply(&PlanEdit::AddSegment {
                after: None,
                title: title.into(),
                minutes,
            })
            .unwrap();
        }
        p
    }

    /// 开场 ran 6′00″ (+60 s), 访谈 28′20″ (−100 s), 热线 started at +2060 s.
    fn starts() -> Vec<(u32, u64)> {
        vec![(1, T0), (2, T0 + 360 * S), (3, T0 + 2060 * S)]
    }

    #[test]
    fn a_show_running_over_in_its_current_segment() {
        // 热线 has run 1500 s of its 1200: 300 s over.
        let now = T0 + 3560 * S;
        let r = running_order(&plan(), &starts(), now);
        let col =
            |f: fn(&RunningSegment) -> Option<i64>| r.segments.iter().map(f).collect::<Vec<_>>();
        assert_eq!(
            r.segments
                .iter()
                .map(|s| s.planned_start_offset_secs)
                .collect::<Vec<_>>(),
            [0, 300, 2100, 3300]
        );
        assert_eq!(
            col(|s| s.actual_start_ms.map(|t| ((t - T0) / S) as i64)),
            [Some(0), Some(360), Some(2060), None]
        );
        assert_eq!(
            col(|s| s.actual_secs.map(|x| x as i64)),
            [Some(360), Some(1700), Some(1500), None]
        );
        assert_eq!(
            col(|s| s.over_secs),
            [Some(60), Some(-100), Some(300), None]
        );
        assert_eq!(r.current, Some(3));
        assert_eq!(r.show_start_ms, Some(T0));
        // 60 − 100 + 300
        assert_eq!(r.over_secs, 260);
        assert_eq!(r.unplanned_secs, 0);
        assert_eq!(r.planned_total_secs, 3900);
        assert_eq!(r.planned_end_ms, Some(T0 + 3900 * S));
        // now + nothing left of 热线 + 结束's 600 s = planned end + 260 s.
        assert_eq!(r.projected_end_ms, T0 + 4160 * S);
    }

    #[test]
    fn a_current_segment_within_its_time_is_not_counted_as_under() {
        // 热线 has run 600 s of its 1200: 600 s still to go.
        let now = T0 + 2660 * S;
        let r = running_order(&plan(), &starts(), now);
        assert_eq!(r.segments[2].over_secs, Some(-600));
        // 60 − 100: only the finished segments.
        assert_eq!(r.over_secs, -40);
        // now + 600 s of 热线 + 600 s of 结束 = planned end − 40 s.
        assert_eq!(r.projected_end_ms, T0 + 3860 * S);
    }

    #[test]
    fn before_the_first_start_the_whole_plan_is_ahead() {
        let r = running_order(&plan(), &[], T0);
        assert_eq!(r.current, None);
        assert_eq!(r.show_start_ms, None);
        assert_eq!(r.planned_end_ms, None);
        assert_eq!(r.over_secs, 0);
        assert_eq!(r.projected_end_ms, T0 + 3900 * S);
        assert!(r.segments.iter().all(|s| s.actual_start_ms.is_none()));
        assert_eq!(
            running_order(&ShowPlan::default(), &[], T0).projected_end_ms,
            T0
        );
    }

    #[test]
    fn a_segment_returned_to_sums_its_runs_and_keeps_its_first_start() {
        // 开场 100 s, 访谈 200 s, back to 开场 for 50 s so far.
        let started = [(1, T0), (2, T0 + 100 * S), (1, T0 + 300 * S)];
        let r = running_order(&plan(), &started, T0 + 350 * S);
        assert_eq!(r.current, Some(1));
        assert_eq!(r.segments[0].actual_start_ms, Some(T0));
        assert_eq!(r.segments[0].actual_secs, Some(150));
        assert_eq!(r.segments[0].over_secs, Some(150 - 300));
        assert_eq!(r.segments[1].over_secs, Some(200 - 1800));
        assert_eq!(r.over_secs, -1600);
    }

    #[test]
    fn time_on_a_removed_segment_counts_as_over() {
        // Segment 9 is not in the plan: it ran 120 s and is still running.
        let started = [(1, T0), (9, T0 + 300 * S)];
        let r = running_order(&plan(), &started, T0 + 420 * S);
        assert_eq!(r.current, None);
        assert_eq!(r.segments[0].over_secs, Some(0));
        assert_eq!(r.unplanned_secs, 120);
        assert_eq!(r.over_secs, 120);
        // 访谈, 热线, 结束 are all still to come.
        assert_eq!(r.projected_end_ms, T0 + (420 + 3600) * S);
    }

    #[test]
    fn a_clock_behind_the_last_start_never_underflows() {
        let r = running_order(&plan(), &[(1, T0)], T0 - 5 * S);
        assert_eq!(r.segments[0].actual_secs, Some(0));
        assert_eq!(r.over_secs, 0);
    }
}

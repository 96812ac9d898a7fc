//! The needs-review queue: active entries a producer should look at before
//! they are read on air again.

use serde::{Deserialize, Serialize};

use crate::edit::parse_date;
use crate::entry::{Entry, Status};

/// One entry in the needs-review queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewItem {
    /// Entry id.
    pub id: String,
    /// The standard question.
    pub question: String,
    /// Why it is in the queue.
    pub reason: ReviewReason,
}

/// Why an entry needs review. Serialised with a `kind` tag
/// (`{"kind":"expired","expiry":"2025-06-30"}`); new reasons are new variants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReviewReason {
    /// Its expiry date has passed.
    Expired {
        /// The expiry date, `YYYY-MM-DD`.
        expiry: String,
    },
    /// Not reviewed for longer than allowed, or never.
    ReviewDue {
        /// The last review date as stored (`None`: never reviewed).
        reviewed: Option<String>,
    },
    /// Asked on air without a good answer. Filled by the runtime from the
    /// show journal; [`crate::Kb::needs_review`] never produces it.
    Unanswered {
        /// How many times it was asked.
        asked: u32,
        /// The best search score any answer got.
        best_score: f32,
    },
}

/// The queue for `entries` on `today` (see [`crate::Kb::needs_review`]).
pub fn needs_review(entries: &[Entry], today: &str, max_age_days: u32) -> Vec<ReviewItem> {
    let Some(today) = parse_date(today) else {
        return Vec::new();
    };
    // Expired first, then by date (the expiry, or the review date with
    // "never" oldest of all), then id.
    type Order = (u8, Option<chrono::NaiveDate>, String);
    let mut keyed: Vec<(Order, ReviewItem)> = Vec::new();
    for e in entries.iter().filter(|e| e.status == Status::Active) {
        let item = |reason| ReviewItem {
            id: e.id.clone(),
            question: e.question.clone(),
            reason,
        };
        if let Some(expiry) = e.expiry.as_deref()
            && let Some(day) = parse_date(expiry)
            && day < today
        {
            let reason = ReviewReason::Expired {
                expiry: expiry.to_string(),
            };
            keyed.push(((0, Some(day), e.id.clone()), item(reason)));
            continue;
        }
        // A review date that is not a date counts as never reviewed.
        let reviewed = e.reviewed.as_deref().and_then(parse_date);
        let due = reviewed.is_none_or(|day| (today - day).num_days() > i64::from(max_age_days));
        if due {
            let reason = ReviewReason::ReviewDue {
                reviewed: e.reviewed.clone(),
            };
            keyed.push(((1, reviewed, e.id.clone()), item(reason)));
        }
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.into_iter().map(|(_, item)| item).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(id: &str, expiry: Option<&str>, reviewed: Option<&str>) -> Entry {
        Entry {
            id: id.into(),
            question: format!("问题{id}"),
            answer: "答".into(),
            expiry: expiry.map(Into::into),
            reviewed: reviewed.map(Into::into),
            ..Entry::default()
        }
    }

    #[test]
    fn expired_first_then_oldest_review_and_never_reviewed_oldest_of_all() {
        let mut retired = e("r", Some("2020-01-01"), None);
        retired.status = Status::Retired;
        let entries = vec![
            e("fresh", None, Some("2026-03-01")),
            e("old", None, Some("2025-01-01")),
            e("older", None, Some("2024-06-01")),
            e("never", None, None),
            e("exp-late", Some("2026-02-01"), Some("2026-03-01")),
            e("exp-early", Some("2025-12-31"), None),
            e("not-yet", Some("2026-03-10"), Some("2026-03-01")),
            e("today", Some("2026-03-05"), Some("2026-03-01")),
            retired,
        ];
        let q = needs_review(&entries, "2026-03-05", 180);
        let ids: Vec<&str> = q.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["exp-early", "exp-late", "never", "older", "old"]);
        assert_eq!(
            q[0].reason,
            ReviewReason::Expired {
                expiry: "2025-12-31".into()
            }
        );
        assert_eq!(q[2].reason, ReviewReason::ReviewDue { reviewed: None });
        assert_eq!(q[2].question, "问题never");
        // Exactly max_age_days old is not yet due.
        let q = needs_review(&[e("edge", None, Some("2026-01-04"))], "2026-03-05", 60);
        assert!(q.is_empty(), "{q:?}");
        let q = needs_review(&[e("edge", None, Some("2026-01-04"))], "2026-03-05", 59);
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn a_malformed_today_gives_an_empty_queue() {
        assert!(needs_review(&[e("never", None, None)], "5 March", 1).is_empty());
    }

    #[test]
    fn reasons_serialise_with_a_kind_tag() {
        let r = ReviewReason::Expired {
            expiry: "2025-06-30".into(),
        };
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, r#"{"kind":"expired","expiry":"2025-06-30"}"#);
        let u = ReviewReason::Unanswered {
            asked: 3,
            best_score: 1.5,
        };
        let back: ReviewReason = serde_json::from_str(&serde_json::to_string(&u).unwrap()).unwrap();
        assert_eq!(back, u);
    }
}

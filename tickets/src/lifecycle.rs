//! Applying a [`Change`] to a [`Ticket`]: the one place that decides which
//! steps are allowed. Pure: storage and journal come after.

use airbridge_configs::TicketClass;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::calendar::CalendarError;
use crate::error::TicketError;
use crate::model::{
    AuditEntry, CallbackAttempt, CallbackOutcome, Change, MAX_FAILED_CALLBACKS, Note, Satisfaction,
    Ticket, TicketState,
};

/// Computes a new resolve deadline for a class, counted from a moment
/// (used when a ticket is re-classified or reopened).
pub type ResolveDue<'a> =
    &'a dyn Fn(TicketClass, DateTime<Utc>) -> Result<DateTime<Utc>, CalendarError>;

fn refuse(t: &Ticket, change: &Change, reason: &'static str) -> TicketError {
    TicketError::InvalidTransition {
        id: t.id.clone(),
        action: change.name(),
        state: t.state,
        reason,
    }
}

/// Returns the changed ticket (version + 1) and its audit entry.
pub fn apply(
    ticket: &Ticket,
    change: &Change,
    who: &str,
    now: DateTime<Utc>,
    resolve_due: ResolveDue<'_>,
) -> Result<(Ticket, AuditEntry), TicketError> {
    use TicketState::*;
    let mut t = ticket.clone();
    let detail = match change {
        Change::Classify { class, departments } => {
            if !matches!(t.state, Received | Classified) {
                return Err(refuse(
                    ticket,
                    change,
                    "only a ticket not yet dispatched can be classified",
                ));
            }
            if departments.is_empty() {
                return Err(TicketError::Invalid {
                    field: "departments",
                    reason: "name at least one department".into(),
                });
            }
            let old_due = t.resolve_due;
            if *class != t.class {
                t.resolve_due = resolve_due(*class, t.received_at)?;
            }
            t.class = *class;
            t.departments.clone_from(departments);
            t.state = Classified;
            json!({ "class": class, "departments": departments, "resolve_due": t.resolve_due, "previous_resolve_due": old_due })
        }
        Change::Dispatch { assignee } => {
            if t.state != Classified {
                return Err(refuse(
                    ticket,
                    change,
                    "classify the ticket (class and department) before dispatching",
                ));
            }
            t.state = Dispatched;
            t.dispatched_at = Some(now);
            if assignee.is_some() {
                t.assignee.clone_from(assignee);
            }
            json!({ "departments": t.departments, "assignee": t.assignee, "late": now > t.dispatch_due })
        }
        Change::Resolve { resolution } => {
            if t.state != Dispatched {
                return Err(refuse(
                    ticket,
                    change,
                    "only a dispatched ticket can be resolved",
                ));
            }
            if resolution.trim().is_empty() {
                return Err(TicketError::Invalid {
                    field: "resolution",
                    reason: "describe how it was resolved".into(),
                });
            }
            t.state = Resolved;
            t.resolved_at = Some(now);
            t.resolution = Some(resolution.clone());
            json!({ "resolution": resolution, "late": now > t.resolve_due })
        }
        Change::CallBack {
            outcome,
            satisfaction,
            note,
        } => {
            if !matches!(t.state, Resolved | CalledBack) {
                return Err(refuse(
                    ticket,
                    change,
                    "call the citizen back after the ticket is resolved",
                ));
            }
            match (outcome, satisfaction) {
                (CallbackOutcome::Reached, None) => {
                    return Err(TicketError::Invalid {
                        field: "satisfaction",
                        reason: "record 满意, 基本满意 or 不满意 when the citizen was reached"
                            .into(),
                    });
                }
                (CallbackOutcome::Reached, Some(s)) => {
                    t.satisfaction = Some(*s);
                    t.state = CalledBack;
                }
                (_, Some(_)) => {
                    return Err(TicketError::Invalid {
                        field: "satisfaction",
                        reason: "satisfaction is only recorded when the citizen was reached".into(),
                    });
                }
                (_, None) => {}
            }
            t.callbacks.push(CallbackAttempt {
                at: now,
                by: who.to_owned(),
                outcome: *outcome,
                satisfaction: *satisfaction,
                note: note.clone(),
            });
            json!({ "outcome": outcome, "satisfaction": satisfaction, "note": note, "attempt": t.callbacks.len() })
        }
        Change::Close => {
            let failed = t
                .callbacks
                .iter()
                .filter(|c| c.outcome != CallbackOutcome::Reached)
                .count();
            let ok = match t.state {
                CalledBack => t.satisfaction != Some(Satisfaction::Dissatisfied),
                Resolved => failed >= MAX_FAILED_CALLBACKS,
                _ => false,
            };
            if !ok {
                let reason = match t.state {
                    CalledBack => "the citizen is dissatisfied: reopen the ticket instead",
                    Resolved => "call the citizen back first (or record 3 failed attempts)",
                    _ => "only a resolved and called-back ticket can be closed",
                };
                return Err(refuse(ticket, change, reason));
            }
            t.state = Closed;
            t.closed_at = Some(now);
            json!({ "satisfaction": t.satisfaction, "failed_callbacks": failed })
        }
        Change::Reopen { reason } => {
            if !matches!(t.state, CalledBack | Closed)
                || t.satisfaction != Some(Satisfaction::Dissatisfied)
            {
                return Err(refuse(
                    ticket,
                    change,
                    "only a ticket the citizen was dissatisfied with can be reopened",
                ));
            }
            t.state = Dispatched;
            t.reopened += 1;
            t.resolved_at = None;
            t.closed_at = None;
            t.satisfaction = None;
            t.resolve_due = resolve_due(t.class, now)?;
            json!({ "reason": reason, "resolve_due": t.resolve_due, "reopened": t.reopened })
        }
        Change::Escalate { reason } => {
            if t.state == Closed {
                return Err(refuse(
                    ticket,
                    change,
                    "a closed ticket cannot be escalated",
                ));
            }
            t.escalation = t.escalation.saturating_add(1);
            json!({ "reason": reason, "level": t.escalation })
        }
        Change::Note { text } => {
            if text.trim().is_empty() {
                return Err(TicketError::Invalid {
                    field: "note",
                    reason: "a note needs text".into(),
                });
            }
            t.notes.push(Note {
                at: now,
                by: who.to_owned(),
                text: text.clone(),
            });
            json!({ "text": text })
        }
    };
    t.version += 1;
    t.updated_at = now;
    let audit = AuditEntry {
        ticket_id: t.id.clone(),
        version: t.version,
        at: now,
        who: who.to_owned(),
        action: change.name().to_owned(),
        detail: json!({ "from": ticket.state, "to": t.state, "change": detail }),
    };
    Ok((t, audit))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::model::{Satisfaction, Source};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, 2, 0, 0).unwrap()
    }

    fn due(_: TicketClass, from: DateTime<Utc>) -> Result<DateTime<Utc>, CalendarError> {
        Ok(from + chrono::Duration::days(2))
    }

    fn base() -> Ticket {
        Ticket {
            id: "T20260310-0001".into(),
            version: 1,
            source: Source::Wechat,
            journal_refs: vec![],
            contact: None,
            citizen_name: None,
            question: "q".into(),
            topic: String::new(),
            class: TicketClass::General,
            departments: vec![],
            policy: "yueyang-125".into(),
            received_at: now(),
            dispatch_due: now(),
            resolve_due: now(),
            state: TicketState::Received,
            assignee: None,
            notes: vec![],
            resolution: None,
            dispatched_at: None,
            resolved_at: None,
            closed_at: None,
            callbacks: vec![],
            satisfaction: None,
            escalation: 0,
            reopened: 0,
            created_by: "t".into(),
            updated_at: now(),
        }
    }

    fn step(t: &Ticket, c: &Change) -> Result<Ticket, TicketError> {
        apply(t, c, "tester", now(), &due).map(|(t, _)| t)
    }

    fn classify() -> Change {
        Change::Classify {
            class: TicketClass::Complex,
            departments: vec!["rsj".into()],
        }
    }
    fn reached(s: Satisfaction) -> Change {
        Change::CallBack {
            outcome: CallbackOutcome::Reached,
            satisfaction: Some(s),
            note: String::new(),
        }
    }
    fn no_answer() -> Change {
        Change::CallBack {
            outcome: CallbackOutcome::NoAnswer,
            satisfaction: None,
            note: String::new(),
        }
    }

    /// A ticket in each reachable situation, by the path that gets there.
    fn situations() -> Vec<(&'static str, Ticket)> {
        let received = base();
        let classified = step(&received, &classify()).unwrap();
        let dispatched = step(&classified, &Change::Dispatch { assignee: None }).unwrap();
        let resolved = step(
            &dispatched,
            &Change::Resolve {
                resolution: "done".into(),
            },
        )
        .unwrap();
        let satisfied = step(&resolved, &reached(Satisfaction::Satisfied)).unwrap();
        let dissatisfied = step(&resolved, &reached(Satisfaction::Dissatisfied)).unwrap();
        let mut unreachable = resolved.clone();
        for _ in 0..MAX_FAILED_CALLBACKS {
            unreachable = step(&unreachable, &no_answer()).unwrap();
        }
        let closed = step(&satisfied, &Change::Close).unwrap();
        vec![
            ("received", received),
            ("classified", classified),
            ("dispatched", dispatched),
            ("resolved", resolved),
            ("satisfied", satisfied),
            ("dissatisfied", dissatisfied),
            ("unreachable", unreachable),
            ("closed", closed),
        ]
    }

    #[test]
    fn every_change_in_every_situation() {
        let changes: Vec<(&str, Change)> = vec![
            ("classify", classify()),
            ("dispatch", Change::Dispatch { assignee: None }),
            (
                "resolve",
                Change::Resolve {
                    resolution: "done".into(),
                },
            ),
            ("reached", reached(Satisfaction::BasicallySatisfied)),
            ("no_answer", no_answer()),
            ("close", Change::Close),
            ("reopen", Change::Reopen { reason: "r".into() }),
            ("escalate", Change::Escalate { reason: "r".into() }),
            ("note", Change::Note { text: "n".into() }),
        ];
        // (situation, change) pairs that must be allowed; all others refused.
        let allowed: &[(&str, &str)] = &[
            ("received", "classify"),
            ("classified", "classify"),
            ("classified", "dispatch"),
            ("dispatched", "resolve"),
            ("resolved", "reached"),
            ("resolved", "no_answer"),
            ("satisfied", "reached"),
            ("satisfied", "no_answer"),
            ("satisfied", "close"),
            ("dissatisfied", "reached"),
            ("dissatisfied", "no_answer"),
            ("dissatisfied", "reopen"),
            ("unreachable", "reached"),
            ("unreachable", "no_answer"),
            ("unreachable", "close"),
        ];
        for (sname, ticket) in situations() {
            for (cname, change) in &changes {
                let always =
                    matches!(*cname, "note") || (*cname == "escalate" && sname != "closed");
                let expect_ok = always || allowed.contains(&(sname, *cname));
                let got = apply(&ticket, change, "tester", now(), &due);
                assert_eq!(
                    got.is_ok(),
                    expect_ok,
                    "{cname} on {sname}: {:?}",
                    got.as_ref().err()
                );
                match got {
                    Ok((t, audit)) => {
                        assert_eq!(t.version, ticket.version + 1);
                        assert_eq!(audit.version, t.version);
                        assert_eq!(audit.action, change.name());
                    }
                    Err(TicketError::InvalidTransition { reason, .. }) => {
                        assert!(!reason.is_empty())
                    }
                    Err(other) => panic!("{cname} on {sname}: unexpected {other:?}"),
                }
            }
        }
    }

    #[test]
    fn reached_without_a_verdict_and_verdict_without_reaching_are_refused() {
        let (_, resolved) = situations().swap_remove(3);
        let c = Change::CallBack {
            outcome: CallbackOutcome::Reached,
            satisfaction: None,
            note: String::new(),
        };
        assert!(matches!(
            step(&resolved, &c),
            Err(TicketError::Invalid {
                field: "satisfaction",
                ..
            })
        ));
        let c = Change::CallBack {
            outcome: CallbackOutcome::NoAnswer,
            satisfaction: Some(Satisfaction::Satisfied),
            note: String::new(),
        };
        assert!(matches!(
            step(&resolved, &c),
            Err(TicketError::Invalid {
                field: "satisfaction",
                ..
            })
        ));
    }

    #[test]
    fn reopening_sets_a_new_deadline_from_now() {
        let (_, dissatisfied) = situations().swap_remove(5);
        let t = step(&dissatisfied, &Change::Reopen { reason: "r".into() }).unwrap();
        assert_eq!(t.state, TicketState::Dispatched);
        assert_eq!(t.resolve_due, now() + chrono::Duration::days(2));
        assert_eq!(t.satisfaction, None);
    }
}

//! Applying a [`Change`] to a [`Ticket`]: the one place that decides which
//! steps are allowed. Pure: storage and journal come after.

use airbridge_configs::TicketClass;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::calendar::CalendarError;
use crate::error::TicketError;
use crate::model::{
    AuditEntry, CallbackAttempt, CallbackOutcome, Change, MAX_FAILED_CALLBACKS, Note, Satisfaction,
    Ticket, TicketState, attachment_problem,
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

fn need_reason(reason: &str, why: &str) -> Result<(), TicketError> {
    if reason.trim().is_empty() {
        return Err(TicketError::Invalid {
            field: "reason",
            reason: why.to_owned(),
        });
    }
    Ok(())
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
            need_reason(reason, "say why it is handled again (重新办理)")?;
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
            need_reason(reason, "say why it is escalated (督办)")?;
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
        Change::Reassign {
            departments,
            reason,
        } => {
            if !matches!(t.state, Classified | Dispatched) {
                let why = if t.state == Received {
                    "classify the ticket to choose its first departments"
                } else {
                    "a resolved ticket keeps its departments: reopen it first"
                };
                return Err(refuse(ticket, change, why));
            }
            if departments.is_empty() {
                return Err(TicketError::Invalid {
                    field: "departments",
                    reason: "name at least one department".into(),
                });
            }
            if *departments == t.departments {
                return Err(TicketError::Invalid {
                    field: "departments",
                    reason: "these are already the ticket's departments".into(),
                });
            }
            need_reason(reason, "say why the departments change (改派)")?;
            let previous = std::mem::replace(&mut t.departments, departments.clone());
            let previous_assignee = if t.state == Dispatched {
                // handed to other departments: their person, their clock start
                t.dispatched_at = Some(now);
                t.assignee.take()
            } else {
                None
            };
            json!({
                "departments": departments, "previous_departments": previous, "reason": reason,
                "previous_assignee": previous_assignee,
            })
        }
        Change::Attach {
            name,
            sha256,
            bytes,
        } => {
            if t.state == Closed {
                return Err(refuse(
                    ticket,
                    change,
                    "a closed ticket takes no attachments",
                ));
            }
            if let Some((field, reason)) = attachment_problem(name, sha256, *bytes) {
                return Err(TicketError::Invalid { field, reason });
            }
            json!({ "name": name, "sha256": sha256, "bytes": bytes })
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
            station: String::new(),
            callback_number: None,
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
    fn reassign() -> Change {
        Change::Reassign {
            departments: vec!["ybj".into(), "gjj".into()],
            reason: "涉及医保和公积金".into(),
        }
    }
    fn attach() -> Change {
        Change::Attach {
            name: "现场照片.jpg".into(),
            sha256: "ab".repeat(32),
            bytes: 1024,
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
            ("reassign", reassign()),
            ("attach", attach()),
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
            ("classified", "reassign"),
            ("dispatched", "reassign"),
        ];
        for (sname, ticket) in situations() {
            for (cname, change) in &changes {
                let always = matches!(*cname, "note")
                    || (matches!(*cname, "escalate" | "attach") && sname != "closed");
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

    #[test]
    fn reassigning_a_dispatched_ticket_hands_it_to_the_new_departments_and_keeps_the_deadline() {
        let (_, dispatched) = situations().swap_remove(2);
        let mut before = dispatched.clone();
        before.assignee = Some("张科长".into());
        let later = now() + chrono::Duration::hours(3);
        let (t, audit) = apply(&before, &reassign(), "backoffice", later, &due).unwrap();
        assert_eq!(t.state, TicketState::Dispatched);
        assert_eq!(t.departments, ["ybj", "gjj"]);
        assert_eq!(t.resolve_due, before.resolve_due);
        assert_eq!(t.dispatched_at, Some(later));
        assert_eq!(t.assignee, None);
        assert_eq!(audit.action, "reassign");
        assert_eq!(audit.who, "backoffice");
        let c = &audit.detail["change"];
        assert_eq!(c["previous_departments"], json!(["rsj"]));
        assert_eq!(c["departments"], json!(["ybj", "gjj"]));
        assert_eq!(c["reason"], "涉及医保和公积金");
        assert_eq!(c["previous_assignee"], "张科长");
    }

    #[test]
    fn reassigning_needs_a_reason_new_departments_and_a_routed_ticket() {
        let (_, classified) = situations().swap_remove(1);
        let no_reason = Change::Reassign {
            departments: vec!["ybj".into()],
            reason: " ".into(),
        };
        let same = Change::Reassign {
            departments: vec!["rsj".into()],
            reason: "r".into(),
        };
        let none = Change::Reassign {
            departments: vec![],
            reason: "r".into(),
        };
        for (c, field) in [
            (no_reason, "reason"),
            (same, "departments"),
            (none, "departments"),
        ] {
            match step(&classified, &c) {
                Err(TicketError::Invalid { field: f, .. }) => assert_eq!(f, field, "{c:?}"),
                other => panic!("{c:?}: {other:?}"),
            }
        }
        let (_, received) = situations().swap_remove(0);
        assert!(matches!(
            step(&received, &reassign()),
            Err(TicketError::InvalidTransition { .. })
        ));
    }

    #[test]
    fn an_attachment_is_audited_and_read_back_from_the_trail() {
        let (_, dispatched) = situations().swap_remove(2);
        let (t, audit) = apply(&dispatched, &attach(), "backoffice", now(), &due).unwrap();
        // the ticket itself is unchanged but for its version
        assert_eq!(t.state, dispatched.state);
        assert_eq!(t.version, dispatched.version + 1);
        let found = crate::model::Attachment::from_audit(&[audit]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "现场照片.jpg");
        assert_eq!(found[0].bytes, 1024);
        assert_eq!(found[0].by, "backoffice");
        assert_eq!(
            found[0].stored_name(),
            format!("{}-现场照片.jpg", "ab".repeat(32))
        );
    }

    #[test]
    fn attachments_with_folders_odd_digests_or_too_many_bytes_are_refused() {
        let (_, dispatched) = situations().swap_remove(2);
        let max = crate::model::MAX_ATTACHMENT_BYTES;
        let good = "0f".repeat(32);
        for (name, sha, bytes, field) in [
            ("../etc/passwd", good.as_str(), 10, "name"),
            ("a/b.txt", good.as_str(), 10, "name"),
            ("a\\b.txt", good.as_str(), 10, "name"),
            ("..", good.as_str(), 10, "name"),
            ("", good.as_str(), 10, "name"),
            ("a\nb", good.as_str(), 10, "name"),
            ("ok.txt", "XYZ", 10, "sha256"),
            ("ok.txt", &"0F".repeat(32), 10, "sha256"),
            ("ok.txt", good.as_str(), 0, "bytes"),
            ("ok.txt", good.as_str(), max + 1, "bytes"),
        ] {
            let c = Change::Attach {
                name: name.into(),
                sha256: sha.into(),
                bytes,
            };
            match step(&dispatched, &c) {
                Err(TicketError::Invalid { field: f, .. }) => assert_eq!(f, field, "{name:?}"),
                other => panic!("{name:?}: {other:?}"),
            }
        }
        let c = Change::Attach {
            name: "ok.txt".into(),
            sha256: good,
            bytes: max,
        };
        assert!(step(&dispatched, &c).is_ok());
    }

    #[test]
    fn reopening_and_escalating_need_a_reason() {
        let (_, dissatisfied) = situations().swap_remove(5);
        for c in [
            Change::Reopen { reason: "".into() },
            Change::Escalate {
                reason: "  ".into(),
            },
        ] {
            assert!(
                matches!(
                    step(&dissatisfied, &c),
                    Err(TicketError::Invalid {
                        field: "reason",
                        ..
                    })
                ),
                "{c:?}"
            );
        }
    }
}

//! The ticket desk: creates tickets with their deadlines, applies changes
//! through the lifecycle rules, keeps the audit trail, answers the work
//! queues, and mirrors every change into the show journal.

use std::collections::BTreeSet;

use airbridge_configs::{ConfigSet, TicketClass};
use airbridge_show::{ItemRef, Journal, ShowEvent};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::calendar::WorkCalendar;
use crate::error::TicketError;
use crate::lifecycle;
use crate::model::{AuditEntry, Change, Source, Ticket, TicketState};
use crate::sla::{Deadlines, Stage};
use crate::store::{Query, TicketStore};

/// What is known when a ticket is created (pre-filled from the show's context).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    pub source: Source,
    pub question: String,
    pub topic: String,
    pub contact: Option<String>,
    pub citizen_name: Option<String>,
    /// Provisional until classified; `General` when unknown.
    pub class: TicketClass,
    pub departments: Vec<String>,
    /// `None`: the show's default policy.
    pub policy: Option<String>,
    pub journal_refs: Vec<u64>,
    /// The show item it came from, if any (for the journal).
    pub item: Option<ItemRef>,
    pub received_at: DateTime<Utc>,
    /// The caller's number sealed for a call-back ([`Ticket::callback_number`]).
    pub callback_number: Option<String>,
}

impl NewTicket {
    pub fn new(source: Source, question: impl Into<String>, received_at: DateTime<Utc>) -> Self {
        Self {
            source,
            question: question.into(),
            topic: String::new(),
            contact: None,
            citizen_name: None,
            class: TicketClass::General,
            departments: Vec::new(),
            policy: None,
            journal_refs: Vec::new(),
            item: None,
            received_at,
            callback_number: None,
        }
    }
}

/// The back office's work queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkQueue {
    /// Received, not yet classified.
    New,
    /// Classified, waiting for dispatch.
    ToDispatch,
    Overdue,
    /// Resolve deadline within the given time.
    DueSoon(Duration),
    /// Resolved, waiting for the call-back.
    ToCallBack,
    Department(String),
}

/// A deadline that approaches or has passed: reported once per ticket,
/// stage and deadline by [`TicketDesk::reminders`], every time by
/// [`TicketDesk::deadline_alerts`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Reminder {
    pub ticket_id: String,
    pub stage: Stage,
    pub overdue: bool,
    pub due: DateTime<Utc>,
}

pub struct TicketDesk {
    store: Box<dyn TicketStore>,
    calendar: WorkCalendar,
    config: ConfigSet,
    journal: Option<Journal>,
    reminded: BTreeSet<(String, Stage, bool, i64)>,
    clock: fn() -> DateTime<Utc>,
}

impl std::fmt::Debug for TicketDesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketDesk")
            .field("store", &self.store.describe())
            .finish()
    }
}

const QUEUE_LIMIT: usize = 500;

impl TicketDesk {
    pub fn new(
        mut store: Box<dyn TicketStore>,
        config: &ConfigSet,
        journal: Option<Journal>,
    ) -> Self {
        // a station in a shared database sees and numbers its own tickets
        if let Some(code) = &config.station.code
            && let Err(e) = store.set_scope(Some(code.clone()))
        {
            tracing::warn!("ticket store scope: {e}");
        }
        Self {
            store,
            calendar: WorkCalendar::from_config(config),
            config: config.clone(),
            journal,
            reminded: BTreeSet::new(),
            clock: Utc::now,
        }
    }

    /// Every station's tickets (a city-level view over a shared database),
    /// not only this station's.
    pub fn all_stations(mut self) -> Result<Self, TicketError> {
        self.store.set_scope(None)?;
        Ok(self)
    }

    /// Every ticket in the desk's scope with its whole audit trail, oldest
    /// first (for moving a station's data into another store).
    pub fn export_all(&mut self) -> Result<Vec<(Ticket, Vec<AuditEntry>)>, TicketError> {
        let far = DateTime::<Utc>::from_timestamp_millis(i64::MAX / 4).unwrap_or_else(Utc::now);
        let tickets = self.store.query(&crate::store::Query::ReceivedBetween {
            from: DateTime::<Utc>::UNIX_EPOCH,
            to: far,
        })?;
        tickets
            .into_iter()
            .map(|t| {
                let audit = self.store.audit(&t.id)?;
                Ok((t, audit))
            })
            .collect()
    }

    /// Moves tickets made by a station on its own into this (shared) store
    /// as `station`'s: every ticket and audit entry, all or nothing. Ids
    /// get the station's prefix (`yy-T20261126-0001`) so that numbers two
    /// stations gave on their own cannot collide; returns how many moved.
    pub fn import_station(
        &mut self,
        station: &str,
        items: Vec<(Ticket, Vec<AuditEntry>)>,
    ) -> Result<usize, TicketError> {
        if !airbridge_configs::is_station_code(station) {
            return Err(TicketError::Invalid {
                field: "station",
                reason: format!("{station:?} is not a station code"),
            });
        }
        let prefix = format!("{station}-");
        let moved: Vec<(Ticket, Vec<AuditEntry>)> = items
            .into_iter()
            .map(|(mut t, mut audit)| {
                if !t.id.starts_with(&prefix) {
                    t.id = format!("{prefix}{}", t.id);
                }
                t.station = station.to_owned();
                for a in &mut audit {
                    a.ticket_id = t.id.clone();
                }
                (t, audit)
            })
            .collect();
        self.store.insert_with_audit(&moved)?;
        Ok(moved.len())
    }

    /// "Now" by the desk's clock (a ticket's receipt time when made by hand).
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Uses another clock for "now" (tests, replays of past shows).
    #[must_use]
    pub fn with_clock(mut self, clock: fn() -> DateTime<Utc>) -> Self {
        self.clock = clock;
        self
    }

    pub fn calendar(&self) -> &WorkCalendar {
        &self.calendar
    }

    pub fn store_mut(&mut self) -> &mut dyn TicketStore {
        self.store.as_mut()
    }

    fn policy(&self, name: &str) -> Result<&airbridge_configs::SlaPolicy, TicketError> {
        self.config
            .sla_policy(name)
            .ok_or_else(|| TicketError::UnknownPolicy {
                name: name.to_owned(),
                known: self
                    .config
                    .sla_policies
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    fn check_departments(&self, ids: &[String]) -> Result<(), TicketError> {
        for id in ids {
            if self.config.department(id).is_none() {
                return Err(TicketError::UnknownDepartment { id: id.clone() });
            }
        }
        Ok(())
    }

    fn journal(&self, id: &str, event: ShowEvent) -> Result<(), TicketError> {
        if let Some(j) = &self.journal {
            j.append("tickets", event)
                .map_err(|e| TicketError::Journal {
                    id: id.to_owned(),
                    detail: e.to_string(),
                })?;
        }
        Ok(())
    }

    /// Creates a ticket with its deadlines; durable when this returns.
    pub fn create(&mut self, new: NewTicket, who: &str) -> Result<Ticket, TicketError> {
        if new.question.trim().is_empty() {
            return Err(TicketError::Invalid {
                field: "question",
                reason: "a ticket needs the citizen's question".into(),
            });
        }
        self.check_departments(&new.departments)?;
        let policy_name = new
            .policy
            .clone()
            .unwrap_or_else(|| self.config.show.sla_policy.clone());
        let policy = self.policy(&policy_name)?.clone();
        let tz = self.calendar.time_zone();
        let received = new.received_at.with_timezone(&tz);
        let deadlines = Deadlines::compute(&self.calendar, &policy, new.class, received)?;
        let station = self.config.station.code.clone().unwrap_or_default();
        let prefix = if station.is_empty() {
            format!("T{}-", received.format("%Y%m%d"))
        } else {
            format!("{station}-T{}-", received.format("%Y%m%d"))
        };
        let mut ticket = Ticket {
            id: String::new(),
            version: 1,
            source: new.source,
            journal_refs: new.journal_refs.clone(),
            contact: new.contact.clone(),
            citizen_name: new.citizen_name.clone(),
            question: new.question.clone(),
            topic: new.topic.clone(),
            class: new.class,
            departments: new.departments.clone(),
            policy: policy_name,
            received_at: new.received_at,
            dispatch_due: deadlines.dispatch.with_timezone(&Utc),
            resolve_due: deadlines.resolve.with_timezone(&Utc),
            state: TicketState::Received,
            assignee: None,
            notes: Vec::new(),
            resolution: None,
            dispatched_at: None,
            resolved_at: None,
            closed_at: None,
            callbacks: Vec::new(),
            satisfaction: None,
            escalation: 0,
            reopened: 0,
            created_by: who.to_owned(),
            updated_at: (self.clock)(),
            station,
            callback_number: new.callback_number.clone(),
        };
        let mut next = self.store.count_prefix(&prefix)? + 1;
        // Another seat may take the same number at the same moment: try the next.
        for _ in 0..50 {
            ticket.id = format!("{prefix}{next:04}");
            let audit = AuditEntry {
                ticket_id: ticket.id.clone(),
                version: 1,
                at: ticket.updated_at,
                who: who.to_owned(),
                action: "create".into(),
                detail: json!({
                    "source": ticket.source, "class": ticket.class, "departments": ticket.departments,
                    "policy": ticket.policy, "dispatch_due": ticket.dispatch_due, "resolve_due": ticket.resolve_due,
                }),
            };
            if self.store.insert(&ticket, &audit)? {
                self.journal(
                    &ticket.id,
                    ShowEvent::TicketCreated {
                        ticket_id: ticket.id.clone(),
                        item: new.item.clone(),
                        source: ticket.source.as_str().to_owned(),
                        question: ticket.question.clone(),
                        departments: ticket.departments.clone(),
                        dispatch_due_ms: ticket.dispatch_due.timestamp_millis(),
                        resolve_due_ms: ticket.resolve_due.timestamp_millis(),
                    },
                )?;
                return Ok(ticket);
            }
            next += 1;
        }
        Err(TicketError::Store {
            store: self.store.describe(),
            op: "number a new ticket",
            detail: format!("no free number after {prefix}{next:04}"),
        })
    }

    /// Applies a change made on `based_on` (the version the user saw).
    /// Another seat's change in between is a `Conflict`, never a lost update.
    pub fn apply(
        &mut self,
        id: &str,
        based_on: u64,
        change: &Change,
        who: &str,
    ) -> Result<Ticket, TicketError> {
        if let Change::Classify { departments, .. } | Change::Reassign { departments, .. } = change
        {
            self.check_departments(departments)?;
        }
        let current = self
            .store
            .get(id)?
            .ok_or_else(|| TicketError::NotFound { id: id.to_owned() })?;
        if current.version != based_on {
            let last = self.store.audit(id)?.pop();
            return Err(TicketError::Conflict {
                id: id.to_owned(),
                expected: based_on,
                actual: current.version,
                by: last.as_ref().map(|a| a.who.clone()).unwrap_or_default(),
                at: last.map_or(current.updated_at, |a| a.at),
            });
        }
        let policy = self.policy(&current.policy)?.clone();
        let calendar = &self.calendar;
        let tz = calendar.time_zone();
        let resolve_due = |class: TicketClass, from: DateTime<Utc>| {
            crate::sla::due(
                calendar,
                &policy,
                class,
                Stage::Resolve,
                from.with_timezone(&tz),
            )
            .map(|t| t.with_timezone(&Utc))
        };
        let (ticket, audit) =
            lifecycle::apply(&current, change, who, (self.clock)(), &resolve_due)?;
        self.store.update(&ticket, &audit)?;
        self.journal(
            id,
            ShowEvent::TicketChanged {
                ticket_id: ticket.id.clone(),
                version: ticket.version,
                action: audit.action.clone(),
                state: ticket.state.as_str().to_owned(),
            },
        )?;
        Ok(ticket)
    }

    pub fn get(&mut self, id: &str) -> Result<Ticket, TicketError> {
        self.store
            .get(id)?
            .ok_or_else(|| TicketError::NotFound { id: id.to_owned() })
    }

    pub fn audit(&mut self, id: &str) -> Result<Vec<AuditEntry>, TicketError> {
        self.store.audit(id)
    }

    pub fn queue(
        &mut self,
        queue: &WorkQueue,
        now: DateTime<Utc>,
    ) -> Result<Vec<Ticket>, TicketError> {
        let q = match queue {
            WorkQueue::New => Query::State {
                state: TicketState::Received,
                limit: QUEUE_LIMIT,
            },
            WorkQueue::ToDispatch => Query::State {
                state: TicketState::Classified,
                limit: QUEUE_LIMIT,
            },
            WorkQueue::Overdue => Query::Overdue {
                now,
                limit: QUEUE_LIMIT,
            },
            WorkQueue::DueSoon(within) => Query::DueSoon {
                now,
                until: now + *within,
                limit: QUEUE_LIMIT,
            },
            WorkQueue::ToCallBack => Query::State {
                state: TicketState::Resolved,
                limit: QUEUE_LIMIT,
            },
            WorkQueue::Department(d) => Query::Department {
                department: d.clone(),
                limit: QUEUE_LIMIT,
            },
        };
        self.store.query(&q)
    }

    /// Deadlines that passed, or fall within `within`, not reported before by
    /// this desk; each is also written to the journal.
    pub fn reminders(
        &mut self,
        now: DateTime<Utc>,
        within: Duration,
    ) -> Result<Vec<Reminder>, TicketError> {
        let mut out = self.deadlines(now, now + within)?;
        out.retain(|r| {
            self.reminded.insert((
                r.ticket_id.clone(),
                r.stage,
                r.overdue,
                r.due.timestamp_millis(),
            ))
        });
        for r in &out {
            self.journal(
                &r.ticket_id,
                ShowEvent::TicketReminder {
                    ticket_id: r.ticket_id.clone(),
                    stage: match r.stage {
                        Stage::Dispatch => "dispatch".into(),
                        Stage::Resolve => "resolve".into(),
                    },
                    overdue: r.overdue,
                    due_ms: r.due.timestamp_millis(),
                },
            )?;
        }
        Ok(out)
    }

    /// Every deadline passed as of `now`, and every resolve deadline within
    /// `within_business_minutes` of working time (business hours on working
    /// days): for a seat's alert banner, which remembers what its user has
    /// acknowledged. Unlike [`TicketDesk::reminders`] this reports each one
    /// every time and writes nothing.
    pub fn deadline_alerts(
        &mut self,
        now: DateTime<Utc>,
        within_business_minutes: u32,
    ) -> Result<Vec<Reminder>, TicketError> {
        let tz = self.calendar.time_zone();
        let until = self
            .calendar
            .add_business_minutes(now.with_timezone(&tz), within_business_minutes)?
            .with_timezone(&Utc);
        self.deadlines(now, until.max(now))
    }

    /// Overdue deadlines (dispatch and resolve) as of `now`, then resolve
    /// deadlines in `(now, until]`.
    fn deadlines(
        &mut self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<Reminder>, TicketError> {
        let mut out = Vec::new();
        for t in self.store.query(&Query::Overdue {
            now,
            limit: QUEUE_LIMIT,
        })? {
            if t.dispatch_late(now) {
                out.push(Reminder {
                    ticket_id: t.id.clone(),
                    stage: Stage::Dispatch,
                    overdue: true,
                    due: t.dispatch_due,
                });
            }
            if t.state.is_open() && now > t.resolve_due {
                out.push(Reminder {
                    ticket_id: t.id.clone(),
                    stage: Stage::Resolve,
                    overdue: true,
                    due: t.resolve_due,
                });
            }
        }
        for t in self.store.query(&Query::DueSoon {
            now,
            until,
            limit: QUEUE_LIMIT,
        })? {
            out.push(Reminder {
                ticket_id: t.id.clone(),
                stage: Stage::Resolve,
                overdue: false,
                due: t.resolve_due,
            });
        }
        Ok(out)
    }

    /// What the back office reads when calling the citizen back (回访话术),
    /// filled in from the ticket. Uses the masked name only.
    pub fn callback_script(&self, t: &Ticket) -> String {
        let tz = self.calendar.time_zone();
        let greeting = match t.citizen_name.as_deref() {
            Some(n) if !n.is_empty() => format!("{n}，您好"),
            _ => "您好".to_owned(),
        };
        let departments: Vec<&str> = t
            .departments
            .iter()
            .map(|id| {
                self.config
                    .department(id)
                    .map_or(id.as_str(), |d| d.short_name.as_str())
            })
            .collect();
        let by = if departments.is_empty() {
            "相关部门".to_owned()
        } else {
            departments.join("、")
        };
        let result = t.resolution.as_deref().unwrap_or("（办理结果待补充）");
        format!(
            "{greeting}！这里是{}“{}”节目组。您在{}通过{}反映的问题：“{}”，已由{by}办理，结果是：{result}。\
             请问您对办理结果是否满意？（满意 / 基本满意 / 不满意）",
            self.config.station.short_name,
            self.config.show.name,
            t.received_at.with_timezone(&tz).format("%m月%d日"),
            t.source.label_zh(),
            t.question,
        )
    }

    pub fn tickets_received_between(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Ticket>, TicketError> {
        self.store.query(&Query::ReceivedBetween { from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn desk(dir: &tempfile::TempDir) -> TicketDesk {
        let config = ConfigSet::embedded_demo().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        TicketDesk::new(Box::new(store), &config, None)
            .with_clock(|| at("2026-03-12T14:00:00+08:00"))
    }

    #[test]
    fn deadline_alerts_count_working_hours_and_repeat_until_the_ticket_moves() {
        let dir = tempfile::tempdir().unwrap();
        let mut desk = desk(&dir);
        // Tue 09:15: resolve due Thu 17:30 (yueyang-125, general: 2 working days)
        let soon = desk
            .create(
                NewTicket::new(Source::Call, "路灯坏了", at("2026-03-10T09:15:00+08:00")),
                "t",
            )
            .unwrap();
        // Thu 09:00: resolve due Mon 17:30, dispatch due Thu 10:00 (passed)
        let late = desk
            .create(
                NewTicket::new(Source::Call, "井盖丢了", at("2026-03-12T09:00:00+08:00")),
                "t",
            )
            .unwrap();
        let now = desk.now();
        let alerts = desk.deadline_alerts(now, 4 * 60).unwrap();
        let seen: Vec<(&str, Stage, bool)> = alerts
            .iter()
            .map(|r| (r.ticket_id.as_str(), r.stage, r.overdue))
            .collect();
        // the first ticket's dispatch deadline (Tue 10:15) passed too
        assert!(
            seen.contains(&(soon.id.as_str(), Stage::Dispatch, true)),
            "{seen:?}"
        );
        assert!(
            seen.contains(&(soon.id.as_str(), Stage::Resolve, false)),
            "{seen:?}"
        );
        assert!(
            seen.contains(&(late.id.as_str(), Stage::Dispatch, true)),
            "{seen:?}"
        );
        assert!(
            !seen.contains(&(late.id.as_str(), Stage::Resolve, false)),
            "{seen:?}"
        );
        // asked again: the same (a banner remembers what was acknowledged)
        assert_eq!(desk.deadline_alerts(now, 4 * 60).unwrap(), alerts);
        // four working hours from Thu 14:00 end Fri 10:00 (closing 17:30):
        // the Monday deadline is not within them
        let friday = at("2026-03-13T09:00:00+08:00");
        let ids: Vec<String> = desk
            .deadline_alerts(friday, 4 * 60)
            .unwrap()
            .into_iter()
            .filter(|r| !r.overdue)
            .map(|r| r.ticket_id)
            .collect();
        assert!(!ids.contains(&late.id), "{ids:?}");
    }

    #[test]
    fn reassigning_to_an_unknown_department_is_refused_and_audited_when_known() {
        let dir = tempfile::tempdir().unwrap();
        let mut desk = desk(&dir);
        let t = desk
            .create(
                NewTicket::new(Source::Wechat, "问题", at("2026-03-12T09:00:00+08:00")),
                "t",
            )
            .unwrap();
        let t = desk
            .apply(
                &t.id,
                1,
                &Change::Classify {
                    class: TicketClass::General,
                    departments: vec!["rsj".into()],
                },
                "bo",
            )
            .unwrap();
        let unknown = Change::Reassign {
            departments: vec!["nope".into()],
            reason: "r".into(),
        };
        assert!(matches!(
            desk.apply(&t.id, t.version, &unknown, "bo"),
            Err(TicketError::UnknownDepartment { .. })
        ));
        let ok = Change::Reassign {
            departments: vec!["ybj".into()],
            reason: "医保问题".into(),
        };
        let t = desk.apply(&t.id, t.version, &ok, "bo").unwrap();
        assert_eq!(t.departments, ["ybj"]);
        let audit = desk.audit(&t.id).unwrap();
        let last = audit.last().unwrap();
        assert_eq!(last.action, "reassign");
        assert_eq!(last.who, "bo");
        assert_eq!(last.detail["change"]["reason"], "医保问题");
    }
}

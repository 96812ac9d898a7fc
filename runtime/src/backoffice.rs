//! The back office's view of the ticket desk: queues, statistics, one
//! ticket with its audit trail and the journal it came from, and the
//! export. Used alike by the window on this PC and back-office seats on
//! other PCs (through the seats listener); only a role that may work
//! tickets gets them ([`crate::Role::may_work_tickets`]).

use std::path::Path;

use airbridge_show::{Journal, LineNo, ShowEvent, StoredEvent};
use airbridge_tickets::{AuditEntry, Ticket, WorkQueue, report::Report};
use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::Runtime;

/// The back office's queues, as of `at`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TicketSnapshot {
    pub at: DateTime<Utc>,
    pub queues: Vec<(QueueKind, Vec<Ticket>)>,
    /// Tickets received in the last 30 days.
    pub report: Option<Report>,
    /// Per local day of the last 14: (date, received, resolved).
    pub by_day: Vec<(NaiveDate, u64, u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueKind {
    New,
    ToDispatch,
    Overdue,
    DueSoon,
    ToCallBack,
}

impl QueueKind {
    pub const ALL: [QueueKind; 5] = [
        QueueKind::New,
        QueueKind::ToDispatch,
        QueueKind::Overdue,
        QueueKind::DueSoon,
        QueueKind::ToCallBack,
    ];

    pub fn label_zh(self) -> &'static str {
        match self {
            QueueKind::New => "新建待分类",
            QueueKind::ToDispatch => "待派发",
            QueueKind::Overdue => "已超期",
            QueueKind::DueSoon => "即将到期",
            QueueKind::ToCallBack => "待回访",
        }
    }

    fn work_queue(self) -> WorkQueue {
        match self {
            QueueKind::New => WorkQueue::New,
            QueueKind::ToDispatch => WorkQueue::ToDispatch,
            QueueKind::Overdue => WorkQueue::Overdue,
            QueueKind::DueSoon => WorkQueue::DueSoon(Duration::days(1)),
            QueueKind::ToCallBack => WorkQueue::ToCallBack,
        }
    }
}

/// One ticket opened in the back office.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TicketDetail {
    pub ticket: Ticket,
    pub audit: Vec<AuditEntry>,
    /// Journal events the ticket came from: the call, its notes and
    /// transcript, or the audience message.
    pub context: Vec<StoredEvent>,
    /// The call-back script (回访话术) filled in from the ticket.
    pub script: String,
}

/// Events scanned after a call for its context (notes, transcript).
const CONTEXT_SCAN: usize = 20_000;

struct Snap;

impl Snap {
    pub(crate) fn snapshot(
        desk: &mut airbridge_tickets::TicketDesk,
        tz: chrono_tz::Tz,
        now: DateTime<Utc>,
    ) -> (TicketSnapshot, Vec<String>) {
        let mut problems = Vec::new();
        let mut queues = Vec::new();
        for kind in QueueKind::ALL {
            match desk.queue(&kind.work_queue(), now) {
                Ok(list) => queues.push((kind, list)),
                Err(e) => problems.push(format!("工单队列读取失败：{e}")),
            }
        }
        let today = now.with_timezone(&tz).date_naive();
        let from = today - Duration::days(29);
        let start = local_midnight(from, tz);
        let recent = desk
            .tickets_received_between(start, now + Duration::seconds(1))
            .unwrap_or_default();
        let report = airbridge_tickets::report::build(
            &recent,
            desk.calendar(),
            from,
            today + Duration::days(1),
            now,
        )
        .ok();
        let mut by_day = Vec::new();
        for back in (0..14).rev() {
            let day = today - Duration::days(back);
            let received = recent
                .iter()
                .filter(|t| t.received_at.with_timezone(&tz).date_naive() == day)
                .count() as u64;
            let resolved = recent
                .iter()
                .filter(|t| {
                    t.resolved_at
                        .is_some_and(|r| r.with_timezone(&tz).date_naive() == day)
                })
                .count() as u64;
            by_day.push((day, received, resolved));
        }
        (
            TicketSnapshot {
                at: now,
                queues,
                report,
                by_day,
            },
            problems,
        )
    }
}

impl Runtime {
    /// The back office's queues and statistics as of `now`, with any
    /// problems reading them. `None`: the show has no ticket desk.
    pub fn ticket_snapshot(&self, now: DateTime<Utc>) -> Option<(TicketSnapshot, Vec<String>)> {
        let tz = self.config().station.time_zone;
        self.with_desk(|desk| Snap::snapshot(desk, tz, now))
    }

    /// One ticket with its audit trail, call-back script and journal context.
    pub fn ticket_detail(&self, id: &str) -> Option<Result<TicketDetail, String>> {
        let loaded = self.with_desk(|desk| {
            desk.get(id)
                .and_then(|t| Ok((desk.audit(id)?, desk.callback_script(&t), t)))
        })?;
        Some(match loaded {
            Ok((audit, script, ticket)) => Ok(TicketDetail {
                context: context(self.journal(), &ticket),
                ticket,
                audit,
                script,
            }),
            Err(e) => Err(format!("工单 {id} 打不开：{e}")),
        })
    }

    /// Exports the last 30 days of tickets (XLSX) to `path`; the number of rows.
    pub fn export_tickets(&self, now: DateTime<Utc>, path: &Path) -> Result<usize, String> {
        let tz = self.config().station.time_zone;
        let today = now.with_timezone(&tz).date_naive();
        let from = today - Duration::days(29);
        let result = self.with_desk(|desk| {
            desk.tickets_received_between(local_midnight(from, tz), now + Duration::seconds(1))
                .map_err(|e| e.to_string())
                .and_then(|tickets| {
                    // the XLSX carries the figures per department too
                    let report = airbridge_tickets::report::build_by(
                        &tickets,
                        desk.calendar(),
                        from,
                        today + Duration::days(1),
                        now,
                        Some(airbridge_tickets::report::GroupBy::Department),
                        &self.config().station.short_name,
                    )
                    .map_err(|e| e.to_string())?;
                    airbridge_tickets::export::export(
                        &tickets,
                        &report,
                        tz,
                        path,
                        airbridge_tickets::export::ExportFormat::Xlsx,
                        true,
                    )
                    .map_err(|e| e.to_string())?;
                    Ok(tickets.len())
                })
        });
        result.unwrap_or_else(|| Err("工单库不可用 / ticket store unavailable".to_owned()))
    }
}

/// The journal events a ticket refers to, and for a call what was noted
/// and said on that line until it was cleared.
fn context(journal: &Journal, ticket: &Ticket) -> Vec<StoredEvent> {
    let Some(&first) = ticket.journal_refs.iter().min() else {
        return Vec::new();
    };
    let Ok(replay) = journal.replay(first) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut call_line: Option<LineNo> = None;
    for ev in replay.take(CONTEXT_SCAN) {
        let Ok(ev) = ev else { break };
        let wanted = ticket.journal_refs.contains(&ev.seq);
        if wanted && let ShowEvent::CallRang { line, .. } = &ev.event {
            call_line = Some(*line);
        }
        let on_call_line = match (&ev.event, call_line) {
            (ShowEvent::CallerNoted { line, .. }, Some(l)) => *line == l,
            (ShowEvent::TranscriptSegment { line, is_final, .. }, Some(l)) => {
                *line == l && *is_final
            }
            (ShowEvent::LineStateChanged { line, to, .. }, Some(l)) if *line == l => {
                if *to == airbridge_show::LineState::Idle {
                    out.push(ev);
                    break;
                }
                true
            }
            _ => false,
        };
        if wanted || on_call_line {
            out.push(ev);
        }
    }
    out
}

fn local_midnight(day: NaiveDate, tz: chrono_tz::Tz) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(tz).earliest())
        .map_or_else(
            || day.and_time(chrono::NaiveTime::MIN).and_utc(),
            |t| t.with_timezone(&Utc),
        )
}

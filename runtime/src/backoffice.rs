//! The back office's view of the ticket desk: queues, statistics, one
//! ticket with its audit trail and the journal it came from, and the
//! export. Used alike by the window on this PC and back-office seats on
//! other PCs (through the seats listener); only a role that may work
//! tickets gets them ([`crate::Role::may_work_tickets`]).
//!
//! Attachments live beside the data: `<data>/attachments/<ticket id>/<sha256>-<name>`
//! ([`Runtime::attach_file`]); the ticket's audit trail says what they are.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use airbridge_show::{Journal, LineNo, ShowEvent, StoredEvent};
use airbridge_tickets::{
    Attachment, AuditEntry, Change, MAX_ATTACHMENT_BYTES, Reminder, Ticket, WorkQueue,
    attachment_problem, report::Report,
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sha2::Digest;

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
    /// Open tickets of each department of the directory (by id, in the
    /// directory's order).
    #[serde(default)]
    pub by_department: Vec<(String, Vec<Ticket>)>,
    /// Deadlines passed, and resolve deadlines within
    /// [`DUE_SOON_BUSINESS_MINUTES`] of working time, as of `at`: all of
    /// them, every time (a seat remembers which its user acknowledged).
    #[serde(default)]
    pub alerts: Vec<Reminder>,
}

impl TicketSnapshot {
    /// The open tickets of one department (empty when it has none).
    pub fn department(&self, id: &str) -> &[Ticket] {
        self.by_department
            .iter()
            .find(|(d, _)| d == id)
            .map_or(&[], |(_, l)| l.as_slice())
    }
}

/// "Due soon" for the seat's alerts: within this much working time.
pub const DUE_SOON_BUSINESS_MINUTES: u32 = 4 * 60;

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
    /// The files attached to the ticket, oldest first.
    #[serde(default)]
    pub attachments: Vec<StoredAttachment>,
}

impl TicketDetail {
    /// What was said on the call, final transcript segments in order:
    /// (when, text).
    pub fn transcript(&self) -> Vec<(i64, &str)> {
        self.context
            .iter()
            .filter_map(|ev| match &ev.event {
                ShowEvent::TranscriptSegment {
                    text,
                    is_final: true,
                    ..
                } => Some((ev.at_ms, text.as_str())),
                _ => None,
            })
            .collect()
    }
}

/// An attachment and whether its file is where the runtime keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredAttachment {
    pub attachment: Attachment,
    /// The file is in the ticket's attachments folder.
    pub stored: bool,
}

/// Events scanned after a call for its context (notes, transcript).
const CONTEXT_SCAN: usize = 20_000;

struct Snap;

impl Snap {
    pub(crate) fn snapshot(
        desk: &mut airbridge_tickets::TicketDesk,
        config: &airbridge_configs::ConfigSet,
        now: DateTime<Utc>,
    ) -> (TicketSnapshot, Vec<String>) {
        let tz = config.station.time_zone;
        let mut problems = Vec::new();
        let mut queues = Vec::new();
        for kind in QueueKind::ALL {
            match desk.queue(&kind.work_queue(), now) {
                Ok(list) => queues.push((kind, list)),
                Err(e) => problems.push(format!("工单队列读取失败：{e}")),
            }
        }
        let mut by_department = Vec::new();
        for d in &config.departments {
            match desk.queue(&WorkQueue::Department(d.id.clone()), now) {
                Ok(list) => by_department.push((d.id.clone(), list)),
                Err(e) => {
                    problems.push(format!("{} 的工单读取失败：{e}", d.short_name));
                    break;
                }
            }
        }
        let alerts = desk
            .deadline_alerts(now, DUE_SOON_BUSINESS_MINUTES)
            .unwrap_or_else(|e| {
                problems.push(format!("工单时限提醒读取失败：{e}"));
                Vec::new()
            });
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
                by_department,
                alerts,
            },
            problems,
        )
    }
}

impl Runtime {
    /// The back office's queues and statistics as of `now`, with any
    /// problems reading them. `None`: the show has no ticket desk.
    pub fn ticket_snapshot(&self, now: DateTime<Utc>) -> Option<(TicketSnapshot, Vec<String>)> {
        let config = self.config();
        self.with_desk(|desk| Snap::snapshot(desk, config, now))
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
                attachments: self.stored_attachments(&ticket.id, &audit),
                ticket,
                audit,
                script,
            }),
            Err(e) => Err(format!("工单 {id} 打不开：{e}")),
        })
    }

    /// The statistics of the tickets received from `from` to `to` (local
    /// dates as a seat types them, `YYYY-MM-DD`, both included) as of `now`,
    /// grouped `by` department, topic, channel or station: the figures the
    /// back-office seat plots, the same as `airbridge tickets report`.
    pub fn ticket_report(
        &self,
        from: &str,
        to: &str,
        by: Option<airbridge_tickets::report::GroupBy>,
        now: DateTime<Utc>,
    ) -> Result<Report, String> {
        let (from, to) = (
            crate::guides::typed_day(from)?,
            crate::guides::typed_day(to)?,
        );
        if to < from {
            return Err(format!("结束日期 {to} 早于开始日期 {from}"));
        }
        let config = self.config();
        let tz = config.station.time_zone;
        let end = to + Duration::days(1);
        let station = config.station.short_name.clone();
        let result = self.with_desk(|desk| {
            desk.tickets_received_between(local_midnight(from, tz), local_midnight(end, tz))
                .map_err(|e| format!("工单读取失败：{e}"))
                .and_then(|tickets| {
                    airbridge_tickets::report::build_by(
                        &tickets,
                        desk.calendar(),
                        from,
                        end,
                        now,
                        by,
                        &station,
                    )
                    .map_err(|e| format!("工作日历：{e}"))
                })
        });
        result.unwrap_or_else(|| Err("工单库不可用 / ticket store unavailable".to_owned()))
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

impl Runtime {
    /// Where a ticket's attachments are kept: `<data>/attachments/<ticket id>`.
    pub fn attachments_dir(&self, ticket_id: &str) -> PathBuf {
        self.paths().data_dir.join("attachments").join(ticket_id)
    }

    fn stored_attachments(&self, ticket_id: &str, audit: &[AuditEntry]) -> Vec<StoredAttachment> {
        let dir = self.attachments_dir(ticket_id);
        Attachment::from_audit(audit)
            .into_iter()
            .map(|a| StoredAttachment {
                stored: dir.join(a.stored_name()).is_file(),
                attachment: a,
            })
            .collect()
    }

    /// Keeps the file at `path` with a ticket: copies it to
    /// `<data>/attachments/<ticket id>/<sha256>-<name>` and records it
    /// ([`Change::Attach`]) on the version the user saw, as `seat`. Refuses
    /// a file over 20 MiB, an empty one, and a name with folders in it; a
    /// refused change leaves no file behind. Reads and writes the disk:
    /// call off the UI thread.
    pub fn attach_file(
        &self,
        ticket_id: &str,
        based_on: u64,
        path: &Path,
        seat: &str,
    ) -> Result<Ticket, String> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| format!("附件路径没有可用的文件名：{}", path.display()))?
            .to_owned();
        if let Some((_, why)) = attachment_problem(&name, &"0".repeat(64), 1) {
            return Err(format!("附件名不可用（{why}）：{name}"));
        }
        let meta = std::fs::metadata(path)
            .map_err(|e| format!("附件 {} 无法读取：{e}", path.display()))?;
        if !meta.is_file() {
            return Err(format!("附件不是文件：{}", path.display()));
        }
        if meta.len() > MAX_ATTACHMENT_BYTES {
            return Err(too_big(&name, meta.len()));
        }
        // the ticket must exist before its id names a folder
        match self.with_desk(|desk| desk.get(ticket_id)) {
            None => return Err("工单库不可用 / ticket store unavailable".to_owned()),
            Some(Err(e)) => return Err(format!("工单 {ticket_id} 打不开：{e}")),
            Some(Ok(_)) => {}
        }
        let dir = self.attachments_dir(ticket_id);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("附件目录无法创建 {}：{e}", dir.display()))?;
        let (sha256, bytes, incoming) = copy_hashed(path, &dir, &name)?;
        let stored = dir.join(airbridge_tickets::model::stored_name(&sha256, &name));
        let created = if stored.is_file() {
            // the same content under the same name is kept once
            let _ = std::fs::remove_file(&incoming);
            false
        } else {
            std::fs::rename(&incoming, &stored).map_err(|e| {
                let _ = std::fs::remove_file(&incoming);
                format!("附件无法保存到 {}：{e}", stored.display())
            })?;
            true
        };
        let change = Change::Attach {
            name: name.clone(),
            sha256,
            bytes,
        };
        let applied = self
            .with_desk(|desk| desk.apply(ticket_id, based_on, &change, seat))
            .unwrap_or_else(|| {
                Err(airbridge_tickets::TicketError::Store {
                    store: "tickets".into(),
                    op: "attach",
                    detail: "ticket store unavailable".into(),
                })
            });
        applied.map_err(|e| {
            if created {
                let _ = std::fs::remove_file(&stored);
            }
            format!("工单 {ticket_id} 未保存附件 {name}：{e}")
        })
    }
}

fn too_big(name: &str, bytes: u64) -> String {
    format!(
        "附件 {name} 有 {:.1} MiB，超过 {} MiB 上限",
        bytes as f64 / 1024.0 / 1024.0,
        MAX_ATTACHMENT_BYTES / 1024 / 1024
    )
}

/// Copies `from` into a new file in `dir` while hashing it, at most
/// [`MAX_ATTACHMENT_BYTES`] (a file that grew meanwhile is refused):
/// (sha256 hex, bytes, the new file).
fn copy_hashed(from: &Path, dir: &Path, name: &str) -> Result<(String, u64, PathBuf), String> {
    let mut src =
        std::fs::File::open(from).map_err(|e| format!("附件 {} 无法读取：{e}", from.display()))?;
    let incoming = dir.join(format!(".incoming-{:016x}", rand::random::<u64>()));
    let result = (|| {
        let mut out = std::fs::File::create(&incoming)?;
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            let n = src.read(&mut buf)?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > MAX_ATTACHMENT_BYTES {
                return Ok(None);
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])?;
        }
        out.sync_all()?;
        let hex: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok::<_, std::io::Error>(Some((hex, total)))
    })();
    match result {
        Ok(Some((hex, total))) if total > 0 => Ok((hex, total, incoming)),
        Ok(Some(_)) => {
            let _ = std::fs::remove_file(&incoming);
            Err(format!("附件 {name} 是空文件"))
        }
        Ok(None) => {
            let _ = std::fs::remove_file(&incoming);
            Err(too_big(name, MAX_ATTACHMENT_BYTES + 1))
        }
        Err(e) => {
            let _ = std::fs::remove_file(&incoming);
            Err(format!("附件 {name} 无法复制到 {}：{e}", dir.display()))
        }
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

#[cfg(test)]
mod tests {
    use airbridge_tickets::{NewTicket, Source};

    use super::*;
    use crate::{KbSource, RuntimeOptions, StationPaths};

    fn runtime(dir: &Path) -> Runtime {
        let config = airbridge_configs::ConfigSet::embedded_demo().unwrap();
        let paths = StationPaths::under(dir, &config);
        Runtime::start(RuntimeOptions {
            kb: KbSource::None,
            speech: false,
            ..RuntimeOptions::new(config, paths, Default::default())
        })
        .unwrap()
    }

    fn ticket(rt: &Runtime) -> Ticket {
        rt.with_desk(|d| {
            let now = d.now();
            d.create(NewTicket::new(Source::Call, "路灯坏了", now), "t")
        })
        .unwrap()
        .unwrap()
    }

    #[test]
    fn an_attached_file_is_kept_by_its_digest_and_listed_with_the_ticket() {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime(dir.path());
        let t = ticket(&rt);
        let file = dir.path().join("照片.txt");
        std::fs::write(&file, b"abc").unwrap();
        let after = rt
            .attach_file(&t.id, t.version, &file, "backoffice")
            .unwrap();
        assert_eq!(after.version, t.version + 1);
        // sha256("abc")
        let sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let kept = dir
            .path()
            .join("attachments")
            .join(&t.id)
            .join(format!("{sha}-照片.txt"));
        assert_eq!(std::fs::read(&kept).unwrap(), b"abc");
        let detail = rt.ticket_detail(&t.id).unwrap().unwrap();
        assert_eq!(detail.attachments.len(), 1);
        assert!(detail.attachments[0].stored);
        assert_eq!(detail.attachments[0].attachment.bytes, 3);
        assert_eq!(detail.attachments[0].attachment.by, "backoffice");
        // nothing else is left in the folder (no half-copied files)
        assert_eq!(
            std::fs::read_dir(kept.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[test]
    fn big_empty_and_stale_attachments_are_refused_and_leave_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime(dir.path());
        let t = ticket(&rt);
        let big = dir.path().join("big.bin");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(MAX_ATTACHMENT_BYTES + 1)
            .unwrap();
        let e = rt.attach_file(&t.id, t.version, &big, "bo").unwrap_err();
        assert!(e.contains("20 MiB"), "{e}");
        let empty = dir.path().join("empty.txt");
        std::fs::write(&empty, b"").unwrap();
        let e = rt.attach_file(&t.id, t.version, &empty, "bo").unwrap_err();
        assert!(e.contains("空文件"), "{e}");
        // another seat changed the ticket meanwhile: refused, nothing kept
        let small = dir.path().join("a.txt");
        std::fs::write(&small, b"a").unwrap();
        let e = rt
            .attach_file(&t.id, t.version + 7, &small, "bo")
            .unwrap_err();
        assert!(e.contains("未保存附件"), "{e}");
        let e = rt.attach_file("T-none", 1, &small, "bo").unwrap_err();
        assert!(e.contains("打不开"), "{e}");
        let folder = rt.attachments_dir(&t.id);
        let left = std::fs::read_dir(&folder).map_or(0, Iterator::count);
        assert_eq!(left, 0, "{}", folder.display());
        assert!(
            rt.ticket_detail(&t.id)
                .unwrap()
                .unwrap()
                .attachments
                .is_empty()
        );
    }
}

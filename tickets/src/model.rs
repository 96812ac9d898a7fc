//! The follow-up ticket (工单) and its lifecycle.
//!
//! ```text
//! received 受理 → classified 分类 → dispatched 转办 → resolved 办结 → called_back 回访 → closed
//!                     ^ (re-classify)        ^                                │ dissatisfied
//!                                            └──────────── reopen ────────────┘
//! escalate, note, attach: in any state but closed (a note: in any state)
//! reassign 改派 (other departments, with a reason): classified or dispatched
//! ```
//! Every change bumps the ticket's `version` and yields an [`AuditEntry`].

use airbridge_configs::TicketClass;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where the question came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Call,
    Danmaku,
    Wechat,
    Sms,
    WalkIn,
}

impl Source {
    pub const ALL: [Source; 5] = [
        Source::Call,
        Source::Danmaku,
        Source::Wechat,
        Source::Sms,
        Source::WalkIn,
    ];

    pub fn label_zh(self) -> &'static str {
        match self {
            Source::Call => "热线来电",
            Source::Danmaku => "直播弹幕",
            Source::Wechat => "微信",
            Source::Sms => "短信",
            Source::WalkIn => "现场",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Call => "call",
            Source::Danmaku => "danmaku",
            Source::Wechat => "wechat",
            Source::Sms => "sms",
            Source::WalkIn => "walk_in",
        }
    }
}

impl std::str::FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Source::ALL
            .into_iter()
            .find(|x| {
                x.as_str() == s || x.label_zh() == s || (s == "walk-in" && *x == Source::WalkIn)
            })
            .ok_or_else(|| {
                format!("unknown source {s:?}: use call, danmaku, wechat, sms or walk_in")
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    Received,
    Classified,
    Dispatched,
    Resolved,
    CalledBack,
    Closed,
}

impl TicketState {
    pub const ALL: [TicketState; 6] = [
        TicketState::Received,
        TicketState::Classified,
        TicketState::Dispatched,
        TicketState::Resolved,
        TicketState::CalledBack,
        TicketState::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketState::Received => "received",
            TicketState::Classified => "classified",
            TicketState::Dispatched => "dispatched",
            TicketState::Resolved => "resolved",
            TicketState::CalledBack => "called_back",
            TicketState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        TicketState::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            TicketState::Received => "受理",
            TicketState::Classified => "分类",
            TicketState::Dispatched => "转办",
            TicketState::Resolved => "办结",
            TicketState::CalledBack => "回访",
            TicketState::Closed => "关闭",
        }
    }

    /// Not yet resolved: the resolve deadline applies.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            TicketState::Received | TicketState::Classified | TicketState::Dispatched
        )
    }
}

/// The citizen's verdict at call-back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    Satisfied,
    BasicallySatisfied,
    Dissatisfied,
}

impl Satisfaction {
    pub fn label_zh(self) -> &'static str {
        match self {
            Satisfaction::Satisfied => "满意",
            Satisfaction::BasicallySatisfied => "基本满意",
            Satisfaction::Dissatisfied => "不满意",
        }
    }
}

impl std::str::FromStr for Satisfaction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "satisfied" | "满意" => Ok(Satisfaction::Satisfied),
            "basically_satisfied" | "基本满意" => Ok(Satisfaction::BasicallySatisfied),
            "dissatisfied" | "不满意" => Ok(Satisfaction::Dissatisfied),
            other => Err(format!(
                "unknown satisfaction {other:?}: use 满意, 基本满意 or 不满意"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackOutcome {
    Reached,
    NoAnswer,
    WrongNumber,
    Declined,
}

impl std::str::FromStr for CallbackOutcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "reached" => Ok(CallbackOutcome::Reached),
            "no_answer" | "no-answer" => Ok(CallbackOutcome::NoAnswer),
            "wrong_number" | "wrong-number" => Ok(CallbackOutcome::WrongNumber),
            "declined" => Ok(CallbackOutcome::Declined),
            other => Err(format!(
                "unknown outcome {other:?}: use reached, no_answer, wrong_number or declined"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackAttempt {
    pub at: DateTime<Utc>,
    pub by: String,
    pub outcome: CallbackOutcome,
    pub satisfaction: Option<Satisfaction>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub at: DateTime<Utc>,
    pub by: String,
    pub text: String,
}

/// A follow-up ticket. `contact` is personal data: list views show
/// [`Ticket::contact_masked`]; only back-office roles read the full value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: String,
    pub version: u64,
    pub source: Source,
    /// Journal sequence numbers of the context (call, transcript, message, recording).
    pub journal_refs: Vec<u64>,
    pub contact: Option<String>,
    pub citizen_name: Option<String>,
    pub question: String,
    pub topic: String,
    pub class: TicketClass,
    pub departments: Vec<String>,
    pub policy: String,
    pub received_at: DateTime<Utc>,
    pub dispatch_due: DateTime<Utc>,
    pub resolve_due: DateTime<Utc>,
    pub state: TicketState,
    pub assignee: Option<String>,
    pub notes: Vec<Note>,
    pub resolution: Option<String>,
    pub dispatched_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub callbacks: Vec<CallbackAttempt>,
    pub satisfaction: Option<Satisfaction>,
    pub escalation: u8,
    pub reopened: u32,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
    /// The station the ticket belongs to in a database shared by several
    /// (its `station.code`); empty for a station on its own.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub station: String,
    /// The caller's full number for a call-back (回拨), sealed by the
    /// runtime with the station's key: never the number itself at rest, in
    /// exports or on a screen; only the call-back opens it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_number: Option<String>,
}

impl Ticket {
    pub fn contact_masked(&self) -> String {
        self.contact
            .as_deref()
            .map(mask_contact)
            .unwrap_or_default()
    }

    /// Resolved after its deadline, or still open past it at `now`.
    pub fn is_late(&self, now: DateTime<Utc>) -> bool {
        match self.resolved_at {
            Some(t) => t > self.resolve_due,
            None => self.state.is_open() && now > self.resolve_due,
        }
    }

    /// Awaiting dispatch past its dispatch deadline at `now`.
    pub fn dispatch_late(&self, now: DateTime<Utc>) -> bool {
        matches!(self.state, TicketState::Received | TicketState::Classified)
            && now > self.dispatch_due
    }
}

/// Masks a phone number or other contact for list views: a mainland mobile
/// keeps its first 3 and last 4 digits (138****0000); anything else keeps its
/// last 2 characters.
pub fn mask_contact(contact: &str) -> String {
    let digits: String = contact.chars().filter(char::is_ascii_digit).collect();
    if digits.len() == 11 && digits.starts_with('1') {
        return format!("{}****{}", &digits[..3], &digits[7..]);
    }
    let chars: Vec<char> = contact.chars().collect();
    if chars.len() <= 2 {
        return "*".repeat(chars.len());
    }
    let keep: String = chars[chars.len() - 2..].iter().collect();
    format!("{}{keep}", "*".repeat(chars.len() - 2))
}

/// One line of a ticket's audit trail: who changed what, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub ticket_id: String,
    /// The ticket version this change produced (1 = creation).
    pub version: u64,
    pub at: DateTime<Utc>,
    pub who: String,
    pub action: String,
    pub detail: serde_json::Value,
}

/// What a user asks to do to a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Change {
    Classify {
        class: TicketClass,
        departments: Vec<String>,
    },
    Dispatch {
        assignee: Option<String>,
    },
    Resolve {
        resolution: String,
    },
    CallBack {
        outcome: CallbackOutcome,
        satisfaction: Option<Satisfaction>,
        note: String,
    },
    Close,
    Reopen {
        reason: String,
    },
    Escalate {
        reason: String,
    },
    Note {
        text: String,
    },
    /// Other departments for a ticket already classified or dispatched
    /// (改派), with the reason; the deadlines stay.
    Reassign {
        departments: Vec<String>,
        reason: String,
    },
    /// A file kept with the ticket (the runtime stores it as
    /// [`Attachment::stored_name`]); the ticket records what it is.
    Attach {
        name: String,
        sha256: String,
        bytes: u64,
    },
}

impl Change {
    pub fn name(&self) -> &'static str {
        match self {
            Change::Classify { .. } => "classify",
            Change::Dispatch { .. } => "dispatch",
            Change::Resolve { .. } => "resolve",
            Change::CallBack { .. } => "call_back",
            Change::Close => "close",
            Change::Reopen { .. } => "reopen",
            Change::Escalate { .. } => "escalate",
            Change::Note { .. } => "note",
            Change::Reassign { .. } => "reassign",
            Change::Attach { .. } => "attach",
        }
    }
}

/// Failed call-back attempts after which an unreachable citizen's ticket may be closed.
pub const MAX_FAILED_CALLBACKS: usize = 3;

/// The largest file a ticket takes as an attachment (20 MiB).
pub const MAX_ATTACHMENT_BYTES: u64 = 20 * 1024 * 1024;

/// A file attached to a ticket, as its audit trail records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The file's own name (no folders).
    pub name: String,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    pub bytes: u64,
    pub at: DateTime<Utc>,
    pub by: String,
}

impl Attachment {
    /// The file name it is kept under, in the ticket's attachments folder:
    /// `<sha256>-<name>` (the same name twice with other content: two files).
    pub fn stored_name(&self) -> String {
        stored_name(&self.sha256, &self.name)
    }

    /// The attachments a ticket's audit trail records, oldest first.
    pub fn from_audit(audit: &[AuditEntry]) -> Vec<Attachment> {
        audit
            .iter()
            .filter(|a| a.action == "attach")
            .filter_map(|a| {
                let change = a.detail.get("change")?;
                Some(Attachment {
                    name: change.get("name")?.as_str()?.to_owned(),
                    sha256: change.get("sha256")?.as_str()?.to_owned(),
                    bytes: change.get("bytes")?.as_u64()?,
                    at: a.at,
                    by: a.who.clone(),
                })
            })
            .collect()
    }
}

/// `<sha256>-<name>`: where an attachment's content is kept.
pub fn stored_name(sha256: &str, name: &str) -> String {
    format!("{sha256}-{name}")
}

/// Why an attachment's name, digest or size cannot be taken, if so: a name
/// is one file name (no folders, no `..`, no control characters, at most
/// 200 bytes), the digest 64 lowercase hex digits, the size 1 byte to
/// [`MAX_ATTACHMENT_BYTES`].
pub fn attachment_problem(name: &str, sha256: &str, bytes: u64) -> Option<(&'static str, String)> {
    if name.trim().is_empty() {
        return Some(("name", "the file needs a name".into()));
    }
    if name.contains(['/', '\\']) || name == "." || name == ".." {
        return Some((
            "name",
            format!("{name:?} is not a plain file name (no folders)"),
        ));
    }
    if name.chars().any(char::is_control) || name.len() > 200 {
        return Some((
            "name",
            "a file name has no control characters and at most 200 bytes".into(),
        ));
    }
    if sha256.len() != 64
        || !sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Some(("sha256", "64 lowercase hex digits".into()));
    }
    if bytes == 0 {
        return Some(("bytes", "the file is empty".into()));
    }
    if bytes > MAX_ATTACHMENT_BYTES {
        return Some((
            "bytes",
            format!(
                "{bytes} bytes is more than the {} MiB an attachment may have",
                MAX_ATTACHMENT_BYTES / 1024 / 1024
            ),
        ));
    }
    None
}

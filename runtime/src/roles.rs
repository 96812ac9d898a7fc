//! Who sits at a seat, and what that seat may see and do. Checked here, in
//! the runtime, for every seat — the window on this PC and seats on other
//! PCs alike; a view that hides a button is a convenience, not the rule.
//!
//! | role | sees | may |
//! |---|---|---|
//! | `host`, `assistant` | the host view: masked numbers, masked names | mark answered, take offline |
//! | `screener` | lines, caller notes (names in full), the knowledge base | move and ring lines, notes, faders, queue, messages to the host, pins, open/close the show, answered, offline |
//! | `control` (场控) | the audience stream (held messages too), masked names | approve, reject, block and unblock; pins, answered, offline, messages to the host |
//! | `backoffice` | tickets with contact details, call-backs, statistics | ticket work, take offline |
//! | `observer` | everything a host sees | nothing |

use airbridge_show::{ShowEvent, StoredEvent};

use crate::Action;

/// A seat's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Host,
    Assistant,
    Screener,
    /// 场控: live-room control and moderation.
    Control,
    Backoffice,
    Observer,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Host,
        Role::Assistant,
        Role::Screener,
        Role::Control,
        Role::Backoffice,
        Role::Observer,
    ];

    /// The name in token files and on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Role::Host => "host",
            Role::Assistant => "assistant",
            Role::Screener => "screener",
            Role::Control => "control",
            Role::Backoffice => "backoffice",
            Role::Observer => "observer",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Host => "主持人",
            Role::Assistant => "助理主持",
            Role::Screener => "导播 / 接线",
            Role::Control => "场控",
            Role::Backoffice => "后台",
            Role::Observer => "旁听",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Some(match s.trim() {
            "host" => Role::Host,
            "assistant" => Role::Assistant,
            "screener" | "producer" => Role::Screener,
            "control" => Role::Control,
            "backoffice" | "back-office" => Role::Backoffice,
            "observer" => Role::Observer,
            _ => return None,
        })
    }

    /// Whether this role may ask for `action`.
    pub fn permits(self, action: &Action) -> bool {
        use Role::*;
        match action {
            Action::Move { .. }
            | Action::Ring { .. }
            | Action::Fader { .. }
            | Action::Mute { .. }
            | Action::Gain { .. }
            | Action::Note { .. }
            | Action::QueueOrder { .. }
            | Action::Show { .. } => self == Screener,
            Action::Pin(_) | Action::Unpin(_) => matches!(self, Screener | Control),
            Action::AnswerInWriting { .. } => matches!(self, Screener | Control | Backoffice),
            Action::Approve { .. }
            | Action::Reject { .. }
            | Action::Block { .. }
            | Action::Unblock { .. } => matches!(self, Screener | Control),
            Action::Message { .. } => matches!(self, Screener | Control),
            Action::Answered(_) => matches!(self, Host | Assistant | Screener | Control),
            // the dump button is on every on-air seat; running the delay
            // down or up is the producer's
            Action::Delay {
                command: airbridge_show::DelayCommand::Dump { .. },
            } => matches!(self, Host | Assistant | Screener | Control),
            Action::Delay { .. } => matches!(self, Screener | Control),
            // the producers correct the knowledge base; the host reads it
            Action::KbSave { .. } | Action::KbRetire { .. } => {
                matches!(self, Assistant | Screener | Control | Backoffice)
            }
            Action::Plan { .. } | Action::StartSegment { .. } => {
                matches!(self, Host | Assistant | Screener | Control)
            }
            Action::Offline { .. } => {
                matches!(self, Host | Assistant | Screener | Control | Backoffice)
            }
            // the call-back opens a citizen's full number: the back office's
            Action::CallBack { .. } => self == Backoffice,
        }
    }

    /// Ticket work, and tickets' contact details (the full number).
    pub fn may_work_tickets(self) -> bool {
        self == Role::Backoffice
    }

    /// Searching the knowledge base.
    pub fn may_search_kb(self) -> bool {
        self != Role::Observer
    }

    /// Whether the seat sees messages held for (or refused by) the 场控.
    pub fn sees_held(self) -> bool {
        matches!(self, Role::Screener | Role::Control | Role::Backoffice)
    }

    /// Whether the seat sees callers' names as the screener noted them.
    pub fn sees_names(self) -> bool {
        matches!(self, Role::Screener | Role::Backoffice)
    }

    /// The event as this role may see it: names masked where the role
    /// sees only masked names. Every event is delivered (so sequence
    /// numbers have no gaps); only fields change.
    pub fn redact(self, ev: &StoredEvent) -> Option<StoredEvent> {
        match &ev.event {
            // held, rejected and blocked messages never reach a host seat:
            // their text and author are blanked (an approval carries them)
            ShowEvent::AudienceMessage {
                source,
                id,
                kind,
                cluster,
                test,
                moderation,
                ..
            } if !moderation.is_shown() && !self.sees_held() => Some(StoredEvent {
                event: ShowEvent::AudienceMessage {
                    source: source.clone(),
                    id: id.clone(),
                    kind: *kind,
                    author: String::new(),
                    text: String::new(),
                    cluster: *cluster,
                    test: *test,
                    moderation: *moderation,
                    author_key: String::new(),
                },
                ..ev.clone()
            }),
            ShowEvent::CallerNoted { line, note }
                if !self.sees_names() && !note.name.is_empty() =>
            {
                let mut note = note.clone();
                note.name = crate::callers::mask_name(&note.name);
                Some(StoredEvent {
                    event: ShowEvent::CallerNoted { line: *line, note },
                    ..ev.clone()
                })
            }
            _ => None,
        }
    }

    /// Why this role may not do `what` (for refusals).
    pub fn refusal(self, what: &str) -> String {
        format!("“{}”席位无权：{what}", self.label_zh())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airbridge_show::{CallerNote, ItemRef, LineState};

    #[test]
    fn roles_round_trip_and_parse() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.name()), Some(r));
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.name()));
        }
        assert_eq!(Role::parse("admin"), None);
    }

    #[test]
    fn only_the_screener_moves_lines_and_the_observer_does_nothing() {
        let mv = Action::Move {
            line: 1,
            to: LineState::OnAir,
        };
        let answered = Action::Answered(ItemRef::Cluster(1));
        let pin = Action::Pin(ItemRef::Cluster(1));
        for r in Role::ALL {
            assert_eq!(r.permits(&mv), r == Role::Screener, "{r:?}");
        }
        assert!(Role::Host.permits(&answered));
        assert!(!Role::Host.permits(&pin));
        assert!(Role::Control.permits(&pin));
        assert!(!Role::Backoffice.permits(&pin));
        for a in [
            mv,
            answered,
            pin,
            Action::Message { text: "x".into() },
            Action::Show { open: true },
        ] {
            assert!(!Role::Observer.permits(&a), "{a:?}");
        }
        assert!(Role::Backoffice.may_work_tickets());
        assert!(!Role::Host.may_work_tickets());
    }

    #[test]
    fn names_are_masked_for_the_host_not_the_screener() {
        let ev = StoredEvent {
            seq: 7,
            at_ms: 0,
            seat: "screener".into(),
            event: ShowEvent::CallerNoted {
                line: 2,
                note: CallerNote {
                    name: "张三丰".into(),
                    ..CallerNote::default()
                },
            },
        };
        assert_eq!(Role::Screener.redact(&ev), None);
        let masked = Role::Host.redact(&ev).unwrap();
        assert_eq!(masked.seq, 7);
        let ShowEvent::CallerNoted { note, .. } = masked.event else {
            panic!()
        };
        assert_eq!(note.name, "张**");
    }
}

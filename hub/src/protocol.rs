//! What seats and the runtime say to each other: JSON text frames on a
//! WebSocket. `/seat` carries the journal (in batches, in order), commands
//! and their answers; `/meters` carries audio meters at about 20 Hz, on
//! their own connection so a burst of events never delays them, nor they
//! the events.
//!
//! Compatibility: fields may be added (with `#[serde(default)]`), never
//! renamed; a seat tells its protocol version in the `X-Airbridge-Protocol`
//! header and the runtime refuses one it does not speak.

use airbridge_configs::ConfigSet;
use airbridge_kb::{Entry, Hit};
use airbridge_runtime::backoffice::{TicketDetail, TicketSnapshot};
use airbridge_runtime::{Action, LineInfo, Outcome, Role};
use airbridge_show::StoredEvent;
use airbridge_tickets::{Change, Ticket};
use serde::{Deserialize, Serialize};

/// The protocol this build speaks.
pub const PROTOCOL: u32 = 1;
/// The header a seat names its protocol version in.
pub const PROTOCOL_HEADER: &str = "x-airbridge-protocol";
/// The journal stream and commands.
pub const SEAT_PATH: &str = "/seat";
/// Audio meters.
pub const METERS_PATH: &str = "/meters";
/// Meter frames per second.
pub const METER_HZ: u32 = 20;

/// From a seat to the runtime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ToHub {
    /// Send the journal from sequence number `from` on (1 = everything),
    /// then live. Sent once per connection, after the welcome.
    Follow { from: u64 },
    /// Something for the runtime to decide.
    Act { id: u64, action: Action },
    /// A question for the runtime (knowledge base, tickets).
    Ask { id: u64, ask: Ask },
}

/// Questions a seat may ask; each checked against its role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "ask", rename_all = "snake_case")]
pub enum Ask {
    /// The knowledge base's entries (when it is loaded).
    Kb,
    KbSearch {
        query: String,
    },
    /// The back office's queues and statistics.
    Tickets,
    /// One ticket, with contact details.
    Ticket {
        id: String,
    },
    TicketChange {
        id: String,
        based_on: u64,
        change: Change,
    },
    /// The last 30 days of tickets as XLSX.
    ExportTickets,
    /// One knowledge-base entry with its stored version and history.
    KbEntry {
        id: String,
    },
    /// The knowledge base's "needs review" queue (as of `today`, YYYY-MM-DD).
    KbReview {
        today: String,
    },
    /// The 办事攻略 guide of the show from `from` to `to` (YYYY-MM-DD, inclusive).
    Guide {
        from: String,
        to: String,
    },
    /// Ticket statistics from `from` to `to` (YYYY-MM-DD, inclusive), grouped.
    TicketReport {
        from: String,
        to: String,
        by: Option<airbridge_tickets::report::GroupBy>,
    },
}

/// What the runtime answers a question with.
// adjacently tagged: read without buffering (an internally tagged enum
// loses integer map keys, e.g. holiday calendars by year)
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "answer", content = "c", rename_all = "snake_case")]
pub enum Answer {
    Kb {
        describe: String,
        entries: Vec<Entry>,
    },
    KbHits {
        query: String,
        hits: Vec<Hit>,
    },
    Tickets(Box<TicketSnapshot>),
    Ticket(Box<TicketDetail>),
    TicketSaved(Box<Ticket>),
    Exported {
        rows: usize,
        /// The XLSX file, base64.
        xlsx: String,
    },
    KbEntry {
        entry: Box<Entry>,
        version: u32,
        history: Vec<airbridge_kb::Version>,
    },
    KbReview(Vec<airbridge_kb::ReviewItem>),
    Guide(Box<airbridge_runtime::guides::Guide>),
    TicketReport(Box<airbridge_tickets::report::Report>),
}

/// From the runtime to a seat (adjacently tagged, see [`Answer`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", content = "c", rename_all = "snake_case")]
pub enum FromHub {
    /// First frame on `/seat`: who the seat is, and the show it joins.
    Welcome(Box<Welcome>),
    /// Journal events in order, with no gap from the last batch; `head` is
    /// the journal's last sequence number when the batch was sent.
    Events { head: u64, events: Vec<StoredEvent> },
    /// The answer to an [`ToHub::Act`]: what it did, or why it was refused.
    Done {
        id: u64,
        result: Result<Outcome, String>,
    },
    Answer {
        id: u64,
        result: Result<Answer, String>,
    },
    /// The journal's head while nothing new is sent (every few seconds).
    Head { head: u64 },
}

/// Who the seat is and what it joins.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Welcome {
    pub protocol: u32,
    pub seat: String,
    pub role: Role,
    /// The show's configuration (without local paths or stores).
    pub config: Box<ConfigSet>,
    pub lines: Vec<LineInfo>,
    pub has_audio: bool,
    /// The journal's last sequence number at connect.
    pub head: u64,
    /// The runtime's journal, described (for the status bar).
    pub journal: String,
    /// The station's name for this runtime (`host:port`).
    pub runtime: String,
}

/// One meter frame: dBFS peak/RMS per line, program and cue; LUFS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MeterFrame {
    /// Per line (index 0 = line 1): `[peak, rms]`, linear 0..1.
    pub lines: Vec<[f32; 2]>,
    pub program: [f32; 2],
    pub cue: [f32; 2],
    pub momentary_lufs: f32,
    pub short_term_lufs: f32,
    /// The broadcast delay (absent when none is configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<airbridge_media::DelayReading>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use airbridge_show::{ItemRef, LineState};

    #[test]
    fn commands_read_as_documented() {
        let json = r#"{"t":"act","id":3,"action":{"action":"move","line":1,"to":"on_air"}}"#;
        let m: ToHub = serde_json::from_str(json).unwrap();
        assert_eq!(
            m,
            ToHub::Act {
                id: 3,
                action: Action::Move {
                    line: 1,
                    to: LineState::OnAir
                }
            }
        );
        let pin = ToHub::Act {
            id: 4,
            action: Action::Pin(ItemRef::Message("douyin:7301".into())),
        };
        let text = serde_json::to_string(&pin).unwrap();
        assert_eq!(
            text,
            r#"{"t":"act","id":4,"action":{"action":"pin","kind":"message","id":"douyin:7301"}}"#
        );
        assert_eq!(serde_json::from_str::<ToHub>(&text).unwrap(), pin);
        let offline =
            r#"{"t":"act","id":5,"action":{"action":"offline","item":{"kind":"cluster","id":9}}}"#;
        let m: ToHub = serde_json::from_str(offline).unwrap();
        assert!(matches!(
            m,
            ToHub::Act {
                action: Action::Offline { ticket: None, .. },
                ..
            }
        ));
    }
}

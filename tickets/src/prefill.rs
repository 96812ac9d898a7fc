//! "Take offline → ticket" in one action: a new ticket pre-filled from what
//! the show already knows about the item (question text, transcript, the
//! screener's note, where it came from, and the journal events behind it).

use airbridge_show::{ItemRef, LineState, ShowBoard};
use chrono::{DateTime, Utc};

use crate::desk::NewTicket;
use crate::model::Source;

fn source_of(feed: &str) -> Source {
    match feed {
        "wechat" => Source::Wechat,
        "sms" => Source::Sms,
        "phone" | "call" => Source::Call,
        _ => Source::Danmaku,
    }
}

/// The new ticket for `item`, or `None` if the board knows nothing about it.
pub fn from_item(
    board: &ShowBoard,
    item: &ItemRef,
    received_at: DateTime<Utc>,
) -> Option<NewTicket> {
    match item {
        ItemRef::Cluster(id) => {
            let cluster = board.audience.clusters.get(id)?;
            let members: Vec<_> = board
                .audience
                .recent_questions
                .iter()
                .filter(|m| m.cluster == Some(*id))
                .collect();
            let source = members
                .last()
                .map_or(Source::Danmaku, |m| source_of(&m.source));
            let mut t = NewTicket::new(source, cluster.example.clone(), received_at);
            t.journal_refs = members.iter().map(|m| m.seq).collect();
            if cluster.count > 1 {
                t.topic = format!("观众同问 ×{}", cluster.count);
            }
            t.item = Some(item.clone());
            Some(t)
        }
        ItemRef::Message(id) => {
            let m = board
                .audience
                .recent_questions
                .iter()
                .find(|m| &m.id == id)?;
            let mut t = NewTicket::new(source_of(&m.source), m.text.clone(), received_at);
            t.journal_refs = vec![m.seq];
            t.item = Some(item.clone());
            Some(t)
        }
        ItemRef::Call(call_seq) => {
            let (_, line) = board
                .lines
                .iter()
                .find(|(_, l)| l.call_seq == *call_seq && l.state != LineState::Idle)?;
            let transcript: Vec<&str> = line
                .transcript
                .iter()
                .filter(|s| s.is_final)
                .map(|s| s.text.as_str())
                .collect();
            let note = line.note.clone().unwrap_or_default();
            let question = if transcript.is_empty() {
                note.topic.clone()
            } else {
                transcript.join("")
            };
            let mut t = NewTicket::new(Source::Call, question, received_at);
            t.topic = note.topic.clone();
            t.citizen_name = (!note.name.is_empty()).then(|| note.name.clone());
            // The journal only holds the masked number; the phone system
            // supplies the full one to the back office.
            t.contact = (!line.caller_masked.is_empty()).then(|| line.caller_masked.clone());
            t.journal_refs = vec![*call_seq];
            t.item = Some(item.clone());
            Some(t)
        }
    }
}

#[cfg(test)]
mod tests {
    use airbridge_show::{CallerNote, MessageKind, Projection, ShowEvent, StoredEvent};

    use super::*;

    fn apply(board: &mut ShowBoard, seq: u64, event: ShowEvent) {
        board.apply(&StoredEvent {
            seq,
            at_ms: 0,
            seat: "t".into(),
            event,
        });
    }

    #[test]
    fn a_call_becomes_a_ticket_with_its_transcript() {
        let mut b = ShowBoard::default();
        apply(
            &mut b,
            1,
            ShowEvent::CallRang {
                line: 3,
                caller_masked: "138****0000".into(),
                caller_key: "k".into(),
            },
        );
        apply(
            &mut b,
            2,
            ShowEvent::CallerNoted {
                line: 3,
                note: CallerNote {
                    name: "李**".into(),
                    district: "岳阳楼区".into(),
                    topic: "公积金".into(),
                    ..Default::default()
                },
            },
        );
        for (seq, text, fin) in [
            (3, "我想问一下", false),
            (4, "我想问一下公积金怎么提取", true),
            (5, "要带什么材料", true),
        ] {
            apply(
                &mut b,
                seq,
                ShowEvent::TranscriptSegment {
                    line: 3,
                    utterance: seq / 4,
                    text: text.into(),
                    start_ms: 0,
                    end_ms: 1,
                    is_final: fin,
                },
            );
        }
        let t = from_item(&b, &ItemRef::Call(1), Utc::now()).unwrap();
        assert_eq!(t.source, Source::Call);
        assert_eq!(t.question, "我想问一下公积金怎么提取要带什么材料");
        assert_eq!(t.topic, "公积金");
        assert_eq!(t.contact.as_deref(), Some("138****0000"));
        assert_eq!(t.journal_refs, [1]);
    }

    #[test]
    fn a_cluster_becomes_a_ticket_with_its_messages() {
        let mut b = ShowBoard::default();
        for seq in 1..=3 {
            apply(
                &mut b,
                seq,
                ShowEvent::AudienceMessage {
                    source: "wechat".into(),
                    id: format!("m{seq}"),
                    kind: MessageKind::Question,
                    author: "u*".into(),
                    text: "低保怎么申请".into(),
                    cluster: Some(9),
                    test: false,
                    moderation: Default::default(),
                    author_key: String::new(),
                },
            );
        }
        let t = from_item(&b, &ItemRef::Cluster(9), Utc::now()).unwrap();
        assert_eq!(t.source, Source::Wechat);
        assert_eq!(t.journal_refs, [1, 2, 3]);
        assert_eq!(t.topic, "观众同问 ×3");
        assert!(from_item(&b, &ItemRef::Cluster(10), Utc::now()).is_none());
    }
}

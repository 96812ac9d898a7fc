//! Caller line states and the transitions a talk-show phone system allows.
//!
//! ```text
//! idle → ringing → screening ⇄ hold ⇄ ready → on_air → hold | ended
//!                     └──────────┴──────┴────────┴──→ ended (drop / hang-up)
//! ended → idle (the line is free again)
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum LineState {
    /// No call.
    #[default]
    Idle,
    /// A call is waiting to be answered.
    Ringing,
    /// The screener talks to the caller privately (cue bus only).
    Screening,
    /// Waiting; hears hold audio or program.
    Hold,
    /// Screened and next up.
    Ready,
    /// On the program bus.
    OnAir,
    /// Call finished or dropped; the line must be cleared to idle.
    Ended,
}

impl LineState {
    pub const ALL: [LineState; 7] = [
        LineState::Idle,
        LineState::Ringing,
        LineState::Screening,
        LineState::Hold,
        LineState::Ready,
        LineState::OnAir,
        LineState::Ended,
    ];

    /// Checks a transition; the error says why it is refused.
    pub fn check(self, to: LineState) -> Result<(), TransitionError> {
        use LineState::*;
        let ok = matches!(
            (self, to),
            (Idle, Ringing)
                | (Ringing, Screening | Ended)
                | (Screening, Hold | Ready | Ended)
                | (Hold, Screening | Ready | OnAir | Ended)
                | (Ready, Screening | Hold | OnAir | Ended)
                | (OnAir, Hold | Ended)
                | (Ended, Idle)
        );
        if ok {
            return Ok(());
        }
        let reason = match (self, to) {
            (a, b) if a == b => "the line is already in that state",
            (Idle, _) => "no call on this line",
            (Ringing, _) => "an unanswered call must be screened first",
            (Screening, OnAir) => "put the caller on hold or ready before air",
            (OnAir, Screening | Ready) => "take the caller off air (hold) first",
            (Ended, _) => "the call has ended; clear the line first",
            (_, Idle) => "end the call before clearing the line",
            (_, Ringing) => "a line with a call cannot ring",
            _ => "not a valid step for a caller line",
        };
        Err(TransitionError {
            from: self,
            to,
            reason,
        })
    }

    /// True while a caller is connected to the studio.
    pub fn is_connected(self) -> bool {
        matches!(
            self,
            LineState::Screening | LineState::Hold | LineState::Ready | LineState::OnAir
        )
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            LineState::Idle => "空闲",
            LineState::Ringing => "振铃",
            LineState::Screening => "筛选中",
            LineState::Hold => "等待",
            LineState::Ready => "待播",
            LineState::OnAir => "直播中",
            LineState::Ended => "已结束",
        }
    }
}

impl fmt::Display for LineState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            LineState::Idle => "idle",
            LineState::Ringing => "ringing",
            LineState::Screening => "screening",
            LineState::Hold => "hold",
            LineState::Ready => "ready",
            LineState::OnAir => "on_air",
            LineState::Ended => "ended",
        };
        f.write_str(s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("line cannot go from {from} to {to}: {reason}")]
pub struct TransitionError {
    pub from: LineState,
    pub to: LineState,
    pub reason: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use LineState::*;

    #[test]
    fn every_pair_is_decided_as_specified() {
        let valid = [
            (Idle, Ringing),
            (Ringing, Screening),
            (Ringing, Ended),
            (Screening, Hold),
            (Screening, Ready),
            (Screening, Ended),
            (Hold, Screening),
            (Hold, Ready),
            (Hold, OnAir),
            (Hold, Ended),
            (Ready, Screening),
            (Ready, Hold),
            (Ready, OnAir),
            (Ready, Ended),
            (OnAir, Hold),
            (OnAir, Ended),
            (Ended, Idle),
        ];
        for from in LineState::ALL {
            for to in LineState::ALL {
                let expected = valid.contains(&(from, to));
                let got = from.check(to);
                assert_eq!(got.is_ok(), expected, "{from} -> {to}: {got:?}");
                if let Err(e) = got {
                    assert!(!e.reason.is_empty());
                    assert!(e.to_string().contains(&from.to_string()));
                }
            }
        }
    }

    #[test]
    fn screened_caller_cannot_jump_to_air() {
        let err = Screening.check(OnAir).unwrap_err();
        assert!(err.reason.contains("hold or ready"));
    }
}

//! The runtime decides, whoever asks: line transitions, the privacy gate,
//! rings, hand-offs to the back office, the show switch — on a real journal
//! and ticket store, with and without an audio engine.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use airbridge_configs::ConfigSet;
use airbridge_configs::studio::parse_studio;
use airbridge_runtime::{
    Action, KbSource, MixInput, Outcome, Runtime, RuntimeOptions, StationPaths,
};
use airbridge_show::{CallerNote, ItemRef, JournalReader, LineState, ShowEvent};

mod common;
use common::tone;

fn runtime(dir: &std::path::Path, studio: &str) -> Runtime {
    let config = ConfigSet::embedded_demo().unwrap();
    let paths = StationPaths::under(dir, &config);
    let studio = if studio.is_empty() {
        Default::default()
    } else {
        parse_studio("studio.toml", studio, dir, config.show.lines)
    };
    Runtime::start(RuntimeOptions {
        kb: KbSource::None,
        speech: false,
        ..RuntimeOptions::new(config, paths, studio)
    })
    .unwrap()
}

fn events(rt: &Runtime) -> Vec<ShowEvent> {
    rt.journal()
        .replay(1)
        .unwrap()
        .map(|e| e.unwrap().event)
        .collect()
}

#[test]
fn whoever_asks_the_privacy_gate_and_the_transitions_hold_and_refusals_are_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path(), "");
    let call = match rt
        .execute(
            "screener",
            Action::Ring {
                line: 3,
                caller: Some("13800001234".into()),
            },
        )
        .unwrap()
    {
        Outcome::Rang(seq) => seq,
        other => panic!("{other:?}"),
    };
    // Straight to air from ringing: refused, with the reason, journaled.
    let r = rt
        .execute(
            "host",
            Action::Move {
                line: 3,
                to: LineState::OnAir,
            },
        )
        .unwrap_err();
    assert!(r.0.contains("振铃") && r.0.contains("直播中"), "{r}");
    rt.execute(
        "screener",
        Action::Move {
            line: 3,
            to: LineState::Screening,
        },
    )
    .unwrap();
    rt.execute(
        "screener",
        Action::Note {
            line: 3,
            note: CallerNote {
                name: "张三".into(),
                topic: "个人隐私".into(),
                private: true,
                ..CallerNote::default()
            },
        },
    )
    .unwrap();
    rt.execute(
        "screener",
        Action::Move {
            line: 3,
            to: LineState::Ready,
        },
    )
    .unwrap();
    let r = rt
        .execute(
            "rehearsal",
            Action::Move {
                line: 3,
                to: LineState::OnAir,
            },
        )
        .unwrap_err();
    assert!(r.0.contains("隐私"), "{r}");
    // Nobody may ring a busy line, or a line the show does not have.
    assert!(
        rt.execute(
            "screener",
            Action::Ring {
                line: 3,
                caller: None
            }
        )
        .is_err()
    );
    assert!(
        rt.execute(
            "screener",
            Action::Ring {
                line: 99,
                caller: None
            }
        )
        .is_err()
    );
    // Handed to the back office: a ticket, pre-filled from the board.
    let out = rt
        .execute(
            "screener",
            Action::Offline {
                item: ItemRef::Call(call),
                ticket: None,
            },
        )
        .unwrap();
    let Outcome::Ticket(Some(id)) = out else {
        panic!("{out:?}")
    };
    rt.execute(
        "screener",
        Action::Move {
            line: 3,
            to: LineState::Ended,
        },
    )
    .unwrap();
    let summary = rt.stop();
    let evs = events(&rt);
    assert_eq!(summary.calls, 1);
    let refused: Vec<(String, String)> = evs
        .iter()
        .filter_map(|e| match e {
            ShowEvent::CommandRefused { action, reason } => Some((action.clone(), reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(refused.len(), 4, "{refused:?}");
    assert!(refused[1].1.contains("隐私"));
    // The number is masked and hashed, never journaled.
    assert!(evs.iter().any(|e| matches!(e,
        ShowEvent::CallRang { caller_masked, .. } if caller_masked == "138****1234")));
    assert!(
        evs.iter()
            .all(|e| !serde_json::to_string(e).unwrap().contains("13800001234"))
    );
    assert!(evs.iter().any(|e| matches!(e,
        ShowEvent::TakenOffline { ticket_id: Some(t), .. } if *t == id)));
    assert!(evs.iter().any(|e| matches!(e,
        ShowEvent::CallEnded { line: 3, reason, .. } if reason.contains("导播"))));
    let states: Vec<LineState> = evs
        .iter()
        .filter_map(|e| match e {
            ShowEvent::LineStateChanged { line: 3, to, .. } => Some(*to),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        [
            LineState::Ringing,
            LineState::Screening,
            LineState::Ready,
            LineState::Ended
        ]
    );
}

#[test]
fn the_show_switch_opens_and_closes_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path(), "");
    rt.execute("screener", Action::Show { open: true }).unwrap();
    assert!(rt.execute("screener", Action::Show { open: true }).is_err());
    rt.execute("screener", Action::Show { open: false })
        .unwrap();
    assert!(
        rt.execute("screener", Action::Show { open: false })
            .is_err()
    );
    let evs = events(&rt);
    assert_eq!(
        evs.iter()
            .filter(|e| matches!(e, ShowEvent::ShowOpened { .. }))
            .count(),
        1
    );
}

#[test]
fn with_an_engine_a_rehearsal_caller_is_recorded_and_faders_are_journaled() {
    let dir = tempfile::tempdir().unwrap();
    tone(&dir.path().join("caller.wav"));
    let rt = runtime(
        dir.path(),
        "[audio]\noutput_device = \"none\"\n[[line]]\nnumber = 2\nkind = \"file\"\npath = \"caller.wav\"\n[recording]\ndir = \"rec\"\nprogram = false\n",
    );
    assert!(rt.has_audio());
    assert_eq!(rt.lines().len(), 1);
    rt.execute(
        "screener",
        Action::Ring {
            line: 2,
            caller: None,
        },
    )
    .unwrap();
    for to in [LineState::Screening, LineState::Ready, LineState::OnAir] {
        rt.execute("screener", Action::Move { line: 2, to })
            .unwrap();
    }
    rt.execute(
        "screener",
        Action::Fader {
            input: MixInput::Line(2),
            fader: 0.5,
            commit: true,
        },
    )
    .unwrap();
    rt.execute(
        "screener",
        Action::Mute {
            input: MixInput::Host,
            mute: true,
        },
    )
    .unwrap();
    assert!(
        rt.execute(
            "screener",
            Action::Fader {
                input: MixInput::Line(2),
                fader: f32::NAN,
                commit: true,
            },
        )
        .is_err()
    );
    let meters = rt.meters().unwrap();
    let mut heard = 0.0f32;
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        heard = heard.max(meters.program.read().peak);
    }
    assert!(heard > 0.05, "the caller on air is on program: {heard}");
    rt.execute(
        "screener",
        Action::Move {
            line: 2,
            to: LineState::Ended,
        },
    )
    .unwrap();
    let summary = rt.stop();
    assert_eq!(summary.recordings, 1);
    let evs = events(&rt);
    assert!(evs.iter().any(|e| matches!(e,
        ShowEvent::MixSet { input, fader, mute: false } if input == "line2" && (*fader - 0.5).abs() < 1e-6)));
    assert!(evs.iter().any(|e| matches!(e,
        ShowEvent::MixSet { input, mute: true, .. } if input == "host")));
    let rec = evs
        .iter()
        .find_map(|e| match e {
            ShowEvent::Recorded { path, secs, .. } => Some((path.clone(), *secs)),
            _ => None,
        })
        .unwrap();
    assert!(rec.0.ends_with("-line2.wav") && rec.1 > 0.5, "{rec:?}");
    // The file is a stereo call recording: caller left, what they heard right.
    let r = hound::WavReader::open(&rec.0).unwrap();
    assert_eq!(r.spec().channels, 2);
    drop(JournalReader::open(&dir.path().join("journal/demo-kongzhong.db")).unwrap());
}

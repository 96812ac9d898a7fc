#![allow(clippy::unwrap_used, clippy::print_stderr)]
//! Every (from, to) pair of line states through the engine's controller:
//! valid transitions reach the audio thread and the show journal, invalid
//! ones are refused with the state machine's reason and change nothing.

use std::collections::{HashMap, VecDeque};

use airbridge_media::{LineState, MediaError, MediaEvent, MixerConfig, build};
use airbridge_show::{Journal, ShowEvent};

/// Shortest valid path from Idle to every state.
fn paths() -> HashMap<LineState, Vec<LineState>> {
    let mut out = HashMap::new();
    out.insert(LineState::Idle, vec![]);
    let mut q = VecDeque::from([LineState::Idle]);
    while let Some(s) = q.pop_front() {
        for to in LineState::ALL {
            if s.check(to).is_ok() && !out.contains_key(&to) {
                let mut p = out[&s].clone();
                p.push(to);
                out.insert(to, p);
                q.push_back(to);
            }
        }
    }
    out
}

#[test]
fn every_transition_is_decided_and_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("show.db")).unwrap();
    let parts = build(MixerConfig::new(1)).unwrap();
    let (mut ctl, mut core) = (parts.controller, parts.core);
    let paths = paths();
    assert_eq!(
        paths.len(),
        LineState::ALL.len(),
        "every state is reachable"
    );

    let mut expected_journal = Vec::new();
    let (mut valid, mut invalid) = (0, 0);
    for from in LineState::ALL {
        for to in LineState::ALL {
            // bring line 1 back to idle, then along the path to `from`
            let back = match ctl.state(1).unwrap() {
                LineState::Idle => vec![],
                LineState::Ended => vec![LineState::Idle],
                _ => vec![LineState::Ended, LineState::Idle],
            };
            for s in back.into_iter().chain(paths[&from].iter().copied()) {
                let prev = ctl.state(1).unwrap();
                ctl.set_state(1, s).unwrap();
                expected_journal.push((prev, s));
            }
            assert_eq!(ctl.state(1).unwrap(), from);
            match (from.check(to), ctl.set_state(1, to)) {
                (Ok(()), Ok(prev)) => {
                    valid += 1;
                    assert_eq!(prev, from);
                    assert_eq!(ctl.state(1).unwrap(), to);
                    expected_journal.push((from, to));
                    // the audio thread follows
                    core.process_block();
                    assert_eq!(core.mixer().control(0).unwrap().state, to);
                }
                (Err(want), Err(MediaError::Transition { line, source })) => {
                    invalid += 1;
                    assert_eq!(line, 1);
                    assert_eq!(source, want);
                    assert!(!source.reason.is_empty());
                    let msg = MediaError::Transition { line, source }.to_string();
                    assert!(msg.contains(source.reason), "{msg}");
                    assert!(msg.contains(&from.to_string()) && msg.contains(&to.to_string()));
                    assert_eq!(
                        ctl.state(1).unwrap(),
                        from,
                        "refused change left the line alone"
                    );
                    core.process_block();
                    assert_eq!(core.mixer().control(0).unwrap().state, from);
                }
                (want, got) => {
                    panic!("{from} -> {to}: state machine says {want:?}, engine {got:?}")
                }
            }
        }
    }
    assert_eq!(valid, 17);
    assert_eq!(invalid, 49 - 17);

    // the event thread writes every accepted change to the journal, in order
    drop(ctl);
    drop(core);
    let bridge =
        airbridge_media::core::spawn_journal_bridge(parts.events, journal.clone()).unwrap();
    bridge.join().unwrap();
    let got: Vec<(LineState, LineState)> = journal
        .replay(1)
        .unwrap()
        .map(|e| match e.unwrap().event {
            ShowEvent::LineStateChanged { line: 1, from, to } => (from, to),
            other => panic!("unexpected event {other:?}"),
        })
        .collect();
    assert_eq!(got, expected_journal);
}

#[test]
fn unknown_line_is_refused() {
    let parts = build(MixerConfig::new(2)).unwrap();
    let mut ctl = parts.controller;
    for line in [0, 3, 255] {
        let err = ctl.set_state(line, LineState::Ringing).unwrap_err();
        assert!(matches!(err, MediaError::NoSuchLine { .. }), "{err}");
        assert!(err.to_string().contains("1 to 2"));
    }
    let mut seen = Vec::new();
    let mut feed = parts.events;
    feed.drain(|e| seen.push(e));
    assert!(seen.is_empty());
    ctl.set_state(2, LineState::Ringing).unwrap();
    feed.drain(|e| seen.push(e));
    assert_eq!(
        seen,
        vec![MediaEvent::LineState {
            line: 2,
            from: LineState::Idle,
            to: LineState::Ringing
        }]
    );
}

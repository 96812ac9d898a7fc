//! On-air safety through the runtime: the dump button and the delay's exit
//! as seats press them (roles enforced, journaled), the show plan edited
//! and saved, and a caller who says a phone number on air flagged by the
//! speech worker with the seconds left to dump it (real whisper model,
//! espeak-ng voice).
#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use airbridge_configs::ConfigSet;
use airbridge_configs::studio::parse_studio;
use airbridge_runtime::{Action, KbSource, Role, Runtime, RuntimeOptions, StationPaths};
use airbridge_show::{DelayCommand, LineState, PlanEdit, ShowEvent, ShowPlan};

fn runtime(dir: &std::path::Path, studio: &str, speech: bool) -> Runtime {
    let config = ConfigSet::embedded_demo().unwrap();
    let mut paths = StationPaths::under(dir, &config);
    if let Some(m) = std::env::var_os("AIRBRIDGE_MODEL") {
        paths.model = PathBuf::from(m);
    }
    let studio = parse_studio("studio.toml", studio, dir, config.show.lines);
    assert!(studio.issues.is_empty(), "{:?}", studio.issues);
    Runtime::start(RuntimeOptions {
        kb: KbSource::None,
        speech,
        ..RuntimeOptions::new(config, paths, studio)
    })
    .unwrap()
}

fn events(rt: &Runtime) -> Vec<(i64, ShowEvent)> {
    rt.journal()
        .replay(1)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.at_ms, e.event)
        })
        .collect()
}

#[test]
fn seats_dump_and_exit_the_delay_as_their_roles_allow() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(
        dir.path(),
        "[audio]\noutput_device = \"none\"\n[delay]\nsecs = 4\ndump_secs = 2\n",
        false,
    );
    let meters = rt.meters().unwrap();
    assert_eq!(meters.delay.read().target_ms, 4_000);
    let dump = Action::Delay {
        command: DelayCommand::Dump { secs: None },
    };
    // an observer has no dump button; the host has one
    assert!(
        rt.execute_as("guest-pc", Role::Observer, dump.clone())
            .is_err()
    );
    rt.execute_as("host", Role::Host, dump).unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    while meters.delay.read().dumps == 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    let d = meters.delay.read();
    assert_eq!(d.dumps, 1);
    // `[delay] dump_secs = 2`: a dump takes the newest 2 s, not all 4
    assert!((1_900..=2_100).contains(&d.now_ms), "{d:?}");
    // exit is the producer's, not the host's
    let exit = Action::Delay {
        command: DelayCommand::Exit,
    };
    assert!(rt.execute_as("host", Role::Host, exit.clone()).is_err());
    rt.execute_as("screener", Role::Screener, exit).unwrap();
    rt.stop();
    let evs = events(&rt);
    assert!(evs.iter().any(|(_, e)| matches!(e,
        ShowEvent::DelayCommand { by, command: DelayCommand::Dump { secs: None } } if by == "host")));
    assert!(evs.iter().any(|(_, e)| matches!(
        e,
        ShowEvent::DelayCommand {
            command: DelayCommand::Exit,
            ..
        }
    )));
    assert!(evs.iter().any(|(_, e)| matches!(e,
        ShowEvent::CommandRefused { action, .. } if action == "exit the delay")));
}

#[test]
fn without_a_delay_the_dump_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path(), "[audio]\noutput_device = \"none\"\n", false);
    let err = rt
        .execute(
            "host",
            Action::Delay {
                command: DelayCommand::Dump { secs: None },
            },
        )
        .unwrap_err();
    assert!(err.0.contains("no broadcast delay is configured"), "{err}");
}

#[test]
fn the_plan_is_edited_saved_with_the_show_and_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path(), "", false);
    // the demo show's rundown is where the plan starts
    let first = rt.plan();
    assert!(!first.segments.is_empty());
    rt.execute_as(
        "producer",
        Role::Screener,
        Action::Plan {
            edit: PlanEdit::AddSegment {
                after: None,
                title: "连线：医保局".into(),
                minutes: 12,
            },
        },
    )
    .unwrap();
    let plan = rt.plan();
    assert_eq!(plan.segments.len(), first.segments.len() + 1);
    let new = plan.segments.last().unwrap().id;
    // a refused edit changes nothing and says why
    let err = rt
        .execute(
            "producer",
            Action::Plan {
                edit: PlanEdit::RemoveSegment { id: 999 },
            },
        )
        .unwrap_err();
    assert!(err.0.contains("串联单"), "{err}");
    assert!(
        rt.execute("host", Action::StartSegment { segment: 999 })
            .is_err()
    );
    rt.execute_as("host", Role::Host, Action::StartSegment { segment: new })
        .unwrap();
    // an observer may not edit
    assert!(
        rt.execute_as(
            "guest-pc",
            Role::Observer,
            Action::Plan {
                edit: PlanEdit::SetPhrase {
                    key: "F2".into(),
                    text: Some("x".into()),
                },
            },
        )
        .is_err()
    );
    // saved with the show: the file holds the plan
    let saved = ShowPlan::load(&rt.plan_file()).unwrap().unwrap();
    assert_eq!(saved, plan);
    let board = rt.board();
    assert_eq!(board.plan.as_ref(), Some(&plan));
    assert_eq!(board.segment_starts.last().map(|s| s.0), Some(new));
    rt.stop();
}

fn model() -> Option<PathBuf> {
    let required = std::env::var("AIRBRIDGE_REQUIRE_MODEL").is_ok_and(|v| v == "1");
    let path = std::env::var_os("AIRBRIDGE_MODEL").map(PathBuf::from);
    if let Some(p) = path.filter(|p| airbridge_models::check(p).is_ready()) {
        return Some(p);
    }
    assert!(
        !required,
        "speech model required (AIRBRIDGE_REQUIRE_MODEL=1)"
    );
    eprintln!("SKIPPED: no speech model; set AIRBRIDGE_MODEL (see scripts/test.sh)");
    None
}

#[test]
fn a_caller_who_says_a_phone_number_on_air_is_flagged_with_the_seconds_left_to_dump() {
    let Some(_) = model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("caller.wav");
    airbridge_speech::synth::english_clip(
        "My phone number is: one five zero, one two three four, five six seven eight.",
        &wav,
    )
    .unwrap();
    let rt = runtime(
        dir.path(),
        "[audio]\noutput_device = \"none\"\n[delay]\nsecs = 8\n[[line]]\nnumber = 1\nkind = \"file\"\npath = \"caller.wav\"\n",
        true,
    );
    // the model loads in the background
    let until = Instant::now() + Duration::from_secs(60);
    while !rt.parts().iter().any(|p| {
        p.component == "speech" && matches!(p.status, airbridge_runtime::PartStatus::Ok(_))
    }) {
        assert!(
            Instant::now() < until,
            "speech did not start: {:?}",
            rt.parts()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    rt.execute(
        "screener",
        Action::Ring {
            line: 1,
            caller: None,
        },
    )
    .unwrap();
    for to in [LineState::Screening, LineState::Ready, LineState::OnAir] {
        rt.execute("screener", Action::Move { line: 1, to })
            .unwrap();
    }
    let until = Instant::now() + Duration::from_secs(90);
    let flag = loop {
        let found = events(&rt).into_iter().find_map(|(at, e)| match e {
            ShowEvent::SpeechFlagged {
                utterance,
                kinds,
                text,
                on_air: true,
                dump_within_secs,
                ..
            } => Some((at, utterance, kinds, text, dump_within_secs)),
            _ => None,
        });
        if let Some(f) = found {
            break f;
        }
        assert!(Instant::now() < until, "no flag on air: {:?}", events(&rt));
        std::thread::sleep(Duration::from_millis(100));
    };
    // the final of that utterance follows (the flag may come from a partial)
    let (flag_at, utterance, kinds, text, within) = flag;
    let final_at = loop {
        let found = events(&rt).into_iter().find_map(|(at, e)| match e {
            ShowEvent::TranscriptSegment {
                line: 1,
                utterance: u,
                is_final: true,
                ..
            } if u == utterance => Some(at),
            _ => None,
        });
        if let Some(at) = found {
            break at;
        }
        assert!(Instant::now() < until, "no final for utterance {utterance}");
        std::thread::sleep(Duration::from_millis(100));
    };
    rt.stop();
    eprintln!(
        "flag: {kinds:?} {text:?} dump within {within:?}, {} ms after the final",
        flag_at - final_at
    );
    assert!(
        kinds
            .iter()
            .any(|k| k == "mobile" || k == "landline" || k == "number"),
        "{kinds:?}"
    );
    assert!(
        !airbridge_feeds::pii::contains_unmasked_number(&text),
        "{text}"
    );
    let within = within.unwrap();
    assert!(within > 0.0 && within <= 8.0, "{within}");
    assert!(
        flag_at - final_at <= 1_000,
        "flag {flag_at} vs final {final_at}"
    );
    let evs = events(&rt);
    // every transcript a host screen shows is masked
    for (_, e) in &evs {
        if let ShowEvent::TranscriptSegment { text, .. } = e {
            assert!(
                !airbridge_feeds::pii::contains_unmasked_number(text),
                "{text}"
            );
        }
    }
}

#[test]
fn a_producer_corrects_the_knowledge_base_during_the_show() {
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigSet::embedded_demo().unwrap();
    let paths = StationPaths::under(dir.path(), &config);
    let rt = Runtime::start(RuntimeOptions {
        speech: false,
        ..RuntimeOptions::new(config, paths, Default::default())
    })
    .unwrap();
    let kb = rt.kb().wait(Duration::from_secs(60)).unwrap().unwrap();
    let hit = kb.searcher.search("社保卡丢了怎么办", 1)[0].clone();
    let mut entry = kb.entries.iter().find(|e| e.id == hit.id).unwrap().clone();
    let v1 = kb.version(&entry.id).unwrap().unwrap();
    entry.answer = "携带身份证到任一社保服务网点即可补办，当场出卡（订正）".into();
    // the host reads answers; correcting them is the producers'
    let save = Action::KbSave {
        entry: Box::new(entry.clone()),
        expected_version: Some(v1),
    };
    assert!(rt.execute_as("host", Role::Host, save.clone()).is_err());
    let out = rt
        .execute_as("producer", Role::Screener, save.clone())
        .unwrap();
    assert_eq!(
        out,
        airbridge_runtime::Outcome::Kb {
            id: entry.id.clone(),
            version: v1 + 1
        }
    );
    // searchable at once, the previous version kept
    let now = rt.kb().try_get().unwrap().unwrap();
    let found = now.searcher.search("社保卡丢了怎么办", 1);
    assert!(found[0].answer.contains("订正"));
    let history = now.history(&entry.id).unwrap();
    assert_eq!(history.len() as u32, v1 + 1);
    assert_eq!(history[0].by, "producer");
    assert!(!history[1].entry.answer.contains("订正"));
    // a second editor who started from the old version is refused
    let err = rt
        .execute_as("assistant", Role::Assistant, save)
        .unwrap_err();
    assert!(err.0.contains("changed by someone else"), "{err}");
    // a new entry, then retired: out of search, versions kept
    let added = rt
        .execute_as(
            "producer",
            Role::Screener,
            Action::KbSave {
                entry: Box::new(airbridge_kb::Entry {
                    question: "夜间施工噪音找哪个部门投诉".into(),
                    answer: "拨打12345，或向生态环境局反映。".into(),
                    department: "生态环境局".into(),
                    ..Default::default()
                }),
                expected_version: None,
            },
        )
        .unwrap();
    let airbridge_runtime::Outcome::Kb { id, .. } = added else {
        panic!("{added:?}")
    };
    let s = rt.kb().try_get().unwrap().unwrap().searcher;
    assert_eq!(s.search("施工噪音投诉", 1)[0].id, id);
    rt.execute_as(
        "producer",
        Role::Screener,
        Action::KbRetire { id: id.clone() },
    )
    .unwrap();
    let s = rt.kb().try_get().unwrap().unwrap().searcher;
    assert!(s.search("施工噪音投诉", 3).iter().all(|h| h.id != id));
    // journaled with who
    let evs = events(&rt);
    assert!(evs.iter().any(|(_, e)| matches!(e,
        ShowEvent::KbEdited { by, retired: true, id: i, .. } if by == "producer" && *i == id)));
    // a question with no answer at all lands in the review queue
    rt.journal()
        .append(
            "stt",
            ShowEvent::KbSuggested {
                about: None,
                query: "宠物狗办证去哪里".into(),
                hits: vec![],
            },
        )
        .unwrap();
    let review = rt.kb_review("2026-12-02", 365);
    assert!(review.iter().any(|r| r.question == "宠物狗办证去哪里"
        && matches!(
            r.reason,
            airbridge_kb::ReviewReason::Unanswered { asked: 1, .. }
        )));
    rt.stop();
}

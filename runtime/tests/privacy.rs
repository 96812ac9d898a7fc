//! Personal data stays private on disk: every store and recording the
//! runtime makes is readable by the station's user only, and a store left
//! readable by others (an older version, a copy) is made private at start
//! and said in the journal.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use airbridge_configs::ConfigSet;
use airbridge_configs::studio::parse_studio;
use airbridge_runtime::{Action, DeskSource, KbSource, Runtime, RuntimeOptions, StationPaths};
use airbridge_show::{LineState, ShowEvent};

mod common;
use common::tone;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn stores_and_recordings_are_the_owners_only_and_an_open_store_is_fixed_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // a data folder made the usual way, readable by everyone
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = ConfigSet::embedded_demo().unwrap();
    let paths = StationPaths::under(&data, &config);
    // first run: makes the stores, records a call
    tone(&dir.path().join("caller.wav"));
    let studio = parse_studio(
        "studio.toml",
        "[audio]\noutput_device = \"none\"\n[[line]]\nnumber = 1\nkind = \"file\"\npath = \"caller.wav\"\n",
        dir.path(),
        config.show.lines,
    );
    let rt = Runtime::start(RuntimeOptions {
        kb: KbSource::None,
        speech: false,
        desk: DeskSource::FromPaths,
        ..RuntimeOptions::new(config.clone(), paths.clone(), studio)
    })
    .unwrap();
    rt.execute(
        "screener",
        Action::Ring {
            line: 1,
            caller: Some("13800001234".into()),
        },
    )
    .unwrap();
    rt.execute(
        "screener",
        Action::Move {
            line: 1,
            to: LineState::Screening,
        },
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    rt.execute(
        "screener",
        Action::Move {
            line: 1,
            to: LineState::Ended,
        },
    )
    .unwrap();
    let summary = rt.stop();
    drop(rt);
    assert_eq!(summary.recordings, 1);
    let tickets = data.join("tickets.db");
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&tickets), 0o600);
    assert_eq!(mode(&paths.journal), 0o600);
    assert_eq!(mode(&paths.recordings), 0o700);
    let mut recordings = 0;
    let mut stack = vec![paths.recordings.clone()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                assert_eq!(mode(&path), 0o700, "{}", path.display());
                stack.push(path);
            } else {
                assert_eq!(mode(&path), 0o600, "{}", path.display());
                recordings += 1;
            }
        }
    }
    assert!(recordings >= 1);

    // someone opens the store and a recording to everyone; the next start
    // makes them private again and says so
    std::fs::set_permissions(&tickets, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&paths.recordings, std::fs::Permissions::from_mode(0o755)).unwrap();
    // (the first run's journal lock goes with its last thread)
    let mut again = None;
    for _ in 0..60 {
        match Runtime::start(RuntimeOptions {
            kb: KbSource::None,
            speech: false,
            desk: DeskSource::FromPaths,
            ..RuntimeOptions::new(config.clone(), paths.clone(), Default::default())
        }) {
            Ok(rt) => {
                again = Some(rt);
                break;
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
    }
    let rt = again.expect("the runtime starts again");
    assert_eq!(mode(&tickets), 0o600);
    assert_eq!(mode(&paths.recordings), 0o700);
    let said = rt
        .journal()
        .replay(1)
        .unwrap()
        .map(|e| e.unwrap().event)
        .any(|e| {
            matches!(e, ShowEvent::Health { component, detail, .. }
            if component == "privacy" && detail.contains("tickets.db"))
        });
    assert!(said, "the fix is said in the journal");
    rt.stop();
}

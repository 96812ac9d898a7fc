//! SIGKILL a journal writer at random moments, 60 times, and check after each
//! restart that every acknowledged event survived intact and that no partial
//! or misnumbered event is visible.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use airbridge_e2e::crash_test_event;
use airbridge_show::Journal;
use rand::Rng;

const TRIALS: usize = 60;

#[test]
fn every_acknowledged_event_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let mut rng = rand::rng();
    let mut max_acked = 0u64;
    let mut total_acks = 0usize;
    for trial in 0..TRIALS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_journal-writer"))
            .arg(&path)
            .arg(rng.random_range(1..u64::MAX).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start journal-writer");
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut acked = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let mut parts = line.split_whitespace().skip(1);
                let first: u64 = parts.next().unwrap().parse().unwrap();
                let last: u64 = parts.next().unwrap().parse().unwrap();
                acked.push((first, last));
            }
            acked
        });
        // Random moment: sometimes right at start-up, mostly mid-stream.
        let delay_ms = if trial % 10 == 0 {
            rng.random_range(0..15)
        } else {
            rng.random_range(20..250)
        };
        let deadline = std::time::Instant::now() + Duration::from_millis(delay_ms);
        while std::time::Instant::now() < deadline {
            std::hint::spin_loop();
            std::thread::yield_now();
        }
        child.kill().expect("SIGKILL");
        let status = child.wait().unwrap();
        assert!(!status.success(), "the writer never exits by itself");
        let acked = reader.join().unwrap();
        total_acks += acked.len();
        if let Some(&(_, last)) = acked.last() {
            max_acked = max_acked.max(last);
        }

        // Restart: open, replay everything, check.
        let journal =
            Journal::open(&path).unwrap_or_else(|e| panic!("trial {trial}: reopen failed: {e}"));
        let last = journal.last_seq();
        assert!(
            last >= max_acked,
            "trial {trial}: acknowledged up to {max_acked}, journal ends at {last}"
        );
        let mut expected = 1;
        for ev in journal.replay(1).unwrap() {
            let ev = ev.unwrap_or_else(|e| panic!("trial {trial}: {e}"));
            assert_eq!(ev.seq, expected, "trial {trial}: gap or reorder");
            assert_eq!(
                ev.event,
                crash_test_event(ev.seq),
                "trial {trial}: event {} torn or misplaced",
                ev.seq
            );
            expected += 1;
        }
        assert_eq!(expected - 1, last);
        max_acked = last; // the next writer continues after what is stored
    }
    assert!(
        total_acks > TRIALS,
        "the writers acknowledged too little to test anything ({total_acks} batches)"
    );
    eprintln!(
        "{TRIALS} SIGKILL trials, {total_acks} acknowledged batches, journal ends at #{max_acked}"
    );
}

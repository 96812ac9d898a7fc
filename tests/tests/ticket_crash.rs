//! SIGKILL a ticket writer at random moments, 50 times: every acknowledged
//! ticket version and its audit entries survive, and nothing half-written is visible.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use airbridge_tickets::{SqliteStore, TicketStore};
use rand::Rng;

const TRIALS: usize = 50;

#[test]
fn every_acknowledged_ticket_write_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tickets.db");
    let mut rng = rand::rng();
    let mut acked: BTreeMap<String, u64> = BTreeMap::new();
    for trial in 0..TRIALS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ticket-writer"))
            .arg(&path)
            .arg(rng.random_range(1..u64::MAX).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let mut parts = line.split_whitespace().skip(1);
                let id = parts.next().unwrap().to_owned();
                let version: u64 = parts.next().unwrap().parse().unwrap();
                seen.push((id, version));
            }
            seen
        });
        let deadline = Instant::now() + Duration::from_millis(rng.random_range(10..300));
        while Instant::now() < deadline {
            std::thread::yield_now();
        }
        child.kill().unwrap();
        child.wait().unwrap();
        for (id, version) in reader.join().unwrap() {
            let v = acked.entry(id).or_default();
            *v = (*v).max(version);
        }

        let mut store =
            SqliteStore::open(&path).unwrap_or_else(|e| panic!("trial {trial}: reopen: {e}"));
        for (id, version) in &acked {
            let t = store
                .get(id)
                .unwrap()
                .unwrap_or_else(|| panic!("trial {trial}: acknowledged {id} is gone"));
            assert!(
                t.version >= *version,
                "trial {trial}: {id} went back from v{version} to v{}",
                t.version
            );
            let audit = store.audit(id).unwrap();
            let versions: Vec<u64> = audit.iter().map(|a| a.version).collect();
            assert_eq!(
                versions,
                (1..=t.version).collect::<Vec<_>>(),
                "trial {trial}: {id} audit trail incomplete"
            );
        }
        // Nothing stored that is not whole: every row decodes (get did), and the
        // audit of unacknowledged tickets is complete too.
        assert!(store.count().unwrap() >= acked.len() as u64);
    }
    assert!(
        acked.len() > TRIALS,
        "too few tickets written to test anything: {}",
        acked.len()
    );
    eprintln!(
        "{TRIALS} SIGKILL trials, {} acknowledged tickets",
        acked.len()
    );
}

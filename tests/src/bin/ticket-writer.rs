//! Creates and updates tickets forever, printing `ACK id version` after each
//! durable write. A test kills it with SIGKILL at random moments.
//!
//! Usage: ticket-writer DB_PATH SEED

use std::io::Write;

use airbridge_configs::{ConfigSet, TicketClass};
use airbridge_tickets::{Change, NewTicket, Source, SqliteStore, TicketDesk};
use anyhow::Context;
use chrono::{DateTime, Duration, TimeZone, Utc};

fn clock() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 2, 0, 0)
        .single()
        .unwrap_or_default()
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().context("usage: ticket-writer DB_PATH SEED")?;
    let seed: u64 = args
        .next()
        .context("usage: ticket-writer DB_PATH SEED")?
        .parse()?;
    let config = ConfigSet::embedded_demo()?;
    let store = SqliteStore::open(std::path::Path::new(&path))?;
    let mut desk = TicketDesk::new(Box::new(store), &config, None).with_clock(clock);
    let stdout = std::io::stdout();
    let mut rng = seed.max(1);
    for i in 0u64.. {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let received = clock() + Duration::minutes((i % 600) as i64);
        let mut new = NewTicket::new(
            Source::Call,
            format!("崩溃测试问题 {i} / {rng:x}"),
            received,
        );
        new.contact = Some("13800000000".into());
        let t = desk.create(new, "crash-test")?;
        writeln!(stdout.lock(), "ACK {} {}", t.id, t.version)?;
        if !rng.is_multiple_of(3) {
            let departments = vec!["rsj".to_owned()];
            let t = desk.apply(
                &t.id,
                1,
                &Change::Classify {
                    class: TicketClass::General,
                    departments,
                },
                "crash-test",
            )?;
            writeln!(stdout.lock(), "ACK {} {}", t.id, t.version)?;
            let t = desk.apply(
                &t.id,
                2,
                &Change::Note {
                    text: format!("note {rng}"),
                },
                "crash-test",
            )?;
            writeln!(stdout.lock(), "ACK {} {}", t.id, t.version)?;
        }
        stdout.lock().flush()?;
    }
    Ok(())
}

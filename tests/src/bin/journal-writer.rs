//! Appends batches to a journal forever and prints `ACK first last` to stdout
//! after each batch is acknowledged. A test kills it at random moments.
//!
//! Usage: journal-writer PATH SEED

use std::io::Write;

use airbridge_e2e::crash_test_event;
use airbridge_show::Journal;
use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().context("usage: journal-writer PATH SEED")?;
    let seed: u64 = args
        .next()
        .context("usage: journal-writer PATH SEED")?
        .parse()
        .context("SEED must be a number")?;
    let journal = Journal::open(std::path::Path::new(&path))?;
    let mut next = journal.last_seq() + 1;
    let mut rng = seed.max(1);
    let stdout = std::io::stdout();
    loop {
        // xorshift: batch sizes 1..=32
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let n = rng % 32 + 1;
        let events = (next..next + n).map(crash_test_event).collect();
        let range = journal.append_all("crash-test", events)?;
        anyhow::ensure!(
            *range.start() == next,
            "unexpected numbering: {range:?}, expected {next}"
        );
        let mut out = stdout.lock();
        writeln!(out, "ACK {} {}", range.start(), range.end())?;
        out.flush()?;
        next = range.end() + 1;
    }
}

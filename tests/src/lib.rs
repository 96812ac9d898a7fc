//! # airbridge-e2e
//!
//! End-to-end tests that cross crate boundaries live in `tests/tests/`;
//! this library holds what they share, and `src/bin/` the helper programs
//! they start as separate processes (for example a journal writer that a
//! test kills with SIGKILL).
//!
//! Nothing here is part of the product.

use airbridge_show::ShowEvent;

/// The event the crash-test writer stores as sequence number `seq`: its text
/// encodes the number, so a reader can tell a misplaced or torn event.
pub fn crash_test_event(seq: u64) -> ShowEvent {
    ShowEvent::ProducerMessage {
        text: format!(
            "n{seq}:{}",
            "请稍等，下一位听众马上接入。".repeat((seq % 5) as usize + 1)
        ),
    }
}
pub mod pg;

//! The console's link to the journal, kept off the UI thread.
//!
//! - A *feed* thread follows the journal (which may read the disk) and hands
//!   events to the UI over a bounded channel, then asks egui to repaint.
//! - A *command* thread appends what the UI asks for and waits for the
//!   durable acknowledgement; failures come back as messages for the UI.
//!
//! The UI thread only ever does `try_recv`/`try_send`: it never waits on disk.

use std::sync::Arc;

use airbridge_show::{ItemRef, Journal, ShowEvent, StoredEvent};
use airbridge_tickets::{NewTicket, TicketDesk};
use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

/// What the UI asks the backend to do.
#[derive(Debug, Clone)]
pub enum Command {
    Append {
        seat: String,
        event: ShowEvent,
    },
    /// Not answered on air: create the follow-up ticket (pre-filled from the
    /// item's context) and record the hand-off in the journal.
    TakeOffline {
        seat: String,
        item: ItemRef,
        ticket: Option<Box<NewTicket>>,
    },
}

/// Channels the UI holds.
#[derive(Debug)]
pub struct Backend {
    pub events: Receiver<Arc<StoredEvent>>,
    commands: Sender<Command>,
    pub problems: Receiver<String>,
}

const EVENT_QUEUE: usize = 4096;
const COMMAND_QUEUE: usize = 256;

impl Backend {
    pub fn start(
        journal: &Journal,
        mut desk: Option<TicketDesk>,
        repaint: impl Fn() + Send + Sync + 'static,
    ) -> anyhow::Result<Self> {
        let repaint: Arc<dyn Fn() + Send + Sync> = Arc::new(repaint);
        let (ev_tx, ev_rx) = bounded(EVENT_QUEUE);
        let (cmd_tx, cmd_rx) = bounded::<Command>(COMMAND_QUEUE);
        let (problem_tx, problem_rx) = bounded::<String>(64);

        let mut sub = journal.subscribe(1)?;
        let feed_problems = problem_tx.clone();
        let feed_repaint = Arc::clone(&repaint);
        std::thread::Builder::new()
            .name("console-feed".into())
            .spawn(move || {
                loop {
                    match sub.next_blocking() {
                        Ok(ev) => {
                            if ev_tx.send(ev).is_err() {
                                break; // the UI is gone
                            }
                            feed_repaint();
                        }
                        Err(airbridge_show::JournalError::Closed) => break,
                        Err(e) => {
                            let _ = feed_problems
                                .try_send(format!("读取日志失败 / journal read failed: {e}"));
                            feed_repaint();
                            break;
                        }
                    }
                }
            })?;

        let journal = journal.clone();
        std::thread::Builder::new()
            .name("console-commands".into())
            .spawn(move || {
                let report = |msg: String| {
                    let _ = problem_tx.try_send(msg);
                    repaint();
                };
                for cmd in cmd_rx {
                    match cmd {
                        Command::Append { seat, event } => {
                            if let Err(e) = journal.append(&seat, event) {
                                report(format!("写入日志失败 / journal write failed: {e}"));
                            }
                        }
                        Command::TakeOffline { seat, item, ticket } => {
                            let ticket_id = match (desk.as_mut(), ticket) {
                                (Some(desk), Some(new)) => match desk.create(*new, &seat) {
                                    Ok(t) => Some(t.id),
                                    Err(e) => {
                                        report(format!("建工单失败 / ticket not created: {e}"));
                                        None
                                    }
                                },
                                (None, _) => {
                                    report("工单库不可用：已记录转线下，请后台手工建单".to_owned());
                                    None
                                }
                                (Some(_), None) => None,
                            };
                            let event = ShowEvent::TakenOffline { item, ticket_id };
                            if let Err(e) = journal.append(&seat, event) {
                                report(format!("写入日志失败 / journal write failed: {e}"));
                            }
                        }
                    }
                }
            })?;
        Ok(Self {
            events: ev_rx,
            commands: cmd_tx,
            problems: problem_rx,
        })
    }

    /// Queues a command without waiting. Returns a message if the queue is full.
    pub fn send(&self, cmd: Command) -> Result<(), String> {
        match self.commands.try_send(cmd) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                Err("系统繁忙，请稍后重试 (command queue full)".to_owned())
            }
            Err(TrySendError::Disconnected(_)) => Err("日志已关闭 (journal closed)".to_owned()),
        }
    }
}

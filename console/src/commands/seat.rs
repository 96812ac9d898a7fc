//! `airbridge seat`: a seat on the command line, for automation and tests.
//!
//! - `seat watch --connect URL --token-file F [--from SEQ] [--for SECS] [--json]`
//!   prints the events this seat receives, one line each (`--json`: one
//!   JSON object per line with `seq`, `at_ms`, `seat`, `event`).
//! - `seat do --connect URL --token-file F ACTION…` sends one command and
//!   prints the runtime's answer; a refusal exits non-zero with the reason.
//!   Actions: `line N STATE` (screening, hold, ready, on_air, ended, idle),
//!   `ring N [NUMBER]`, `pin ITEM`, `unpin ITEM`, `answered ITEM`,
//!   `offline ITEM`, `message TEXT…`, `show open|close`, and for the 场控
//!   `approve ITEM`, `approve-all ITEM` (everything its author has
//!   waiting), `reject ITEM`, `block ITEM`, `unblock KEY`, and
//!   `answer ITEM TEXT…` (a written answer); `ITEM` is
//!   `SOURCE:ID` as journaled (`douyin:7301…`), `cluster:N` or `call:N`.
//! - `seat token` prints a new random token for a tokens file.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use airbridge_hub::{ClientOptions, SeatClient};
use airbridge_runtime::{Action, Outcome, parse_item};
use airbridge_show::LineState;
use anyhow::{Context, bail};
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct SeatArgs {
    #[command(subcommand)]
    action: SeatAction,
}

/// Where the runtime is and who this seat is.
#[derive(Debug, Args, Clone)]
pub struct ConnectArgs {
    /// The runtime's seats listener: wss://HOST:PORT (ws:// only on 127.0.0.1)
    #[arg(long, value_name = "URL")]
    pub connect: String,
    /// A file holding this seat's token (private to its owner)
    #[arg(long, value_name = "FILE")]
    pub token_file: PathBuf,
    /// A CA certificate (PEM) to trust besides the system's (a station's own CA)
    #[arg(long, value_name = "FILE", env = "AIRBRIDGE_SEATS_CA")]
    pub ca_file: Option<PathBuf>,
}

impl ConnectArgs {
    /// Reads the token (a file others can read is refused).
    pub fn options(&self, from: u64, meters: bool) -> anyhow::Result<ClientOptions> {
        let token = airbridge_runtime::secrets::read_private_file(&self.token_file)
            .context("seat token")?;
        Ok(ClientOptions {
            url: self.connect.trim_end_matches('/').to_owned(),
            token,
            ca_file: self.ca_file.clone(),
            from,
            meters,
        })
    }
}

#[derive(Debug, Subcommand)]
enum SeatAction {
    /// Print the events this seat receives, one line each
    Watch {
        #[command(flatten)]
        connect: ConnectArgs,
        /// First sequence number [default: only new events]
        #[arg(long, value_name = "SEQ")]
        from: Option<u64>,
        /// Stop after this many seconds [default: until Ctrl+C]
        #[arg(long = "for", value_name = "SECS")]
        for_secs: Option<f64>,
        /// One JSON object per line
        #[arg(long)]
        json: bool,
    },
    /// Send one command and print the runtime's answer
    Do {
        #[command(flatten)]
        connect: ConnectArgs,
        /// line N STATE | ring N [NUMBER] | pin ITEM | unpin ITEM | answered ITEM |
        /// offline ITEM | message TEXT… | show open|close | approve ITEM |
        /// approve-all ITEM | reject ITEM | block ITEM | unblock KEY |
        /// answer ITEM TEXT…
        #[arg(required = true, num_args = 1.., value_name = "ACTION")]
        action: Vec<String>,
    },
    /// Print a new random token (for a line of the tokens file: NAME ROLE TOKEN)
    Token,
}

pub fn run(args: SeatArgs) -> anyhow::Result<()> {
    match args.action {
        SeatAction::Watch {
            connect,
            from,
            for_secs,
            json,
        } => watch(&connect, from, for_secs, json),
        SeatAction::Do { connect, action } => {
            let action = parse_action(&action).map_err(anyhow::Error::msg)?;
            act(&connect, action)
        }
        SeatAction::Token => {
            writeln!(std::io::stdout(), "{}", airbridge_hub::tokens::new_token())?;
            Ok(())
        }
    }
}

fn connect(
    c: &ConnectArgs,
    from: u64,
) -> anyhow::Result<(SeatClient, airbridge_hub::protocol::Welcome)> {
    let client = SeatClient::connect(c.options(from, false)?, || {});
    let welcome = client
        .wait_connected(Duration::from_secs(15))
        .map_err(|why| anyhow::anyhow!("{}: {why}", c.connect))?;
    Ok((client, welcome))
}

#[allow(clippy::disallowed_methods)] // a command-line loop, not the UI
fn watch(
    c: &ConnectArgs,
    from: Option<u64>,
    for_secs: Option<f64>,
    json: bool,
) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    // without --from: only what happens from now on
    let (client, welcome) = connect(c, from.unwrap_or(0))?;
    let mut out = std::io::stdout().lock();
    if !json {
        writeln!(
            out,
            "# seat {} ({}) on {} · journal at #{}",
            welcome.seat,
            welcome.role.name(),
            c.connect,
            welcome.head
        )?;
    }
    out.flush()?;
    let until = for_secs.map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    while !stop.load(Ordering::SeqCst) && until.is_none_or(|u| Instant::now() < u) {
        match client.events.recv_timeout(Duration::from_millis(100)) {
            Ok(ev) => {
                crate::cli::print_event(&mut out, &ev, json)?;
                out.flush()?;
            }
            Err(_) => {
                if let airbridge_hub::LinkState::Refused(why) = client.state() {
                    bail!("{}: {why}", c.connect);
                }
            }
        }
    }
    Ok(())
}

fn act(c: &ConnectArgs, action: Action) -> anyhow::Result<()> {
    let (client, welcome) = connect(c, 0)?;
    let what = action.describe();
    match client.act_wait(action, Duration::from_secs(30)) {
        Ok(outcome) => {
            let detail = match outcome {
                Outcome::Done => String::new(),
                Outcome::Rang(seq) => format!(" (call:{seq})"),
                Outcome::Ticket(Some(id)) => format!(" (ticket {id})"),
                Outcome::Ticket(None) => " (no ticket could be made: see health)".into(),
                Outcome::Kb { id, version } => format!(" (entry {id}, version {version})"),
            };
            writeln!(std::io::stdout(), "ok: {what}{detail}")?;
            Ok(())
        }
        Err(why) => bail!(
            "refused ({} as {}): {why}",
            welcome.seat,
            welcome.role.name()
        ),
    }
}

fn parse_state(s: &str) -> Result<LineState, String> {
    Ok(match s {
        "screening" | "screen" => LineState::Screening,
        "hold" => LineState::Hold,
        "ready" => LineState::Ready,
        "on_air" | "onair" | "air" => LineState::OnAir,
        "ended" | "drop" => LineState::Ended,
        "idle" | "clear" => LineState::Idle,
        "ringing" => LineState::Ringing,
        other => {
            return Err(format!(
                "unknown line state {other:?}: use screening, hold, ready, on_air, ended or idle"
            ));
        }
    })
}

/// Parses `seat do`'s words into an action.
pub fn parse_action(words: &[String]) -> Result<Action, String> {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let line = |s: &str| {
        s.parse::<u8>()
            .map_err(|_| format!("{s:?} is not a line number"))
    };
    match w.as_slice() {
        ["line", n, state] => Ok(Action::Move {
            line: line(n)?,
            to: parse_state(state)?,
        }),
        ["ring", n] => Ok(Action::Ring {
            line: line(n)?,
            caller: None,
        }),
        ["ring", n, number] => Ok(Action::Ring {
            line: line(n)?,
            caller: Some((*number).to_owned()),
        }),
        ["pin", item] => parse_item(item).map(Action::Pin),
        ["unpin", item] => parse_item(item).map(Action::Unpin),
        ["answered", item] => parse_item(item).map(Action::Answered),
        ["offline", item] => parse_item(item).map(|item| Action::Offline { item, ticket: None }),
        ["message", rest @ ..] if !rest.is_empty() => Ok(Action::Message {
            text: rest.join(" "),
        }),
        ["approve", item] => parse_item(item).map(|item| Action::Approve {
            item,
            all_from_author: false,
        }),
        ["approve-all", item] => parse_item(item).map(|item| Action::Approve {
            item,
            all_from_author: true,
        }),
        ["reject", item] => parse_item(item).map(|item| Action::Reject { item }),
        ["block", item] => parse_item(item).map(|item| Action::Block { item }),
        ["answer", item, rest @ ..] if !rest.is_empty() => {
            parse_item(item).map(|item| Action::AnswerInWriting {
                item,
                text: rest.join(" "),
            })
        }
        ["unblock", key] => Ok(Action::Unblock {
            author_key: (*key).to_owned(),
        }),
        ["dump"] => Ok(Action::Delay {
            command: airbridge_show::DelayCommand::Dump { secs: None },
        }),
        ["dump", secs] => match secs.parse::<f32>() {
            Ok(s) if s.is_finite() && s > 0.0 => Ok(Action::Delay {
                command: airbridge_show::DelayCommand::Dump { secs: Some(s) },
            }),
            _ => Err(format!(
                "dump {secs}: give the seconds to dump, e.g. dump 4"
            )),
        },
        ["delay", "exit"] => Ok(Action::Delay {
            command: airbridge_show::DelayCommand::Exit,
        }),
        ["delay", "enter"] => Ok(Action::Delay {
            command: airbridge_show::DelayCommand::Enter,
        }),
        ["segment", id] => id
            .parse::<u32>()
            .map(|segment| Action::StartSegment { segment })
            .map_err(|_| format!("segment {id}: give the segment's number")),
        ["show", "open"] => Ok(Action::Show { open: true }),
        ["show", "close"] => Ok(Action::Show { open: false }),
        _ => Err(format!(
            "{:?}: use line N STATE | ring N [NUMBER] | pin ITEM | unpin ITEM | answered ITEM | offline ITEM | message TEXT | show open|close | approve ITEM | approve-all ITEM | reject ITEM | block ITEM | unblock KEY | answer ITEM TEXT | dump [SECS] | delay exit|enter | segment ID",
            words.join(" ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airbridge_show::ItemRef;

    fn p(s: &str) -> Result<Action, String> {
        parse_action(&s.split(' ').map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn actions_parse_as_documented() {
        assert_eq!(
            p("line 1 on_air").unwrap(),
            Action::Move {
                line: 1,
                to: LineState::OnAir
            }
        );
        assert_eq!(
            p("pin douyin:7301").unwrap(),
            Action::Pin(ItemRef::Message("douyin:7301".into()))
        );
        assert_eq!(
            p("answered cluster:4").unwrap(),
            Action::Answered(ItemRef::Cluster(4))
        );
        assert_eq!(
            p("message 请 注意时间").unwrap(),
            Action::Message {
                text: "请 注意时间".into()
            }
        );
        assert_eq!(
            p("approve-all wechat:oU@1").unwrap(),
            Action::Approve {
                item: ItemRef::Message("wechat:oU@1".into()),
                all_from_author: true
            }
        );
        assert_eq!(
            p("block call:42").unwrap(),
            Action::Block {
                item: ItemRef::Call(42)
            }
        );
        assert!(p("line x on_air").is_err());
        assert!(p("line 1 flying").unwrap_err().contains("on_air"));
        assert!(p("dance").is_err());
    }
}

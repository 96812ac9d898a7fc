//! `airbridge sla …` and `airbridge tickets …`: the back office's tools on the
//! command line, over the same ticket desk the console uses.

use std::io::Write;
use std::path::{Path, PathBuf};

use airbridge_configs::{ConfigSet, TicketClass};
use airbridge_tickets::export::ExportFormat;
use airbridge_tickets::report::{self, Period};
use airbridge_tickets::{
    CallbackOutcome, Change, NewTicket, PostgresStore, Satisfaction, Source, SqliteStore, Stage,
    Ticket, TicketDesk, TicketStore, WorkCalendar, WorkQueue,
};
use anyhow::{Context, bail};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Subcommand)]
pub enum SlaAction {
    /// Print a ticket deadline (RFC 3339, station time) on the last line
    Due {
        /// SLA policy name, e.g. yueyang-125, changping, gaoyou
        #[arg(long)]
        policy: String,
        #[arg(long, value_enum)]
        class: ClassArg,
        #[arg(long, value_enum)]
        stage: StageArg,
        /// When the question was received, RFC 3339 (e.g. 2026-03-10T09:15:00+08:00)
        #[arg(long)]
        received: String,
    },
    /// List working and rest days from DATE (statutory holidays and make-up days)
    Calendar {
        /// First day, YYYY-MM-DD
        from: String,
        /// How many days
        #[arg(long, default_value_t = 14)]
        days: u32,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ClassArg {
    Simple,
    General,
    Complex,
}

impl From<ClassArg> for TicketClass {
    fn from(c: ClassArg) -> Self {
        match c {
            ClassArg::Simple => TicketClass::Simple,
            ClassArg::General => TicketClass::General,
            ClassArg::Complex => TicketClass::Complex,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StageArg {
    Dispatch,
    Resolve,
}

#[derive(Debug, Args)]
pub struct TicketsArgs {
    /// Ticket store: a SQLite file, or a PostgreSQL connection string
    /// (postgres://… or "host=… dbname=…") [default: station config, else <data dir>/tickets.db]
    #[arg(long, env = "AIRBRIDGE_TICKETS_STORE", global = true)]
    store: Option<String>,

    /// Who is acting, for the audit trail [default: $USER]
    #[arg(long = "as", global = true, value_name = "NAME")]
    who: Option<String>,

    /// Every station's tickets in a shared database (a city-level view),
    /// not only this station's (`code` in station.toml)
    #[arg(long, global = true)]
    all_stations: bool,

    #[command(subcommand)]
    action: TicketAction,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum QueueArg {
    New,
    ToDispatch,
    Overdue,
    DueSoon,
    ToCallBack,
}

#[derive(Debug, Subcommand)]
enum TicketAction {
    /// Register a question as a follow-up ticket (deadlines from the SLA policy)
    Create {
        #[arg(long)]
        source: String,
        #[arg(long)]
        question: String,
        #[arg(long, default_value = "")]
        topic: String,
        #[arg(long, value_enum, default_value = "general")]
        class: ClassArg,
        /// Department id(s) from departments.toml
        #[arg(long = "department")]
        departments: Vec<String>,
        /// Citizen's phone or other contact (shown masked in lists)
        #[arg(long)]
        contact: Option<String>,
        /// SLA policy [default: the show's]
        #[arg(long)]
        policy: Option<String>,
        /// Receipt time, RFC 3339 [default: now]
        #[arg(long)]
        received: Option<String>,
    },
    /// List a work queue
    List {
        #[arg(long, value_enum, default_value = "overdue")]
        queue: QueueArg,
        /// Only this department's open tickets (overrides --queue)
        #[arg(long)]
        department: Option<String>,
        /// "Due soon" horizon in hours
        #[arg(long, default_value_t = 24)]
        within_hours: i64,
        #[arg(long)]
        json: bool,
    },
    /// Show one ticket with its audit trail (contact masked unless --full)
    Show {
        id: String,
        /// Show the full contact (back office only)
        #[arg(long)]
        full: bool,
        #[arg(long)]
        json: bool,
    },
    /// Set class and department(s) (分类)
    Classify {
        id: String,
        #[arg(long, value_enum)]
        class: ClassArg,
        #[arg(long = "department", required = true)]
        departments: Vec<String>,
        #[command(flatten)]
        version: VersionArg,
    },
    /// Dispatch to the department (转办)
    Dispatch {
        id: String,
        #[arg(long)]
        assignee: Option<String>,
        #[command(flatten)]
        version: VersionArg,
    },
    /// Record the resolution (办结)
    Resolve {
        id: String,
        #[arg(long)]
        resolution: String,
        #[command(flatten)]
        version: VersionArg,
    },
    /// Record a call-back attempt (回访) and the citizen's satisfaction
    Callback {
        id: String,
        /// reached, no_answer, wrong_number, declined
        #[arg(long)]
        outcome: String,
        /// 满意, 基本满意, 不满意 (when reached)
        #[arg(long)]
        satisfaction: Option<String>,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        version: VersionArg,
    },
    /// Close a called-back ticket
    Close {
        id: String,
        #[command(flatten)]
        version: VersionArg,
    },
    /// Reopen after a dissatisfied call-back
    Reopen {
        id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        version: VersionArg,
    },
    /// Escalate (督办)
    Escalate {
        id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        version: VersionArg,
    },
    /// Add a note
    Note {
        id: String,
        #[arg(long)]
        text: String,
        #[command(flatten)]
        version: VersionArg,
    },
    /// Statistics over tickets received in a week, a month or from --from to
    /// --to (inclusive): received, resolved, 办结率, 按期办结率, 满意率, overdue
    /// rate, handling time in business hours; per department, topic, channel or
    /// station with --by (formulas: docs/tickets.md)
    Report {
        #[arg(long, value_enum, default_value = "month")]
        period: PeriodArg,
        /// Any day in the period, YYYY-MM-DD [default: today]
        #[arg(long, conflicts_with_all = ["from", "to"])]
        date: Option<String>,
        /// First day, YYYY-MM-DD (with --to: a chosen range instead of --period)
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// Last day, YYYY-MM-DD (inclusive)
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// One set of figures per department, topic, channel or station
        #[arg(long, value_enum)]
        by: Option<ByArg>,
        #[arg(long)]
        json: bool,
        /// Also write the report for the station's leadership as XLSX (no contacts)
        #[arg(long)]
        xlsx: Option<PathBuf>,
        /// ... and as PDF (converted with LibreOffice)
        #[arg(long)]
        pdf: Option<PathBuf>,
    },
    /// Export tickets received from --from to --to (inclusive) with their statistics
    Export {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long, value_enum, default_value = "xlsx")]
        format: FormatArg,
        /// Include full contacts (back office only)
        #[arg(long)]
        with_contact: bool,
        file: PathBuf,
    },
    /// Move this station's tickets (with their audit trails) into a database
    /// shared by several stations: all or nothing; numbers get the station's
    /// code as prefix (`code` in station.toml is required)
    Migrate {
        /// The shared store: a PostgreSQL connection string (or a SQLite file)
        #[arg(long)]
        to: String,
    },
    /// Report deadlines that passed or come within the horizon (also into the journal)
    Remind {
        #[arg(long, default_value_t = 4)]
        within_hours: i64,
    },
}

#[derive(Debug, Args)]
struct VersionArg {
    /// The version you based the change on; a newer stored version is a conflict
    #[arg(long = "version")]
    based_on: Option<u64>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PeriodArg {
    Week,
    Month,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ByArg {
    Department,
    Topic,
    Channel,
    Station,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Xlsx,
    Csv,
}

pub fn sla(config: &ConfigSet, action: SlaAction) -> anyhow::Result<()> {
    let calendar = WorkCalendar::from_config(config);
    let mut out = std::io::stdout().lock();
    match action {
        SlaAction::Due {
            policy,
            class,
            stage,
            received,
        } => {
            let p = config.sla_policy(&policy).with_context(|| {
                let known: Vec<_> = config
                    .sla_policies
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect();
                format!(
                    "no SLA policy named {policy:?} (known: {})",
                    known.join(", ")
                )
            })?;
            let received = DateTime::parse_from_rfc3339(&received)
                .with_context(|| format!("--received {received:?} is not an RFC 3339 time such as 2026-03-10T09:15:00+08:00"))?
                .with_timezone(&calendar.time_zone());
            let stage = match stage {
                StageArg::Dispatch => Stage::Dispatch,
                StageArg::Resolve => Stage::Resolve,
            };
            let due = airbridge_tickets::sla::due(&calendar, p, class.into(), stage, received)?;
            writeln!(out, "{}", due.to_rfc3339())?;
        }
        SlaAction::Calendar { from, days } => {
            let mut d = parse_date(&from)?;
            for _ in 0..days {
                let working = calendar.is_working_day(d)?;
                let name = config
                    .holidays
                    .values()
                    .find_map(|c| c.days.get(&d))
                    .map(|h| h.name.clone())
                    .unwrap_or_default();
                writeln!(
                    out,
                    "{d} {} {} {name}",
                    d.format("%a"),
                    if working { "工作日" } else { "休息日" }
                )?;
                d = d.succ_opt().context("date out of range")?;
            }
        }
    }
    Ok(())
}

fn parse_date(s: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .with_context(|| format!("{s:?} is not a date as YYYY-MM-DD"))
}

fn is_postgres(s: &str) -> bool {
    s.starts_with("postgres://")
        || s.starts_with("postgresql://")
        || s.contains("host=")
        || s.contains("dbname=")
}

/// Opens the ticket store named by `spec`, the station config, or the default file.
pub fn open_store(
    spec: Option<&str>,
    config: &ConfigSet,
    data_dir: &Path,
) -> anyhow::Result<Box<dyn TicketStore>> {
    let spec = spec
        .map(str::to_owned)
        .or_else(|| config.station.tickets_store.clone());
    match spec {
        Some(s) if is_postgres(&s) => Ok(Box::new(PostgresStore::connect(&s, None)?)),
        Some(path) => {
            let path = PathBuf::from(path);
            Ok(Box::new(SqliteStore::open(&path).with_context(|| {
                format!("ticket store {}", path.display())
            })?))
        }
        None => {
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("cannot create {}", data_dir.display()))?;
            Ok(Box::new(SqliteStore::open(&data_dir.join("tickets.db"))?))
        }
    }
}

fn print_ticket_line(
    out: &mut impl Write,
    t: &Ticket,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> std::io::Result<()> {
    let due = t.resolve_due.with_timezone(&tz).format("%m-%d %H:%M");
    let late = if t.is_late(now) || t.dispatch_late(now) {
        " 超期"
    } else {
        ""
    };
    writeln!(
        out,
        "{} [{}{late}] 办结时限 {due} {} {} {} {}",
        t.id,
        t.state.label_zh(),
        t.source.label_zh(),
        t.departments.join("、"),
        t.contact_masked(),
        t.question
    )
}

pub fn tickets(
    config: &ConfigSet,
    data_dir: &Path,
    journal: Option<airbridge_show::Journal>,
    args: TicketsArgs,
) -> anyhow::Result<()> {
    let store = open_store(args.store.as_deref(), config, data_dir)?;
    let mut desk = TicketDesk::new(store, config, journal);
    if args.all_stations {
        desk = desk.all_stations()?;
    }
    let who = args
        .who
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "backoffice".into());
    let tz = config.station.time_zone;
    let now = Utc::now();
    let mut out = std::io::stdout().lock();
    let change = |desk: &mut TicketDesk,
                  id: &str,
                  version: VersionArg,
                  change: Change|
     -> anyhow::Result<Ticket> {
        let based_on = match version.based_on {
            Some(v) => v,
            None => desk.get(id)?.version,
        };
        Ok(desk.apply(id, based_on, &change, &who)?)
    };
    let done = |out: &mut std::io::StdoutLock<'_>, t: &Ticket| -> anyhow::Result<()> {
        writeln!(
            out,
            "{} → {}（{}），version {}",
            t.id,
            t.state.label_zh(),
            t.state.as_str(),
            t.version
        )?;
        Ok(())
    };
    match args.action {
        TicketAction::Create {
            source,
            question,
            topic,
            class,
            departments,
            contact,
            policy,
            received,
        } => {
            let source: Source = source.parse().map_err(anyhow::Error::msg)?;
            let received = match received {
                Some(r) => DateTime::parse_from_rfc3339(&r)
                    .with_context(|| format!("--received {r:?} is not an RFC 3339 time"))?
                    .with_timezone(&Utc),
                None => now,
            };
            let mut new = NewTicket::new(source, question, received);
            new.topic = topic;
            new.class = class.into();
            new.departments = departments;
            new.contact = contact;
            new.policy = policy;
            let t = desk.create(new, &who)?;
            writeln!(
                out,
                "{} 已受理：转办时限 {}，办结时限 {}",
                t.id,
                t.dispatch_due.with_timezone(&tz).to_rfc3339(),
                t.resolve_due.with_timezone(&tz).to_rfc3339()
            )?;
        }
        TicketAction::List {
            queue,
            department,
            within_hours,
            json,
        } => {
            let q = match (department, queue) {
                (Some(d), _) => WorkQueue::Department(d),
                (None, QueueArg::New) => WorkQueue::New,
                (None, QueueArg::ToDispatch) => WorkQueue::ToDispatch,
                (None, QueueArg::Overdue) => WorkQueue::Overdue,
                (None, QueueArg::DueSoon) => WorkQueue::DueSoon(Duration::hours(within_hours)),
                (None, QueueArg::ToCallBack) => WorkQueue::ToCallBack,
            };
            let call_back = matches!(q, WorkQueue::ToCallBack);
            for mut t in desk.queue(&q, now)? {
                if json {
                    t.contact = Some(t.contact_masked());
                    writeln!(out, "{}", serde_json::to_string(&t)?)?;
                } else {
                    print_ticket_line(&mut out, &t, tz, now)?;
                    if call_back {
                        writeln!(out, "  回访话术：{}", desk.callback_script(&t))?;
                    }
                }
            }
        }
        TicketAction::Show { id, full, json } => {
            let mut t = desk.get(&id)?;
            if !full {
                t.contact = Some(t.contact_masked());
            }
            let audit = desk.audit(&id)?;
            if json {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({ "ticket": t, "audit": audit })
                )?;
            } else {
                print_ticket_line(&mut out, &t, tz, now)?;
                writeln!(out, "  联系方式 {}", t.contact.clone().unwrap_or_default())?;
                for a in audit {
                    writeln!(
                        out,
                        "  v{} {} {} {} {}",
                        a.version,
                        a.at.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S"),
                        a.who,
                        a.action,
                        a.detail
                    )?;
                }
            }
        }
        TicketAction::Classify {
            id,
            class,
            departments,
            version,
        } => {
            let t = change(
                &mut desk,
                &id,
                version,
                Change::Classify {
                    class: class.into(),
                    departments,
                },
            )?;
            done(&mut out, &t)?;
        }
        TicketAction::Dispatch {
            id,
            assignee,
            version,
        } => {
            let t = change(&mut desk, &id, version, Change::Dispatch { assignee })?;
            done(&mut out, &t)?;
        }
        TicketAction::Resolve {
            id,
            resolution,
            version,
        } => {
            let t = change(&mut desk, &id, version, Change::Resolve { resolution })?;
            done(&mut out, &t)?;
        }
        TicketAction::Callback {
            id,
            outcome,
            satisfaction,
            note,
            version,
        } => {
            let outcome: CallbackOutcome = outcome.parse().map_err(anyhow::Error::msg)?;
            let satisfaction: Option<Satisfaction> = satisfaction
                .map(|s| s.parse())
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let t = change(
                &mut desk,
                &id,
                version,
                Change::CallBack {
                    outcome,
                    satisfaction,
                    note,
                },
            )?;
            done(&mut out, &t)?;
        }
        TicketAction::Close { id, version } => {
            let t = change(&mut desk, &id, version, Change::Close)?;
            done(&mut out, &t)?;
        }
        TicketAction::Reopen {
            id,
            reason,
            version,
        } => {
            let t = change(&mut desk, &id, version, Change::Reopen { reason })?;
            done(&mut out, &t)?;
        }
        TicketAction::Escalate {
            id,
            reason,
            version,
        } => {
            let t = change(&mut desk, &id, version, Change::Escalate { reason })?;
            done(&mut out, &t)?;
        }
        TicketAction::Note { id, text, version } => {
            let t = change(&mut desk, &id, version, Change::Note { text })?;
            done(&mut out, &t)?;
        }
        TicketAction::Report {
            period,
            date,
            from,
            to,
            by,
            json,
            xlsx,
            pdf,
        } => {
            let (from, to) = match (from, to) {
                (Some(f), Some(t)) => {
                    let from = parse_date(&f)?;
                    let to = parse_date(&t)?.succ_opt().context("--to out of range")?;
                    if to <= from {
                        bail!("--to {t} is before --from {f}");
                    }
                    (from, to)
                }
                _ => {
                    let day = match date {
                        Some(d) => parse_date(&d)?,
                        None => now.with_timezone(&tz).date_naive(),
                    };
                    let period = match period {
                        PeriodArg::Week => Period::Week,
                        PeriodArg::Month => Period::Month,
                    };
                    period.bounds(day)
                }
            };
            let by = by.map(|b| match b {
                ByArg::Department => report::GroupBy::Department,
                ByArg::Topic => report::GroupBy::Topic,
                ByArg::Channel => report::GroupBy::Channel,
                ByArg::Station => report::GroupBy::Station,
            });
            let r = period_report_by(&mut desk, config, from, to, now, by)?.1;
            if xlsx.is_some() || pdf.is_some() {
                let scratch = std::env::temp_dir()
                    .join(format!("airbridge-report-{}.xlsx", std::process::id()));
                let book = xlsx.clone().unwrap_or_else(|| scratch.clone());
                let station = &config.station.name;
                airbridge_tickets::export::report_xlsx(&r, station, &book)?;
                if xlsx.is_some() {
                    writeln!(out, "wrote {}", book.display())?;
                }
                if let Some(pdf) = &pdf {
                    let made = airbridge_tickets::export::xlsx_to_pdf(&book, pdf);
                    if xlsx.is_none() {
                        let _ = std::fs::remove_file(&scratch);
                    }
                    made?;
                    writeln!(out, "wrote {}", pdf.display())?;
                }
            }
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&r)?)?;
            } else {
                write!(out, "{}", r.to_text())?;
            }
        }
        TicketAction::Export {
            from,
            to,
            format,
            with_contact,
            file,
        } => {
            let from = parse_date(&from)?;
            let to = parse_date(&to)?.succ_opt().context("--to out of range")?;
            if to <= from {
                bail!("--to is before --from");
            }
            let (tickets, r) = period_report(&mut desk, config, from, to, now)?;
            let format = match format {
                FormatArg::Xlsx => ExportFormat::Xlsx,
                FormatArg::Csv => ExportFormat::Csv,
            };
            airbridge_tickets::export::export(&tickets, &r, tz, &file, format, with_contact)?;
            writeln!(
                out,
                "exported {} tickets to {}",
                tickets.len(),
                file.display()
            )?;
        }
        TicketAction::Migrate { to } => {
            let Some(code) = config.station.code.clone() else {
                bail!(
                    "set `code` in station.toml first (e.g. code = \"yy\"): it marks this station's tickets in the shared database"
                );
            };
            let items = desk.export_all()?;
            let target = open_store(Some(&to), config, data_dir)?;
            let described = target.describe();
            let mut shared = TicketDesk::new(target, config, None);
            let n = shared
                .import_station(&code, items)
                .with_context(|| format!("nothing was moved into {described}"))?;
            writeln!(
                out,
                "moved {n} tickets of station {code} into {described} (numbers now start with {code}-)"
            )?;
        }
        TicketAction::Remind { within_hours } => {
            for r in desk.reminders(now, Duration::hours(within_hours))? {
                let stage = match r.stage {
                    Stage::Dispatch => "转办",
                    Stage::Resolve => "办结",
                };
                let what = if r.overdue {
                    "已超期"
                } else {
                    "即将到期"
                };
                writeln!(
                    out,
                    "{} {stage}{what}（时限 {}）",
                    r.ticket_id,
                    r.due.with_timezone(&tz).to_rfc3339()
                )?;
            }
        }
    }
    Ok(())
}

fn period_report(
    desk: &mut TicketDesk,
    config: &ConfigSet,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<(Vec<Ticket>, report::Report)> {
    period_report_by(desk, config, from, to, now, None)
}

fn period_report_by(
    desk: &mut TicketDesk,
    config: &ConfigSet,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
    by: Option<report::GroupBy>,
) -> anyhow::Result<(Vec<Ticket>, report::Report)> {
    let calendar = WorkCalendar::from_config(config);
    let start = calendar
        .local(from.and_time(chrono::NaiveTime::MIN))?
        .with_timezone(&Utc);
    let end = calendar
        .local(to.and_time(chrono::NaiveTime::MIN))?
        .with_timezone(&Utc);
    let tickets = desk.tickets_received_between(start, end)?;
    let r = report::build_by(
        &tickets,
        &calendar,
        from,
        to,
        now,
        by,
        &config.station.short_name,
    )?;
    Ok((tickets, r))
}

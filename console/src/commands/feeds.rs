//! `airbridge feeds …`: the audience feeds from the command line. `serve`
//! runs the configured receivers (WeChat at `/wechat`, Douyin at `/douyin`,
//! the relay WebSocket at `/relay`) in their own process and journal until
//! it is stopped — for feeds on another machine; on the show's PC the
//! runtime runs them from studio.toml's `[feeds]`; `replay`
//! pushes a recorded JSON Lines trace through the same triage. The work is
//! done by `airbridge-feeds`; this module merges flags over the config file
//! (`<config dir>/feeds.toml`, optional), opens the journal and prints.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use airbridge_feeds::config::{DouyinConfig, WechatConfig, WechatMode};
use airbridge_feeds::{Feeds, FeedsConfig, PipelineConfig};
use airbridge_show::{Journal, ShowEvent, Subscription};
use anyhow::Context;
use clap::{Args, Subcommand};

/// `airbridge feeds` arguments.
#[derive(Debug, Args)]
pub struct FeedsArgs {
    #[command(subcommand)]
    action: FeedsAction,
}

#[derive(Debug, Subcommand)]
enum FeedsAction {
    /// Run the receivers (WeChat callback /wechat, Douyin push /douyin, relay /relay)
    Serve {
        /// Address to listen on [default: feeds.toml's `listen`, else 127.0.0.1:8787]
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// WeChat official account Token (enables /wechat)
        #[arg(long, value_name = "TOKEN")]
        wechat_token: Option<String>,
        /// WeChat EncodingAESKey (43 characters; enables compatible/safe mode)
        #[arg(long, value_name = "KEY")]
        wechat_aes_key: Option<String>,
        /// WeChat AppID (checked inside encrypted messages)
        #[arg(long, value_name = "APPID")]
        wechat_appid: Option<String>,
        /// Douyin live-data push secret (enables /douyin)
        #[arg(long, value_name = "SECRET")]
        douyin_secret: Option<String>,
        /// Write every accepted message as one JSON line on stdout
        #[arg(long)]
        print: bool,
    },
    /// Push a recorded trace (JSON Lines) through triage into the journal
    Replay {
        /// The trace, e.g. feeds/demo/trace.jsonl
        file: PathBuf,
        /// Speed: 1 = as recorded, 10 = ten times faster, 0 = as fast as possible
        #[arg(long, default_value_t = 1.0)]
        rate: f64,
        /// Write every accepted message as one JSON line on stdout
        #[arg(long)]
        print: bool,
    },
}

/// Runs `airbridge feeds …`.
pub fn run(
    args: FeedsArgs,
    config_dir: Option<&Path>,
    journal: Option<PathBuf>,
) -> anyhow::Result<()> {
    let set = crate::cli::load_config(config_dir)?;
    let paths = crate::paths::station(config_dir, &set, journal)?;
    let data = paths.data_dir.clone();
    let journal_path = paths.journal.clone();
    if let Some(parent) = journal_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let journal = Journal::open(&journal_path)
        .with_context(|| format!("cannot open the show journal {}", journal_path.display()))?;
    let mut config = match config_dir.map(|d| d.join("feeds.toml")) {
        Some(p) if p.exists() => FeedsConfig::from_toml_file(&p)?,
        _ => FeedsConfig {
            relay: airbridge_feeds::config::RelayConfig {
                enabled: true,
                token: None,
            },
            ..FeedsConfig::default()
        },
    };
    if config.raw_store.is_none() {
        config.raw_store = Some(data.join("feeds").join("raw-messages.db"));
    }
    match args.action {
        FeedsAction::Serve {
            listen,
            wechat_token,
            wechat_aes_key,
            wechat_appid,
            douyin_secret,
            print,
        } => {
            config.listen = listen
                .or(config.listen)
                .or_else(|| "127.0.0.1:8787".parse().ok());
            if wechat_token.is_some() || wechat_aes_key.is_some() || wechat_appid.is_some() {
                let mut w = config.wechat.take().unwrap_or_else(|| WechatConfig {
                    replay_window_secs: Some(300),
                    ..WechatConfig::default()
                });
                if let Some(t) = wechat_token {
                    w.token = t;
                }
                if let Some(k) = wechat_aes_key {
                    w.encoding_aes_key = Some(k);
                    if w.mode == WechatMode::Plain {
                        w.mode = WechatMode::Compatible;
                    }
                } else if w.encoding_aes_key.is_none() {
                    w.mode = WechatMode::Plain;
                }
                if let Some(a) = wechat_appid {
                    w.appid = a;
                }
                config.wechat = Some(w);
            }
            if let Some(secret) = douyin_secret {
                let mut d = config.douyin.take().unwrap_or(DouyinConfig {
                    secret: String::new(),
                    replay_window_secs: Some(300),
                });
                d.secret = secret;
                config.douyin = Some(d);
            }
            let mut sub = journal.subscribe(journal.last_seq() + 1)?;
            let feeds = Feeds::start(config, journal.clone()).context("cannot start the feeds")?;
            let _ = writeln!(
                std::io::stderr(),
                "note: `feeds serve` runs the receivers in their own process, journaling into {} — for a station whose feeds run on another machine. On the show's own PC put [feeds] in studio.toml: the show runtime runs them into the show's journal.",
                journal_path.display()
            );
            if let Some(addr) = feeds.local_addr() {
                tracing::info!("feeds listening on http://{addr} (/wechat, /douyin, /relay)");
                let _ = writeln!(std::io::stderr(), "feeds listening on http://{addr}");
            }
            // runs until the process is stopped; every acknowledged message is
            // already durable in the journal, so stopping loses nothing
            loop {
                let ev = sub.next_blocking()?;
                if print {
                    print_event(&ev.event)?;
                }
            }
        }
        FeedsAction::Replay { file, rate, print } => {
            let sub = journal.subscribe(journal.last_seq() + 1)?;
            let done = Arc::new(AtomicBool::new(false));
            let printer = print.then(|| {
                let done = Arc::clone(&done);
                std::thread::spawn(move || print_until_done(sub, &done))
            });
            let pipeline = PipelineConfig {
                triage: config.triage.clone(),
                raw_store: config.raw_store.clone(),
                first_cluster_id: cluster_base(),
                ..PipelineConfig::default()
            };
            let report =
                airbridge_feeds::replay::replay_trace_with(&file, rate, journal.clone(), pipeline)
                    .with_context(|| format!("cannot replay {}", file.display()))?;
            done.store(true, Ordering::SeqCst);
            if let Some(p) = printer {
                p.join()
                    .map_err(|_| anyhow::anyhow!("printer thread panicked"))??;
            }
            let _ = writeln!(
                std::io::stderr(),
                "replayed {} lines: {} accepted ({} questions, {} masked), {} duplicates, {} spam, {} malformed",
                report.lines,
                report.accepted,
                report.questions,
                report.masked,
                report.duplicates,
                report.spam,
                report.malformed
            );
            Ok(())
        }
    }
}

fn cluster_base() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() * 1000)
        .unwrap_or(1)
}

fn print_until_done(mut sub: Subscription, done: &AtomicBool) -> anyhow::Result<()> {
    loop {
        let finished = done.load(Ordering::SeqCst);
        match sub.next_timeout(Duration::from_millis(100))? {
            Some(ev) => print_event(&ev.event)?,
            None if finished => return Ok(()),
            None => {}
        }
    }
}

/// One JSON line per audience message: source, id, kind, author, text,
/// cluster (and `"test": true` for platform test data).
fn print_event(ev: &ShowEvent) -> anyhow::Result<()> {
    if let ShowEvent::AudienceMessage {
        source,
        id,
        kind,
        author,
        text,
        cluster,
        test,
        moderation,
        ..
    } = ev
    {
        let mut line = serde_json::json!({
            "source": source,
            "id": id,
            "kind": kind,
            "author": author,
            "text": text,
            "cluster": cluster,
        });
        if *test {
            line["test"] = serde_json::Value::Bool(true);
        }
        if !moderation.is_shown() {
            line["moderation"] = serde_json::to_value(moderation)?;
        }
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    Ok(())
}

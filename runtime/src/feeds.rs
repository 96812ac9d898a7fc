//! `[feeds]` of studio.toml: the keys of `feeds.toml`, with every secret
//! named as `*_env` / `*_file` instead of written down; the receivers run
//! in-process, journaling into the show's journal. A rehearsal may replay a
//! recorded audience trace (`replay = "trace.jsonl"`, `replay_rate`).

use std::path::{Path, PathBuf};

use airbridge_configs::studio::{STUDIO_FILE, SecretRef};
use airbridge_feeds::{Feeds, FeedsConfig, PipelineConfig};

use crate::{Runtime, failed, ok};

/// The secret keys of each `[feeds]` sub-table.
const SECRETS: [(&str, &[&str]); 5] = [
    (
        "wechat",
        &[
            "token",
            "encoding_aes_key",
            "previous_aes_key",
            "app_secret",
        ],
    ),
    ("douyin", &["secret"]),
    ("bilibili", &["access_key_secret"]),
    ("relay", &["token"]),
    ("sms", &["secret"]),
];

/// A `[feeds]` table made ready for `FeedsConfig`: secrets resolved,
/// paths relative to the configuration directory. Each problem is
/// `studio.toml: feeds.KEY: reason`.
pub(crate) struct Prepared {
    pub config: FeedsConfig,
    pub replay: Option<(PathBuf, f64)>,
}

fn issue(key: &str, reason: impl std::fmt::Display) -> String {
    format!("{STUDIO_FILE}: feeds.{key}: {reason}")
}

pub(crate) fn prepare(table: &toml::Table, base: &Path) -> Result<Prepared, Vec<String>> {
    let mut table = table.clone();
    let mut problems = Vec::new();
    for (section, keys) in SECRETS {
        let Some(toml::Value::Table(t)) = table.get_mut(section) else {
            continue;
        };
        for key in keys {
            if t.contains_key(*key) {
                problems.push(issue(
                    &format!("{section}.{key}"),
                    format!(
                        "secrets never go in {STUDIO_FILE}: use {key}_env = \"VARIABLE\" or {key}_file = \"PATH\""
                    ),
                ));
                t.remove(*key);
            }
            let env = t.remove(&format!("{key}_env"));
            let file = t.remove(&format!("{key}_file"));
            let secret = match (env, file) {
                (Some(toml::Value::String(e)), None) => Some(SecretRef::Env(e)),
                (None, Some(toml::Value::String(f))) => Some(SecretRef::File(PathBuf::from(f))),
                (None, None) => None,
                _ => {
                    problems.push(issue(
                        &format!("{section}.{key}_env"),
                        "give one of {key}_env or {key}_file, as a string",
                    ));
                    None
                }
            };
            if let Some(secret) = secret {
                match crate::secrets::resolve(&secret, base) {
                    Ok(v) => {
                        t.insert((*key).to_owned(), toml::Value::String(v));
                    }
                    Err(e) => problems.push(issue(&format!("{section}.{key}"), e)),
                }
            }
        }
    }
    let replay = match table.remove("replay") {
        Some(toml::Value::String(p)) => Some(base.join(p)),
        Some(_) => {
            problems.push(issue("replay", "a trace file name, as a string"));
            None
        }
        None => None,
    };
    let rate = match table.remove("replay_rate") {
        Some(toml::Value::Float(r)) if r >= 0.0 => r,
        Some(toml::Value::Integer(r)) if r >= 0 => r as f64,
        Some(_) => {
            problems.push(issue(
                "replay_rate",
                "a speed: 1 = as recorded, 0 = at once",
            ));
            1.0
        }
        None => 1.0,
    };
    if let Some(toml::Value::Table(b)) = table.get_mut("bilibili")
        && let Some(toml::Value::String(ca)) = b.get("extra_ca_file").cloned()
    {
        b.insert(
            "extra_ca_file".into(),
            toml::Value::String(base.join(ca).display().to_string()),
        );
    }
    if let Some(toml::Value::String(raw)) = table.get("raw_store").cloned() {
        table.insert(
            "raw_store".into(),
            toml::Value::String(base.join(raw).display().to_string()),
        );
    }
    let config: Result<FeedsConfig, String> = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| issue("(table)", e.message().trim()));
    match config {
        Ok(config) if problems.is_empty() => Ok(Prepared {
            config,
            replay: replay.map(|p| (p, rate)),
        }),
        Ok(_) => Err(problems),
        Err(e) => {
            problems.push(e);
            Err(problems)
        }
    }
}

fn cluster_base() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() * 1000)
        .unwrap_or(1)
}

/// Starts the receivers (and a rehearsal replay) of `[feeds]`.
pub(crate) fn start(rt: &Runtime, table: &toml::Table, base: &Path) {
    let prepared = match prepare(table, base) {
        Ok(p) => p,
        Err(problems) => {
            rt.report(failed("feeds", "feeds", &problems.join("; ")));
            return;
        }
    };
    let Prepared { mut config, replay } = prepared;
    if config.raw_store.is_none() {
        config.raw_store = Some(rt.paths().raw_messages());
    }
    if let Some(dir) = config.raw_store.as_ref().and_then(|p| p.parent()) {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Some(w) = &config.wechat
        && let Some(secret) = w.app_secret.clone().filter(|s| !s.is_empty())
    {
        match airbridge_feeds::wechat_cs::CustomerService::new(
            airbridge_feeds::wechat_cs::CsConfig {
                api_base: w
                    .api_base
                    .clone()
                    .unwrap_or_else(|| "https://api.weixin.qq.com".to_owned()),
                appid: w.appid.clone(),
                app_secret: secret,
            },
        ) {
            Ok(cs) => rt.set_customer_service(std::sync::Arc::new(cs)),
            Err(e) => rt.report(failed("wechat answers", "feeds/wechat", &e.to_string())),
        }
    }
    let serves = config.listen.is_some() || config.bilibili.is_some();
    if serves {
        let raw = config.raw_store.clone();
        let triage = config.triage.clone();
        match Feeds::start_moderated(config, rt.journal().clone(), rt.moderation()) {
            Ok(handle) => {
                let (what, zh) = match handle.local_addr() {
                    Some(a) => (
                        format!("listening on http://{a} (/wechat /douyin /relay)"),
                        format!("接收地址 http://{a}（/wechat /douyin /relay）"),
                    ),
                    None => ("clients only".to_owned(), "仅客户端连接".to_owned()),
                };
                rt.report(ok("feeds", "feeds", &what).zh(zh));
                *rt.inner
                    .feeds
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(handle);
            }
            Err(e) => rt.report(failed("feeds", "feeds", &e.to_string())),
        }
        if let Some((path, rate)) = replay {
            start_replay(rt, path, rate, raw, triage);
        }
    } else if let Some((path, rate)) = replay {
        start_replay(
            rt,
            path,
            rate,
            config.raw_store.clone(),
            config.triage.clone(),
        );
    }
}

fn start_replay(
    rt: &Runtime,
    path: PathBuf,
    rate: f64,
    raw_store: Option<PathBuf>,
    triage: airbridge_feeds::TriageConfig,
) {
    if !path.is_file() {
        rt.report(failed(
            "feeds replay",
            "feeds/replay",
            &format!("{}: no such trace", path.display()),
        ));
        return;
    }
    rt.report(
        ok(
            "feeds replay",
            "feeds/replay",
            &format!("{} at {rate}x", path.display()),
        )
        .zh(format!("回放观众留言 {}（{rate} 倍速）", path.display())),
    );
    rt.spawn("runtime-replay", move |rt| {
        let pipeline = PipelineConfig {
            triage,
            raw_store,
            first_cluster_id: cluster_base(),
            ..PipelineConfig::default()
        };
        let stop = std::sync::Arc::clone(&rt.inner.stop);
        match airbridge_feeds::replay::replay_trace_until(
            &path,
            rate,
            rt.journal().clone(),
            pipeline,
            &stop,
        ) {
            Ok(report) => tracing::info!(?report, "audience trace replayed"),
            Err(e) => rt.report(failed("feeds replay", "feeds/replay", &e.to_string())),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_come_from_the_environment_or_a_private_file_never_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let table: toml::Table = toml::from_str(
            r#"
            listen = "127.0.0.1:0"
            [douyin]
            secret = "written-down"
            [wechat]
            token_env = "AIRBRIDGE_TEST_UNSET_TOKEN"
            "#,
        )
        .unwrap();
        let problems = prepare(&table, dir.path()).err().unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].starts_with(
                "studio.toml: feeds.wechat.token: environment variable AIRBRIDGE_TEST_UNSET_TOKEN"
            ),
            "{problems:?}"
        );
        assert!(
            problems[1].starts_with("studio.toml: feeds.douyin.secret: secrets never go in"),
            "{problems:?}"
        );

        let secret = dir.path().join("douyin.secret");
        crate::secrets::write_private_file(&secret, "s3cret\n").unwrap();
        let table: toml::Table = toml::from_str(
            r#"
            listen = "127.0.0.1:0"
            replay = "trace.jsonl"
            [douyin]
            secret_file = "douyin.secret"
            "#,
        )
        .unwrap();
        let p = prepare(&table, dir.path()).ok().unwrap();
        assert_eq!(p.config.douyin.unwrap().secret, "s3cret");
        assert_eq!(p.replay.unwrap().0, dir.path().join("trace.jsonl"));
    }
}

//! Feeds configuration (one per show; the CLI's flags override it).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::bilibili::BiliConfig;
use crate::triage::TriageConfig;

/// Which WeChat message encryption mode the account is set to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WechatMode {
    /// 明文: plaintext only.
    Plain,
    /// 兼容: plaintext and encrypted both accepted.
    #[default]
    Compatible,
    /// 安全: encrypted only.
    Safe,
}

/// The official-account callback at `/wechat`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WechatConfig {
    pub token: String,
    /// 43-character EncodingAESKey (needed for compatible/safe mode).
    pub encoding_aes_key: Option<String>,
    /// The key before the last rotation, still accepted.
    pub previous_aes_key: Option<String>,
    pub appid: String,
    pub mode: WechatMode,
    /// Refuse pushes whose `timestamp` is further than this from now
    /// (replays); `None` = no check (only for the official test vectors).
    pub replay_window_secs: Option<u64>,
    /// Passive text reply to viewer messages (e.g. "已收到"); `None` = `success`.
    pub passive_reply: Option<String>,
    /// The account's AppSecret, for written answers (客服消息); `None` =
    /// answers are kept for the record only.
    pub app_secret: Option<String>,
    /// The API base (`https://api.weixin.qq.com`; a local fake in tests).
    pub api_base: Option<String>,
}

/// The live-data push receiver at `/douyin`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DouyinConfig {
    pub secret: String,
    /// Refuse pushes whose `x-timestamp` is further than this from now.
    pub replay_window_secs: Option<u64>,
}

/// The relay WebSocket at `/relay`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RelayConfig {
    pub enabled: bool,
    /// If set, bridges must connect with `?token=<token>`.
    pub token: Option<String>,
}

/// Everything `Feeds::start` needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct FeedsConfig {
    /// Where the HTTP/WebSocket server listens (`None` = no server).
    pub listen: Option<SocketAddr>,
    pub wechat: Option<WechatConfig>,
    pub douyin: Option<DouyinConfig>,
    pub bilibili: Option<BiliConfig>,
    pub relay: RelayConfig,
    /// The SMS gateway input at `/sms` (`None` = off).
    pub sms: Option<crate::sms::SmsConfig>,
    pub triage: TriageConfig,
    /// Back-office store of raw (unmasked) text; `None` = keep none.
    pub raw_store: Option<PathBuf>,
    /// How often feed health goes to the journal.
    pub health_interval_secs: u64,
    /// Largest request body accepted (bigger ones are refused and counted).
    pub max_body_bytes: usize,
}

impl Default for FeedsConfig {
    fn default() -> Self {
        Self {
            listen: None,
            wechat: None,
            douyin: None,
            bilibili: None,
            relay: RelayConfig::default(),
            sms: None,
            triage: TriageConfig::default(),
            raw_store: None,
            health_interval_secs: 10,
            max_body_bytes: 256 * 1024,
        }
    }
}

impl FeedsConfig {
    /// Reads a `feeds.toml` (every key optional; see `docs/feeds.md`).
    pub fn from_toml_file(path: &std::path::Path) -> Result<Self, crate::FeedsError> {
        let text = std::fs::read_to_string(path)?;
        toml::from_str(&text)
            .map_err(|e| crate::FeedsError::Config(format!("{}: {e}", path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilibili_extra_ca_file_is_optional() {
        let old: FeedsConfig =
            toml::from_str("[bilibili]\napi_base = \"https://example.invalid\"\ncode = \"c\"\n")
                .unwrap();
        let b = old.bilibili.unwrap();
        assert_eq!(b.extra_ca_file, None);
        assert_eq!(b.app_heartbeat_secs, 20);
        let new: FeedsConfig = toml::from_str(
            "[bilibili]\napi_base = \"https://example.invalid\"\nextra_ca_file = \"/etc/airbridge/proxy-ca.pem\"\n",
        )
        .unwrap();
        assert_eq!(
            new.bilibili.unwrap().extra_ca_file,
            Some(PathBuf::from("/etc/airbridge/proxy-ca.pem"))
        );
    }
}

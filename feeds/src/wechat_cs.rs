//! Written answers to WeChat followers through the official account's
//! customer-service message API (客服消息): `POST
//! {api}/cgi-bin/message/custom/send?access_token=T` with `{"touser":
//! OPENID, "msgtype": "text", "text": {"content": …}}`, allowed within 48
//! hours of the follower's last message. The access token comes from
//! `GET {api}/cgi-bin/token?grant_type=client_credential&appid=…&secret=…`
//! (valid `expires_in` seconds, 7200) and is fetched again before it
//! expires, or when the API says it is invalid (errcode 40001 / 42001).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use crate::error::FeedsError;
use crate::tls::ClientTls;

/// How long after a follower's message the account may still write to them.
pub const WINDOW: Duration = Duration::from_secs(48 * 3600);

/// The official account's API credentials.
#[derive(Debug, Clone)]
pub struct CsConfig {
    /// `https://api.weixin.qq.com` (or a local fake).
    pub api_base: String,
    pub appid: String,
    pub app_secret: String,
}

/// The customer-service sender, with its cached access token.
pub struct CustomerService {
    cfg: CsConfig,
    tls: ClientTls,
    token: Mutex<Option<(String, Instant)>>,
}

impl std::fmt::Debug for CustomerService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomerService")
            .field("api", &self.cfg.api_base)
            .field("appid", &self.cfg.appid)
            .finish_non_exhaustive()
    }
}

fn api_error(what: &str, detail: impl std::fmt::Display) -> FeedsError {
    FeedsError::Remote {
        endpoint: what.to_owned(),
        detail: detail.to_string(),
    }
}

impl CustomerService {
    pub fn new(cfg: CsConfig) -> Result<Self, FeedsError> {
        Ok(Self {
            cfg,
            tls: ClientTls::new(None)?,
            token: Mutex::new(None),
        })
    }

    async fn request(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<serde_json::Value, FeedsError> {
        let url: hyper::Uri = format!(
            "{}{path_and_query}",
            self.cfg.api_base.trim_end_matches('/')
        )
        .parse()
        .map_err(|e| api_error(path_and_query, e))?;
        let secure = url.scheme_str() == Some("https");
        let host = url.host().unwrap_or("").to_owned();
        let port = url.port_u16().unwrap_or(if secure { 443 } else { 80 });
        let host_header = match url.port_u16() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let target = url
            .path_and_query()
            .map_or("/", hyper::http::uri::PathAndQuery::as_str)
            .to_owned();
        let work = async {
            let stream = self.tls.connect(&host, port, secure).await?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| api_error(path_and_query, e))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            let req = hyper::Request::builder()
                .method(method)
                .uri(target.as_str())
                .header("host", host_header.as_str())
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body.unwrap_or_default())))
                .map_err(|e| api_error(path_and_query, e))?;
            let resp = sender
                .send_request(req)
                .await
                .map_err(|e| api_error(path_and_query, e))?;
            if !resp.status().is_success() {
                return Err(api_error(path_and_query, format!("HTTP {}", resp.status())));
            }
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| api_error(path_and_query, e))?
                .to_bytes();
            serde_json::from_slice(&bytes).map_err(|e| api_error(path_and_query, e))
        };
        tokio::time::timeout(Duration::from_secs(10), work)
            .await
            .map_err(|_| api_error(path_and_query, "timeout"))?
    }

    /// A valid access token: the cached one while it has more than a fifth
    /// of its life (at most 5 min) left, else a new one.
    async fn access_token(&self, force: bool) -> Result<String, FeedsError> {
        if !force
            && let Some((t, until)) = self.token.lock().ok().and_then(|g| g.clone())
            && Instant::now() < until
        {
            return Ok(t);
        }
        let v = self
            .request(
                "GET",
                &format!(
                    "/cgi-bin/token?grant_type=client_credential&appid={}&secret={}",
                    self.cfg.appid, self.cfg.app_secret
                ),
                None,
            )
            .await?;
        let token = v["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                api_error(
                    "/cgi-bin/token",
                    format!(
                        "errcode {} {}",
                        v["errcode"],
                        v["errmsg"].as_str().unwrap_or("")
                    ),
                )
            })?
            .to_owned();
        let life = Duration::from_secs(v["expires_in"].as_u64().unwrap_or(7200));
        let margin = (life / 5).min(Duration::from_secs(300));
        if let Ok(mut g) = self.token.lock() {
            *g = Some((token.clone(), Instant::now() + life.saturating_sub(margin)));
        }
        Ok(token)
    }

    /// [`CustomerService::send_text`] for a caller off any async runtime
    /// (it runs its own, for the one call; at most 15 s).
    pub fn send_text_blocking(&self, openid: &str, text: &str) -> Result<(), FeedsError> {
        let io = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        io.block_on(async {
            tokio::time::timeout(Duration::from_secs(15), self.send_text(openid, text))
                .await
                .map_err(|_| api_error("custom/send", "timeout"))?
        })
    }

    /// Sends `text` to the follower `openid`.
    pub async fn send_text(&self, openid: &str, text: &str) -> Result<(), FeedsError> {
        let body = serde_json::to_vec(&serde_json::json!({
            "touser": openid,
            "msgtype": "text",
            "text": {"content": text},
        }))
        .map_err(|e| api_error("custom/send", e))?;
        for attempt in 0..2 {
            let token = self.access_token(attempt > 0).await?;
            let v = self
                .request(
                    "POST",
                    &format!("/cgi-bin/message/custom/send?access_token={token}"),
                    Some(body.clone()),
                )
                .await?;
            match v["errcode"].as_i64().unwrap_or(0) {
                0 => return Ok(()),
                // the token was revoked or expired early: a new one, once
                40001 | 40014 | 42001 if attempt == 0 => continue,
                45015 => {
                    return Err(api_error(
                        "custom/send",
                        "45015: more than 48 hours since the follower's last message",
                    ));
                }
                code => {
                    return Err(api_error(
                        "custom/send",
                        format!("errcode {code} {}", v["errmsg"].as_str().unwrap_or("")),
                    ));
                }
            }
        }
        Err(api_error("custom/send", "access token refused twice"))
    }
}

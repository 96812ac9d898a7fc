//! WeChat official account (公众号) callback: URL verification, message
//! signatures, safe-mode (AES-256-CBC) crypto, XML and JSON push formats,
//! and the passive text reply.
//!
//! The HTTP handler lives in [`crate::server`]; everything here is pure and
//! fuzzed (`tests/fuzz_decoders.rs`).

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::NoPadding};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use sha1::{Digest, Sha1};

use crate::error::FeedsError;
use crate::model::{AudienceMessage, Hint};

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    s
}

/// Constant-time string comparison (signatures).
pub(crate) fn ct_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `sha1(concat(sort(parts)))` in hex: the URL signature (token, timestamp,
/// nonce) and the message signature (… plus the `Encrypt` text).
pub fn signature(parts: &[&str]) -> String {
    let mut sorted: Vec<&str> = parts.to_vec();
    sorted.sort_unstable();
    let mut h = Sha1::new();
    for p in sorted {
        h.update(p.as_bytes());
    }
    hex(&h.finalize())
}

type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;
type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;

/// Safe-mode crypto with the current key and, after a rotation, the previous one.
#[derive(Clone)]
pub struct WechatCrypto {
    keys: Vec<[u8; 32]>,
    appid: String,
}

impl std::fmt::Debug for WechatCrypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatCrypto")
            .field("keys", &self.keys.len())
            .field("appid", &self.appid)
            .finish()
    }
}

/// `AESKey = base64_decode(EncodingAESKey + "=")`, 43 chars → 32 bytes.
pub fn decode_aes_key(encoding_aes_key: &str) -> Result<[u8; 32], FeedsError> {
    if encoding_aes_key.len() != 43 {
        return Err(FeedsError::Config(
            "EncodingAESKey must be 43 characters".into(),
        ));
    }
    // EncodingAESKey's last character carries non-zero trailing bits
    let lenient = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    let bytes = lenient
        .decode(format!("{encoding_aes_key}="))
        .map_err(|_| FeedsError::Config("EncodingAESKey is not base64".into()))?;
    bytes
        .try_into()
        .map_err(|_| FeedsError::Config("EncodingAESKey does not decode to 32 bytes".into()))
}

impl WechatCrypto {
    /// `current` first; `previous` (if any) is tried when the current key fails.
    pub fn new(current: &str, previous: Option<&str>, appid: &str) -> Result<Self, FeedsError> {
        let mut keys = vec![decode_aes_key(current)?];
        if let Some(p) = previous.filter(|p| !p.is_empty()) {
            keys.push(decode_aes_key(p)?);
        }
        Ok(Self {
            keys,
            appid: appid.to_owned(),
        })
    }

    /// Decrypts a base64 `Encrypt` value and checks the trailing appid.
    pub fn decrypt(&self, encrypt_b64: &str) -> Result<String, FeedsError> {
        self.decrypt_keyed(encrypt_b64).map(|(msg, _)| msg)
    }

    /// Decrypts, and says which key did it (0 = current, 1 = previous): a
    /// reply goes back under the key the follower's message came with.
    pub fn decrypt_keyed(&self, encrypt_b64: &str) -> Result<(String, usize), FeedsError> {
        let cipher = B64
            .decode(encrypt_b64.trim())
            .map_err(|_| FeedsError::Decrypt("not base64"))?;
        if cipher.is_empty() || cipher.len() % 16 != 0 {
            return Err(FeedsError::Decrypt(
                "length not a multiple of the block size",
            ));
        }
        let mut last = FeedsError::Decrypt("no key");
        for (i, key) in self.keys.iter().enumerate() {
            match decrypt_with(key, &cipher) {
                Ok((msg, appid)) => {
                    if appid != self.appid {
                        // a wrong app id with a working key is not a key problem
                        return Err(FeedsError::WrongAppId);
                    }
                    return Ok((msg, i));
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Encrypts a reply (current key): base64 of AES-256-CBC over
    /// `random16 ‖ len ‖ msg ‖ appid`, PKCS#7-padded to 32 bytes.
    pub fn encrypt(&self, msg: &str, random16: [u8; 16]) -> String {
        self.encrypt_keyed(msg, random16, 0)
    }

    /// Encrypts with key `key` (0 = current, 1 = previous; the current one
    /// if there is no such key).
    pub fn encrypt_keyed(&self, msg: &str, random16: [u8; 16], key: usize) -> String {
        let key = self.keys.get(key).unwrap_or(&self.keys[0]);
        let mut plain = Vec::with_capacity(msg.len() + self.appid.len() + 52);
        plain.extend_from_slice(&random16);
        plain.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        plain.extend_from_slice(msg.as_bytes());
        plain.extend_from_slice(self.appid.as_bytes());
        let pad = 32 - plain.len() % 32;
        plain.extend(std::iter::repeat_n(pad as u8, pad));
        let len = plain.len();
        let enc = Aes256CbcEnc::new(key.into(), key[..16].into());
        match enc.encrypt_padded_mut::<NoPadding>(&mut plain, len) {
            Ok(ct) => B64.encode(ct),
            // unreachable: the buffer is a multiple of the block size
            Err(_) => String::new(),
        }
    }
}

fn decrypt_with(key: &[u8; 32], cipher: &[u8]) -> Result<(String, String), FeedsError> {
    let mut buf = cipher.to_vec();
    let dec = Aes256CbcDec::new(key.into(), key[..16].into());
    let plain = dec
        .decrypt_padded_mut::<NoPadding>(&mut buf)
        .map_err(|_| FeedsError::Decrypt("block"))?;
    let pad = usize::from(*plain.last().ok_or(FeedsError::Decrypt("empty"))?);
    if pad == 0 || pad > 32 || pad > plain.len() {
        return Err(FeedsError::Decrypt("bad padding"));
    }
    if plain[plain.len() - pad..]
        .iter()
        .any(|&b| usize::from(b) != pad)
    {
        return Err(FeedsError::Decrypt("bad padding"));
    }
    let plain = &plain[..plain.len() - pad];
    if plain.len() < 20 {
        return Err(FeedsError::Decrypt("too short"));
    }
    let len = u32::from_be_bytes([plain[16], plain[17], plain[18], plain[19]]) as usize;
    let rest = &plain[20..];
    if len > rest.len() {
        return Err(FeedsError::Decrypt("length field too large"));
    }
    let msg = std::str::from_utf8(&rest[..len]).map_err(|_| FeedsError::Decrypt("not UTF-8"))?;
    let appid =
        std::str::from_utf8(&rest[len..]).map_err(|_| FeedsError::Decrypt("appid not UTF-8"))?;
    Ok((msg.to_owned(), appid.to_owned()))
}

/// One WeChat push, plain fields (XML or JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct WechatMessage {
    #[serde(rename = "ToUserName", default)]
    pub to_user: String,
    #[serde(rename = "FromUserName", default)]
    pub from_user: String,
    #[serde(rename = "CreateTime", default, deserialize_with = "num_or_str")]
    pub create_time: String,
    #[serde(rename = "MsgType", default)]
    pub msg_type: String,
    #[serde(rename = "MsgId", default, deserialize_with = "num_or_str")]
    pub msg_id: String,
    #[serde(rename = "Content", default)]
    pub content: String,
    #[serde(rename = "Recognition", default)]
    pub recognition: String,
    #[serde(rename = "Event", default)]
    pub event: String,
    #[serde(rename = "EventKey", default)]
    pub event_key: String,
    #[serde(rename = "PicUrl", default)]
    pub pic_url: String,
    #[serde(rename = "MediaId", default)]
    pub media_id: String,
    /// Safe/compatible mode: the encrypted message.
    #[serde(rename = "Encrypt", default)]
    pub encrypt: String,
}

fn num_or_str<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        N(u64),
        I(i64),
        S(String),
    }
    Ok(match NumOrStr::deserialize(d)? {
        NumOrStr::N(n) => n.to_string(),
        NumOrStr::I(n) => n.to_string(),
        NumOrStr::S(s) => s,
    })
}

/// Most bytes of a push body we parse.
pub const MAX_BODY: usize = 64 * 1024;

/// Parses an XML or JSON push body (either format; JSON starts with `{`).
pub fn parse_body(body: &str) -> Result<WechatMessage, FeedsError> {
    if body.len() > MAX_BODY {
        return Err(FeedsError::Oversized {
            what: "wechat body",
            len: body.len(),
        });
    }
    let t = body.trim_start();
    if t.starts_with('{') {
        return serde_json::from_str(t).map_err(|e| FeedsError::malformed("wechat json", e));
    }
    parse_xml(t)
}

fn parse_xml(body: &str) -> Result<WechatMessage, FeedsError> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 1000,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(body, opts)
        .map_err(|e| FeedsError::malformed("wechat xml", e))?;
    let root = doc.root_element();
    if root.tag_name().name() != "xml" {
        return Err(FeedsError::malformed("wechat xml", "root is not <xml>"));
    }
    let mut m = WechatMessage::default();
    for child in root.children().filter(|n| n.is_element()) {
        let text: String = child
            .children()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .collect();
        let text = text.trim().to_owned();
        match child.tag_name().name() {
            "ToUserName" => m.to_user = text,
            "FromUserName" => m.from_user = text,
            "CreateTime" => m.create_time = text,
            "MsgType" => m.msg_type = text,
            "MsgId" => m.msg_id = text,
            "Content" => m.content = text,
            "Recognition" => m.recognition = text,
            "Event" => m.event = text,
            "EventKey" => m.event_key = text,
            "PicUrl" => m.pic_url = text,
            "MediaId" => m.media_id = text,
            "Encrypt" => m.encrypt = text,
            _ => {}
        }
    }
    Ok(m)
}

impl WechatMessage {
    /// The dedupe id: `MsgId` for messages, `FromUserName + CreateTime` for events.
    pub fn dedupe_id(&self) -> String {
        if self.msg_id.is_empty() {
            format!("{}@{}", self.from_user, self.create_time)
        } else {
            self.msg_id.clone()
        }
    }

    /// Whether this is a viewer message (not an event or an empty envelope).
    pub fn is_plain_message(&self) -> bool {
        !self.msg_type.is_empty()
    }

    /// Into the common model.
    pub fn to_audience(&self) -> AudienceMessage {
        let (text, hint) = match self.msg_type.as_str() {
            "text" => (self.content.clone(), Hint::Text),
            "voice" if !self.recognition.is_empty() => (self.recognition.clone(), Hint::Text),
            "voice" => (
                String::new(),
                Hint::Media {
                    kind: "语音".into(),
                },
            ),
            "image" => (
                String::new(),
                Hint::Media {
                    kind: "图片".into(),
                },
            ),
            "video" | "shortvideo" => (
                String::new(),
                Hint::Media {
                    kind: "视频".into(),
                },
            ),
            "location" => (
                String::new(),
                Hint::Media {
                    kind: "位置".into(),
                },
            ),
            "link" => (
                String::new(),
                Hint::Media {
                    kind: "链接".into(),
                },
            ),
            "event" => (
                String::new(),
                Hint::Event {
                    name: if self.event.is_empty() {
                        "event".into()
                    } else {
                        self.event.clone()
                    },
                },
            ),
            other => (
                String::new(),
                Hint::Media {
                    kind: other.to_owned(),
                },
            ),
        };
        let ts_ms = self
            .create_time
            .parse::<i64>()
            .map(|s| s * 1000)
            .unwrap_or(0);
        AudienceMessage {
            source: "wechat".into(),
            id: self.dedupe_id(),
            author: self.from_user.clone(),
            text,
            hint,
            ts_ms,
            test: false,
            author_id: self.from_user.clone(),
        }
    }
}

/// XML escaping for CDATA content (`]]>` split).
fn cdata(s: &str) -> String {
    format!("<![CDATA[{}]]>", s.replace("]]>", "]]]]><![CDATA[>"))
}

/// A passive text reply to the sender.
pub fn passive_text_reply(to_user: &str, from_account: &str, text: &str, now_secs: i64) -> String {
    format!(
        "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{}</CreateTime><MsgType>{}</MsgType><Content>{}</Content></xml>",
        cdata(to_user),
        cdata(from_account),
        now_secs,
        cdata("text"),
        cdata(text)
    )
}

/// How long a push that could not be stored is left unanswered: past
/// WeChat's 5 s, so it retries (three times) instead of showing the
/// follower an error.
pub const SILENT_AFTER_FAILURE: std::time::Duration = std::time::Duration::from_millis(5500);

/// The format an account chose for its pushes (公众号 server settings):
/// replies go back in the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
}

impl Format {
    /// The format of a push body (JSON starts with `{`).
    pub fn of(body: &str) -> Self {
        if body.trim_start().starts_with('{') {
            Format::Json
        } else {
            Format::Xml
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Xml => "application/xml; charset=utf-8",
            Format::Json => "application/json; charset=utf-8",
        }
    }
}

/// A passive text reply in the account's format.
pub fn passive_text_reply_in(
    format: Format,
    to_user: &str,
    from_account: &str,
    text: &str,
    now_secs: i64,
) -> String {
    match format {
        Format::Xml => passive_text_reply(to_user, from_account, text, now_secs),
        Format::Json => serde_json::json!({
            "ToUserName": to_user,
            "FromUserName": from_account,
            "CreateTime": now_secs,
            "MsgType": "text",
            "Content": text,
        })
        .to_string(),
    }
}

/// The encrypted envelope of a reply in the account's format.
pub fn encrypted_reply_in(
    format: Format,
    encrypt: &str,
    token: &str,
    timestamp: &str,
    nonce: &str,
) -> String {
    match format {
        Format::Xml => encrypted_reply(encrypt, token, timestamp, nonce),
        Format::Json => serde_json::json!({
            "Encrypt": encrypt,
            "MsgSignature": signature(&[token, timestamp, nonce, encrypt]),
            "TimeStamp": timestamp.parse::<i64>().unwrap_or_default(),
            "Nonce": nonce,
        })
        .to_string(),
    }
}

/// The encrypted envelope of a reply in safe mode.
pub fn encrypted_reply(encrypt: &str, token: &str, timestamp: &str, nonce: &str) -> String {
    let sig = signature(&[token, timestamp, nonce, encrypt]);
    format!(
        "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature><TimeStamp>{}</TimeStamp><Nonce>{}</Nonce></xml>",
        cdata(encrypt),
        cdata(&sig),
        timestamp,
        cdata(nonce)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_encrypt_decrypt() {
        let c = WechatCrypto::new("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", None, "wxapp")
            .unwrap();
        for msg in ["", "a", "<xml>你好</xml>", &"x".repeat(1000)] {
            let e = c.encrypt(msg, [7; 16]);
            assert_eq!(c.decrypt(&e).unwrap(), msg);
        }
    }

    #[test]
    fn parses_voice_with_recognition() {
        let xml = "<xml><ToUserName><![CDATA[gh_0000]]></ToUserName><FromUserName><![CDATA[oUser1]]></FromUserName>\n<CreateTime>1735689600</CreateTime><MsgType><![CDATA[voice]]></MsgType>\n<MediaId><![CDATA[m1]]></MediaId><Format><![CDATA[amr]]></Format>\n<Recognition><![CDATA[医保异地备案怎么办]]></Recognition><MsgId>6000000000000000001</MsgId></xml>";
        let m = parse_body(xml).unwrap();
        let a = m.to_audience();
        assert_eq!(a.text, "医保异地备案怎么办");
        assert_eq!(a.id, "6000000000000000001");
    }

    #[test]
    fn parses_json_and_events() {
        let m = parse_body(r#"{"ToUserName":"gh","FromUserName":"oU","CreateTime":1735689600,"MsgType":"event","Event":"subscribe"}"#).unwrap();
        assert_eq!(m.dedupe_id(), "oU@1735689600");
        assert_eq!(
            m.to_audience().hint,
            Hint::Event {
                name: "subscribe".into()
            }
        );
    }
}

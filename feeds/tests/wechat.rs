#![allow(clippy::unwrap_used, clippy::print_stderr)]
//! WeChat official-account callback over real sockets (127.0.0.1:0), with the
//! official vectors, retries, passive replies, key rotation and every kind
//! of forgery refused and counted.

mod common;

use std::sync::atomic::Ordering;

use airbridge_feeds::config::{WechatConfig, WechatMode};
use airbridge_feeds::wechat::{self, WechatCrypto};
use airbridge_feeds::{Feeds, FeedsConfig, FeedsHandle};
use airbridge_show::{Journal, MessageKind};
use common::{audience, fixture, http, open_journal};

fn start(wechat: WechatConfig, journal: &Journal) -> FeedsHandle {
    let config = FeedsConfig {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        wechat: Some(wechat),
        ..FeedsConfig::default()
    };
    Feeds::start(config, journal.clone()).unwrap()
}

fn vector_config() -> WechatConfig {
    let v = fixture("wechat_mp_vectors.json");
    WechatConfig {
        token: v["aes"]["token"].as_str().unwrap().into(),
        encoding_aes_key: Some(v["aes"]["encoding_aes_key"].as_str().unwrap().into()),
        previous_aes_key: None,
        appid: v["aes"]["appid"].as_str().unwrap().into(),
        mode: WechatMode::Safe,
        replay_window_secs: None,
        passive_reply: None,
        ..WechatConfig::default()
    }
}

fn encrypted_body(encrypt: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    )
}

#[test]
fn url_verification_with_the_official_vector() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open_journal(dir.path());
    let v = fixture("wechat_mp_vectors.json")["url_verify"].clone();
    let feeds = start(
        WechatConfig {
            token: v["token"].as_str().unwrap().into(),
            mode: WechatMode::Plain,
            ..WechatConfig::default()
        },
        &journal,
    );
    let addr = feeds.local_addr().unwrap();
    let q = |sig: &str| {
        format!(
            "/wechat?signature={sig}&timestamp={}&nonce={}&echostr=echo123",
            v["timestamp"].as_str().unwrap(),
            v["nonce"].as_str().unwrap()
        )
    };
    let (status, body) = http(addr, "GET", &q(v["signature"].as_str().unwrap()), &[], b"");
    assert_eq!((status, body.as_str()), (200, "echo123"));
    let (status, _) = http(
        addr,
        "GET",
        &q("0000000000000000000000000000000000000000"),
        &[],
        b"",
    );
    assert_eq!(status, 403);
    assert_eq!(
        feeds
            .health("wechat")
            .unwrap()
            .bad_signature
            .load(Ordering::Relaxed),
        1
    );
}

#[test]
fn safe_mode_vector_is_accepted_once_despite_retries() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open_journal(dir.path());
    let v = fixture("wechat_mp_vectors.json")["aes"].clone();
    let feeds = start(vector_config(), &journal);
    let addr = feeds.local_addr().unwrap();
    let path = format!(
        "/wechat?signature=ignored&timestamp={}&nonce={}&encrypt_type=aes&msg_signature={}",
        v["timestamp"].as_str().unwrap(),
        v["nonce"].as_str().unwrap(),
        v["msg_signature"].as_str().unwrap()
    );
    let body = encrypted_body(v["encrypt"].as_str().unwrap());
    // WeChat tries up to three times when it does not hear back in time
    for _ in 0..3 {
        let (status, reply) = http(addr, "POST", &path, &[], body.as_bytes());
        assert_eq!((status, reply.as_str()), (200, "success"));
    }
    feeds.shutdown();
    let msgs = audience(&journal);
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert_eq!(msgs[0].0, "wechat:6054768590064713728");
    assert_eq!(msgs[0].2, "abcdteT");
}

#[test]
fn forged_stale_wrong_appid_and_tampered_pushes_are_refused_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open_journal(dir.path());
    let mut cfg = vector_config();
    cfg.replay_window_secs = Some(300);
    let token = cfg.token.clone();
    let key = cfg.encoding_aes_key.clone().unwrap();
    let appid = cfg.appid.clone();
    let feeds = start(cfg, &journal);
    let addr = feeds.local_addr().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let xml = |id: u64| {
        format!(
            "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oU]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[社保卡怎么补办？]]></Content><MsgId>{id}</MsgId></xml>"
        )
    };
    let good = WechatCrypto::new(&key, None, &appid).unwrap();
    let other_app = WechatCrypto::new(&key, None, "wx_someone_else").unwrap();
    let send = |ts: &str, enc: &str, sig: &str| {
        let path = format!("/wechat?timestamp={ts}&nonce=n1&encrypt_type=aes&msg_signature={sig}");
        http(addr, "POST", &path, &[], encrypted_body(enc).as_bytes()).0
    };

    // a valid one, to show the server accepts when all is right
    let enc = good.encrypt(&xml(1), [1; 16]);
    assert_eq!(
        send(&now, &enc, &wechat::signature(&[&token, &now, "n1", &enc])),
        200
    );

    // forged signature
    let enc = good.encrypt(&xml(2), [2; 16]);
    assert_eq!(
        send(&now, &enc, "5d197aaffba7e9b25a30732f161a50dee96bd5fa"),
        403
    );
    // replayed: correct signature, timestamp an hour old
    let old = (now.parse::<u64>().unwrap() - 3600).to_string();
    assert_eq!(
        send(&old, &enc, &wechat::signature(&[&token, &old, "n1", &enc])),
        403
    );
    // wrong appid inside the ciphertext
    let enc = other_app.encrypt(&xml(3), [3; 16]);
    assert_eq!(
        send(&now, &enc, &wechat::signature(&[&token, &now, "n1", &enc])),
        403
    );
    // tampered ciphertext, original signature
    let enc = good.encrypt(&xml(4), [4; 16]);
    let sig = wechat::signature(&[&token, &now, "n1", &enc]);
    let mut raw = base64_decode(&enc);
    let last = raw.len() - 1;
    raw[last] ^= 0x55;
    let tampered = base64_encode(&raw);
    assert_eq!(send(&now, &tampered, &sig), 403);
    // tampered ciphertext, re-signed (an attacker who knows the token but not the key)
    let sig = wechat::signature(&[&token, &now, "n1", &tampered]);
    assert_eq!(send(&now, &tampered, &sig), 403);
    // plaintext in safe mode
    let path = format!(
        "/wechat?timestamp={now}&nonce=n1&signature={}",
        wechat::signature(&[&token, &now, "n1"])
    );
    assert_eq!(http(addr, "POST", &path, &[], xml(5).as_bytes()).0, 400);
    // garbage
    let path = format!("/wechat?timestamp={now}&nonce=n1&encrypt_type=aes&msg_signature=x");
    assert_eq!(http(addr, "POST", &path, &[], b"<xml><Encrypt>").0, 400);

    let h = feeds.health("wechat").unwrap();
    let stats = feeds.stats();
    assert_eq!(h.bad_signature.load(Ordering::Relaxed), 2);
    assert_eq!(h.stale.load(Ordering::Relaxed), 1);
    assert_eq!(h.wrong_appid.load(Ordering::Relaxed), 1);
    assert_eq!(h.decrypt_failed.load(Ordering::Relaxed), 1);
    assert_eq!(h.malformed.load(Ordering::Relaxed), 2);
    feeds.shutdown();
    assert_eq!(stats.accepted.load(Ordering::Relaxed), 1);
    let msgs = audience(&journal);
    assert_eq!(msgs.len(), 1, "only the valid push is journaled: {msgs:?}");
    assert_eq!(msgs[0].0, "wechat:1");
    assert_eq!(msgs[0].1, MessageKind::Question);
}

#[test]
fn previous_key_still_decrypts_after_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open_journal(dir.path());
    let v = fixture("wechat_mp_vectors.json")["aes"].clone();
    let mut cfg = vector_config();
    cfg.previous_aes_key = cfg.encoding_aes_key.take();
    cfg.encoding_aes_key = Some("ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut".into());
    let feeds = start(cfg, &journal);
    let path = format!(
        "/wechat?timestamp={}&nonce={}&encrypt_type=aes&msg_signature={}",
        v["timestamp"].as_str().unwrap(),
        v["nonce"].as_str().unwrap(),
        v["msg_signature"].as_str().unwrap()
    );
    let body = encrypted_body(v["encrypt"].as_str().unwrap());
    let (status, _) = http(
        feeds.local_addr().unwrap(),
        "POST",
        &path,
        &[],
        body.as_bytes(),
    );
    assert_eq!(status, 200);
    feeds.shutdown();
    assert_eq!(audience(&journal).len(), 1);
}

#[test]
fn plain_xml_and_json_with_passive_reply_voice_and_event_dedupe() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open_journal(dir.path());
    let feeds = start(
        WechatConfig {
            token: "tok".into(),
            mode: WechatMode::Plain,
            passive_reply: Some("已收到，节目组会尽快回复".into()),
            ..WechatConfig::default()
        },
        &journal,
    );
    let addr = feeds.local_addr().unwrap();
    let path = format!(
        "/wechat?timestamp=1735689600&nonce=abc&signature={}",
        wechat::signature(&["tok", "1735689600", "abc"])
    );
    let text = "<xml><ToUserName><![CDATA[gh_0000]]></ToUserName><FromUserName><![CDATA[oUser1]]></FromUserName><CreateTime>1735689600</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[我叫张三丰，电话13800001234，退休金怎么领？]]></Content><MsgId>7000000000000000001</MsgId></xml>";
    let (status, reply) = http(addr, "POST", &path, &[], text.as_bytes());
    assert_eq!(status, 200);
    assert!(
        reply.contains("<ToUserName><![CDATA[oUser1]]></ToUserName>"),
        "{reply}"
    );
    assert!(reply.contains("已收到"), "{reply}");
    let voice = "<xml><ToUserName><![CDATA[gh_0000]]></ToUserName><FromUserName><![CDATA[oUser1]]></FromUserName>\n<CreateTime>1735689600</CreateTime><MsgType><![CDATA[voice]]></MsgType>\n<MediaId><![CDATA[m1]]></MediaId><Format><![CDATA[amr]]></Format>\n<Recognition><![CDATA[医保异地备案怎么办]]></Recognition><MsgId>6000000000000000001</MsgId></xml>";
    assert_eq!(http(addr, "POST", &path, &[], voice.as_bytes()).0, 200);
    let json = r#"{"ToUserName":"gh_0000","FromUserName":"oUser2","CreateTime":1735689601,"MsgType":"event","Event":"subscribe"}"#;
    for _ in 0..3 {
        let (status, reply) = http(
            addr,
            "POST",
            &path,
            &[("Content-Type", "application/json")],
            json.as_bytes(),
        );
        assert_eq!((status, reply.as_str()), (200, "success"));
    }
    let image = r#"{"ToUserName":"gh_0000","FromUserName":"oUser3","CreateTime":1735689602,"MsgType":"image","PicUrl":"http://example.invalid/p.jpg","MediaId":"x","MsgId":7000000000000000002}"#;
    assert_eq!(http(addr, "POST", &path, &[], image.as_bytes()).0, 200);
    feeds.shutdown();
    let msgs = audience(&journal);
    assert_eq!(msgs.len(), 4, "{msgs:?}");
    assert!(
        msgs[0].2.contains("138****1234") && msgs[0].2.contains("张**"),
        "{}",
        msgs[0].2
    );
    assert!(!msgs.iter().any(|m| m.2.contains("13800001234")));
    assert_eq!(msgs[1].2, "医保异地备案怎么办");
    assert_eq!(msgs[2].0, "wechat:oUser2@1735689601");
    assert_eq!(msgs[2].1, MessageKind::System);
    assert_eq!(msgs[3].1, MessageKind::Chatter);
}

#[test]
fn safe_mode_passive_reply_is_encrypted_and_signed() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open_journal(dir.path());
    let mut cfg = vector_config();
    cfg.passive_reply = Some("已收到".into());
    let token = cfg.token.clone();
    let crypto =
        WechatCrypto::new(cfg.encoding_aes_key.as_deref().unwrap(), None, &cfg.appid).unwrap();
    let feeds = start(cfg, &journal);
    let v = fixture("wechat_mp_vectors.json")["aes"].clone();
    let path = format!(
        "/wechat?timestamp={}&nonce={}&encrypt_type=aes&msg_signature={}",
        v["timestamp"].as_str().unwrap(),
        v["nonce"].as_str().unwrap(),
        v["msg_signature"].as_str().unwrap()
    );
    let (status, reply) = http(
        feeds.local_addr().unwrap(),
        "POST",
        &path,
        &[],
        encrypted_body(v["encrypt"].as_str().unwrap()).as_bytes(),
    );
    assert_eq!(status, 200);
    let env = wechat::parse_body(&reply).unwrap();
    let doc = roxmltree::Document::parse(&reply).unwrap();
    let field = |n: &str| {
        doc.descendants()
            .find(|x| x.has_tag_name(n))
            .and_then(|x| x.text())
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        field("MsgSignature"),
        wechat::signature(&[&token, &field("TimeStamp"), &field("Nonce"), &env.encrypt])
    );
    let inner = crypto.decrypt(&env.encrypt).unwrap();
    assert!(
        inner.contains("已收到") && inner.contains("oyORnuP8q7ou2gfYjqLzSIWZf0rs"),
        "{inner}"
    );
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// A safe-mode push encrypted with `key` (43-char EncodingAESKey), in
/// `json` or XML: (query path, body).
fn safe_push(key: &str, appid: &str, token: &str, inner: &str, json: bool) -> (String, String) {
    let c = WechatCrypto::new(key, None, appid).unwrap();
    let enc = c.encrypt(inner, [7u8; 16]);
    let (ts, nonce) = ("1735689600", "n0nce");
    let sig = wechat::signature(&[token, ts, nonce, &enc]);
    let path = format!("/wechat?timestamp={ts}&nonce={nonce}&encrypt_type=aes&msg_signature={sig}");
    let body = if json {
        serde_json::json!({"ToUserName": "gh_0000", "Encrypt": enc}).to_string()
    } else {
        encrypted_body(&enc)
    };
    (path, body)
}

const KEY_OLD: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const KEY_NEW: &str = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut";

/// An account that chose JSON gets JSON replies (plain and safe mode), and
/// during a key rotation a message that came under the previous key is
/// answered under that key.
#[test]
fn replies_come_in_the_accounts_format_under_the_key_that_decrypted() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open_journal(dir.path());
    let cfg = WechatConfig {
        token: "tok".into(),
        encoding_aes_key: Some(KEY_NEW.into()),
        previous_aes_key: Some(KEY_OLD.into()),
        appid: "wx0000000000000001".into(),
        mode: WechatMode::Compatible,
        replay_window_secs: None,
        passive_reply: Some("已收到".into()),
        ..WechatConfig::default()
    };
    let feeds = start(cfg, &journal);
    let addr = feeds.local_addr().unwrap();
    // plain JSON → a JSON passive reply
    let path = format!(
        "/wechat?timestamp=1735689600&nonce=abc&signature={}",
        wechat::signature(&["tok", "1735689600", "abc"])
    );
    let json = r#"{"ToUserName":"gh_0000","FromUserName":"oJson1","CreateTime":1735689600,"MsgType":"text","Content":"公积金怎么提取？","MsgId":7100000000000000001}"#;
    let (status, reply) = http(addr, "POST", &path, &[], json.as_bytes());
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&reply).expect("a JSON reply");
    assert_eq!(
        (v["ToUserName"].as_str(), v["MsgType"].as_str()),
        (Some("oJson1"), Some("text"))
    );
    assert_eq!(v["Content"], "已收到");

    // safe mode, JSON, under the previous key → encrypted JSON, previous key
    let inner = r#"{"ToUserName":"gh_0000","FromUserName":"oJson2","CreateTime":1735689601,"MsgType":"text","Content":"社保卡怎么补办？","MsgId":7100000000000000002}"#;
    let (path, body) = safe_push(KEY_OLD, "wx0000000000000001", "tok", inner, true);
    let (status, reply) = http(addr, "POST", &path, &[], body.as_bytes());
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&reply).expect("an encrypted JSON reply");
    let enc = v["Encrypt"].as_str().unwrap();
    assert_eq!(
        v["MsgSignature"].as_str().unwrap(),
        wechat::signature(&[
            "tok",
            &v["TimeStamp"].to_string(),
            v["Nonce"].as_str().unwrap(),
            enc
        ])
    );
    let old_only = WechatCrypto::new(KEY_OLD, None, "wx0000000000000001").unwrap();
    let new_only = WechatCrypto::new(KEY_NEW, None, "wx0000000000000001").unwrap();
    assert!(new_only.decrypt(enc).is_err(), "not under the new key");
    let plain = old_only
        .decrypt(enc)
        .expect("under the key the message came with");
    let inner_reply: serde_json::Value = serde_json::from_str(&plain).unwrap();
    assert_eq!(inner_reply["ToUserName"], "oJson2");

    // safe mode, XML, under the new key → encrypted XML, new key
    let inner = "<xml><ToUserName><![CDATA[gh_0000]]></ToUserName><FromUserName><![CDATA[oXml3]]></FromUserName><CreateTime>1735689602</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[医保怎么备案]]></Content><MsgId>7100000000000000003</MsgId></xml>";
    let (path, body) = safe_push(KEY_NEW, "wx0000000000000001", "tok", inner, false);
    let (status, reply) = http(addr, "POST", &path, &[], body.as_bytes());
    assert_eq!(status, 200);
    let env = wechat::parse_body(&reply).unwrap();
    assert!(reply.trim_start().starts_with("<xml>"), "{reply}");
    assert!(new_only.decrypt(&env.encrypt).unwrap().contains("oXml3"));
    feeds.shutdown();
    assert_eq!(audience(&journal).len(), 3);
}

/// When the message cannot be stored (the journal is locked by another
/// program), the receiver answers nothing within WeChat's 5 s — never an
/// error status — so WeChat retries; the retry after recovery is stored
/// once.
#[test]
fn a_store_failure_is_left_unanswered_so_wechat_retries() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let journal = open_journal(dir.path());
    let feeds = start(
        WechatConfig {
            token: "tok".into(),
            mode: WechatMode::Plain,
            ..WechatConfig::default()
        },
        &journal,
    );
    let addr = feeds.local_addr().unwrap();
    // another program holds the journal file's write lock
    let locker = rusqlite::Connection::open(dir.path().join("journal.db")).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let path = format!(
        "/wechat?timestamp=1735689600&nonce=abc&signature={}",
        wechat::signature(&["tok", "1735689600", "abc"])
    );
    let text = "<xml><ToUserName><![CDATA[gh_0000]]></ToUserName><FromUserName><![CDATA[oRetry]]></FromUserName><CreateTime>1735689600</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[退休金怎么领？]]></Content><MsgId>7200000000000000001</MsgId></xml>";
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    // WeChat's side: it waits 5 s for an answer
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )
    .unwrap();
    let mut got = Vec::new();
    let read = s.read_to_end(&mut got);
    assert!(
        read.is_err() && got.is_empty(),
        "no answer within 5 s (got {:?})",
        String::from_utf8_lossy(&got)
    );
    drop(s);
    // the lock goes away; WeChat retries the same message
    locker.execute_batch("ROLLBACK").unwrap();
    drop(locker);
    let (status, reply) = http(addr, "POST", &path, &[], text.as_bytes());
    assert_eq!((status, reply.as_str()), (200, "success"));
    feeds.shutdown();
    let msgs = audience(&journal);
    assert_eq!(msgs.len(), 1, "stored once: {msgs:?}");
}

#![allow(clippy::unwrap_used, clippy::print_stderr)]
//! The SMS gateway input over a real socket: JSON and form posts with the
//! shared secret are journaled once each (masked), a retry is a duplicate,
//! a wrong secret is refused and counted.

mod common;

use std::sync::atomic::Ordering;

use airbridge_feeds::sms::SmsConfig;
use airbridge_feeds::{Feeds, FeedsConfig};
use common::{audience, http, open_journal};

#[test]
fn a_gateway_pushes_texts_with_its_secret() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open_journal(dir.path());
    let feeds = Feeds::start(
        FeedsConfig {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            sms: Some(SmsConfig {
                secret: "gw-secret-0001".into(),
            }),
            ..FeedsConfig::default()
        },
        journal.clone(),
    )
    .unwrap();
    let addr = feeds.local_addr().unwrap();
    let json =
        r#"{"id":"gw-1","from":"13800001234","text":"我的电话13800001234，社保卡怎么补办？"}"#;
    let h = [
        ("X-Airbridge-Secret", "gw-secret-0001"),
        ("Content-Type", "application/json"),
    ];
    for _ in 0..2 {
        let (status, body) = http(addr, "POST", "/sms", &h, json.as_bytes());
        assert_eq!((status, body.as_str()), (200, r#"{"ok":true}"#));
    }
    let form = "id=gw-2&from=13900005678&text=%E5%85%AC%E7%A7%AF%E9%87%91%E6%80%8E%E4%B9%88%E6%8F%90%E5%8F%96%EF%BC%9F";
    let (status, _) = http(
        addr,
        "POST",
        "/sms?secret=gw-secret-0001",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    assert_eq!(status, 200);
    let (status, _) = http(
        addr,
        "POST",
        "/sms",
        &[("X-Airbridge-Secret", "guess")],
        json.as_bytes(),
    );
    assert_eq!(status, 401);
    let (status, body) = http(addr, "POST", "/sms", &h, br#"{"id":"x","from":"none"}"#);
    assert_eq!(status, 400);
    assert!(body.contains("phone number"), "{body}");
    let health = feeds.health("sms").unwrap();
    assert_eq!(health.bad_signature.load(Ordering::Relaxed), 1);
    assert_eq!(health.malformed.load(Ordering::Relaxed), 1);
    feeds.shutdown();
    let msgs = audience(&journal);
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert_eq!(msgs[0].0, "sms:gw-1");
    assert!(msgs[0].2.contains("138****1234") && !msgs[0].2.contains("13800001234"));
    assert_eq!(msgs[1].2, "公积金怎么提取？");
}

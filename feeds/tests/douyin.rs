#![allow(clippy::unwrap_used, clippy::print_stderr)]
//! Douyin live-data push over real sockets: official signature vectors,
//! arrays of payloads of all four types, dedupe on msg_id, forged and
//! replayed pushes refused and counted.

mod common;

use std::sync::atomic::Ordering;

use airbridge_feeds::config::DouyinConfig;
use airbridge_feeds::{Feeds, FeedsConfig, FeedsHandle, douyin};
use airbridge_show::{Journal, MessageKind};
use common::{audience, fixture, http, open_journal};

fn start(secret: &str, window: Option<u64>, journal: &Journal) -> FeedsHandle {
    Feeds::start(
        FeedsConfig {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            douyin: Some(DouyinConfig {
                secret: secret.into(),
                replay_window_secs: window,
            }),
            ..FeedsConfig::default()
        },
        journal.clone(),
    )
    .unwrap()
}

fn headers_of(v: &serde_json::Value) -> Vec<(String, String)> {
    v["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn official_and_synthetic_signature_vectors() {
    let f = fixture("douyin_open_push_signature.json");
    for name in ["vector_official", "vector_live_comment_synthetic"] {
        let v = &f[name];
        let h = headers_of(v);
        let sig = douyin::signature(
            h.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            v["body"].as_str().unwrap().as_bytes(),
            v["secret"].as_str().unwrap(),
        );
        assert_eq!(sig, v["x_signature"].as_str().unwrap(), "{name}");
    }
}

fn push(
    feeds: &FeedsHandle,
    msg_type: &str,
    ts_ms: &str,
    body: &str,
    secret: &str,
    forge: bool,
) -> u16 {
    let mut h = vec![
        ("x-nonce-str".to_owned(), "n0nce".to_owned()),
        ("x-timestamp".to_owned(), ts_ms.to_owned()),
        ("x-roomid".to_owned(), "7300000000000000000".to_owned()),
        ("x-msg-type".to_owned(), msg_type.to_owned()),
    ];
    let mut sig = douyin::signature(
        h.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        body.as_bytes(),
        secret,
    );
    if forge {
        sig = "GAkalGmhzqlUGQO/TgvMug==".into();
    }
    h.push(("x-signature".into(), sig));
    h.push(("content-type".into(), "application/json".into()));
    let hs: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    http(
        feeds.local_addr().unwrap(),
        "POST",
        "/douyin",
        &hs,
        body.as_bytes(),
    )
    .0
}

#[test]
fn synthetic_vector_over_a_socket_is_accepted_once() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open_journal(dir.path());
    let v = fixture("douyin_open_push_signature.json")["vector_live_comment_synthetic"].clone();
    let feeds = start("test_secret", None, &journal);
    let mut hs: Vec<(String, String)> = headers_of(&v);
    hs.push((
        "x-signature".into(),
        v["x_signature"].as_str().unwrap().into(),
    ));
    let hs: Vec<(&str, &str)> = hs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    for _ in 0..2 {
        let (status, _) = http(
            feeds.local_addr().unwrap(),
            "POST",
            "/douyin",
            &hs,
            v["body"].as_str().unwrap().as_bytes(),
        );
        assert_eq!(status, 200);
    }
    let stats = feeds.stats();
    feeds.shutdown();
    let msgs = audience(&journal);
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].0, "douyin:fixture-c-1");
    assert_eq!(msgs[0].2, "营业执照怎么网上办？");
    assert_eq!(msgs[0].1, MessageKind::Question);
    assert_eq!(stats.duplicates.load(Ordering::Relaxed), 1);
}

#[test]
fn arrays_of_all_message_types_and_forgeries_refused() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open_journal(dir.path());
    let secret = "s3cret";
    let feeds = start(secret, Some(120), &journal);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    let comments = r#"[{"msg_id":"c1","sec_openid":"u1","content":"公积金怎么提取？","nickname":"观众A","timestamp":1},
                      {"msg_id":"c2","sec_openid":"u2","content":"主持人好","nickname":"观众B","timestamp":2},
                      {"msg_id":"c3","sec_openid":"u3","content":"请问公积金如何提取","nickname":"观众C","timestamp":3}]"#;
    assert_eq!(
        push(&feeds, "live_comment", &now_ms, comments, secret, false),
        200
    );
    // Douyin may deliver twice: same msg_ids again
    assert_eq!(
        push(&feeds, "live_comment", &now_ms, comments, secret, false),
        200
    );
    let gifts = r#"[{"msg_id":"g1","sec_openid":"u4","sec_gift_id":"rose","gift_num":3,"gift_value":30,"nickname":"观众D","timestamp":4}]"#;
    assert_eq!(
        push(&feeds, "live_gift", &now_ms, gifts, secret, false),
        200
    );
    let likes =
        r#"[{"msg_id":"l1","sec_openid":"u5","like_num":12,"nickname":"观众E","timestamp":5}]"#;
    assert_eq!(
        push(&feeds, "live_like", &now_ms, likes, secret, false),
        200
    );
    let fans = r#"[{"msg_id":"f1","sec_openid":"u6","fansclub_reason_type":2,"fansclub_level":1,"nickname":"观众F","timestamp":6}]"#;
    assert_eq!(
        push(&feeds, "live_fansclub", &now_ms, fans, secret, false),
        200
    );

    // refused: forged signature, wrong secret, replayed timestamp, malformed body
    let evil = r#"[{"msg_id":"x1","content":"加微信领补贴","nickname":"x","timestamp":1}]"#;
    assert_eq!(
        push(&feeds, "live_comment", &now_ms, evil, secret, true),
        403
    );
    assert_eq!(
        push(
            &feeds,
            "live_comment",
            &now_ms,
            evil,
            "not-the-secret",
            false
        ),
        403
    );
    let old = (now_ms.parse::<u64>().unwrap() - 3_600_000).to_string();
    assert_eq!(push(&feeds, "live_comment", &old, evil, secret, false), 403);
    assert_eq!(
        push(
            &feeds,
            "live_comment",
            &now_ms,
            "[{\"msg_id\":",
            secret,
            false
        ),
        400
    );

    let h = feeds.health("douyin").unwrap();
    assert_eq!(h.bad_signature.load(Ordering::Relaxed), 2);
    assert_eq!(h.stale.load(Ordering::Relaxed), 1);
    assert_eq!(h.malformed.load(Ordering::Relaxed), 1);
    feeds.shutdown();
    let msgs = audience(&journal);
    let ids: Vec<&str> = msgs.iter().map(|m| m.0.as_str()).collect();
    assert_eq!(
        ids,
        [
            "douyin:c1",
            "douyin:c2",
            "douyin:c3",
            "douyin:g1",
            "douyin:l1",
            "douyin:f1"
        ]
    );
    let kinds: Vec<MessageKind> = msgs.iter().map(|m| m.1).collect();
    assert_eq!(
        kinds,
        [
            MessageKind::Question,
            MessageKind::Chatter,
            MessageKind::Question,
            MessageKind::Gift,
            MessageKind::Like,
            MessageKind::System
        ]
    );
    // the two paraphrases share a cluster
    assert!(msgs[0].3.is_some());
    assert_eq!(msgs[0].3, msgs[2].3);
}

/// A push as a station's HTTPS reverse proxy forwards it: the platform's
/// four signed headers plus the proxy's own `X-Forwarded-For`, `X-Real-IP`,
/// `X-Forwarded-Proto` (which Douyin did not sign) — accepted.
#[test]
fn a_push_through_a_reverse_proxy_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open_journal(dir.path());
    let secret = "s3cret";
    let feeds = start(secret, None, &journal);
    let body = r#"[{"msg_id":"p1","sec_openid":"u1","content":"社保卡怎么补办？","nickname":"观众","timestamp":1}]"#;
    let signed = [
        ("x-nonce-str", "n0nce"),
        ("x-timestamp", "1735689600000"),
        ("x-roomid", "7300000000000000000"),
        ("x-msg-type", "live_comment"),
    ];
    let sig = douyin::signature(signed.iter().copied(), body.as_bytes(), secret);
    let mut hs: Vec<(&str, &str)> = signed.to_vec();
    hs.extend([
        ("x-signature", sig.as_str()),
        ("content-type", "application/json"),
        ("X-Forwarded-For", "203.0.113.7"),
        ("X-Real-IP", "203.0.113.7"),
        ("X-Forwarded-Proto", "https"),
        ("x-tt-logid", "20260101000000ABCDEF"),
    ]);
    let (status, _) = http(
        feeds.local_addr().unwrap(),
        "POST",
        "/douyin",
        &hs,
        body.as_bytes(),
    );
    assert_eq!(status, 200, "a genuine push behind a proxy");
    feeds.shutdown();
    assert_eq!(audience(&journal).len(), 1);
}

/// An `x-msg-type` this receiver does not know is answered 200 (Douyin
/// counts anything else as a failure and stops after 10) and counted.
#[test]
fn an_unknown_message_type_is_answered_2xx_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open_journal(dir.path());
    let feeds = start("s3cret", None, &journal);
    let status = push(
        &feeds,
        "live_super_new_kind",
        "1735689600000",
        r#"[{"msg_id":"n1"}]"#,
        "s3cret",
        false,
    );
    assert_eq!(status, 200);
    let h = feeds.health("douyin").unwrap();
    assert_eq!(h.unknown_types.load(Ordering::Relaxed), 1);
    assert_eq!(h.malformed.load(Ordering::Relaxed), 0);
    feeds.shutdown();
    assert!(audience(&journal).is_empty());
}

/// Platform test data (`test: true`, sent when a developer tests the push
/// in the console) is journaled as test and never reaches a screen.
#[test]
fn test_data_is_journaled_as_test_and_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open_journal(dir.path());
    let feeds = start("s3cret", None, &journal);
    let gifts = r#"[{"msg_id":"t1","sec_openid":"u1","sec_gift_id":"rose","gift_num":1,"gift_value":10,"nickname":"测试","timestamp":1,"test":true},
                   {"msg_id":"g2","sec_openid":"u2","sec_gift_id":"rose","gift_num":2,"gift_value":20,"nickname":"观众","timestamp":2}]"#;
    assert_eq!(
        push(&feeds, "live_gift", "1735689600000", gifts, "s3cret", false),
        200
    );
    let comment = r#"[{"msg_id":"t2","sec_openid":"u1","content":"公积金怎么提取？","nickname":"测试","timestamp":3,"test":true}]"#;
    assert_eq!(
        push(
            &feeds,
            "live_comment",
            "1735689600000",
            comment,
            "s3cret",
            false
        ),
        200
    );
    let h = feeds.health("douyin").unwrap();
    assert_eq!(h.test_messages.load(Ordering::Relaxed), 2);
    feeds.shutdown();
    let mut board = airbridge_show::ShowBoard::default();
    let mut tests = 0;
    for ev in journal.replay(1).unwrap() {
        let ev = ev.unwrap();
        if let airbridge_show::ShowEvent::AudienceMessage { test, cluster, .. } = &ev.event
            && *test
        {
            tests += 1;
            assert_eq!(*cluster, None, "test data joins no cluster");
        }
        airbridge_show::Projection::apply(&mut board, &ev);
    }
    assert_eq!(tests, 2, "both journaled, as test");
    assert_eq!(board.audience.total, 1, "only the real gift counts");
    assert!(board.audience.clusters.is_empty());
    assert!(board.audience.recent_questions.is_empty());
}

#![allow(clippy::unwrap_used, clippy::print_stderr)]
//! Relay WebSocket ingest over a real socket: generic JSON (SMS gateway) and
//! relayed Douyin webcast PushFrames (fixture), acks, malformed frames.

mod common;

use std::time::Duration;

use airbridge_feeds::config::RelayConfig;
use airbridge_feeds::pushframe;
use airbridge_feeds::{Feeds, FeedsConfig, Hint};
use airbridge_show::MessageKind;
use common::{audience, fixture, open_journal};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn pushframe_fixture_decodes() {
    let f = fixture("douyin_webcast_pushframe.json");
    let d = pushframe::decode_frame(&unhex(f["push_frame_hex"].as_str().unwrap())).unwrap();
    let e = &f["expected"];
    assert_eq!(d.log_id, e["log_id"].as_u64().unwrap());
    assert!(d.need_ack);
    assert_eq!(d.internal_ext, e["internal_ext"].as_str().unwrap());
    assert_eq!(d.messages.len(), 3);
    assert_eq!(d.messages[0].text, "社保卡丢了怎么补办？");
    assert_eq!(d.messages[0].author, "观众A");
    assert!(
        matches!(&d.messages[1].hint, Hint::Gift { name, count: 3, .. } if name == "玫瑰"),
        "{:?}",
        d.messages[1].hint
    );
    assert_eq!(d.messages[2].hint, Hint::Like { count: 9 });
    assert_eq!(
        pushframe::ack_frame(d.log_id, &d.internal_ext),
        unhex(f["ack_frame_for_above_hex"].as_str().unwrap())
    );
    let hb = pushframe::decode_frame(&unhex(f["heartbeat_frame_hex"].as_str().unwrap())).unwrap();
    assert!(hb.heartbeat);
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_text(ws: &mut Ws) -> String {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Message::Text(t) = m {
            return t.to_string();
        }
    }
}

#[test]
fn relay_socket_takes_json_and_pushframes() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open_journal(dir.path());
    let feeds = Feeds::start(
        FeedsConfig {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            relay: RelayConfig {
                enabled: true,
                token: Some("bridge-token".into()),
            },
            ..FeedsConfig::default()
        },
        journal.clone(),
    )
    .unwrap();
    let addr = feeds.local_addr().unwrap();
    let f = fixture("douyin_webcast_pushframe.json");
    let frame = unhex(f["push_frame_hex"].as_str().unwrap());
    let ack = unhex(f["ack_frame_for_above_hex"].as_str().unwrap());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // wrong token: refused
        let refused = tokio_tungstenite::connect_async(format!("ws://{addr}/relay?token=nope")).await;
        assert!(refused.is_err());

        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/relay?token=bridge-token"))
            .await
            .unwrap();
        let sms = r#"[{"source":"sms","id":"gw-1","author":"13800001234","text":"您好，我叫王五，身份证110105199001011234丢了在哪补办？","ts_ms":1},
                      {"source":"sms","id":"gw-2","author":"13900005678","text":"医保卡密码忘了怎么办"}]"#;
        ws.send(Message::text(sms)).await.unwrap();
        let reply = next_text(&mut ws).await;
        assert!(reply.contains(r#""accepted":2"#), "{reply}");
        ws.send(Message::text(sms)).await.unwrap();
        let reply = next_text(&mut ws).await;
        assert!(reply.contains(r#""duplicates":2"#), "{reply}");
        ws.send(Message::text("{not json")).await.unwrap();
        let reply = next_text(&mut ws).await;
        assert!(reply.contains(r#""ok":false"#), "{reply}");
        ws.send(Message::text(r#"{"source":"bad source!","id":"1","text":"x"}"#)).await.unwrap();
        let reply = next_text(&mut ws).await;
        assert!(reply.contains(r#""ok":false"#), "{reply}");

        ws.send(Message::binary(frame.clone())).await.unwrap();
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
        assert_eq!(m, Message::binary(ack.clone()));
        ws.send(Message::binary(vec![0xff, 0x01, 0x02])).await.unwrap();
        let reply = next_text(&mut ws).await;
        assert!(reply.contains(r#""ok":false"#), "{reply}");
        ws.close(None).await.unwrap();
    });
    let malformed = feeds
        .health("relay")
        .unwrap()
        .malformed
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(malformed, 3);
    feeds.shutdown();
    let msgs = audience(&journal);
    assert_eq!(msgs.len(), 5, "{msgs:?}");
    assert_eq!(msgs[0].0, "sms:gw-1");
    assert!(!msgs[0].2.contains("199001011234"), "{}", msgs[0].2);
    assert!(msgs[0].2.contains("王**"), "{}", msgs[0].2);
    assert_eq!(msgs[0].1, MessageKind::Question);
    assert_eq!(msgs[2].2, "社保卡丢了怎么补办？");
    assert_eq!(msgs[3].1, MessageKind::Gift);
    assert_eq!(msgs[4].1, MessageKind::Like);
}

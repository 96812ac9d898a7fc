#![allow(clippy::unwrap_used, clippy::print_stderr)]
//! Property-based fuzzing of every decoder that sees untrusted bytes: random
//! inputs and mutations (byte flips, insertions, truncation) of the official
//! and fixture inputs. The property: never panic; errors are fine.
//!
//! CI runs `FEEDS_FUZZ_CASES` (default 3000) cases per target; the 1M run is
//! documented in docs/feeds.md:
//! `FEEDS_FUZZ_CASES=1000000 cargo test --release -p airbridge-feeds --test fuzz_decoders`

use airbridge_feeds::wechat::{self, WechatCrypto};
use airbridge_feeds::{bilibili, douyin, pushframe, relay, sms};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("FEEDS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn fixture(name: &str) -> serde_json::Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// A seed input mutated: (position, byte) overwrites, one insertion, a cut.
fn mutated(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let n = seeds.len();
    (
        0..n,
        prop::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        prop::option::of((any::<usize>(), any::<u8>())),
        prop::option::of(any::<usize>()),
    )
        .prop_map(move |(i, flips, insert, cut)| {
            let mut v = seeds[i].clone();
            if v.is_empty() {
                return v;
            }
            for (pos, b) in flips {
                let l = v.len();
                v[pos % l] ^= b;
            }
            if let Some((pos, b)) = insert {
                let l = v.len();
                v.insert(pos % (l + 1), b);
            }
            if let Some(c) = cut {
                let l = v.len();
                v.truncate(c % (l + 1));
            }
            v
        })
}

fn input(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![prop::collection::vec(any::<u8>(), 0..600), mutated(seeds)]
}

fn bilibili_seeds() -> Vec<Vec<u8>> {
    let f = fixture("bilibili_ws_packets.json");
    [
        "auth_packet_hex",
        "auth_reply_hex",
        "heartbeat_hex",
        "heartbeat_reply_hex",
        "normal_brotli_ver3_hex",
        "normal_zlib_ver2_hex",
    ]
    .iter()
    .map(|k| unhex(f[*k].as_str().unwrap()))
    .collect()
}

fn pushframe_seeds() -> Vec<Vec<u8>> {
    let f = fixture("douyin_webcast_pushframe.json");
    [
        "push_frame_hex",
        "heartbeat_frame_hex",
        "ack_frame_for_above_hex",
    ]
    .iter()
    .map(|k| unhex(f[*k].as_str().unwrap()))
    .collect()
}

fn wechat_seeds() -> Vec<Vec<u8>> {
    let f = fixture("wechat_mp_vectors.json");
    vec![
        f["aes"]["expected_plaintext_xml"].as_str().unwrap().as_bytes().to_vec(),
        br#"{"ToUserName":"gh","FromUserName":"oU","CreateTime":1,"MsgType":"text","Content":"x","MsgId":1}"#.to_vec(),
        f["aes"]["encrypt"].as_str().unwrap().as_bytes().to_vec(),
    ]
}

fn crypto() -> WechatCrypto {
    let f = fixture("wechat_mp_vectors.json");
    WechatCrypto::new(
        f["aes"]["encoding_aes_key"].as_str().unwrap(),
        None,
        f["aes"]["appid"].as_str().unwrap(),
    )
    .unwrap()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn bilibili_packets_never_panic(bytes in input(bilibili_seeds())) {
        if let Ok(packets) = bilibili::decode(&bytes) {
            for p in packets {
                let _ = bilibili::decode_command(&p.body);
                let _ = bilibili::popularity(&p);
            }
        }
    }

    #[test]
    fn pushframes_never_panic(bytes in input(pushframe_seeds())) {
        let _ = pushframe::decode_frame(&bytes);
    }

    #[test]
    fn wechat_xml_json_and_crypto_never_panic(bytes in input(wechat_seeds())) {
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(m) = wechat::parse_body(&text) {
            let _ = m.to_audience();
        }
        let _ = crypto().decrypt(&text);
    }

    #[test]
    fn wechat_ciphertext_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let _ = crypto().decrypt(&b64);
    }

    #[test]
    fn douyin_and_relay_json_never_panic(bytes in input(vec![
        br#"[{"msg_id":"c1","sec_openid":"u1","content":"x","nickname":"n","timestamp":1}]"#.to_vec(),
        br#"[{"source":"sms","id":"1","text":"x","kind":"gift","count":2}]"#.to_vec(),
    ])) {
        for t in ["live_comment", "live_gift", "live_like", "live_fansclub", "x"] {
            let _ = douyin::decode(t, &bytes);
        }
        let _ = relay::parse_text_frame(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn sms_json_and_forms_never_panic(bytes in input(vec![
        r#"{"id":"gw-1","from":"+86 138-0000-1234","text":"社保卡怎么补办？","ts_ms":1735689600000}"#.as_bytes().to_vec(),
        b"id=gw-1&from=13800001234&text=%E7%A4%BE%E4%BF%9D&ts_ms=1".to_vec(),
    ])) {
        let _ = sms::decode(&bytes);
    }
}

//! Written answers (场外应答) to WeChat followers through the account's
//! customer-service messages, against a local fake of the API: one answer
//! per send, to the follower who asked; the access token fetched once and
//! again when it expires; a question older than 48 hours refused (and
//! nothing sent); other channels' answers kept for the record. Real pushes
//! over a socket.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airbridge_configs::ConfigSet;
use airbridge_configs::studio::parse_studio;
use airbridge_feeds::wechat;
use airbridge_runtime::{
    Action, DeskSource, KbSource, Role, Runtime, RuntimeOptions, StationPaths,
};
use airbridge_show::{ItemRef, ShowEvent};
use axum::extract::{Query, State};
use axum::routing::{get, post};

#[derive(Default)]
struct FakeApi {
    tokens: Mutex<u32>,
    sent: Mutex<Vec<serde_json::Value>>,
}

async fn token(
    State(api): State<Arc<FakeApi>>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> String {
    if q.get("appid").map(String::as_str) != Some("wx0000000000000009")
        || q.get("secret").map(String::as_str) != Some("app-secret-for-tests")
    {
        return r#"{"errcode":40125,"errmsg":"invalid appsecret"}"#.into();
    }
    let mut n = api.tokens.lock().unwrap();
    *n += 1;
    // a short life, so the test sees a refresh
    format!(r#"{{"access_token":"TOKEN-{n}","expires_in":2}}"#)
}

async fn send(
    State(api): State<Arc<FakeApi>>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    body: String,
) -> String {
    let n = *api.tokens.lock().unwrap();
    if q.get("access_token") != Some(&format!("TOKEN-{n}")) {
        return r#"{"errcode":40001,"errmsg":"invalid credential"}"#.into();
    }
    api.sent
        .lock()
        .unwrap()
        .push(serde_json::from_str(&body).unwrap());
    r#"{"errcode":0,"errmsg":"ok"}"#.into()
}

fn private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn push(addr: SocketAddr, from: &str, msg_id: u64, created: i64, text: &str) {
    let path = format!(
        "/wechat?timestamp=1735689600&nonce=n&signature={}",
        wechat::signature(&["tok", "1735689600", "n"])
    );
    let body = format!(
        "<xml><ToUserName><![CDATA[gh_0]]></ToUserName><FromUserName><![CDATA[{from}]]></FromUserName><CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    );
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
}

#[test]
fn a_written_answer_reaches_the_wechat_follower_once_within_48_hours() {
    let api = Arc::new(FakeApi::default());
    let io = tokio::runtime::Runtime::new().unwrap();
    let api_addr = io.block_on(async {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/cgi-bin/token", get(token))
            .route("/cgi-bin/message/custom/send", post(send))
            .with_state(Arc::clone(&api));
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        addr
    });

    let dir = tempfile::tempdir().unwrap();
    private(&dir.path().join("wechat.token"), "tok");
    private(&dir.path().join("wechat.appsecret"), "app-secret-for-tests");
    let studio = format!(
        "[audio]\noutput_device = \"none\"\n\
         [feeds]\nlisten = \"127.0.0.1:0\"\n\
         [feeds.wechat]\ntoken_file = \"wechat.token\"\nmode = \"plain\"\nappid = \"wx0000000000000009\"\n\
         app_secret_file = \"wechat.appsecret\"\napi_base = \"http://{api_addr}\"\n"
    );
    let config = ConfigSet::embedded_demo().unwrap();
    let load = parse_studio("studio.toml", &studio, dir.path(), config.show.lines);
    let rt = Runtime::start(RuntimeOptions {
        kb: KbSource::None,
        speech: false,
        desk: DeskSource::None,
        ..RuntimeOptions::new(
            config.clone(),
            StationPaths::under(dir.path(), &config),
            load,
        )
    })
    .unwrap();
    let feeds = rt
        .parts()
        .into_iter()
        .find(|p| p.name == "feeds")
        .unwrap()
        .to_string();
    let feeds: SocketAddr = feeds
        .split("http://")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    push(feeds, "oFollowerA", 7301, now - 60, "社保卡丢了怎么补办？");
    push(
        feeds,
        "oFollowerB",
        7302,
        now - 49 * 3600,
        "两天前的问题：公积金怎么提取？",
    );
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while rt.board().audience.recent_questions.len() < 2 {
        assert!(std::time::Instant::now() < end);
        std::thread::sleep(Duration::from_millis(20));
    }
    let answer = |id: &str, text: &str| {
        rt.execute_as(
            "houtai1",
            Role::Backoffice,
            Action::AnswerInWriting {
                item: ItemRef::Message(id.into()),
                text: text.into(),
            },
        )
    };
    // a host may not answer in writing
    assert!(
        rt.execute_as(
            "host1",
            Role::Host,
            Action::AnswerInWriting {
                item: ItemRef::Message("wechat:7301".into()),
                text: "x".into(),
            },
        )
        .is_err()
    );
    answer(
        "wechat:7301",
        "您好，社保卡补办请携带身份证到就近网点办理。",
    )
    .unwrap();
    {
        let sent = api.sent.lock().unwrap();
        assert_eq!(sent.len(), 1, "exactly one answer per send");
        assert_eq!(sent[0]["touser"], "oFollowerA");
        assert_eq!(sent[0]["msgtype"], "text");
        assert!(
            sent[0]["text"]["content"]
                .as_str()
                .unwrap()
                .contains("身份证")
        );
    }
    // the token expires (2 s): the next send fetches a new one
    std::thread::sleep(Duration::from_millis(2200));
    answer("wechat:7301", "补充：也可在线上预约。").unwrap();
    assert_eq!(api.sent.lock().unwrap().len(), 2);
    assert_eq!(*api.tokens.lock().unwrap(), 2);
    // after 48 hours: refused, nothing sent
    let why = answer("wechat:7302", "迟到的答复").unwrap_err();
    assert!(why.0.contains("48"), "{why}");
    assert_eq!(api.sent.lock().unwrap().len(), 2);
    // journaled, and the question marked answered
    let written: Vec<(ItemRef, Option<String>)> = rt
        .journal()
        .replay(1)
        .unwrap()
        .filter_map(|e| match e.unwrap().event {
            ShowEvent::AnsweredInWriting { item, sent_via, .. } => Some((item, sent_via)),
            _ => None,
        })
        .collect();
    assert_eq!(written.len(), 2);
    assert_eq!(written[0].1.as_deref(), Some("wechat"));
    assert!(
        rt.board()
            .answered
            .contains(&ItemRef::Message("wechat:7301".into()))
    );
    rt.stop();
}

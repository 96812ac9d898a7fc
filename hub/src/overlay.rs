//! The on-screen overlay for the live stream: `GET /overlay` on the seats
//! listener serves a page (plain HTML, CSS and a small script; no build
//! step) that shows the question the producer has pinned — masked, with
//! its count (×N) and channel — and follows the pins live by asking
//! `GET /overlay/state` four times a second. No token: it shows only what
//! is already public (what the host reads out). For OBS or 直播伴侣 as a
//! browser source, like blivechat's overlay.

use airbridge_show::{ItemRef, ShowBoard};
use serde::Serialize;

/// How the overlay looks (studio.toml `[overlay]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayStyle {
    /// Text size in CSS pixels.
    pub font_size: u32,
    pub color: String,
    pub background: String,
    /// `bottom`, `top` or `center`.
    pub position: String,
}

impl Default for OverlayStyle {
    fn default() -> Self {
        Self {
            font_size: 40,
            color: "#ffffff".into(),
            background: "rgba(0, 0, 0, 0.6)".into(),
            position: "bottom".into(),
        }
    }
}

pub use airbridge_configs::studio::is_css_colour as safe_css_value;

/// What the overlay shows now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverlayState {
    /// The question (masked as journaled); empty: nothing pinned.
    pub text: String,
    /// How many asked it (a cluster's count; 1 for a single message).
    pub count: u64,
    /// Where it came from, in Chinese (`抖音`, `微信` …).
    pub channel: String,
    /// Changes whenever the pinned item changes.
    pub item: String,
}

fn channel_zh(source: &str) -> String {
    match source {
        "douyin" | "douyin_webcast" => "抖音".into(),
        "wechat" => "微信".into(),
        "bilibili" => "哔哩哔哩".into(),
        "sms" => "短信".into(),
        "call" => "热线".into(),
        other => other.into(),
    }
}

/// The newest pinned item that is public: a shown question or cluster, or
/// a call's topic.
pub fn state(board: &ShowBoard) -> OverlayState {
    let none = OverlayState {
        text: String::new(),
        count: 0,
        channel: String::new(),
        item: String::new(),
    };
    let Some(item) = board.pinned.last() else {
        return none;
    };
    let key = format!("{item:?}");
    match item {
        ItemRef::Cluster(id) => board
            .audience
            .clusters
            .get(id)
            .map_or(none, |c| OverlayState {
                text: c.example.clone(),
                count: c.count,
                channel: c
                    .sources
                    .iter()
                    .map(|s| channel_zh(s))
                    .collect::<Vec<_>>()
                    .join(" · "),
                item: key,
            }),
        ItemRef::Message(id) => board
            .audience
            .recent_questions
            .iter()
            .find(|m| &m.id == id)
            .map_or(none, |m| OverlayState {
                text: m.text.clone(),
                count: 1,
                channel: channel_zh(&m.source),
                item: key,
            }),
        ItemRef::Call(seq) => board
            .lines
            .values()
            .find(|l| l.call_seq == *seq)
            .and_then(|l| l.note.as_ref())
            .filter(|n| !n.topic.is_empty() && !n.private)
            .map_or(none, |n| OverlayState {
                text: n.topic.clone(),
                count: 1,
                channel: channel_zh("call"),
                item: key,
            }),
    }
}

/// The page.
pub fn page(style: &OverlayStyle) -> String {
    let pick = |v: &str, d: &str| {
        if safe_css_value(v) {
            v.to_owned()
        } else {
            d.to_owned()
        }
    };
    let color = pick(&style.color, "#ffffff");
    let background = pick(&style.background, "rgba(0, 0, 0, 0.6)");
    let align = match style.position.as_str() {
        "top" => "flex-start",
        "center" => "center",
        _ => "flex-end",
    };
    let size = style.font_size.clamp(12, 200);
    format!(
        r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>AirBridge 置顶提问</title>
<style>
  html, body {{ margin: 0; height: 100%; background: transparent; overflow: hidden; }}
  body {{ display: flex; flex-direction: column; justify-content: {align}; align-items: center;
         font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; }}
  #card {{ margin: 24px; padding: 18px 28px; border-radius: 14px; max-width: 90%;
          background: {background}; color: {color}; font-size: {size}px; line-height: 1.35;
          transition: opacity 0.3s; }}
  #card.empty {{ opacity: 0; }}
  #meta {{ font-size: 0.55em; opacity: 0.8; margin-top: 6px; }}
</style>
</head>
<body>
<div id="card" class="empty"><div id="text"></div><div id="meta"></div></div>
<script>
  const card = document.getElementById("card");
  const text = document.getElementById("text");
  const meta = document.getElementById("meta");
  let shown = null;
  async function tick() {{
    try {{
      const r = await fetch("/overlay/state", {{ cache: "no-store" }});
      const s = await r.json();
      if (s.item !== shown) {{
        shown = s.item;
        text.textContent = s.text;
        meta.textContent = s.text ? (s.channel + (s.count > 1 ? " · ×" + s.count : "")) : "";
        card.className = s.text ? "" : "empty";
      }}
    }} catch (e) {{ /* the runtime restarts: keep the last question, try again */ }}
    setTimeout(tick, 250);
  }}
  tick();
</script>
</body>
</html>
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use airbridge_show::{MessageKind, Projection, ShowEvent, StoredEvent};

    #[test]
    fn the_newest_public_pin_is_shown() {
        let mut b = ShowBoard::default();
        assert_eq!(state(&b).text, "");
        let mut seq = 0;
        let mut apply = |b: &mut ShowBoard, event: ShowEvent| {
            seq += 1;
            b.apply(&StoredEvent {
                seq,
                at_ms: 0,
                seat: "t".into(),
                event,
            });
        };
        for (i, src) in ["douyin", "wechat"].into_iter().enumerate() {
            apply(
                &mut b,
                ShowEvent::AudienceMessage {
                    source: src.into(),
                    id: format!("{src}:{i}"),
                    kind: MessageKind::Question,
                    author: "u".into(),
                    text: "公积金怎么提取？".into(),
                    cluster: Some(7),
                    test: false,
                    moderation: Default::default(),
                    author_key: String::new(),
                },
            );
        }
        apply(
            &mut b,
            ShowEvent::Pinned {
                item: ItemRef::Cluster(7),
            },
        );
        let s = state(&b);
        assert_eq!((s.text.as_str(), s.count), ("公积金怎么提取？", 2));
        assert_eq!(s.channel, "抖音 · 微信");
        apply(
            &mut b,
            ShowEvent::Pinned {
                item: ItemRef::Message("wechat:nope".into()),
            },
        );
        assert_eq!(
            state(&b).text,
            "",
            "an unknown (or held) message is not shown"
        );
    }

    #[test]
    fn styles_cannot_escape_the_css() {
        assert!(safe_css_value("rgba(0, 0, 0, 0.6)"));
        assert!(!safe_css_value("red; } body { display: none"));
        let p = page(&OverlayStyle {
            color: "red;}</style><script>".into(),
            ..OverlayStyle::default()
        });
        assert!(!p.contains("red;}"));
    }
}

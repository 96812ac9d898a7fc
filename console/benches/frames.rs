//! Frame time of the console's views under a heavy show, and the memory a
//! long show's projection holds.
//!
//! `cargo bench -p airbridge-console --bench frames`
//!
//! - Frame time: one egui frame (layout + tessellation, what the UI thread
//!   does every frame; GPU upload excluded) of each seat with 10,000
//!   audience messages, the demo knowledge base (2,268 entries) and 8 active
//!   lines, side by side with the same seat on an empty show (baseline).
//! - Memory: bytes held by the `ShowBoard` projection after a simulated
//!   2-hour show, counted by a global allocator.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use airbridge_configs::ConfigSet;
use airbridge_console::app::{Clock, ConsoleApp, Role, Startup};
use airbridge_show::{
    CallerNote, ItemRef, Journal, KbHit, LineState, MessageKind, Projection, ShowBoard, ShowEvent,
    StoredEvent,
};

struct Counting;

static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

// SAFETY: forwards to the system allocator and only counts sizes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const QUESTIONS: [&str; 12] = [
    "医保异地备案怎么办？",
    "新生儿落户需要什么材料",
    "营业执照网上能办吗",
    "退休了公积金怎么提取",
    "社保卡丢了怎么补办",
    "不动产登记要多久",
    "灵活就业怎么交社保",
    "居住证怎么申请",
    "残疾人补贴怎么领",
    "小区路灯坏了找谁",
    "孩子上学积分怎么算",
    "个体户怎么注销",
];

/// The events of a busy show: 8 lines in every state with transcripts,
/// `messages` audience messages in ~800 clusters, pins and suggestions.
fn busy_show(messages: u64) -> Vec<ShowEvent> {
    let mut out = vec![ShowEvent::ShowOpened {
        show_id: "bench".into(),
        show_name: "压力测试".into(),
    }];
    let states = [
        LineState::OnAir,
        LineState::Ready,
        LineState::Ready,
        LineState::Hold,
        LineState::Screening,
        LineState::Screening,
        LineState::Ringing,
        LineState::Ringing,
    ];
    for (i, to) in states.into_iter().enumerate() {
        let line = i as u8 + 1;
        out.push(ShowEvent::CallRang {
            line,
            caller_masked: format!("138****{:04}", i),
            caller_key: format!("k{i}"),
        });
        let path: &[LineState] = match to {
            LineState::OnAir => &[LineState::Screening, LineState::Ready, LineState::OnAir],
            LineState::Ready => &[LineState::Screening, LineState::Ready],
            LineState::Hold => &[LineState::Screening, LineState::Hold],
            LineState::Screening => &[LineState::Screening],
            _ => &[],
        };
        let mut from = LineState::Ringing;
        for &s in path {
            out.push(ShowEvent::LineStateChanged { line, from, to: s });
            from = s;
        }
        out.push(ShowEvent::CallerNoted {
            line,
            note: CallerNote {
                name: "张三".into(),
                district: "岳阳楼区".into(),
                topic: QUESTIONS[i].into(),
                urgency: 1,
                private: false,
            },
        });
        for u in 0..60 {
            out.push(ShowEvent::TranscriptSegment {
                line,
                utterance: u,
                text: format!("第{u}句：{}", QUESTIONS[(i + u as usize) % QUESTIONS.len()]),
                start_ms: u * 3000,
                end_ms: u * 3000 + 2500,
                is_final: true,
            });
        }
    }
    for m in 0..messages {
        let q = QUESTIONS[(m % 12) as usize];
        out.push(ShowEvent::AudienceMessage {
            source: ["douyin", "bilibili", "wechat", "sms"][(m % 4) as usize].into(),
            id: format!("m{m}"),
            kind: if m % 5 == 0 {
                MessageKind::Chatter
            } else {
                MessageKind::Question
            },
            author: format!("观众{}", m % 997),
            text: format!("{q}（第{}种问法）", m % 67),
            cluster: Some(m % 800),
            test: false,
            moderation: Default::default(),
            author_key: String::new(),
        });
    }
    for c in 0..5 {
        out.push(ShowEvent::Pinned {
            item: ItemRef::Cluster(c),
        });
    }
    out.push(ShowEvent::KbSuggested {
        about: None,
        query: "退休了公积金怎么提取".into(),
        hits: vec![KbHit {
            entry_id: "gjj-001".into(),
            question: "退休提取住房公积金".into(),
            score: 10.0,
        }],
    });
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[allow(clippy::disallowed_methods)] // waiting for the backend threads in a bench
fn app_with(
    events: Vec<ShowEvent>,
    dir: &std::path::Path,
    name: &str,
    role: Role,
) -> (egui::Context, ConsoleApp) {
    let config = ConfigSet::embedded_demo().unwrap();
    let journal = Journal::open(&dir.join(format!("{name}-{}.db", role.seat()))).unwrap();
    let n = events.len() as u64;
    for chunk in events.chunks(5000) {
        journal.append_all("bench", chunk.to_vec()).unwrap();
    }
    let ctx = egui::Context::default();
    let font = airbridge_console::fonts::install(&ctx);
    airbridge_console::app::style(&ctx);
    let mut paths = airbridge_runtime::StationPaths::under(dir, &config);
    paths.kb = dir.join("kb.sqlite");
    let runtime = airbridge_runtime::Runtime::start(airbridge_runtime::RuntimeOptions {
        journal: Some(journal),
        desk: airbridge_runtime::DeskSource::None,
        speech: false,
        ..airbridge_runtime::RuntimeOptions::new(config, paths, Default::default())
    })
    .unwrap();
    let startup = Startup {
        link: runtime.into(),
        notice: None,
        role: Some(role),
        model_status: String::new(),
        screenshot: None,
        clock: Clock::System,
        live: None,
        recordings: None,
    };
    let mut app = ConsoleApp::with_font(startup, font, || {}).unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while (app.board().last_seq < n || !app.kb_ready()) && Instant::now() < deadline {
        frame(&ctx, &mut app);
        std::thread::sleep(Duration::from_millis(5));
    }
    (ctx, app)
}

fn input() -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1440.0, 900.0),
        )),
        ..Default::default()
    }
}

fn frame(ctx: &egui::Context, app: &mut ConsoleApp) -> Duration {
    let t = Instant::now();
    let mut out = ctx.run_ui(input(), |ui| app.frame_ui(ui));
    out.textures_delta.clear();
    let prims = ctx.tessellate(out.shapes, out.pixels_per_point);
    std::hint::black_box(prims);
    t.elapsed()
}

fn measure(
    ctx: &egui::Context,
    app: &mut ConsoleApp,
    frames: usize,
) -> (Duration, Duration, Duration) {
    for _ in 0..20 {
        frame(ctx, app);
    }
    let mut times: Vec<Duration> = (0..frames).map(|_| frame(ctx, app)).collect();
    times.sort();
    (
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        *times.last().unwrap(),
    )
}

fn two_hour_show() -> Vec<StoredEvent> {
    // 2 hours: 40 calls with ~40 utterances each (partials and finals),
    // 300 audience messages a minute (36,000), 60 tickets, health every 10 s.
    let mut events = Vec::new();
    let mut push = |e: ShowEvent| {
        let seq = events.len() as u64 + 1;
        events.push(StoredEvent {
            seq,
            at_ms: seq as i64 * 100,
            seat: "sim".into(),
            event: e,
        });
    };
    push(ShowEvent::ShowOpened {
        show_id: "sim".into(),
        show_name: "两小时".into(),
    });
    for call in 0..40u64 {
        let line = (call % 8) as u8 + 1;
        push(ShowEvent::CallRang {
            line,
            caller_masked: format!("139****{call:04}"),
            caller_key: format!("caller{}", call % 30),
        });
        let mut from = LineState::Ringing;
        for to in [LineState::Screening, LineState::Ready, LineState::OnAir] {
            push(ShowEvent::LineStateChanged { line, from, to });
            from = to;
        }
        for u in 0..40u64 {
            for partial in 0..3 {
                push(ShowEvent::TranscriptSegment {
                    line,
                    utterance: u,
                    text: format!("第{u}句话，{}", QUESTIONS[(u % 12) as usize]),
                    start_ms: u * 3000,
                    end_ms: u * 3000 + 2500,
                    is_final: partial == 2,
                });
            }
            push(ShowEvent::KbSuggested {
                about: Some(ItemRef::Call(call)),
                query: QUESTIONS[(u % 12) as usize].into(),
                hits: vec![KbHit {
                    entry_id: "x".into(),
                    question: "某问题".into(),
                    score: 1.0,
                }],
            });
        }
        for to in [LineState::Ended, LineState::Idle] {
            push(ShowEvent::LineStateChanged { line, from, to });
            from = to;
        }
    }
    for m in 0..36_000u64 {
        push(ShowEvent::AudienceMessage {
            source: "douyin".into(),
            id: format!("m{m}"),
            kind: MessageKind::Question,
            author: format!("观众{}", m % 5000),
            text: format!("{}（{}）", QUESTIONS[(m % 12) as usize], m % 97),
            cluster: Some(m % 1500),
            test: false,
            moderation: Default::default(),
            author_key: String::new(),
        });
        if m % 600 == 0 {
            push(ShowEvent::TakenOffline {
                item: ItemRef::Cluster(m % 1500),
                ticket_id: Some(format!("T{m}")),
            });
        }
        if m % 50 == 0 {
            push(ShowEvent::Health {
                component: "feeds/douyin".into(),
                ok: true,
                detail: format!("{} msg/s", m % 40),
            });
        }
    }
    events
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    println!("frame time, 1440×900, layout + tessellation (ms)");
    println!(
        "{:<12} {:>26} {:>26}",
        "seat", "empty show p50 / p99 / max", "busy show p50 / p99 / max"
    );
    for role in [Role::Host, Role::Screener, Role::BackOffice] {
        let (ctx, mut app) = app_with(Vec::new(), dir.path(), "empty", role);
        let base = measure(&ctx, &mut app, 300);
        let (ctx, mut app) = app_with(busy_show(10_000), dir.path(), "busy", role);
        let busy = measure(&ctx, &mut app, 300);
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{:<12} {:>8.2} / {:>6.2} / {:>6.2} {:>10.2} / {:>6.2} / {:>6.2}",
            role.seat(),
            ms(base.0),
            ms(base.1),
            ms(base.2),
            ms(busy.0),
            ms(busy.1),
            ms(busy.2)
        );
    }

    let events = two_hour_show();
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let mut board = ShowBoard::default();
    let t = Instant::now();
    for e in &events {
        board.apply(e);
    }
    let took = t.elapsed();
    let held = LIVE_BYTES.load(Ordering::Relaxed) - before;
    println!(
        "2-hour show: {} events folded in {:.0} ms; the projection holds {:.2} MiB ({} clusters, {} recent questions kept)",
        events.len(),
        took.as_secs_f64() * 1000.0,
        held as f64 / (1024.0 * 1024.0),
        board.audience.clusters.len(),
        board.audience.recent_questions.len()
    );
}

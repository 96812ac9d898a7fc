//! The self-running demo show behind `airbridge --demo`: simulated callers
//! speaking generated Mandarin (espeak-ng) through the real audio engine and
//! speech worker, a recorded audience trace through the real triage, the
//! demo knowledge base and real tickets — no external accounts.
//!
//! Every part is optional: a missing sound card, speech model or espeak-ng
//! becomes a health line on the board and the rest of the show goes on.
//!
//! The *director* plays the producer's routine for the simulated calls
//! (ring, screen, note, queue, air, then answer or take offline). It only
//! appends journal events and engine commands; a person at the screener seat
//! can take over any line at any time.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use airbridge_media::live::{Engine, EngineOptions};
use airbridge_show::{
    CallerNote, ItemRef, Journal, LineNo, LineState, Projection, ShowBoard, ShowEvent,
};
use crossbeam_channel::{Receiver, Sender, bounded};

use crate::backend::{Command, LoadedKb};
use crate::live::{Level, Loudness, MeterSource};

/// A simulated caller: who they are and what they ask (Simplified Chinese,
/// spoken by espeak-ng).
#[derive(Debug, Clone, Copy)]
pub struct DemoCaller {
    pub name: &'static str,
    pub district: &'static str,
    pub topic: &'static str,
    pub says: &'static str,
    /// Answered on air (true) or handed to the back office (false).
    pub answered_on_air: bool,
}

pub const CALLERS: [DemoCaller; 6] = [
    DemoCaller {
        name: "王建国",
        district: "岳阳楼区",
        topic: "退休提取公积金",
        says: "我今年刚退休，想把住房公积金取出来，需要带什么材料",
        answered_on_air: false,
    },
    DemoCaller {
        name: "李秀英",
        district: "君山区",
        topic: "医保异地就医",
        says: "我妈要去外地住院，医保异地就医备案怎么办理",
        answered_on_air: true,
    },
    DemoCaller {
        name: "张伟",
        district: "云溪区",
        topic: "新生儿落户",
        says: "孩子刚出生，新生儿落户需要准备哪些材料",
        answered_on_air: false,
    },
    DemoCaller {
        name: "刘芳",
        district: "华容县",
        topic: "营业执照",
        says: "我想开个小店，个体工商户营业执照怎么办理",
        answered_on_air: true,
    },
    DemoCaller {
        name: "陈明",
        district: "汨罗市",
        topic: "社保卡补办",
        says: "我的社保卡丢了，补办社保卡要去哪里办",
        answered_on_air: false,
    },
    DemoCaller {
        name: "赵丽",
        district: "平江县",
        topic: "不动产登记",
        says: "买了二手房，不动产转移登记要多长时间",
        answered_on_air: true,
    },
];

/// What a running demo hands to the window.
pub struct DemoParts {
    pub show: DemoShow,
    pub meters: Option<Box<dyn MeterSource>>,
    /// Commands the director wants the console's backend to run (tickets).
    pub commands: Receiver<Command>,
    /// The engine, when one runs: line-state changes go through it.
    pub engine: Option<Arc<Engine>>,
    /// The knowledge base, once the demo has loaded it (for the window).
    pub kb: Receiver<Result<LoadedKb, String>>,
}

impl std::fmt::Debug for DemoParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoParts")
            .field("engine", &self.engine.is_some())
            .finish()
    }
}

/// The running demo; dropping it stops the director and the engine.
pub struct DemoShow {
    stop: Arc<AtomicBool>,
    director: Option<JoinHandle<()>>,
    engine: Option<Arc<Engine>>,
    /// Disconnects when the speech thread has ended.
    speech_done: Receiver<()>,
    /// Kept alive for the show's duration.
    _keep: Vec<Box<dyn std::any::Any + Send>>,
}

impl std::fmt::Debug for DemoShow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoShow").finish_non_exhaustive()
    }
}

impl Drop for DemoShow {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Let the speech worker finish the model call it is in (whisper.cpp
        // must not be torn down mid-call by the process exiting). It drops
        // its backlog, so this is one model call at most.
        let waited = Instant::now();
        if let Err(crossbeam_channel::RecvTimeoutError::Timeout) =
            self.speech_done.recv_timeout(Duration::from_secs(60))
        {
            tracing::error!("the speech worker did not stop within 60 s");
        } else {
            tracing::info!(
                "speech worker stopped in {} ms",
                waited.elapsed().as_millis()
            );
        }
        // Stop the engine first: its taps close, so the director's recorder
        // can finish the files it is writing and the director can end.
        if let Some(e) = &self.engine {
            e.stop();
        }
        if let Some(h) = self.director.take() {
            let _ = h.join();
        }
    }
}

/// Meters read from the engine's atomics (linear → dBFS).
struct EngineMeters(Arc<airbridge_media::Meters>);

fn db(x: f32) -> f32 {
    if x <= 1e-6 {
        crate::live::FLOOR_DB
    } else {
        (20.0 * x.log10()).max(crate::live::FLOOR_DB)
    }
}

fn level(r: airbridge_media::meters::LevelReading) -> Level {
    Level {
        peak_db: db(r.peak),
        rms_db: db(r.rms),
    }
}

impl MeterSource for EngineMeters {
    fn line(&self, line: LineNo) -> Option<Level> {
        let i = usize::from(line).checked_sub(1)?;
        self.0.lines.get(i).map(|l| level(l.read()))
    }
    fn program(&self) -> Option<Level> {
        Some(level(self.0.program.read()))
    }
    fn cue(&self) -> Option<Level> {
        Some(level(self.0.cue.read()))
    }
    fn loudness(&self) -> Option<Loudness> {
        let m = self.0.momentary_lufs.load();
        let s = self.0.short_term_lufs.load();
        Some(Loudness {
            momentary: if m.is_finite() {
                m
            } else {
                crate::live::FLOOR_DB
            },
            short_term: if s.is_finite() {
                s
            } else {
                crate::live::FLOOR_DB
            },
        })
    }
}

fn health(journal: &Journal, component: &str, ok: bool, detail: impl Into<String>) {
    let event = ShowEvent::Health {
        component: component.to_owned(),
        ok,
        detail: detail.into(),
    };
    if let Err(e) = journal.append("demo", event) {
        tracing::error!("demo: cannot write to the journal: {e}");
    }
}

/// Starts the audio engine on the default sound card, or on its internal
/// clock when there is none (the show still runs; nobody hears it).
fn start_engine(journal: &Journal, lines: u8) -> Option<Arc<Engine>> {
    let opts = EngineOptions {
        lines: usize::from(lines),
        ..EngineOptions::default()
    };
    let attempt = if no_sound_card() {
        Err("这台电脑没有声卡".to_owned())
    } else {
        Engine::start(opts.clone(), Some(journal.clone())).map_err(|e| e.to_string())
    };
    match attempt {
        Ok(e) => {
            health(journal, "audio/output", true, "默认声卡");
            Some(Arc::new(e))
        }
        Err(device_error) => {
            let fallback = EngineOptions {
                no_device: true,
                ..opts
            };
            match Engine::start(fallback, Some(journal.clone())) {
                Ok(e) => {
                    health(
                        journal,
                        "audio/output",
                        false,
                        format!("没有可用声卡（{device_error}），音频引擎以内部时钟运行"),
                    );
                    Some(Arc::new(e))
                }
                Err(e) => {
                    health(
                        journal,
                        "audio/engine",
                        false,
                        format!("音频引擎无法启动：{e}"),
                    );
                    None
                }
            }
        }
    }
}

/// True when ALSA lists no card and nothing reroutes the default device
/// (an asoundrc, a PulseAudio or PipeWire server): opening it would fail.
fn no_sound_card() -> bool {
    let cards = std::fs::read_to_string("/proc/asound/cards").unwrap_or_default();
    let home_rc = std::env::var_os("HOME")
        .map(|h| Path::new(&h).join(".asoundrc"))
        .is_some_and(|p| p.is_file());
    let server = std::env::var_os("PULSE_SERVER").is_some()
        || std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .is_some_and(|d| d.join("pulse").exists() || d.join("pipewire-0").exists());
    (cards.is_empty() || cards.contains("no soundcards"))
        && !home_rc
        && !Path::new("/etc/asound.conf").is_file()
        && !server
}

/// Writes the caller's words as a WAV with espeak-ng's Mandarin voice
/// (cached by text).
pub fn caller_clip(dir: &Path, index: usize, text: &str) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let hash = text
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    let path = dir.join(format!("caller-{index}-{hash:08x}.wav"));
    if path.is_file() {
        return Ok(path);
    }
    let out = std::process::Command::new("espeak-ng")
        .args(["-v", "cmn-latn-pinyin", "-s", "150", "-w"])
        .arg(&path)
        .arg(text)
        .output()
        .map_err(|e| format!("espeak-ng 无法运行（{e}）：请安装 espeak-ng"))?;
    if !out.status.success() {
        return Err(format!(
            "espeak-ng 失败：{}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(path)
}

/// Starts the demo show over `journal`.
pub fn start(
    journal: &Journal,
    config: &airbridge_configs::ConfigSet,
    data_dir: &Path,
) -> DemoParts {
    let stop = Arc::new(AtomicBool::new(false));
    let engine = start_engine(journal, config.show.lines);
    let meters: Option<Box<dyn MeterSource>> = engine
        .as_ref()
        .map(|e| Box::new(EngineMeters(Arc::clone(e.meters()))) as Box<dyn MeterSource>);
    let mut keep: Vec<Box<dyn std::any::Any + Send>> = Vec::new();
    let (kb_tx, kb_rx) = bounded(1);
    let (done_tx, done_rx) = bounded::<()>(1);
    start_speech(
        journal,
        engine.as_ref(),
        config,
        data_dir,
        &stop,
        kb_tx,
        done_tx,
    );
    keep.extend(start_feeds(journal, data_dir, &stop));

    let (cmd_tx, cmd_rx) = bounded(64);
    let director = Director {
        journal: journal.clone(),
        engine: engine.clone(),
        clips: data_dir.join("demo").join("callers"),
        commands: cmd_tx,
        stop: Arc::clone(&stop),
        board: ShowBoard::default(),
        lines: config.show.lines.clamp(1, 4),
        queue: std::collections::VecDeque::new(),
        next: 0,
        recorder: engine
            .as_ref()
            .and_then(|_| airbridge_media::record::Recorder::start().ok()),
        recordings: data_dir.join("recordings"),
    };
    let handle = std::thread::Builder::new()
        .name("demo-director".into())
        .spawn(move || director.run());
    let director = match handle {
        Ok(h) => Some(h),
        Err(e) => {
            health(journal, "demo", false, format!("演示导播线程无法启动：{e}"));
            None
        }
    };
    DemoParts {
        show: DemoShow {
            stop,
            director,
            engine: engine.clone(),
            speech_done: done_rx,
            _keep: keep,
        },
        meters,
        commands: cmd_rx,
        engine,
        kb: kb_rx,
    }
}

struct Director {
    journal: Journal,
    engine: Option<Arc<Engine>>,
    clips: PathBuf,
    commands: Sender<Command>,
    stop: Arc<AtomicBool>,
    board: ShowBoard,
    lines: u8,
    /// Screened callers waiting to go on air: (line, caller, clip).
    queue: std::collections::VecDeque<(LineNo, usize, Option<PathBuf>)>,
    /// Callers rung so far (the next caller is `next % CALLERS.len()`).
    next: usize,
    /// Writes each aired call to `recordings/call-<seq>-line<N>.wav`.
    recorder: Option<airbridge_media::record::Recorder>,
    recordings: PathBuf,
}

impl Director {
    /// Sleeps in small steps so a closing window never waits long.
    #[allow(clippy::disallowed_methods)] // the director paces a simulated show
    fn wait(&mut self, d: Duration) -> bool {
        let end = Instant::now() + d;
        while Instant::now() < end {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        !self.stop.load(Ordering::Relaxed)
    }

    fn catch_up(&mut self) {
        let Ok(replay) = self.journal.replay(self.board.last_seq + 1) else {
            return;
        };
        for ev in replay.flatten() {
            self.board.apply(&ev);
        }
    }

    fn append(&self, event: ShowEvent) {
        if let Err(e) = self.journal.append("demo", event) {
            tracing::warn!("demo director: {e}");
        }
    }

    /// Moves a line, through the engine when there is one (it journals the
    /// change), else straight into the journal.
    fn set_state(&mut self, line: LineNo, to: LineState) -> bool {
        // The engine knows its lines at once; the journal hears a moment later.
        if let Some(e) = &self.engine {
            return match e.state(line) {
                Ok(from) if from == to => true,
                Ok(_) => match e.set_state(line, to) {
                    Ok(_) => true,
                    Err(err) => {
                        tracing::info!("demo director: line {line}: {err}");
                        false // someone at the screener seat moved it
                    }
                },
                Err(_) => false,
            };
        }
        self.catch_up();
        let from = self.board.line_state(line);
        if from == to {
            return true;
        }
        if from.check(to).is_err() {
            return false; // someone at the screener seat moved it
        }
        self.append(ShowEvent::LineStateChanged { line, from, to });
        true
    }

    fn state(&mut self, line: LineNo) -> LineState {
        match &self.engine {
            Some(e) => e.state(line).unwrap_or(LineState::Ended),
            None => {
                self.catch_up();
                self.board.line_state(line)
            }
        }
    }

    fn free_line(&mut self) -> Option<LineNo> {
        (1..=self.lines).find(|l| self.state(*l) == LineState::Idle)
    }

    fn air_busy(&mut self) -> bool {
        (1..=self.lines).any(|l| self.state(l) == LineState::OnAir)
    }

    fn run(mut self) {
        // Let the window come up and the feed start first.
        if !self.wait(Duration::from_millis(800)) {
            return;
        }
        loop {
            if !self.fill_queue(1) {
                return;
            }
            let Some((line, index, clip)) = self.queue.pop_front() else {
                if !self.wait(Duration::from_secs(3)) {
                    return;
                }
                continue;
            };
            if !self.air(line, &CALLERS[index], clip.as_deref()) {
                return;
            }
        }
    }

    /// Screens callers until `n` wait in the queue; false when stopping.
    fn fill_queue(&mut self, n: usize) -> bool {
        while self.queue.len() < n {
            let index = self.next % CALLERS.len();
            let hold = !self.queue.is_empty() || self.air_busy();
            match self.ring_and_screen(index, self.next / CALLERS.len(), hold) {
                Some(Some(w)) => self.queue.push_back(w),
                Some(None) => return true, // no free line, or the seat took over
                None => return false,
            }
            self.next += 1;
        }
        true
    }

    /// Rings a free line, screens and notes the caller, and queues them
    /// (ready, or on hold when someone is already waiting). `None` when the
    /// show is stopping; `Some(None)` when no line could take the call.
    #[allow(clippy::type_complexity)]
    fn ring_and_screen(
        &mut self,
        index: usize,
        round: usize,
        hold: bool,
    ) -> Option<Option<(LineNo, usize, Option<PathBuf>)>> {
        let caller = &CALLERS[index];
        let Some(line) = self.free_line() else {
            return self.wait(Duration::from_secs(3)).then_some(None);
        };
        let clip = match caller_clip(&self.clips, index, caller.says) {
            Ok(p) => Some(p),
            Err(e) => {
                health(&self.journal, "demo/callers", false, e);
                None
            }
        };
        let number = 1000 + index + 10 * round;
        self.append(ShowEvent::CallRang {
            line,
            caller_masked: format!("139****{number:04}"),
            caller_key: format!("demo-caller-{index}"),
        });
        self.set_state(line, LineState::Ringing);
        if !self.wait(Duration::from_millis(1200)) {
            return None;
        }
        if !self.set_state(line, LineState::Screening) {
            return Some(None);
        }
        self.append(ShowEvent::CallerNoted {
            line,
            note: CallerNote {
                name: caller.name.into(),
                district: caller.district.into(),
                topic: caller.topic.into(),
                urgency: 0,
                private: false,
            },
        });
        if !self.wait(Duration::from_millis(1000)) {
            return None;
        }
        let queued = if hold {
            LineState::Hold
        } else {
            LineState::Ready
        };
        if !self.set_state(line, queued) {
            return Some(None);
        }
        Some(Some((line, index, clip)))
    }

    /// The producer's habit: pin the most-asked open audience question for
    /// the host; once three are pinned, the oldest counts as answered.
    fn pin_top_question(&mut self) {
        self.catch_up();
        let board = &self.board;
        let top = board
            .audience
            .clusters
            .iter()
            .filter(|(id, _)| {
                let item = ItemRef::Cluster(**id);
                !board.pinned.contains(&item) && !board.answered.contains(&item)
            })
            .max_by_key(|(id, c)| (c.count, std::cmp::Reverse(**id)))
            .map(|(id, _)| ItemRef::Cluster(*id));
        let oldest = (board.pinned.len() >= 3).then(|| board.pinned[0].clone());
        if let Some(item) = oldest {
            self.append(ShowEvent::AnsweredOnAir { item });
        }
        if let Some(item) = top {
            self.append(ShowEvent::Pinned { item });
        }
    }

    /// Starts recording the call on `line` (caller and what they hear).
    fn record_call(&mut self, line: LineNo) -> Option<airbridge_media::TapId> {
        self.engine.as_ref()?;
        self.recorder.as_ref()?;
        self.catch_up();
        let call_seq = self.board.lines.get(&line).map_or(0, |v| v.call_seq);
        if let Err(e) = std::fs::create_dir_all(&self.recordings) {
            health(
                &self.journal,
                "demo/recording",
                false,
                format!("{}: {e}", self.recordings.display()),
            );
            return None;
        }
        let dir = self.recordings.clone();
        let (engine, recorder) = (self.engine.as_ref()?, self.recorder.as_ref()?);
        match engine.with_controller(|ctl| recorder.record_call(ctl, &dir, line, call_seq)) {
            Ok((id, _)) => Some(id),
            Err(e) => {
                health(
                    &self.journal,
                    "demo/recording",
                    false,
                    format!("录音失败：{e}"),
                );
                None
            }
        }
    }

    /// Puts a queued caller on air, lets them speak, then answers on air or
    /// hands the question to the back office, and clears the line.
    fn air(&mut self, line: LineNo, caller: &DemoCaller, clip: Option<&Path>) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.air_busy() && Instant::now() < deadline {
            if !self.wait(Duration::from_millis(300)) {
                return false;
            }
        }
        if !self.set_state(line, LineState::OnAir) {
            return true; // the screener seat took this caller
        }
        let tap = self.record_call(line);
        let talk = match (&self.engine, clip) {
            (Some(e), Some(path)) => match e.play_wav(line, path, false) {
                Ok(()) => clip_duration(path).unwrap_or(Duration::from_secs(5)),
                Err(err) => {
                    health(
                        &self.journal,
                        "demo/callers",
                        false,
                        format!("播放失败：{err}"),
                    );
                    Duration::from_secs(4)
                }
            },
            _ => Duration::from_secs(4),
        };
        // The caller speaks; the speech worker transcribes from the tap and
        // the knowledge base answers; the host answers from it for a while;
        // meanwhile the next caller is screened.
        let aired = Instant::now();
        self.pin_top_question();
        if !self.fill_queue(1) {
            return false;
        }
        let rest = (talk + Duration::from_secs(12)).saturating_sub(aired.elapsed());
        if !self.wait(rest) {
            return false;
        }
        self.catch_up();
        let call_seq = self.board.lines.get(&line).map_or(0, |v| v.call_seq);
        let item = ItemRef::Call(call_seq);
        if caller.answered_on_air {
            self.append(ShowEvent::AnsweredOnAir { item });
        } else {
            let now = chrono::Utc::now();
            let ticket =
                airbridge_tickets::prefill::from_item(&self.board, &item, now).map(Box::new);
            let _ = self.commands.try_send(Command::TakeOffline {
                seat: "demo".into(),
                item,
                ticket,
            });
        }
        if !self.wait(Duration::from_millis(800)) {
            return false;
        }
        self.set_state(line, LineState::Ended);
        if let (Some(e), Some(id)) = (&self.engine, tap) {
            let _ = e.remove_tap(id); // the recorder finishes the file
        }
        if !self.wait(Duration::from_millis(500)) {
            return false;
        }
        self.set_state(line, LineState::Idle);
        self.wait(Duration::from_secs(1))
    }
}

/// The speech worker on every line's 16 kHz tap. The model loads on its
/// own thread (seconds) so the window comes up at once; without a model the
/// show goes on and the board says why.
fn start_speech(
    journal: &Journal,
    engine: Option<&Arc<Engine>>,
    config: &airbridge_configs::ConfigSet,
    data_dir: &Path,
    stop: &Arc<AtomicBool>,
    kb_out: Sender<Result<LoadedKb, String>>,
    done: Sender<()>,
) {
    let model = airbridge_models::model_path(config.station.speech_model.as_deref(), data_dir);
    let kb_path = crate::paths::kb_path(data_dir);
    let lines = config.show.lines;
    let journal = journal.clone();
    let stop = Arc::clone(stop);
    let engine = engine.cloned();
    let spawned = std::thread::Builder::new()
        .name("demo-speech".into())
        .spawn(move || {
            // `done` drops when this thread ends: the show waits for it.
            let _done = done;
            // One load of the knowledge base, shared with the window.
            let kb = match LoadedKb::open(&kb_path) {
                Ok(kb) => {
                    let _ = kb_out.send(Ok(kb.clone()));
                    Some(kb)
                }
                Err(e) => {
                    let _ = kb_out.send(Err(e.to_string()));
                    health(
                        &journal,
                        "speech",
                        false,
                        format!("知识库不可用，转写后不检索：{e}"),
                    );
                    None
                }
            };
            let Some(engine) = engine else {
                health(&journal, "speech", false, "没有音频引擎，语音转写未启动");
                return;
            };
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let mut cfg = airbridge_speech::WorkerConfig::new(model);
            if let Some(kb) = &kb {
                cfg.options.initial_prompt = airbridge_speech::prompt::from_entries(&kb.entries);
            }
            let searcher = kb.as_ref().map(|k| Arc::clone(&k.searcher));
            let (worker, results) =
                match airbridge_speech::SpeechWorker::start(cfg, Some(journal.clone()), searcher) {
                    Ok(w) => w,
                    Err(e) => {
                        health(&journal, "speech", false, e.to_string());
                        return;
                    }
                };
            for line in 1..=lines {
                let added = engine
                    .stt_tap(line)
                    .map_err(|e| e.to_string())
                    .and_then(|tap| worker.add_line(line, tap).map_err(|e| e.to_string()));
                if let Err(e) = added {
                    health(
                        &journal,
                        "speech",
                        false,
                        format!("线路 {line} 未接入转写：{e}"),
                    );
                }
            }
            health(&journal, "speech", true, worker.model().to_owned());
            // The journal carries the results; keep the worker's own queue empty.
            while !stop.load(Ordering::Relaxed) {
                while results.try_recv().is_ok() {}
                #[allow(clippy::disallowed_methods)] // polling a stop flag off the UI thread
                std::thread::sleep(Duration::from_millis(200));
            }
            // Leaving the show: drop the backlog, finish the call in progress.
            worker.abort();
        });
    if let Err(e) = spawned {
        tracing::error!("demo speech thread: {e}");
    }
}

/// Replays the demo audience trace through the real triage pipeline.
fn start_feeds(
    journal: &Journal,
    data_dir: &Path,
    stop: &Arc<AtomicBool>,
) -> Vec<Box<dyn std::any::Any + Send>> {
    let path = data_dir.join("demo").join("audience-trace.jsonl");
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&path, airbridge_feeds::replay::DEMO_TRACE));
    if let Err(e) = written {
        health(
            journal,
            "feeds/demo",
            false,
            format!("演示弹幕无法写出 {}: {e}", path.display()),
        );
        return Vec::new();
    }
    let journal = journal.clone();
    let stop = Arc::clone(stop);
    let spawned = std::thread::Builder::new()
        .name("demo-audience".into())
        .spawn(move || {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            match airbridge_feeds::replay::replay_trace(&path, 1.0, journal.clone()) {
                Ok(report) => tracing::info!(?report, "demo audience trace replayed"),
                Err(e) => health(
                    &journal,
                    "feeds/demo",
                    false,
                    format!("演示弹幕回放失败：{e}"),
                ),
            }
        });
    if let Err(e) = spawned {
        tracing::error!("demo audience thread: {e}");
    }
    Vec::new()
}

fn clip_duration(path: &Path) -> Option<Duration> {
    let r = hound::WavReader::open(path).ok()?;
    let spec = r.spec();
    let frames = r.duration();
    Some(Duration::from_secs_f64(
        f64::from(frames) / f64::from(spec.sample_rate.max(1)),
    ))
}

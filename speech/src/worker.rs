//! The streaming speech worker: per-line VAD and segmentation on a capture
//! thread, whisper on an inference thread, results to the journal and a
//! bounded channel.
//!
//! ```text
//! audio engine ─ rtrb::Consumer<f32> per line ─> [capture thread: Segmenter per line]
//!      finals: bounded, never dropped ─┐   partials: 1 slot, dropped when busy
//!                                      v
//!                         [inference thread: whisper, T→S, KB search]
//!                                      │
//!        journal (TranscriptSegment, KbSuggested, Health) + bounded results channel
//! ```

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use airbridge_kb::SearchIndex;
use airbridge_show::event::{KbHit, LineNo, ShowEvent};
use airbridge_show::journal::Journal;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError, TrySendError, bounded};

use crate::SpeechError;
use crate::audio::SAMPLE_RATE;
use crate::engine::{Options, Recognizer};
use crate::vad::{Segment, Segmenter, VadConfig};

/// The journal seat speech events are written as.
pub const SEAT: &str = "stt";

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub model_path: PathBuf,
    pub options: Options,
    pub vad: VadConfig,
    /// Results buffered for the caller before new ones are dropped (counted).
    pub results_capacity: usize,
    /// KB results per final transcript.
    pub kb_top_k: usize,
    /// Finals waiting for whisper before the capture thread waits (the
    /// audio engine's ring then absorbs, and drops when full).
    pub finals_capacity: usize,
    /// Applied to every text before it is journaled or delivered (phone
    /// and ID numbers masked before any screen sees them); the
    /// knowledge-base search still reads what was said.
    pub redact: Option<fn(&str) -> String>,
    /// Finds what should not go out in what was heard (phone and ID
    /// numbers, the station's words); each kind found is delivered once
    /// per utterance as [`SpeechEvent::Flagged`], from the first partial
    /// that has it.
    pub flag: Option<Flagger>,
}

/// What the worker asks of a transcript: the kinds of things it holds that
/// should not go out (empty: nothing).
#[derive(Clone)]
pub struct Flagger(pub Arc<FlagFn>);

/// The function behind a [`Flagger`].
pub type FlagFn = dyn Fn(&str) -> Vec<String> + Send + Sync;

impl std::fmt::Debug for Flagger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Flagger")
    }
}

impl WorkerConfig {
    pub fn new(model_path: PathBuf) -> Self {
        Self {
            model_path,
            options: Options::default(),
            vad: VadConfig::default(),
            results_capacity: 256,
            kb_top_k: 3,
            finals_capacity: 32,
            redact: None,
            flag: None,
        }
    }
}

/// What the worker delivers on its results channel.
#[derive(Debug, Clone, PartialEq)]
pub enum SpeechEvent {
    /// A partial (superseded later) or final transcript of an utterance.
    Segment {
        line: LineNo,
        utterance: u64,
        text: String,
        start_ms: u64,
        end_ms: u64,
        is_final: bool,
        /// From end of utterance (finals) or of the audio sent (partials) to text.
        latency_ms: u64,
    },
    /// Knowledge-base hits for a final transcript.
    KbSuggested {
        line: LineNo,
        utterance: u64,
        query: String,
        hits: Vec<KbHit>,
        /// From end of utterance to the hits.
        latency_ms: u64,
    },
    /// Something that should not go out was heard (see
    /// [`WorkerConfig::flag`]); `text` is redacted.
    Flagged {
        line: LineNo,
        utterance: u64,
        kinds: Vec<String>,
        text: String,
        is_final: bool,
        /// From end of utterance (finals) or of the audio sent (partials).
        latency_ms: u64,
    },
    /// The worker fell behind (dropped partials) or recovered.
    Health { ok: bool, detail: String },
    /// A line's audio ended (its producer was dropped) and all its finals are out.
    LineEnded { line: LineNo },
}

/// Counters, readable at any time.
#[derive(Debug, Default)]
pub struct Stats {
    pub finals: AtomicU64,
    pub partials: AtomicU64,
    pub partials_dropped: AtomicU64,
    pub results_dropped: AtomicU64,
    /// Finals whisper found empty or judged hallucinated.
    pub finals_discarded: AtomicU64,
    /// Partials cut short because a final was waiting.
    pub partials_cut: AtomicU64,
    /// Worst time a final waited for whisper (ms).
    pub max_final_wait_ms: AtomicU64,
}

enum Control {
    AddLine(LineNo, rtrb::Consumer<f32>),
    SetPrompt(String),
}

enum Job {
    Recognise {
        line: LineNo,
        utterance: u64,
        start_sample: u64,
        samples: Vec<f32>,
        is_final: bool,
        queued: Instant,
    },
    LineEnded(LineNo),
    Prompt(String),
}

/// A running speech worker. Dropping it stops its threads (finals already
/// queued are transcribed first); [`SpeechWorker::abort`] stops at once.
#[derive(Debug)]
pub struct SpeechWorker {
    /// The knowledge base finals are searched in (may come later).
    kb: Arc<Mutex<Option<Arc<SearchIndex>>>>,
    control: Option<Sender<Control>>,
    /// Set by [`SpeechWorker::abort`]: both threads end at their next check.
    abort: Arc<AtomicBool>,
    stats: Arc<Stats>,
    model: String,
    threads: Vec<JoinHandle<()>>,
}

/// Phrases whisper is known to invent on noise or silence (subtitle credits).
const HALLUCINATIONS: &[&str] = &[
    "字幕",
    "订阅",
    "点赞",
    "谢谢观看",
    "感谢观看",
    "明镜",
    "Amara",
    "請不吝",
];

fn looks_hallucinated(text: &str) -> bool {
    HALLUCINATIONS.iter().any(|h| text.contains(h))
}

impl SpeechWorker {
    /// Loads the model (seconds: call it off the UI thread) and starts the
    /// threads. `journal`: where segments and KB suggestions are appended;
    /// `kb`: the search snapshot used after each final.
    pub fn start(
        config: WorkerConfig,
        journal: Option<Journal>,
        kb: Option<Arc<SearchIndex>>,
    ) -> Result<(SpeechWorker, Receiver<SpeechEvent>), SpeechError> {
        let recognizer = Recognizer::load(&config.model_path)?;
        let model = recognizer.describe();
        tracing::info!(model = %model, "speech model loaded");
        let mut session = recognizer.session()?;
        let stats = Arc::new(Stats::default());
        let (control_tx, control_rx) = bounded::<Control>(16);
        let (finals_tx, finals_rx) = bounded::<Job>(config.finals_capacity.max(1));
        let (partial_tx, partial_rx) = bounded::<Job>(1);
        let (results_tx, results_rx) = bounded::<SpeechEvent>(config.results_capacity.max(1));

        let abort = Arc::new(AtomicBool::new(false));
        // Per line: the caller is quiet now (written by capture, read by
        // whisper: a partial for a quiet line is skipped or cut short, so a
        // final that may be coming is not kept waiting behind it).
        let quiet: Arc<Vec<AtomicBool>> = Arc::new(
            (0..=usize::from(LineNo::MAX))
                .map(|_| AtomicBool::new(true))
                .collect(),
        );
        let cap_quiet = Arc::clone(&quiet);
        let vad = config.vad;
        let cap_stats = Arc::clone(&stats);
        let cap_abort = Arc::clone(&abort);
        let capture = std::thread::Builder::new()
            .name("speech-capture".into())
            .spawn(move || {
                capture_loop(
                    control_rx, finals_tx, partial_tx, vad, &cap_stats, &cap_abort, &cap_quiet,
                );
            })
            .map_err(|e| SpeechError::Io {
                path: PathBuf::from("speech-capture thread"),
                source: e,
            })?;

        let inf_stats = Arc::clone(&stats);
        let mut options = config.options.clone();
        let k = config.kb_top_k;
        let kb_slot: Arc<Mutex<Option<Arc<SearchIndex>>>> = Arc::new(Mutex::new(kb));
        let kb = Arc::clone(&kb_slot);
        let redact = config.redact;
        let flag = config.flag.clone();
        let inf_abort = Arc::clone(&abort);
        let inference = std::thread::Builder::new()
            .name("speech-whisper".into())
            .spawn(move || {
                let out = Output {
                    journal,
                    results: results_tx,
                    stats: Arc::clone(&inf_stats),
                };
                let mut health_ok = true;
                let mut last_health = Instant::now() - Duration::from_secs(60);
                let mut finalised: HashMap<LineNo, u64> = HashMap::new();
                // kinds already flagged per (line, utterance)
                let mut flagged: HashMap<(LineNo, u64), Vec<String>> = HashMap::new();
                loop {
                    if inf_abort.load(Ordering::Relaxed) {
                        break;
                    }
                    // Finals first; a partial only when no final waits.
                    let job = match finals_rx.try_recv() {
                        Ok(j) => j,
                        Err(TryRecvError::Disconnected) => break,
                        Err(TryRecvError::Empty) => {
                            crossbeam_channel::select! {
                                recv(finals_rx) -> j => match j { Ok(j) => j, Err(_) => break },
                                recv(partial_rx) -> j => match j { Ok(j) => j, Err(_) => continue },
                            }
                        }
                    };
                    match job {
                        Job::Prompt(p) => options.initial_prompt = p,
                        Job::LineEnded(line) => out.send(SpeechEvent::LineEnded { line }, None),
                        Job::Recognise {
                            line,
                            utterance,
                            start_sample,
                            samples,
                            is_final,
                            queued,
                        } => {
                            if !is_final && finalised.get(&line).is_some_and(|&u| u >= utterance) {
                                continue;
                            }
                            let line_quiet = |l: LineNo| quiet[usize::from(l)].load(Ordering::Relaxed);
                            if !is_final && line_quiet(line) {
                                inf_stats.partials_cut.fetch_add(1, Ordering::Relaxed);
                                continue;
                            }
                            let waited = queued.elapsed();
                            if is_final {
                                inf_stats
                                    .max_final_wait_ms
                                    .fetch_max(waited.as_millis() as u64, Ordering::Relaxed);
                                finalised.insert(line, utterance);
                            }
                            let dropped = inf_stats.partials_dropped.load(Ordering::Relaxed);
                            let behind = waited > Duration::from_secs(3);
                            // Dropped partials are the design under load (a
                            // final always wins); only a job waiting seconds is
                            // a fault worth the producer's eye.
                            if behind && last_health.elapsed() > Duration::from_secs(10) {
                                health_ok = false;
                                last_health = Instant::now();
                                out.health(false, format!(
                                    "speech-to-text is behind by {} ms; {dropped} partial results dropped so far",
                                    waited.as_millis()
                                ));
                            } else if !health_ok && !behind && last_health.elapsed() > Duration::from_secs(10) {
                                health_ok = true;
                                last_health = Instant::now();
                                out.health(true, "speech-to-text has caught up".into());
                            }
                            // A partial gives way to a final the moment one
                            // waits; anything gives way to `abort`.
                            let give_up = || {
                                inf_abort.load(Ordering::Relaxed)
                                    || (!is_final && (!finals_rx.is_empty() || line_quiet(line)))
                            };
                            let t = match session.transcribe_unless(&samples, &options, &give_up) {
                                Ok(t) => t,
                                Err(SpeechError::Aborted) => {
                                    if !is_final {
                                        inf_stats.partials_cut.fetch_add(1, Ordering::Relaxed);
                                    }
                                    continue;
                                }
                                Err(e) => {
                                    tracing::warn!(line, utterance, "transcription failed: {e}");
                                    continue;
                                }
                            };
                            let heard = t.text;
                            let text = match redact {
                                Some(f) => f(&heard),
                                None => heard.clone(),
                            };
                            let start_ms = start_sample * 1000 / u64::from(SAMPLE_RATE);
                            let end_ms = start_ms + samples.len() as u64 * 1000 / u64::from(SAMPLE_RATE);
                            if text.is_empty() || looks_hallucinated(&text) || t.no_speech > 0.8 {
                                if is_final {
                                    inf_stats.finals_discarded.fetch_add(1, Ordering::Relaxed);
                                    tracing::debug!(line, utterance, text, "no speech in utterance");
                                }
                                continue;
                            }
                            let latency_ms = queued.elapsed().as_millis() as u64;
                            tracing::debug!(
                                target: "airbridge_speech::timing",
                                line,
                                is_final,
                                audio_ms = samples.len() as u64 * 1000 / u64::from(SAMPLE_RATE),
                                waited_ms = waited.as_millis() as u64,
                                total_ms = latency_ms,
                                "transcribed"
                            );
                            if is_final {
                                inf_stats.finals.fetch_add(1, Ordering::Relaxed);
                            } else {
                                inf_stats.partials.fetch_add(1, Ordering::Relaxed);
                            }
                            if let Some(Flagger(f)) = &flag {
                                let seen = flagged.entry((line, utterance)).or_default();
                                let new: Vec<String> =
                                    f(&heard).into_iter().filter(|k| !seen.contains(k)).collect();
                                if !new.is_empty() {
                                    seen.extend(new.iter().cloned());
                                    out.send(
                                        SpeechEvent::Flagged {
                                            line,
                                            utterance,
                                            kinds: new,
                                            text: text.clone(),
                                            is_final,
                                            latency_ms,
                                        },
                                        None,
                                    );
                                }
                                if is_final {
                                    flagged.remove(&(line, utterance));
                                }
                                // utterances that never got a final
                                if flagged.len() > 64 {
                                    flagged.clear();
                                }
                            }
                            out.send(
                                SpeechEvent::Segment {
                                    line,
                                    utterance,
                                    text: text.clone(),
                                    start_ms,
                                    end_ms,
                                    is_final,
                                    latency_ms,
                                },
                                Some(ShowEvent::TranscriptSegment {
                                    line,
                                    utterance,
                                    text: text.clone(),
                                    start_ms,
                                    end_ms,
                                    is_final,
                                }),
                            );
                            let index = kb
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .clone();
                            if is_final && let Some(index) = &index {
                                let hits = kb_hits(index, &heard, k);
                                let latency_ms = queued.elapsed().as_millis() as u64;
                                out.send(
                                    SpeechEvent::KbSuggested {
                                        line,
                                        utterance,
                                        query: text.clone(),
                                        hits: hits.clone(),
                                        latency_ms,
                                    },
                                    Some(ShowEvent::KbSuggested {
                                        about: None,
                                        query: text,
                                        hits,
                                    }),
                                );
                            }
                        }
                    }
                }
            })
            .map_err(|e| SpeechError::Io {
                path: PathBuf::from("speech-whisper thread"),
                source: e,
            })?;

        Ok((
            SpeechWorker {
                kb: kb_slot,
                control: Some(control_tx),
                abort,
                stats,
                model,
                threads: vec![capture, inference],
            },
            results_rx,
        ))
    }

    /// Which model is loaded (one line).
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Starts transcribing a caller line from the audio engine's 16 kHz mono
    /// ring buffer. When its producer is dropped, the open utterance is
    /// finalised and [`SpeechEvent::LineEnded`] follows.
    pub fn add_line(&self, line: LineNo, samples: rtrb::Consumer<f32>) -> Result<(), SpeechError> {
        self.control
            .as_ref()
            .ok_or(SpeechError::Stopped)?
            .send(Control::AddLine(line, samples))
            .map_err(|_| SpeechError::Stopped)
    }

    /// Searches finals in `index` from now on (a knowledge base that
    /// finished loading after the worker started, or a new import).
    pub fn set_kb(&self, index: Arc<SearchIndex>) {
        *self.kb.lock().unwrap_or_else(PoisonError::into_inner) = Some(index);
    }

    /// Replaces the initial prompt (e.g. after a knowledge-base import).
    pub fn set_prompt(&self, prompt: String) -> Result<(), SpeechError> {
        self.control
            .as_ref()
            .ok_or(SpeechError::Stopped)?
            .send(Control::SetPrompt(prompt))
            .map_err(|_| SpeechError::Stopped)
    }

    /// Convenience for files and tests: feeds 16 kHz mono samples into a new
    /// line through a ring buffer, as the audio engine would, from a feeder
    /// thread. `realtime`: pace like live audio; otherwise as fast as the
    /// worker takes them.
    pub fn feed_samples(
        &self,
        line: LineNo,
        samples: Vec<f32>,
        realtime: bool,
    ) -> Result<(), SpeechError> {
        let (mut producer, consumer) = rtrb::RingBuffer::<f32>::new(SAMPLE_RATE as usize * 4);
        self.add_line(line, consumer)?;
        std::thread::Builder::new()
            .name(format!("speech-feed-{line}"))
            .spawn(move || {
                let chunk = SAMPLE_RATE as usize / 50; // 20 ms
                let tick =
                    crossbeam_channel::tick(Duration::from_millis(if realtime { 20 } else { 2 }));
                let mut pos = 0;
                while pos < samples.len() {
                    let n = producer.slots().min(samples.len() - pos).min(if realtime {
                        chunk
                    } else {
                        usize::MAX
                    });
                    if n > 0
                        && let Ok(w) = producer.write_chunk_uninit(n)
                    {
                        pos += w.fill_from_iter(samples[pos..pos + n].iter().copied());
                    }
                    if pos < samples.len() && tick.recv().is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| SpeechError::Io {
                path: PathBuf::from("speech-feed thread"),
                source: e,
            })?;
        Ok(())
    }

    /// Live counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Stops accepting audio, transcribes what is queued, joins the threads.
    pub fn shutdown(mut self) {
        self.stop();
    }

    /// Stops now: queued audio is dropped, the model call in progress (if
    /// any) is cut short through whisper.cpp's abort hook, and the threads
    /// are joined. For leaving a show —
    /// the process must not exit while whisper.cpp is mid-call, and a
    /// backlog on a busy machine could otherwise take minutes.
    pub fn abort(mut self) {
        self.abort.store(true, Ordering::Relaxed);
        self.stop();
    }

    fn stop(&mut self) {
        self.control.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for SpeechWorker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Knowledge-base hits as journal records.
pub fn kb_hits(index: &SearchIndex, query: &str, k: usize) -> Vec<KbHit> {
    index
        .search(query, k)
        .into_iter()
        .map(|h| KbHit {
            entry_id: h.id,
            question: h.question,
            score: h.score,
        })
        .collect()
}

struct Output {
    journal: Option<Journal>,
    results: Sender<SpeechEvent>,
    stats: Arc<Stats>,
}

impl Output {
    fn send(&self, ev: SpeechEvent, journal_ev: Option<ShowEvent>) {
        if let (Some(j), Some(e)) = (&self.journal, journal_ev)
            && let Err(err) = j.submit(SEAT, vec![e])
        {
            tracing::warn!("cannot append to the show journal: {err}");
        }
        match self.results.try_send(ev) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => {
                self.stats.results_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn health(&self, ok: bool, detail: String) {
        if ok {
            tracing::info!("{detail}");
        } else {
            tracing::warn!("{detail}");
        }
        self.send(
            SpeechEvent::Health {
                ok,
                detail: detail.clone(),
            },
            Some(ShowEvent::Health {
                component: "speech".into(),
                ok,
                detail,
            }),
        );
    }
}

struct LineState {
    consumer: rtrb::Consumer<f32>,
    segmenter: Segmenter,
}

fn capture_loop(
    control: Receiver<Control>,
    finals: Sender<Job>,
    partials: Sender<Job>,
    vad: VadConfig,
    stats: &Stats,
    abort: &AtomicBool,
    quiet: &[AtomicBool],
) {
    let mut lines: Vec<(LineNo, LineState)> = Vec::new();
    let mut buf = vec![0.0f32; SAMPLE_RATE as usize / 10];
    let mut out = Vec::new();
    let mut control_open = true;
    loop {
        if abort.load(Ordering::Relaxed) {
            return;
        }
        // Wait for control messages up to 20 ms, then drain every line.
        if control_open {
            match control.recv_timeout(Duration::from_millis(20)) {
                Ok(Control::AddLine(line, consumer)) => {
                    lines.retain(|(l, _)| *l != line);
                    lines.push((
                        line,
                        LineState {
                            consumer,
                            segmenter: Segmenter::new(vad),
                        },
                    ));
                }
                Ok(Control::SetPrompt(p)) => {
                    if finals.send(Job::Prompt(p)).is_err() {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => control_open = false,
            }
        }
        let mut ended = Vec::new();
        for (line, st) in &mut lines {
            let abandoned = st.consumer.is_abandoned();
            loop {
                let n = st.consumer.slots().min(buf.len());
                if n == 0 {
                    break;
                }
                let Ok(chunk) = st.consumer.read_chunk(n) else {
                    break;
                };
                let (a, b) = chunk.as_slices();
                buf[..a.len()].copy_from_slice(a);
                buf[a.len()..n].copy_from_slice(b);
                chunk.commit_all();
                st.segmenter.push(&buf[..n], &mut out);
                quiet[usize::from(*line)].store(st.segmenter.quiet(), Ordering::Relaxed);
                dispatch(*line, &mut out, &finals, &partials, stats);
            }
            if abandoned {
                st.segmenter.flush(&mut out);
                dispatch(*line, &mut out, &finals, &partials, stats);
                ended.push(*line);
            }
        }
        for line in ended {
            lines.retain(|(l, _)| *l != line);
            let _ = finals.send(Job::LineEnded(line));
        }
        if !control_open && lines.is_empty() {
            return;
        }
        if !control_open {
            // No control channel to wait on: wait on a timer instead.
            let _ = crossbeam_channel::after(Duration::from_millis(20)).recv();
        }
    }
}

fn dispatch(
    line: LineNo,
    out: &mut Vec<Segment>,
    finals: &Sender<Job>,
    partials: &Sender<Job>,
    stats: &Stats,
) {
    for seg in out.drain(..) {
        match seg {
            Segment::Final {
                utterance,
                start_sample,
                samples,
            } => {
                // Finals are never dropped: wait for room.
                let _ = finals.send(Job::Recognise {
                    line,
                    utterance,
                    start_sample,
                    samples,
                    is_final: true,
                    queued: Instant::now(),
                });
            }
            Segment::Partial {
                utterance,
                start_sample,
                samples,
            } => {
                let job = Job::Recognise {
                    line,
                    utterance,
                    start_sample,
                    samples,
                    is_final: false,
                    queued: Instant::now(),
                };
                if let Err(TrySendError::Full(_)) = partials.try_send(job) {
                    stats.partials_dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

//! The speech worker on every line of the studio: the model loads in the
//! background (seconds), then every line's 16 kHz tap is transcribed;
//! transcripts are masked (phone and ID numbers) before the journal, the
//! knowledge base answers each final.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use airbridge_speech::{SpeechWorker, WorkerConfig};
use crossbeam_channel::Receiver;

use crate::{PartReport, PartStatus, Runtime, failed, ok};

/// The running worker and the thread that keeps its result queue empty.
pub(crate) struct SpeechPart {
    stop: Arc<AtomicBool>,
    drain: Option<std::thread::JoinHandle<()>>,
    worker: Option<SpeechWorker>,
}

impl SpeechPart {
    /// Answers from an edited knowledge base from now on.
    pub fn set_kb(&self, index: Arc<airbridge_kb::SearchIndex>) {
        if let Some(w) = &self.worker {
            w.set_kb(index);
        }
    }

    /// Drops the backlog and finishes the model call in progress.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(d) = self.drain.take() {
            let _ = d.join();
        }
        if let Some(w) = self.worker.take() {
            w.abort();
        }
    }
}

/// Starts loading the model; the worker joins the show when it is ready.
pub(crate) fn start(rt: &Runtime) {
    let model = rt.paths().model.clone();
    rt.report(PartReport {
        name: "speech".into(),
        component: "speech".into(),
        status: PartStatus::Starting(format!("loading {}", model.display())),
        zh: Some(format!("加载语音模型 {}", model.display())),
    });
    rt.spawn("runtime-speech", move |rt| load(rt, &model));
}

fn load(rt: &Runtime, model: &Path) {
    if let airbridge_models::ModelStatus::Missing { .. }
    | airbridge_models::ModelStatus::Invalid { .. } = airbridge_models::check(model)
    {
        rt.report(failed(
            "speech",
            "speech",
            &airbridge_models::check(model).describe(),
        ));
        return;
    }
    // The knowledge base (the prompt's vocabulary, the answers) joins when
    // it is loaded; callers are transcribed from the start either way.
    let kb = rt.kb().try_get().and_then(Result::ok);
    let mut cfg = WorkerConfig::new(model.to_path_buf());
    cfg.redact = Some(airbridge_feeds::pii::mask_text);
    cfg.flag = Some(rt.inner.safety.flagger());
    if let Some(kb) = &kb {
        cfg.options.initial_prompt = airbridge_speech::prompt::from_entries(&kb.entries);
    }
    let searcher = kb.as_ref().map(|k| Arc::clone(&k.searcher));
    let (worker, results) = match SpeechWorker::start(cfg, Some(rt.journal().clone()), searcher) {
        Ok(w) => w,
        Err(e) => {
            rt.report(failed("speech", "speech", &e.to_string()));
            return;
        }
    };
    let Some(engine) = rt.inner.engine.clone() else {
        return;
    };
    let lines = rt
        .inner
        .lines
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .numbers();
    let mut on = Vec::new();
    let mut problems = Vec::new();
    for line in lines {
        let added = engine
            .stt_tap(line)
            .map_err(|e| e.to_string())
            .and_then(|tap| worker.add_line(line, tap).map_err(|e| e.to_string()));
        match added {
            Ok(()) => on.push(line.to_string()),
            Err(e) => problems.push(format!("line {line}: {e}")),
        }
    }
    let detail = format!("{} on lines {}", worker.model(), on.join(", "));
    if problems.is_empty() {
        rt.report(ok("speech", "speech", &detail).zh(format!(
            "{}，转写线路 {}",
            worker.model(),
            on.join("、")
        )));
    } else {
        rt.report(failed(
            "speech",
            "speech",
            &format!("{detail}; not on {}", problems.join("; ")),
        ));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let later_kb = kb.is_none().then(|| rt.kb());
    let drain = {
        let stop = Arc::clone(&stop);
        let rt = rt.clone();
        std::thread::Builder::new()
            .name("runtime-speech-results".into())
            .spawn(move || drain_results(&rt, &results, &stop))
            .ok()
    };
    if let Some(handle) = later_kb {
        // Wait here (this thread is the runtime's speech starter) for the
        // knowledge base, then hand it to the worker.
        loop {
            if rt.stopping() {
                break;
            }
            match handle.wait(Duration::from_millis(200)) {
                Some(Ok(kb)) => {
                    let _ = worker.set_prompt(airbridge_speech::prompt::from_entries(&kb.entries));
                    worker.set_kb(Arc::clone(&kb.searcher));
                    break;
                }
                Some(Err(_)) => break,
                None => {}
            }
        }
    }
    let part = SpeechPart {
        stop,
        drain,
        worker: Some(worker),
    };
    if rt.stopping() {
        part.stop();
        return;
    }
    *rt.inner
        .speech
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(part);
}

/// The journal carries the worker's transcripts; flags are journaled here,
/// with what only the runtime knows (on air? how long until it goes out?).
fn drain_results(
    rt: &Runtime,
    results: &Receiver<airbridge_speech::SpeechEvent>,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::Relaxed) {
        if let Ok(airbridge_speech::SpeechEvent::Flagged {
            line,
            utterance,
            kinds,
            text,
            latency_ms,
            ..
        }) = results.recv_timeout(Duration::from_millis(200))
        {
            journal_flag(rt, line, utterance, kinds, &text, latency_ms);
        }
    }
}

/// Journals a speech flag. With a broadcast delay running and the line on
/// air, the flag says how many seconds remain before the words go out:
/// the delay now, less the time since they were said.
pub(crate) fn journal_flag(
    rt: &Runtime,
    line: airbridge_show::LineNo,
    utterance: u64,
    kinds: Vec<String>,
    text: &str,
    latency_ms: u64,
) {
    let on_air = crate::actions::line_state(rt, line) == airbridge_show::LineState::OnAir;
    let dump_within_secs = rt.inner.engine.as_ref().and_then(|e| {
        let d = e.delay();
        (on_air && d.configured() && d.mode != airbridge_media::DelayMode::Off)
            .then(|| ((f64::from(d.now_ms) - latency_ms as f64) / 1000.0).max(0.0) as f32)
    });
    let text = crate::flags::mask_words(text, &rt.inner.safety.words);
    let ev = airbridge_show::ShowEvent::SpeechFlagged {
        line,
        utterance,
        kinds,
        text,
        on_air,
        dump_within_secs,
    };
    if let Err(e) = rt.journal().append(airbridge_speech::worker::SEAT, ev) {
        tracing::warn!("cannot journal a speech flag: {e}");
    }
}

//! Recording off the audio thread: taps deliver samples through SPSC rings,
//! one writer thread drains them into WAV files (16-bit PCM). A file is
//! finalised when its ring is abandoned (the tap was removed or the engine
//! stopped) and drained.
//!
//! File names carry the journal reference of the call: `call-<seq>-line<N>.wav`,
//! where `<seq>` is the sequence number of the call's `CallRang` event
//! (`ItemRef::Call(seq)`).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};

use crate::MediaError;
use crate::core::{Controller, TapId, TapPoint};

/// A finished recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub path: PathBuf,
    pub frames: u64,
    pub channels: u16,
    pub sample_rate: u32,
}

impl Recorded {
    /// Length in seconds.
    pub fn secs(&self) -> f64 {
        self.frames as f64 / f64::from(self.sample_rate.max(1))
    }
}

/// Where a recorder reports each recording as it is finished (or failed).
pub type RecordingNotices = Sender<Result<Recorded, MediaError>>;

struct Job {
    path: PathBuf,
    rx: rtrb::Consumer<f32>,
    channels: u16,
    sample_rate: u32,
}

struct Active {
    path: PathBuf,
    rx: rtrb::Consumer<f32>,
    channels: u16,
    sample_rate: u32,
    samples: u64,
    writer: hound::WavWriter<BufWriter<File>>,
}

/// The recorder thread and its job queue.
#[derive(Debug)]
pub struct Recorder {
    tx: Option<Sender<Job>>,
    thread: Option<JoinHandle<Result<Vec<Recorded>, MediaError>>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("path", &self.path).finish()
    }
}

impl Recorder {
    pub fn start() -> Result<Self, MediaError> {
        Self::start_with(None)
    }

    /// Like [`Recorder::start`], and reports every recording on `notices`
    /// the moment it is finished (or has failed).
    pub fn start_with_notices(notices: RecordingNotices) -> Result<Self, MediaError> {
        Self::start_with(Some(notices))
    }

    fn start_with(notices: Option<RecordingNotices>) -> Result<Self, MediaError> {
        let (tx, rx) = bounded::<Job>(64);
        let thread = std::thread::Builder::new()
            .name("media-recorder".into())
            .spawn(move || writer_loop(&rx, notices.as_ref()))
            .map_err(|e| MediaError::Io {
                op: "start recorder thread",
                path: PathBuf::new(),
                detail: e.to_string(),
            })?;
        Ok(Self {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Writes everything read from `rx` to `path` until the ring is abandoned.
    pub fn record(
        &self,
        rx: rtrb::Consumer<f32>,
        path: &Path,
        channels: u16,
        sample_rate: u32,
    ) -> Result<(), MediaError> {
        let tx = self
            .tx
            .as_ref()
            .ok_or(MediaError::Config("recorder stopped".into()))?;
        tx.send(Job {
            path: path.to_path_buf(),
            rx,
            channels,
            sample_rate,
        })
        .map_err(|_| MediaError::Config("recorder thread has stopped".into()))
    }

    /// Records the program bus to `dir/program-<tag>.wav`.
    pub fn record_program(
        &self,
        ctl: &mut Controller,
        dir: &Path,
        tag: &str,
    ) -> Result<(TapId, PathBuf), MediaError> {
        let (id, rx) = ctl.add_tap(TapPoint::Program, 5.0)?;
        let path = dir.join(format!("program-{tag}.wav"));
        self.record(rx, &path, 1, ctl.config().sample_rate)?;
        Ok((id, path))
    }

    /// Records a call (left: caller, right: what the caller hears) to
    /// `dir/call-<call_ref>-line<N>.wav`.
    pub fn record_call(
        &self,
        ctl: &mut Controller,
        dir: &Path,
        line: airbridge_show::event::LineNo,
        call_ref: u64,
    ) -> Result<(TapId, PathBuf), MediaError> {
        let idx = usize::from(line).wrapping_sub(1);
        let (id, rx) = ctl.add_tap(TapPoint::Call(idx), 5.0)?;
        let path = dir.join(format!("call-{call_ref}-line{line}.wav"));
        self.record(rx, &path, 2, ctl.config().sample_rate)?;
        Ok((id, path))
    }

    /// Waits until every recording's ring is abandoned and written out.
    pub fn finish(mut self) -> Result<Vec<Recorded>, MediaError> {
        self.tx.take();
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(MediaError::Config("recorder thread panicked".into())),
            None => Ok(Vec::new()),
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn io_err(op: &'static str, path: &Path, e: impl std::fmt::Display) -> MediaError {
    MediaError::Io {
        op,
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

fn open(job: Job) -> Result<Active, MediaError> {
    let spec = hound::WavSpec {
        channels: job.channels,
        sample_rate: job.sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let writer =
        hound::WavWriter::create(&job.path, spec).map_err(|e| io_err("create", &job.path, e))?;
    Ok(Active {
        path: job.path,
        rx: job.rx,
        channels: job.channels,
        sample_rate: job.sample_rate,
        samples: 0,
        writer,
    })
}

fn drain(a: &mut Active) -> Result<(), MediaError> {
    let n = a.rx.slots();
    if n == 0 {
        return Ok(());
    }
    let chunk =
        a.rx.read_chunk(n)
            .map_err(|e| io_err("read tap for", &a.path, e))?;
    let (x, y) = chunk.as_slices();
    for &s in x.iter().chain(y) {
        let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        a.writer
            .write_sample(v)
            .map_err(|e| io_err("write", &a.path, e))?;
    }
    chunk.commit_all();
    a.samples += n as u64;
    Ok(())
}

fn writer_loop(
    jobs: &Receiver<Job>,
    notices: Option<&RecordingNotices>,
) -> Result<Vec<Recorded>, MediaError> {
    let notify = |r: Result<Recorded, MediaError>| {
        if let Some(n) = notices {
            let _ = n.try_send(r);
        }
    };
    let mut active: Vec<Active> = Vec::new();
    let mut done = Vec::new();
    let mut first_err = None;
    let mut open_jobs = true;
    // never sent on: a timed wait once `jobs` is closed
    let (_keep, idle) = bounded::<()>(1);
    loop {
        if open_jobs {
            let wait = if active.is_empty() { 50 } else { 5 };
            match jobs.recv_timeout(Duration::from_millis(wait)) {
                Ok(job) => match open(job) {
                    Ok(a) => active.push(a),
                    Err(e) => {
                        tracing::error!(error = %e, "recording not started");
                        notify(Err(e.clone()));
                        first_err.get_or_insert(e);
                    }
                },
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => open_jobs = false,
            }
        } else if active.is_empty() {
            break;
        } else {
            // only finishing recordings remain: wait for them without
            // spinning (the job channel is closed, so it cannot be waited on)
            let _ = idle.recv_timeout(Duration::from_millis(5));
        }
        let mut i = 0;
        while i < active.len() {
            let abandoned = active[i].rx.is_abandoned();
            if let Err(e) = drain(&mut active[i]) {
                tracing::error!(error = %e, "recording failed");
                notify(Err(e.clone()));
                first_err.get_or_insert(e);
                active.swap_remove(i);
                continue;
            }
            if abandoned {
                // the producer is gone, so this drain read everything
                let a = active.swap_remove(i);
                let frames = a.samples / u64::from(a.channels.max(1));
                let path = a.path.clone();
                match a.writer.finalize() {
                    Ok(()) => {
                        let r = Recorded {
                            path,
                            frames,
                            channels: a.channels,
                            sample_rate: a.sample_rate,
                        };
                        notify(Ok(r.clone()));
                        done.push(r);
                    }
                    Err(e) => {
                        let e = io_err("finish", &path, e);
                        tracing::error!(error = %e, "recording failed");
                        notify(Err(e.clone()));
                        first_err.get_or_insert(e);
                    }
                }
            } else {
                i += 1;
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(done),
    }
}

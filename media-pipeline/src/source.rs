//! Line sources: what feeds a caller line (or the host, talkback and hold
//! inputs) one block at a time on the audio thread.
//!
//! A source is prepared off the audio thread (files are decoded and
//! resampled when loaded) and moved into the engine; [`Source::fill`] never
//! allocates, locks or does I/O.

use std::f32::consts::TAU;
use std::path::Path;
use std::sync::Arc;

use crate::MediaError;

/// What a source reported for one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// The block is full of audio.
    Ok,
    /// Only this many samples were available; the rest is silence.
    Underrun(usize),
    /// The source has nothing more (file played out, stream closed).
    Ended,
}

/// Something that produces mono samples at the engine rate.
pub trait Source: Send + std::fmt::Debug {
    /// Writes exactly `out.len()` samples (silence where it has none).
    fn fill(&mut self, out: &mut [f32]) -> Fill;
}

/// Silence forever.
#[derive(Debug, Default)]
pub struct Silence;

impl Source for Silence {
    fn fill(&mut self, out: &mut [f32]) -> Fill {
        out.fill(0.0);
        Fill::Ok
    }
}

/// A sine tone.
#[derive(Debug, Clone)]
pub struct Tone {
    phase: f32,
    step: f32,
    amplitude: f32,
}

impl Tone {
    pub fn new(sample_rate: u32, freq_hz: f32, amplitude: f32) -> Self {
        Self {
            phase: 0.0,
            step: freq_hz / sample_rate as f32,
            amplitude,
        }
    }
}

impl Source for Tone {
    fn fill(&mut self, out: &mut [f32]) -> Fill {
        for x in out {
            *x = self.amplitude * (TAU * self.phase).sin();
            self.phase += self.step;
            if self.phase >= 1.0 {
                self.phase -= 1.0;
            }
        }
        Fill::Ok
    }
}

/// Decoded audio held in memory, played once (then [`Fill::Ended`]) or looped.
#[derive(Debug, Clone)]
pub struct Clip {
    samples: Arc<[f32]>,
    pos: usize,
    looping: bool,
}

impl Clip {
    pub fn new(samples: Arc<[f32]>, looping: bool) -> Self {
        Self {
            samples,
            pos: 0,
            looping,
        }
    }

    /// Loads a WAV file (8/16/24/32-bit PCM or float, any channel count,
    /// mixed to mono) and resamples it to `sample_rate`.
    pub fn from_wav(path: &Path, sample_rate: u32, looping: bool) -> Result<Self, MediaError> {
        let samples = load_wav_mono(path, sample_rate)?;
        Ok(Self::new(samples.into(), looping))
    }

    /// Duration in samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

impl Source for Clip {
    fn fill(&mut self, out: &mut [f32]) -> Fill {
        let n = self.samples.len();
        if n == 0 {
            out.fill(0.0);
            return Fill::Ended;
        }
        let mut written = 0;
        while written < out.len() {
            if self.pos >= n {
                if self.looping {
                    self.pos = 0;
                } else {
                    out[written..].fill(0.0);
                    return if written == 0 {
                        Fill::Ended
                    } else {
                        Fill::Underrun(written)
                    };
                }
            }
            let take = (n - self.pos).min(out.len() - written);
            out[written..written + take].copy_from_slice(&self.samples[self.pos..self.pos + take]);
            self.pos += take;
            written += take;
        }
        Fill::Ok
    }
}

/// Several sources summed into one input (the studio's microphones on the
/// host input). The scratch buffer is made when the mix is built, off the
/// audio thread; blocks longer than it are summed in pieces.
#[derive(Debug)]
pub struct Mix {
    parts: Vec<Box<dyn Source>>,
    scratch: Box<[f32]>,
}

/// Longest piece a [`Mix`] sums at once.
const MIX_SCRATCH: usize = 8192;

impl Mix {
    pub fn new(parts: Vec<Box<dyn Source>>) -> Self {
        Self {
            parts,
            scratch: vec![0.0; MIX_SCRATCH].into_boxed_slice(),
        }
    }
}

impl Source for Mix {
    fn fill(&mut self, out: &mut [f32]) -> Fill {
        out.fill(0.0);
        let mut any_audio = false;
        let mut all_ended = !self.parts.is_empty();
        for piece in out.chunks_mut(MIX_SCRATCH) {
            let scratch = &mut self.scratch[..piece.len()];
            for part in &mut self.parts {
                match part.fill(scratch) {
                    Fill::Ok | Fill::Underrun(1..) => {
                        any_audio = true;
                        all_ended = false;
                    }
                    Fill::Underrun(0) => all_ended = false,
                    Fill::Ended => {}
                }
                for (o, x) in piece.iter_mut().zip(scratch.iter()) {
                    *o += *x;
                }
            }
        }
        if all_ended {
            Fill::Ended
        } else if any_audio {
            Fill::Ok
        } else {
            Fill::Underrun(0)
        }
    }
}

/// Samples arriving from another thread (a sound-card input, a GStreamer
/// appsink) through an SPSC ring. Missing samples are padded with silence.
/// With a prefill, playback starts (and restarts after running dry) only
/// once that many samples are waiting, so network jitter does not chop
/// every block.
///
/// **Clock drift.** The producer runs on another clock (a second sound
/// card, a network sender): a few tens of ppm apart, its ring would slowly
/// fill (latency grows for the whole show) or run dry (a click every few
/// minutes). With a prefill, the source watches the smoothed fill level and,
/// while it is outside a band around the prefill, reads one sample
/// more (or fewer) than the block and resamples that block to size (linear,
/// inaudible at ±0.2 %). It allocates nothing while playing.
#[derive(Debug)]
pub struct RingSource {
    rx: rtrb::Consumer<f32>,
    prefill: usize,
    primed: bool,
    /// Smoothed fill level (samples), updated every block while primed.
    level: f32,
    /// Blocks read one sample long (source fast) or short (source slow).
    stretched: (u64, u64),
    scratch: Box<[f32]>,
}

/// Longest block drift correction applies to (longer blocks play as is).
const DRIFT_SCRATCH: usize = 8192;
/// Smoothing of the fill level: about one second of 10 ms blocks.
const LEVEL_ALPHA: f32 = 0.01;

impl RingSource {
    pub fn new(rx: rtrb::Consumer<f32>) -> Self {
        Self::with_prefill(rx, 0)
    }

    /// Waits for `prefill` samples before playing (and after every underrun),
    /// and keeps the fill level near `prefill` against clock drift.
    pub fn with_prefill(rx: rtrb::Consumer<f32>, prefill: usize) -> Self {
        Self {
            rx,
            prefill,
            primed: prefill == 0,
            level: prefill as f32,
            stretched: (0, 0),
            scratch: vec![0.0; if prefill > 0 { DRIFT_SCRATCH + 1 } else { 0 }].into_boxed_slice(),
        }
    }

    /// Blocks corrected so far: (one sample dropped, one sample added).
    pub fn drift_corrections(&self) -> (u64, u64) {
        self.stretched
    }

    /// Samples waiting in the ring now.
    pub fn waiting(&self) -> usize {
        self.rx.slots()
    }

    /// Reads `take` samples (`take` = n ± 1) and resamples them to `out`.
    fn fill_stretched(&mut self, out: &mut [f32], take: usize) {
        let n = out.len();
        let Ok(chunk) = self.rx.read_chunk(take) else {
            out.fill(0.0);
            return;
        };
        let (a, b) = chunk.as_slices();
        self.scratch[..a.len()].copy_from_slice(a);
        self.scratch[a.len()..take].copy_from_slice(b);
        chunk.commit_all();
        // out[0] = in[0] and out[n-1] = in[take-1]: no step at block edges
        let step = (take - 1) as f32 / (n - 1) as f32;
        for (i, o) in out.iter_mut().enumerate() {
            let t = i as f32 * step;
            let j = (t as usize).min(take - 1);
            let k = (j + 1).min(take - 1);
            let frac = t - j as f32;
            *o = self.scratch[j] + (self.scratch[k] - self.scratch[j]) * frac;
        }
    }
}

impl Source for RingSource {
    fn fill(&mut self, out: &mut [f32]) -> Fill {
        let waiting = self.rx.slots();
        let n = out.len();
        if self.primed && self.prefill > 0 && (2..DRIFT_SCRATCH).contains(&n) {
            self.level += LEVEL_ALPHA * (waiting as f32 - self.level);
            let target = self.prefill as f32;
            // a band around the prefill whose lower edge stays clear of
            // an underrun (fewer than one block waiting)
            let slack = (n as f32 / 2.0).max(target / 4.0);
            if self.level > target + slack && waiting > n {
                self.stretched.0 += 1;
                self.fill_stretched(out, n + 1);
                return Fill::Ok;
            }
            if self.level < target - slack && waiting >= n - 1 {
                self.stretched.1 += 1;
                self.fill_stretched(out, n - 1);
                return Fill::Ok;
            }
        }
        if !self.primed {
            if waiting >= self.prefill.max(1) {
                self.primed = true;
                self.level = waiting as f32;
            } else {
                out.fill(0.0);
                return if self.rx.is_abandoned() && waiting == 0 {
                    Fill::Ended
                } else {
                    Fill::Underrun(0)
                };
            }
        }
        let avail = waiting.min(out.len());
        if let Ok(chunk) = self.rx.read_chunk(avail) {
            let (a, b) = chunk.as_slices();
            out[..a.len()].copy_from_slice(a);
            out[a.len()..a.len() + b.len()].copy_from_slice(b);
            chunk.commit_all();
        }
        out[avail..].fill(0.0);
        if avail == out.len() {
            Fill::Ok
        } else {
            if self.prefill > 0 {
                self.primed = false;
            }
            if self.rx.is_abandoned() && avail == 0 {
                Fill::Ended
            } else {
                Fill::Underrun(avail)
            }
        }
    }
}

/// Reads a WAV file into mono `f32` at `sample_rate` (band-limited
/// resampling when the file's rate differs). Errors name the file and the
/// reason.
pub fn load_wav_mono(path: &Path, sample_rate: u32) -> Result<Vec<f32>, MediaError> {
    airbridge_audio_files::read_mono(path, sample_rate).map_err(|e| MediaError::BadAudio {
        path: path.to_path_buf(),
        reason: match e {
            airbridge_audio_files::AudioFileError::NotWav { reason, .. } => {
                format!("not a WAV file: {reason}")
            }
            airbridge_audio_files::AudioFileError::Io { source, .. } => source.to_string(),
            airbridge_audio_files::AudioFileError::Unsupported { reason, .. } => reason,
            other @ airbridge_audio_files::AudioFileError::Resample { .. } => other.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_plays_once_then_ends() {
        let mut c = Clip::new(vec![1.0; 700].into(), false);
        let mut buf = [0.0; 480];
        assert_eq!(c.fill(&mut buf), Fill::Ok);
        assert_eq!(c.fill(&mut buf), Fill::Underrun(220));
        assert_eq!(buf[219], 1.0);
        assert_eq!(buf[220], 0.0);
        assert_eq!(c.fill(&mut buf), Fill::Ended);
    }

    #[test]
    fn mix_sums_its_parts_and_ends_when_all_have() {
        let mut m = Mix::new(vec![
            Box::new(Clip::new(vec![0.25; 480].into(), false)),
            Box::new(Clip::new(vec![0.5; 960].into(), false)),
        ]);
        let mut buf = [0.0; 480];
        assert_eq!(m.fill(&mut buf), Fill::Ok);
        assert!(buf.iter().all(|&x| (x - 0.75).abs() < 1e-6));
        assert_eq!(m.fill(&mut buf), Fill::Ok);
        assert!(buf.iter().all(|&x| (x - 0.5).abs() < 1e-6));
        assert_eq!(m.fill(&mut buf), Fill::Ended);
        let mut long = vec![0.0; MIX_SCRATCH + 100];
        let mut tone = Mix::new(vec![Box::new(Clip::new(vec![0.1; 9000].into(), true))]);
        assert_eq!(tone.fill(&mut long), Fill::Ok);
        assert!(long.iter().all(|&x| (x - 0.1).abs() < 1e-6));
    }

    #[test]
    fn looping_clip_wraps() {
        let mut c = Clip::new(vec![0.5; 100].into(), true);
        let mut buf = [0.0; 480];
        for _ in 0..3 {
            assert_eq!(c.fill(&mut buf), Fill::Ok);
            assert!(buf.iter().all(|&x| x == 0.5));
        }
    }

    /// A producer on a clock `ppm` away from the engine's, 10 ms blocks,
    /// for `blocks` blocks of a 1 kHz tone. Returns the source, the output
    /// and how many samples the producer could not push (ring full).
    fn drifting(ppm: f64, blocks: usize) -> (RingSource, Vec<f32>, usize) {
        let (mut tx, rx) = rtrb::RingBuffer::new(48_000);
        let mut s = RingSource::with_prefill(rx, 960);
        let mut out = Vec::with_capacity(blocks * 480);
        let mut buf = [0.0f32; 480];
        let (mut owed, mut phase, mut lost) = (0.0f64, 0u64, 0usize);
        for _ in 0..blocks {
            owed += 480.0 * (1.0 + ppm * 1e-6);
            while owed >= 1.0 {
                owed -= 1.0;
                let t = phase as f64 / (48_000.0 * (1.0 + ppm * 1e-6));
                phase += 1;
                if tx
                    .push((0.5 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()) as f32)
                    .is_err()
                {
                    lost += 1;
                }
            }
            if s.fill(&mut buf) != Fill::Ok && out.len() >= 48_000 {
                lost += 1_000_000; // an underrun after the start
            }
            out.extend_from_slice(&buf);
        }
        (s, out, lost)
    }

    #[test]
    fn drift_keeps_the_ring_near_its_prefill_without_clicks() {
        // 500 ppm is ten times a poor sound card; 10 minutes of audio
        for ppm in [500.0, -500.0] {
            let (s, out, lost) = drifting(ppm, 60_000);
            let (dropped, added) = s.drift_corrections();
            eprintln!(
                "{ppm} ppm: {} waiting, corrections {dropped} dropped {added} added",
                s.waiting()
            );
            assert_eq!(lost, 0, "{ppm} ppm: ring overflowed or underran");
            assert!(
                s.waiting() > 0 && s.waiting() < 960 + 3 * 480,
                "{ppm} ppm: {} waiting",
                s.waiting()
            );
            // the drift is 0.24 samples a block: about that many corrections
            let (right, wrong) = if ppm > 0.0 {
                (dropped, added)
            } else {
                (added, dropped)
            };
            assert!(right > 10_000 && wrong * 10 < right, "{dropped} {added}");
            // no underrun after the start, no step larger than the tone's
            // own slope (0.5 · 2π · 1000 / 48000 ≈ 0.065) plus a margin
            let steady = &out[48_000..];
            assert!(steady.iter().all(|x| x.abs() <= 0.5001));
            let worst = steady
                .windows(2)
                .map(|w| (w[1] - w[0]).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 0.075, "{ppm} ppm: step {worst}");
            // the tone is intact in every 50 ms window (a run of corrected
            // blocks shifts the pitch by up to 0.2 % = 3.6 cents, inaudible,
            // and well inside one 20 Hz analysis bin)
            let pure: Vec<f32> = (0..2400)
                .map(|i| 0.5 * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 48_000.0).sin())
                .collect();
            let reference = crate::dsp::goertzel_power(&pure, 48_000, 1000.0);
            for w in steady.chunks_exact(2400) {
                let p = crate::dsp::goertzel_power(w, 48_000, 1000.0);
                assert!(
                    p > 0.9 * reference,
                    "{ppm} ppm: tone power {p} of {reference}"
                );
            }
        }
    }

    #[test]
    fn matched_clocks_need_no_correction() {
        let (s, _, lost) = drifting(0.0, 30_000);
        assert_eq!(lost, 0);
        assert_eq!(s.drift_corrections(), (0, 0));
    }

    #[test]
    fn without_correction_the_same_drift_runs_dry() {
        // The failure the correction prevents: a plain ring (no prefill) fed
        // 500 ppm slow underruns within the same 20 minutes.
        let (mut tx, rx) = rtrb::RingBuffer::new(48_000);
        let mut s = RingSource::new(rx);
        for _ in 0..960 {
            tx.push(0.1).unwrap();
        }
        let mut buf = [0.0f32; 480];
        let (mut owed, mut underruns) = (0.0f64, 0);
        for _ in 0..120_000 {
            owed += 480.0 * (1.0 - 500e-6);
            while owed >= 1.0 {
                owed -= 1.0;
                let _ = tx.push(0.1);
            }
            if s.fill(&mut buf) != Fill::Ok {
                underruns += 1;
            }
        }
        assert!(underruns > 0);
    }

    #[test]
    fn ring_source_pads_and_reports_end() {
        let (mut tx, rx) = rtrb::RingBuffer::new(1024);
        let mut s = RingSource::new(rx);
        for _ in 0..100 {
            tx.push(0.25).unwrap();
        }
        let mut buf = [1.0; 480];
        assert_eq!(s.fill(&mut buf), Fill::Underrun(100));
        assert_eq!(buf[99], 0.25);
        assert_eq!(buf[100], 0.0);
        drop(tx);
        assert_eq!(s.fill(&mut buf), Fill::Ended);
    }
}

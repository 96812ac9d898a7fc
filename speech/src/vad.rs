//! Voice-activity detection and utterance segmentation for one line.
//!
//! Energy-based: 30 ms frames, an adaptive noise floor (falls at once, rises
//! slowly), speech = a frame well above the floor and above an absolute
//! minimum. An utterance starts after 90 ms of speech (with 300 ms of audio
//! before it), ends after 600 ms of silence, and is cut at `max_utterance_s`.
//! Steady noise of any level raises the floor and is never speech.

use std::collections::VecDeque;

use crate::audio::SAMPLE_RATE;

/// Samples per analysis frame (30 ms).
pub const FRAME: usize = 480;

/// Segmentation settings.
#[derive(Debug, Clone, Copy)]
pub struct VadConfig {
    /// Frame energy (RMS) this many times the noise floor counts as speech.
    pub floor_ratio: f32,
    /// …and at least this RMS (about −46 dBFS).
    pub min_rms: f32,
    /// Speech frames in a row that open an utterance.
    pub start_frames: usize,
    /// Silent frames in a row that close one.
    pub end_frames: usize,
    /// Frames of audio kept before the start.
    pub preroll_frames: usize,
    /// Longest utterance before it is cut (seconds).
    pub max_utterance_s: f32,
    /// A partial every this many seconds of new speech (`None`: no partials).
    pub partial_every_s: Option<f32>,
}

impl Default for VadConfig {
    fn default() -> Self {
        Self {
            floor_ratio: 4.0,
            min_rms: 0.005,
            start_frames: 3,
            end_frames: 20,
            preroll_frames: 10,
            max_utterance_s: 20.0,
            partial_every_s: Some(1.0),
        }
    }
}

/// What the segmenter asks the recogniser to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// The utterance so far (may be superseded).
    Partial {
        utterance: u64,
        start_sample: u64,
        samples: Vec<f32>,
    },
    /// The whole utterance.
    Final {
        utterance: u64,
        start_sample: u64,
        samples: Vec<f32>,
    },
}

/// Segmenter state for one line.
#[derive(Debug)]
pub struct Segmenter {
    cfg: VadConfig,
    floor: Option<f32>,
    pending: Vec<f32>,
    preroll: VecDeque<Vec<f32>>,
    /// Sample index of the next sample fed.
    pos: u64,
    speech_run: usize,
    silence_run: usize,
    current: Option<Current>,
    next_utterance: u64,
}

#[derive(Debug)]
struct Current {
    utterance: u64,
    start_sample: u64,
    samples: Vec<f32>,
    since_partial: usize,
}

fn rms(frame: &[f32]) -> f32 {
    (frame.iter().map(|x| x * x).sum::<f32>() / frame.len().max(1) as f32).sqrt()
}

impl Segmenter {
    pub fn new(cfg: VadConfig) -> Self {
        Self {
            cfg,
            floor: None,
            pending: Vec::with_capacity(FRAME),
            preroll: VecDeque::new(),
            pos: 0,
            speech_run: 0,
            silence_run: 0,
            current: None,
            next_utterance: 1,
        }
    }

    /// Samples fed so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Whether an utterance is open.
    pub fn in_speech(&self) -> bool {
        self.current.is_some()
    }

    /// Whether the caller is quiet now: no utterance, or its last frame was
    /// silence (perhaps the end: a partial now would only delay the final).
    pub fn quiet(&self) -> bool {
        self.current.is_none() || self.silence_run > 0
    }

    /// Feeds samples; pushes any partials and finals into `out`.
    pub fn push(&mut self, samples: &[f32], out: &mut Vec<Segment>) {
        for &s in samples {
            self.pending.push(s);
            if self.pending.len() == FRAME {
                let frame = std::mem::replace(&mut self.pending, Vec::with_capacity(FRAME));
                self.frame(frame, out);
            }
        }
    }

    /// End of stream: closes an open utterance.
    pub fn flush(&mut self, out: &mut Vec<Segment>) {
        if let Some(mut cur) = self.current.take() {
            cur.samples.extend_from_slice(&self.pending);
            self.pending.clear();
            out.push(Segment::Final {
                utterance: cur.utterance,
                start_sample: cur.start_sample,
                samples: cur.samples,
            });
        }
    }

    fn frame(&mut self, frame: Vec<f32>, out: &mut Vec<Segment>) {
        let e = rms(&frame);
        let floor = self.floor.get_or_insert(e);
        let is_speech = e > (*floor * self.cfg.floor_ratio).max(self.cfg.min_rms);
        // The floor follows quiet at once and loud slowly (≈ 10 s to double),
        // so speech does not raise it much but steady noise does.
        if e < *floor {
            *floor = e.max(1e-6);
        } else {
            *floor += (e - *floor) * 0.0025;
        }
        let frame_start = self.pos;
        self.pos += frame.len() as u64;
        let max_len = (self.cfg.max_utterance_s * SAMPLE_RATE as f32) as usize;
        let partial_len = self
            .cfg
            .partial_every_s
            .map(|s| (s * SAMPLE_RATE as f32) as usize);

        match self.current.as_mut() {
            None => {
                self.speech_run = if is_speech { self.speech_run + 1 } else { 0 };
                self.preroll.push_back(frame);
                while self.preroll.len() > self.cfg.preroll_frames + self.cfg.start_frames {
                    self.preroll.pop_front();
                }
                if self.speech_run >= self.cfg.start_frames {
                    let n = self.preroll.len() as u64;
                    let start_sample =
                        (frame_start + FRAME as u64).saturating_sub(n * FRAME as u64);
                    let samples: Vec<f32> = self.preroll.drain(..).flatten().collect();
                    self.current = Some(Current {
                        utterance: self.next_utterance,
                        start_sample,
                        since_partial: samples.len(),
                        samples,
                    });
                    self.next_utterance += 1;
                    self.silence_run = 0;
                }
            }
            Some(cur) => {
                cur.samples.extend_from_slice(&frame);
                cur.since_partial += frame.len();
                self.silence_run = if is_speech { 0 } else { self.silence_run + 1 };
                let ended = self.silence_run >= self.cfg.end_frames;
                if ended || cur.samples.len() >= max_len {
                    if ended {
                        // Keep 200 ms of the trailing silence.
                        let keep = cur.samples.len()
                            - (self.silence_run.saturating_sub(7) * FRAME).min(cur.samples.len());
                        cur.samples.truncate(keep);
                    }
                    if let Some(cur) = self.current.take() {
                        out.push(Segment::Final {
                            utterance: cur.utterance,
                            start_sample: cur.start_sample,
                            samples: cur.samples,
                        });
                    }
                    self.speech_run = 0;
                    self.silence_run = 0;
                } else if partial_len.is_some_and(|p| cur.since_partial >= p)
                    && self.silence_run == 0
                {
                    cur.since_partial = 0;
                    out.push(Segment::Partial {
                        utterance: cur.utterance,
                        start_sample: cur.start_sample,
                        samples: cur.samples.clone(),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(secs: f32, amp: f32) -> Vec<f32> {
        (0..(secs * 16_000.0) as usize)
            .map(|i| amp * (i as f32 * 2.0 * std::f32::consts::PI * 220.0 / 16_000.0).sin())
            .collect()
    }

    /// Deterministic white-ish noise (xorshift).
    fn noise(secs: f32, amp: f32, seed: u32) -> Vec<f32> {
        let mut x = seed.max(1);
        (0..(secs * 16_000.0) as usize)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                amp * ((x as f32 / u32::MAX as f32) * 2.0 - 1.0)
            })
            .collect()
    }

    #[test]
    fn two_bursts_make_two_utterances_with_partials_and_finals() {
        let mut seg = Segmenter::new(VadConfig::default());
        let mut out = Vec::new();
        let mut audio = noise(1.0, 0.001, 7);
        audio.extend(tone(2.5, 0.3));
        audio.extend(noise(1.0, 0.001, 8));
        audio.extend(tone(1.5, 0.3));
        audio.extend(noise(1.0, 0.001, 9));
        for chunk in audio.chunks(333) {
            seg.push(chunk, &mut out);
        }
        seg.flush(&mut out);
        let finals: Vec<_> = out
            .iter()
            .filter_map(|s| match s {
                Segment::Final {
                    utterance,
                    start_sample,
                    samples,
                } => Some((*utterance, *start_sample, samples.len())),
                Segment::Partial { .. } => None,
            })
            .collect();
        assert_eq!(finals.len(), 2, "{finals:?}");
        assert_eq!(finals[0].0, 1);
        assert_eq!(finals[1].0, 2);
        // Starts within the 300 ms pre-roll before the tone at 1.0 s.
        assert!((11_000..=16_000).contains(&finals[0].1), "{}", finals[0].1);
        let secs = finals[0].2 as f32 / 16_000.0;
        assert!((2.5..3.3).contains(&secs), "{secs}");
        let partials = out
            .iter()
            .filter(|s| matches!(s, Segment::Partial { .. }))
            .count();
        assert!(partials >= 2, "{partials}");
    }

    #[test]
    fn silence_and_steady_noise_are_not_speech() {
        for audio in [vec![0.0; 16_000 * 60], noise(60.0, 0.2, 3)] {
            let mut seg = Segmenter::new(VadConfig::default());
            let mut out = Vec::new();
            for chunk in audio.chunks(1024) {
                seg.push(chunk, &mut out);
            }
            seg.flush(&mut out);
            assert!(out.is_empty(), "{} segments", out.len());
        }
    }

    #[test]
    fn long_speech_is_cut_at_the_maximum_length() {
        let cfg = VadConfig {
            max_utterance_s: 5.0,
            partial_every_s: None,
            ..VadConfig::default()
        };
        let mut seg = Segmenter::new(cfg);
        let mut out = Vec::new();
        seg.push(&noise(0.5, 0.001, 1), &mut out);
        // Varying loudness, like speech: a steady tone would count as noise.
        for i in 0..24 {
            seg.push(&tone(0.5, if i % 2 == 0 { 0.3 } else { 0.1 }), &mut out);
        }
        seg.flush(&mut out);
        assert!(out.len() >= 2, "{}", out.len());
        for s in &out {
            let Segment::Final { samples, .. } = s else {
                panic!("no partials asked for")
            };
            assert!(samples.len() <= 5 * 16_000 + FRAME);
        }
    }
}

//! Small signal-processing pieces used on the audio thread: the program
//! limiter, the fixed-ratio decimator for the speech tap, and a Goertzel
//! detector (used by tests and the `media` tools to check tones).
//!
//! Nothing here allocates after construction.

/// A peak limiter with instant attack and exponential release, followed by a
/// hard ceiling, so its output never exceeds `ceiling` (no clipping on air).
#[derive(Debug, Clone)]
pub struct Limiter {
    ceiling: f32,
    release_coef: f32,
    gain: f32,
}

impl Limiter {
    /// `ceiling` is linear (e.g. 0.966 ≈ −0.3 dBFS); `release_ms` is the
    /// time constant for the gain to recover.
    pub fn new(sample_rate: u32, ceiling: f32, release_ms: f32) -> Self {
        let samples = (release_ms / 1000.0 * sample_rate as f32).max(1.0);
        Self {
            ceiling,
            release_coef: (-1.0 / samples).exp(),
            gain: 1.0,
        }
    }

    /// Limits `buf` in place and writes the gain applied to each sample into
    /// `gains` (same length), so other outputs can follow the program's gain.
    pub fn process(&mut self, buf: &mut [f32], gains: &mut [f32]) {
        for (x, g_out) in buf.iter_mut().zip(gains.iter_mut()) {
            // release towards unity
            self.gain = 1.0 - (1.0 - self.gain) * self.release_coef;
            let a = x.abs();
            if a * self.gain > self.ceiling {
                self.gain = self.ceiling / a;
            }
            *x = (*x * self.gain).clamp(-self.ceiling, self.ceiling);
            *g_out = self.gain;
        }
    }

    /// The gain currently applied (1.0 = not limiting).
    pub fn gain(&self) -> f32 {
        self.gain
    }
}

/// Number of taps of the decimator's low-pass filter.
const DECIM_TAPS: usize = 48;

/// Integer-ratio decimator (e.g. 48 kHz → 16 kHz) with a windowed-sinc
/// low-pass; keeps its history in a fixed array.
#[derive(Debug, Clone)]
pub struct Decimator {
    ratio: usize,
    coefs: [f32; DECIM_TAPS],
    /// The last `DECIM_TAPS` samples, stored twice so that the window ending
    /// at any position is one contiguous slice.
    history: [f32; 2 * DECIM_TAPS],
    pos: usize,
    phase: usize,
}

impl Decimator {
    /// `ratio` ≥ 1; 1 passes samples through unchanged.
    pub fn new(ratio: usize) -> Self {
        let ratio = ratio.max(1);
        let mut coefs = [0.0f32; DECIM_TAPS];
        if ratio == 1 {
            coefs[0] = 1.0;
        } else {
            // cut-off a little below the new Nyquist
            let fc = 0.45 / ratio as f64;
            let m = (DECIM_TAPS - 1) as f64;
            let mut sum = 0.0;
            for (i, c) in coefs.iter_mut().enumerate() {
                let n = i as f64 - m / 2.0;
                let sinc = if n == 0.0 {
                    2.0 * fc
                } else {
                    (2.0 * std::f64::consts::PI * fc * n).sin() / (std::f64::consts::PI * n)
                };
                let w = 0.42 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / m).cos()
                    + 0.08 * (4.0 * std::f64::consts::PI * i as f64 / m).cos();
                *c = (sinc * w) as f32;
                sum += sinc * w;
            }
            for c in &mut coefs {
                *c /= sum as f32;
            }
        }
        Self {
            ratio,
            coefs,
            history: [0.0; 2 * DECIM_TAPS],
            pos: 0,
            phase: 0,
        }
    }

    /// Feeds input samples; calls `out` for every output sample.
    pub fn process(&mut self, input: &[f32], mut out: impl FnMut(f32)) {
        if self.ratio == 1 {
            input.iter().for_each(|&x| out(x));
            return;
        }
        for &x in input {
            self.history[self.pos] = x;
            self.history[self.pos + DECIM_TAPS] = x;
            self.pos = (self.pos + 1) % DECIM_TAPS;
            self.phase += 1;
            if self.phase == self.ratio {
                self.phase = 0;
                // oldest sample first
                let window = &self.history[self.pos..self.pos + DECIM_TAPS];
                let mut acc = [0.0f32; 4];
                for (w, c) in window.chunks_exact(4).zip(self.coefs.chunks_exact(4)) {
                    for j in 0..4 {
                        acc[j] += w[j] * c[j];
                    }
                }
                out(acc[0] + acc[1] + acc[2] + acc[3]);
            }
        }
    }
}

/// Power of `freq_hz` in `samples` (Goertzel), normalised so a full-scale
/// sine gives about 0.25 and silence 0.
pub fn goertzel_power(samples: &[f32], sample_rate: u32, freq_hz: f32) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let w = 2.0 * std::f64::consts::PI * f64::from(freq_hz) / f64::from(sample_rate);
    let coef = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + coef * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coef * s1 * s2;
    let n = samples.len() as f64;
    (power / (n * n)) as f32
}

/// Linear amplitude to dBFS (−inf for 0).
pub fn to_dbfs(x: f32) -> f32 {
    20.0 * x.max(1e-10).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, f: f32, amp: f32, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| amp * (2.0 * std::f32::consts::PI * f * i as f32 / rate as f32).sin())
            .collect()
    }

    #[test]
    fn limiter_never_exceeds_ceiling() {
        let mut l = Limiter::new(48_000, 0.9, 50.0);
        let mut buf = sine(48_000, 440.0, 3.0, 4800);
        let mut g = vec![0.0; buf.len()];
        l.process(&mut buf, &mut g);
        assert!(buf.iter().all(|x| x.abs() <= 0.9));
        assert!(g.iter().any(|&x| x < 0.5));
        // quiet input passes unchanged once released
        let mut quiet = sine(48_000, 440.0, 0.1, 48_000);
        let mut g = vec![0.0; quiet.len()];
        l.process(&mut quiet, &mut g);
        assert!((l.gain() - 1.0).abs() < 1e-3);
    }

    #[test]
    fn decimator_keeps_speech_band_and_removes_alias() {
        let mut d = Decimator::new(3);
        let mut out = Vec::new();
        d.process(&sine(48_000, 1000.0, 0.5, 48_000), |x| out.push(x));
        assert_eq!(out.len(), 16_000);
        assert!(goertzel_power(&out[1000..], 16_000, 1000.0) > 0.05);
        // 15 kHz would alias to 1 kHz at 16 kHz without the filter
        let mut d = Decimator::new(3);
        let mut out = Vec::new();
        d.process(&sine(48_000, 15_000.0, 0.5, 48_000), |x| out.push(x));
        assert!(goertzel_power(&out[1000..], 16_000, 1000.0) < 0.001);
    }

    #[test]
    fn goertzel_finds_the_tone_only() {
        let s = sine(48_000, 700.0, 1.0, 4800);
        assert!(goertzel_power(&s, 48_000, 700.0) > 0.2);
        assert!(goertzel_power(&s, 48_000, 1100.0) < 0.001);
    }
}

//! # airbridge-audio-files
//!
//! Audio files in, mono `f32` samples at the rate the caller needs out. The
//! audio engine loads its jingles, beds and recorded calls at the engine's
//! rate; the speech worker loads clips at whisper's 16 kHz. Both read WAV
//! (integer or float, 1–8 channels, 8–192 kHz), average the channels and
//! resample here, so the two never drift apart.
//!
//! Resampling is rubato's FFT synchronous resampler: band-limited, so going
//! down from 44.1 or 48 kHz does not fold the top octave back into the
//! speech band (a linear interpolator does). It runs off the audio thread:
//! files are read before they play.
//!
//! ```no_run
//! let samples = airbridge_audio_files::read_mono("caller.wav".as_ref(), 16_000)?;
//! # Ok::<(), airbridge_audio_files::AudioFileError>(())
//! ```

use std::path::{Path, PathBuf};

use rubato::audioadapter_buffers::direct::SequentialSlice;
use rubato::{Fft, FixedSync, Resampler};

/// Lowest and highest sample rates accepted.
pub const RATES: std::ops::RangeInclusive<u32> = 8_000..=192_000;
/// Most channels accepted.
pub const MAX_CHANNELS: u16 = 8;

/// What can be wrong with an audio file.
#[derive(Debug, thiserror::Error)]
pub enum AudioFileError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The bytes are not a WAV file (or a broken one).
    #[error("{path} is not a WAV file ({reason})")]
    NotWav { path: PathBuf, reason: String },
    /// A WAV file this product does not take.
    #[error("{path}: {reason}")]
    Unsupported { path: PathBuf, reason: String },
    /// A rate outside [`RATES`] asked of [`resample`].
    #[error("cannot resample from {from} Hz to {to} Hz ({reason})")]
    Resample { from: u32, to: u32, reason: String },
}

impl AudioFileError {
    /// The file the error is about, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Io { path, .. } | Self::NotWav { path, .. } | Self::Unsupported { path, .. } => {
                Some(path)
            }
            Self::Resample { .. } => None,
        }
    }
}

/// Reads a WAV file as mono `f32` in −1…1 at `rate` Hz: the channels are
/// averaged and another sample rate is resampled.
pub fn read_mono(path: &Path, rate: u32) -> Result<Vec<f32>, AudioFileError> {
    let not_wav = |reason: String| AudioFileError::NotWav {
        path: path.to_path_buf(),
        reason,
    };
    let unsupported = |reason: String| AudioFileError::Unsupported {
        path: path.to_path_buf(),
        reason,
    };
    let reader = hound::WavReader::open(path).map_err(|e| match e {
        hound::Error::IoError(source) if source.kind() != std::io::ErrorKind::UnexpectedEof => {
            AudioFileError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
        other => not_wav(other.to_string()),
    })?;
    let spec = reader.spec();
    if spec.channels == 0 || spec.channels > MAX_CHANNELS {
        return Err(unsupported(format!(
            "unsupported channel count {} (1 to {MAX_CHANNELS})",
            spec.channels
        )));
    }
    if !RATES.contains(&spec.sample_rate) {
        return Err(unsupported(format!(
            "unsupported sample rate {} Hz ({} to {} Hz)",
            spec.sample_rate,
            RATES.start(),
            RATES.end()
        )));
    }
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .into_samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(|e| not_wav(e.to_string()))?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(|e| not_wav(e.to_string()))?
        }
    };
    let ch = usize::from(spec.channels);
    let mono: Vec<f32> = interleaved
        .chunks_exact(ch)
        .map(|f| f.iter().sum::<f32>() / ch as f32)
        .collect();
    resample(&mono, spec.sample_rate, rate)
}

/// Resamples mono audio from `from` Hz to `to` Hz (band-limited; the
/// resampler's delay is trimmed, so the output lines up with the input and
/// holds `ceil(len × to / from)` samples).
pub fn resample(input: &[f32], from: u32, to: u32) -> Result<Vec<f32>, AudioFileError> {
    if from == to || input.is_empty() {
        return Ok(input.to_vec());
    }
    let fail = |reason: String| AudioFileError::Resample { from, to, reason };
    if !RATES.contains(&from) || !RATES.contains(&to) {
        return Err(fail(format!(
            "rates from {} to {} Hz are taken",
            RATES.start(),
            RATES.end()
        )));
    }
    let mut resampler = Fft::<f32>::new(from as usize, to as usize, 1024, 1, FixedSync::Input)
        .map_err(|e| fail(e.to_string()))?;
    let adapter = SequentialSlice::new(input, 1, input.len()).map_err(|e| fail(e.to_string()))?;
    let out = resampler
        .process_all(&adapter, input.len(), None)
        .map_err(|e| fail(e.to_string()))?;
    Ok(out.take_data())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f32, rate: u32, secs: f32) -> Vec<f32> {
        (0..(rate as f32 * secs) as usize)
            .map(|i| (i as f32 * 2.0 * std::f32::consts::PI * hz / rate as f32).sin())
            .collect()
    }

    /// Power of `hz` in `x` (Goertzel), normalised so a full-scale sine is ~0.25.
    fn power(x: &[f32], rate: u32, hz: f32) -> f32 {
        let w = 2.0 * std::f32::consts::PI * hz / rate as f32;
        let (mut s1, mut s2) = (0.0f32, 0.0f32);
        for &v in x {
            let s = v + 2.0 * w.cos() * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2) / (x.len() as f32).powi(2)
    }

    #[test]
    fn resampling_keeps_duration_level_and_timing() {
        let x = tone(440.0, 48_000, 1.0);
        let y = resample(&x, 48_000, 16_000).unwrap();
        assert_eq!(y.len(), 16_000);
        let peak = y[1000..15_000].iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!((0.95..=1.02).contains(&peak), "{peak}");
        // No delay: the resampled tone is in phase with an ideal 16 kHz one.
        let ideal = tone(440.0, 16_000, 1.0);
        let err = y[1000..15_000]
            .iter()
            .zip(&ideal[1000..15_000])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(err < 0.05, "{err}");
        assert_eq!(resample(&x, 16_000, 16_000).unwrap().len(), 48_000);
        assert_eq!(resample(&x[..8000], 8_000, 16_000).unwrap().len(), 16_000);
        assert_eq!(resample(&x[..441], 44_100, 16_000).unwrap().len(), 160);
    }

    #[test]
    fn going_down_does_not_fold_the_top_octave_into_speech() {
        // 11 kHz at 48 kHz would alias to 5 kHz at 16 kHz.
        let x = tone(11_000.0, 48_000, 1.0);
        let y = resample(&x, 48_000, 16_000).unwrap();
        let aliased = power(&y, 16_000, 5_000.0);
        assert!(aliased < 1e-4, "alias at 5 kHz: {aliased}");
        // A speech-band tone goes through.
        let y = resample(&tone(3_000.0, 48_000, 1.0), 48_000, 16_000).unwrap();
        assert!(power(&y, 16_000, 3_000.0) > 0.2);
    }

    #[test]
    fn unusable_rates_are_an_error_not_a_panic() {
        assert!(matches!(
            resample(&[0.0; 10], 0, 16_000),
            Err(AudioFileError::Resample { .. })
        ));
        assert!(resample(&[0.0; 10], 16_000, 1_000_000).is_err());
    }

    #[test]
    fn files_are_read_mixed_down_and_bad_ones_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 44_100,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&p, spec).unwrap();
        for v in tone(300.0, 44_100, 1.0) {
            // Left carries the tone, right silence: the mix is half level.
            w.write_sample((v * 16_000.0) as i16).unwrap();
            w.write_sample(0i16).unwrap();
        }
        w.finalize().unwrap();
        let s = read_mono(&p, 16_000).unwrap();
        assert_eq!(s.len(), 16_000);
        let peak = s[500..15_500].iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!((0.23..0.26).contains(&peak), "{peak}");

        let text = dir.path().join("notes.wav");
        std::fs::write(&text, "这不是音频").unwrap();
        let e = read_mono(&text, 16_000).unwrap_err();
        assert!(matches!(e, AudioFileError::NotWav { .. }), "{e:?}");
        assert!(e.to_string().contains("notes.wav"), "{e}");
        let e = read_mono(&dir.path().join("missing.wav"), 16_000).unwrap_err();
        assert!(matches!(e, AudioFileError::Io { .. }), "{e:?}");

        let slow = dir.path().join("slow.wav");
        let mut w = hound::WavWriter::create(
            &slow,
            hound::WavSpec {
                sample_rate: 4_000,
                ..spec
            },
        )
        .unwrap();
        w.write_sample(0i16).unwrap();
        w.write_sample(0i16).unwrap();
        w.finalize().unwrap();
        let e = read_mono(&slow, 16_000).unwrap_err();
        assert!(e.to_string().contains("4000 Hz"), "{e}");
    }
}

//! Audio files in, 16 kHz mono `f32` out.

use std::path::Path;

use crate::SpeechError;

/// Whisper's sample rate.
pub const SAMPLE_RATE: u32 = 16_000;

/// Reads a WAV file as 16 kHz mono `f32` in −1…1: channels are averaged and
/// other sample rates resampled. Anything that is not WAV is a clear error.
pub fn read_wav_16k_mono(path: &Path) -> Result<Vec<f32>, SpeechError> {
    let not_wav = |reason: String| SpeechError::NotWav {
        path: path.to_path_buf(),
        reason,
    };
    let reader = hound::WavReader::open(path).map_err(|e| match e {
        hound::Error::IoError(source) => SpeechError::Io {
            path: path.to_path_buf(),
            source,
        },
        other => not_wav(other.to_string()),
    })?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels.max(1));
    let samples: Vec<f32> = match spec.sample_format {
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
    let mono: Vec<f32> = samples
        .chunks(channels)
        .map(|c| c.iter().sum::<f32>() / c.len() as f32)
        .collect();
    Ok(resample(&mono, spec.sample_rate, SAMPLE_RATE))
}

/// Resamples by linear interpolation after a moving-average low-pass when
/// going down (good enough for speech recognition, not for listening).
pub fn resample(input: &[f32], from_hz: u32, to_hz: u32) -> Vec<f32> {
    if from_hz == to_hz || input.is_empty() || from_hz == 0 {
        return input.to_vec();
    }
    let ratio = f64::from(from_hz) / f64::from(to_hz);
    let smoothed;
    let src: &[f32] = if ratio > 1.0 {
        let w = ratio.ceil() as usize;
        let mut acc = 0.0f32;
        let mut out = Vec::with_capacity(input.len());
        for (i, x) in input.iter().enumerate() {
            acc += x;
            if i >= w {
                acc -= input[i - w];
            }
            out.push(acc / (i + 1).min(w) as f32);
        }
        smoothed = out;
        &smoothed
    } else {
        input
    };
    let n_out = ((input.len() as f64) / ratio).floor() as usize;
    (0..n_out)
        .map(|i| {
            let t = i as f64 * ratio;
            let j = t.floor() as usize;
            let frac = (t - j as f64) as f32;
            let a = src[j.min(src.len() - 1)];
            let b = src[(j + 1).min(src.len() - 1)];
            a + (b - a) * frac
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_keeps_duration_and_a_low_tone() {
        let tone: Vec<f32> = (0..48_000)
            .map(|i| (i as f32 * 2.0 * std::f32::consts::PI * 440.0 / 48_000.0).sin())
            .collect();
        let out = resample(&tone, 48_000, 16_000);
        assert_eq!(out.len(), 16_000);
        // Still a 440 Hz tone: compare with the ideal one (phase shift from the
        // moving average is small at 440 Hz).
        let peak = out.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!(peak > 0.9 && peak <= 1.0, "{peak}");
        assert_eq!(resample(&tone, 16_000, 16_000).len(), 48_000);
        assert_eq!(resample(&tone[..8000], 8_000, 16_000).len(), 16_000);
    }
}

//! Audio files in, 16 kHz mono `f32` out (reading, down-mixing and
//! resampling are `airbridge-audio-files`, shared with the audio engine).

use std::path::Path;

use airbridge_audio_files::AudioFileError;

use crate::SpeechError;

/// Whisper's sample rate.
pub const SAMPLE_RATE: u32 = 16_000;

/// Reads a WAV file as 16 kHz mono `f32` in −1…1: channels are averaged and
/// other sample rates resampled. Anything that is not WAV is a clear error.
pub fn read_wav_16k_mono(path: &Path) -> Result<Vec<f32>, SpeechError> {
    airbridge_audio_files::read_mono(path, SAMPLE_RATE).map_err(|e| match e {
        AudioFileError::Io { path, source } => SpeechError::Io { path, source },
        AudioFileError::NotWav { path, reason } | AudioFileError::Unsupported { path, reason } => {
            SpeechError::NotWav { path, reason }
        }
        AudioFileError::Resample { .. } => SpeechError::NotWav {
            path: path.to_path_buf(),
            reason: e.to_string(),
        },
    })
}

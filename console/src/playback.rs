//! Playing a call recording back in the back office: a GStreamer `playbin`
//! to the desktop's default audio output, started and stopped without
//! waiting (GStreamer changes state on its own threads). This is the back
//! office listening to a file; it never touches the studio's audio engine,
//! so nothing played here can reach the air.

use std::path::{Path, PathBuf};

use gstreamer as gst;
use gstreamer::prelude::*;

/// The recording being played, if any.
#[derive(Default)]
pub struct Playback {
    current: Option<(PathBuf, gst::Element)>,
}

impl std::fmt::Debug for Playback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Playback")
            .field("playing", &self.current.as_ref().map(|(p, _)| p))
            .finish()
    }
}

impl Playback {
    /// A short two-tone alert on the desktop's audio output (a speech
    /// flag). Never the studio engine: it cannot reach the air. Without a
    /// sound device it fails quietly (the flag is on screen anyway).
    pub fn alert(&mut self) -> Result<(), String> {
        airbridge_media::gst::init().map_err(|e| e.to_string())?;
        let pipe = gst::parse::launch(
            "audiotestsrc wave=sine freq=1320 volume=0.4 num-buffers=12 samplesperbuffer=1600 ! audioconvert ! autoaudiosink",
        )
        .map_err(|e| e.to_string())?;
        pipe.set_state(gst::State::Playing)
            .map_err(|e| format!("alert sound: {e}"))?;
        // ends by itself (num-buffers); the bus thread drops it at EOS
        let bus = pipe.bus();
        std::thread::Builder::new()
            .name("console-alert".into())
            .spawn(move || {
                if let Some(bus) = bus {
                    let _ = bus.timed_pop_filtered(
                        gst::ClockTime::from_seconds(3),
                        &[gst::MessageType::Eos, gst::MessageType::Error],
                    );
                }
                let _ = pipe.set_state(gst::State::Null);
            })
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Starts playing `path` (stopping what was playing).
    pub fn play(&mut self, path: &Path) -> Result<(), String> {
        self.stop();
        airbridge_media::gst::init().map_err(|e| e.to_string())?;
        let abs = std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let uri = gst::glib::filename_to_uri(&abs, None)
            .map_err(|e| format!("{}: {e}", abs.display()))?;
        let playbin = gst::ElementFactory::make("playbin")
            .property("uri", uri.as_str())
            .build()
            .map_err(|e| {
                format!("GStreamer playbin unavailable ({e}): install gstreamer1.0-plugins-base")
            })?;
        playbin.set_state(gst::State::Playing).map_err(|e| {
            format!(
                "cannot play {}: {e} (is there an audio output?)",
                abs.display()
            )
        })?;
        self.current = Some((abs, playbin));
        Ok(())
    }

    /// The file playing, while it plays.
    pub fn playing(&mut self) -> Option<&Path> {
        let done = self.current.as_ref().is_some_and(|(_, e)| {
            e.bus().is_some_and(|bus| {
                bus.pop_filtered(&[gst::MessageType::Eos, gst::MessageType::Error])
                    .is_some()
            })
        });
        if done {
            self.stop();
        }
        self.current.as_ref().map(|(p, _)| p.as_path())
    }

    pub fn stop(&mut self) {
        if let Some((_, e)) = self.current.take() {
            let _ = e.set_state(gst::State::Null);
        }
    }
}

impl Drop for Playback {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Recordings of the calls a ticket refers to: `call-<seq>-line<N>.wav`
/// in `dir`, for each journal reference `seq`.
pub fn recordings_for(dir: &Path, journal_refs: &[u64]) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("call-"))
                .and_then(|n| n.split('-').next())
                .and_then(|seq| seq.parse::<u64>().ok())
                .is_some_and(|seq| journal_refs.contains(&seq))
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_are_found_by_the_call_they_belong_to() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "call-12-line1.wav",
            "call-120-line2.wav",
            "program-x.wav",
            "call-7-line3.wav",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let found = recordings_for(dir.path(), &[12, 7]);
        let names: Vec<_> = found
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["call-12-line1.wav", "call-7-line3.wav"]);
        assert!(recordings_for(&dir.path().join("missing"), &[1]).is_empty());
    }
}

//! What is live at this seat besides the journal: audio meters and the
//! parts of a running (demo) show that must stay alive while the window is
//! open. The views read meters every frame; nothing here ever blocks.

use airbridge_show::{LineNo, LineState};
use crossbeam_channel::Receiver;

use crate::backend::Command;

/// Moves a line through the audio engine (which journals the change).
pub type LineControl = Box<dyn Fn(LineNo, LineState) -> Result<(), String> + Send>;

/// A meter reading in dBFS (peak and RMS), as the audio engine publishes it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Level {
    pub peak_db: f32,
    pub rms_db: f32,
}

/// Program loudness (EBU R128), LUFS.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Loudness {
    pub momentary: f32,
    pub short_term: f32,
}

/// Lock-free meter reads: implemented over the audio engine's atomics.
pub trait MeterSource: Send {
    fn line(&self, line: LineNo) -> Option<Level>;
    fn program(&self) -> Option<Level>;
    fn cue(&self) -> Option<Level>;
    fn loudness(&self) -> Option<Loudness>;
}

/// Meters smoothed for display (fast attack, slow decay) and the running
/// show's parts.
pub struct Live {
    source: Option<Box<dyn MeterSource>>,
    lines: Vec<Level>,
    program: Level,
    cue: Level,
    loudness: Loudness,
    line_control: Option<LineControl>,
    commands: Option<Receiver<Command>>,
    /// Dropped (and so stopped) when the window closes.
    _parts: Vec<Box<dyn std::any::Any>>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("meters", &self.source.is_some())
            .field("parts", &self._parts.len())
            .finish()
    }
}

pub const FLOOR_DB: f32 = -60.0;

fn smooth(shown: &mut Level, now: Level) {
    // Peaks jump up at once and fall 1.5 dB a frame; RMS eases.
    shown.peak_db = if now.peak_db >= shown.peak_db {
        now.peak_db
    } else {
        (shown.peak_db - 1.5).max(now.peak_db).max(FLOOR_DB)
    };
    shown.rms_db = (shown.rms_db * 0.6 + now.rms_db.max(FLOOR_DB) * 0.4).max(FLOOR_DB);
}

impl Live {
    pub fn new(
        source: Option<Box<dyn MeterSource>>,
        lines: u8,
        parts: Vec<Box<dyn std::any::Any>>,
    ) -> Self {
        let floor = Level {
            peak_db: FLOOR_DB,
            rms_db: FLOOR_DB,
        };
        Self {
            source,
            lines: vec![floor; usize::from(lines) + 1],
            program: floor,
            cue: floor,
            loudness: Loudness {
                momentary: FLOOR_DB,
                short_term: FLOOR_DB,
            },
            line_control: None,
            commands: None,
            _parts: parts,
        }
    }

    /// Line-state changes go to the audio engine instead of the journal.
    pub fn with_line_control(mut self, control: LineControl) -> Self {
        self.line_control = Some(control);
        self
    }

    /// Commands from a running part (the demo director) for the backend.
    pub fn with_commands(mut self, commands: Receiver<Command>) -> Self {
        self.commands = Some(commands);
        self
    }

    /// `Some(result)` when an engine controls the lines.
    pub fn set_line_state(&self, line: LineNo, to: LineState) -> Option<Result<(), String>> {
        self.line_control.as_ref().map(|f| f(line, to))
    }

    /// Commands waiting for the backend (at most a few per frame).
    pub fn take_commands(&self) -> Vec<Command> {
        self.commands
            .as_ref()
            .map(|rx| rx.try_iter().take(16).collect())
            .unwrap_or_default()
    }

    /// Reads the meters once per frame.
    pub fn poll(&mut self) {
        let Some(src) = &self.source else { return };
        for (i, shown) in self.lines.iter_mut().enumerate().skip(1) {
            let now = u8::try_from(i)
                .ok()
                .and_then(|l| src.line(l))
                .unwrap_or(Level {
                    peak_db: FLOOR_DB,
                    rms_db: FLOOR_DB,
                });
            smooth(shown, now);
        }
        if let Some(p) = src.program() {
            smooth(&mut self.program, p);
        }
        if let Some(c) = src.cue() {
            smooth(&mut self.cue, c);
        }
        if let Some(l) = src.loudness() {
            self.loudness = l;
        }
    }

    pub fn has_meters(&self) -> bool {
        self.source.is_some()
    }

    pub fn line(&self, line: LineNo) -> Level {
        self.lines
            .get(usize::from(line))
            .copied()
            .unwrap_or_default()
    }

    pub fn program(&self) -> Level {
        self.program
    }

    pub fn cue(&self) -> Level {
        self.cue
    }

    pub fn loudness(&self) -> Loudness {
        self.loudness
    }
}

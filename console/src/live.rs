//! What is live at this seat besides the journal: the audio meters of the
//! show's engine, read lock-free every frame and smoothed for display.
//! Nothing here ever blocks.

use std::sync::Arc;

use airbridge_show::LineNo;

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
    /// The broadcast delay, when one is configured.
    fn delay(&self) -> Option<airbridge_media::DelayReading>;
}

/// Meters smoothed for display (fast attack, slow decay).
pub struct Live {
    source: Option<Box<dyn MeterSource>>,
    lines: Vec<Level>,
    program: Level,
    cue: Level,
    loudness: Loudness,
    delay: Option<airbridge_media::DelayReading>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("meters", &self.source.is_some())
            .finish()
    }
}

/// Meters read from the engine's atomics (linear → dBFS).
#[derive(Debug)]
pub struct EngineMeters(pub Arc<airbridge_media::Meters>);

fn db(x: f32) -> f32 {
    if x <= 1e-6 {
        FLOOR_DB
    } else {
        (20.0 * x.log10()).max(FLOOR_DB)
    }
}

fn level(r: airbridge_media::meters::LevelReading) -> Level {
    Level {
        peak_db: db(r.peak),
        rms_db: db(r.rms),
    }
}

impl MeterSource for EngineMeters {
    fn line(&self, line: LineNo) -> Option<Level> {
        let i = usize::from(line).checked_sub(1)?;
        self.0.lines.get(i).map(|l| level(l.read()))
    }
    fn program(&self) -> Option<Level> {
        Some(level(self.0.program.read()))
    }
    fn cue(&self) -> Option<Level> {
        Some(level(self.0.cue.read()))
    }
    fn loudness(&self) -> Option<Loudness> {
        let m = self.0.momentary_lufs.load();
        let s = self.0.short_term_lufs.load();
        Some(Loudness {
            momentary: if m.is_finite() { m } else { FLOOR_DB },
            short_term: if s.is_finite() { s } else { FLOOR_DB },
        })
    }
    fn delay(&self) -> Option<airbridge_media::DelayReading> {
        Some(self.0.delay.read()).filter(airbridge_media::DelayReading::configured)
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
    pub fn new(source: Option<Box<dyn MeterSource>>, lines: u8) -> Self {
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
            delay: None,
        }
    }

    /// Meters of a runtime's audio engine.
    pub fn of_runtime(rt: &airbridge_runtime::Runtime) -> Option<Self> {
        rt.meters().map(|m| {
            Self::new(
                Some(Box::new(EngineMeters(m)) as Box<dyn MeterSource>),
                rt.config().show.lines,
            )
        })
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
        self.delay = src.delay();
    }

    /// The broadcast delay as last read (`None`: none configured, or no reading).
    pub fn delay(&self) -> Option<airbridge_media::DelayReading> {
        self.delay
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

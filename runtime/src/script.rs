//! Rehearsal scripts (彩排): timed steps a runtime plays as the seat
//! `rehearsal`, through the same [`crate::Action`]s a person's clicks
//! become. The demo show is the demo station plus such a script.
//!
//! The grammar is that of `airbridge media render` scenarios' `[[at]]`
//! steps (`secs`, `line`, `state`, `gain`, `fader`, `mute`), plus what a
//! producer does during a show:
//!
//! ```toml
//! loop_secs = 120          # optional: start again this long after the start
//!
//! [[at]]
//! secs = 1.0
//! line = 1
//! state = "ringing"        # ringing rings the line; other states move it
//! caller = "13800000001"   # the caller's number, with `ringing`
//!
//! [[at]]
//! secs = 2.5
//! line = 1
//! state = "screening"
//! note = { name = "王建国", district = "岳阳楼区", topic = "公积金", urgency = 0, private = false }
//!
//! [[at]]
//! secs = 20
//! line = 1
//! answered = true          # the call on `line` was answered on air
//! # offline = true         # … or handed to the back office as a ticket
//! # pin = "top"            # the most-asked open audience question, or "cluster:N", "douyin:ID"
//! # message = "请准备下一位" # to the host
//! # show = "open"          # or "close": 开播 / 结束
//! ```

use std::path::Path;

use airbridge_show::{CallerNote, LineNo, LineState};
use serde::Deserialize;

/// A rehearsal script.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// Play again this many seconds after the start (the demo loops).
    #[serde(default)]
    pub loop_secs: Option<f64>,
    #[serde(default, rename = "at")]
    pub steps: Vec<Step>,
}

/// One timed step.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub secs: f64,
    pub line: Option<LineNo>,
    pub state: Option<LineState>,
    pub caller: Option<String>,
    pub gain: Option<f32>,
    pub fader: Option<f32>,
    pub mute: Option<bool>,
    /// The host microphone's fader (no `line`).
    pub host_fader: Option<f32>,
    pub note: Option<CallerNote>,
    #[serde(default)]
    pub answered: Option<ItemSpec>,
    #[serde(default)]
    pub offline: Option<ItemSpec>,
    pub pin: Option<String>,
    pub message: Option<String>,
    pub show: Option<ShowSwitch>,
}

/// `true` (the call on the step's line) or an item (`cluster:N`, `SOURCE:ID`, `top`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum ItemSpec {
    ThisCall(bool),
    Item(String),
}

/// `show = "open" | "close"`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ShowSwitch {
    Open,
    Close,
}

/// Why a script cannot be played.
#[derive(Debug, Clone, thiserror::Error)]
#[error("script {path}: {reason}")]
pub struct ScriptError {
    pub path: String,
    pub reason: String,
}

impl Script {
    /// Reads and checks a script file.
    pub fn load(path: &Path) -> Result<Self, ScriptError> {
        let err = |reason: String| ScriptError {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        Self::parse(&text).map_err(err)
    }

    /// Parses a script; the error names the step and key.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut script: Script =
            toml::from_str(text).map_err(|e| e.to_string().trim().replace('\n', " "))?;
        for (i, s) in script.steps.iter().enumerate() {
            let at = |what: &str| format!("at[{i}]: {what}");
            if !s.secs.is_finite() || s.secs < 0.0 {
                return Err(at("secs must be 0 or more"));
            }
            let needs_line = s.state.is_some()
                || s.caller.is_some()
                || s.gain.is_some()
                || s.fader.is_some()
                || s.mute.is_some()
                || s.note.is_some()
                || s.answered == Some(ItemSpec::ThisCall(true))
                || s.offline == Some(ItemSpec::ThisCall(true));
            if needs_line && s.line.is_none() {
                return Err(at("this step acts on a line: give `line`"));
            }
            if s.caller.is_some() && s.state != Some(LineState::Ringing) {
                return Err(at("`caller` goes with state = \"ringing\""));
            }
        }
        if let Some(l) = script.loop_secs {
            let last = script.steps.iter().map(|s| s.secs).fold(0.0, f64::max);
            if !l.is_finite() || l <= last {
                return Err(format!(
                    "loop_secs = {l} must come after the last step ({last} s)"
                ));
            }
        }
        script.steps.sort_by(|a, b| a.secs.total_cmp(&b.secs));
        Ok(script)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_render_grammar_and_the_producer_steps_parse() {
        let s = Script::parse(
            r#"
            loop_secs = 30
            [[at]]
            secs = 2
            line = 1
            state = "screening"
            note = { name = "王", district = "区", topic = "社保", urgency = 1, private = false }
            [[at]]
            secs = 0.5
            line = 1
            state = "ringing"
            caller = "13800000001"
            [[at]]
            secs = 5
            line = 1
            fader = 0.8
            mute = false
            gain = 1.0
            [[at]]
            secs = 6
            pin = "top"
            message = "下一位准备"
            show = "open"
            [[at]]
            secs = 20
            line = 1
            offline = true
            [[at]]
            secs = 21
            answered = "cluster:7"
            "#,
        )
        .unwrap();
        assert_eq!(s.steps[0].secs, 0.5, "steps are played in time order");
        assert_eq!(s.steps[0].caller.as_deref(), Some("13800000001"));
        assert_eq!(s.steps[1].note.as_ref().unwrap().topic, "社保");
        assert_eq!(s.steps[4].offline, Some(ItemSpec::ThisCall(true)));
        assert_eq!(
            s.steps[5].answered,
            Some(ItemSpec::Item("cluster:7".into()))
        );
        assert_eq!(s.steps[3].show, Some(ShowSwitch::Open));
    }

    #[test]
    fn mistakes_are_named() {
        let e = Script::parse("[[at]]\nsecs = 1\nstat = \"ringing\"\n").unwrap_err();
        assert!(e.contains("stat"), "{e}");
        let e = Script::parse("[[at]]\nsecs = 1\nstate = \"ringing\"\n").unwrap_err();
        assert_eq!(e, "at[0]: this step acts on a line: give `line`");
        let e = Script::parse("[[at]]\nsecs = 1\nline = 1\nstate = \"on_air\"\ncaller = \"1\"\n")
            .unwrap_err();
        assert!(e.contains("caller"), "{e}");
        let e = Script::parse("[[at]]\nsecs = 1\nline = 1\nstate = \"flying\"\n").unwrap_err();
        assert!(e.contains("flying"), "{e}");
    }
}

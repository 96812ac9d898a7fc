//! Show preparation: the plan of one show (rundown segments with their
//! scripts, guests, emergency phrases), the closed set of edits a seat may
//! make to it, and its file on disk.
//!
//! Layout (one way: each module uses only those above it):
//! - this module: [`ShowPlan`], [`PlanEdit`], [`ShowPlan::apply`] with its
//!   [`PlanError`]s, and [`ShowPlan::load`] / [`ShowPlan::save`] (pretty
//!   JSON, written atomically) with their [`PlanFileError`]s.
//! - [`running`]: the running order, the plan against when segments started.
//! - [`html`]: the printable page of a plan (and its running order).
//!
//! Never does I/O except in `load` / `save`; an edit either applies whole or
//! leaves the plan as it was.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub mod html;
pub mod running;

pub use html::to_html;
pub use running::{RunningOrder, RunningSegment, running_order};

/// Most segments in a plan.
pub const MAX_SEGMENTS: usize = 200;
/// Most guests in a plan.
pub const MAX_GUESTS: usize = 50;
/// The longest a segment may be planned for, in minutes (10 hours).
pub const MAX_SEGMENT_MINUTES: u32 = 600;
/// The longest text (title, script, phrase, guest field), in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;

/// The plan of one show: what the producer prepared before going live.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ShowPlan {
    /// The rundown (节目串联单), in running order.
    pub segments: Vec<Segment>,
    pub guests: Vec<Guest>,
    /// Emergency phrases (应急话术): function key (`F2`…`F12`) → text.
    pub phrases: BTreeMap<String, String>,
}

/// One segment of the rundown.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Segment {
    /// Unique in its plan; allocated as the largest id + 1.
    pub id: u32,
    pub title: String,
    /// Planned length, 1 ..= [`MAX_SEGMENT_MINUTES`].
    pub minutes: u32,
    /// What the host reads or follows (may be empty).
    pub script: String,
}

/// A guest in the studio or on the line (e.g. a department's spokesperson).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Guest {
    pub name: String,
    /// Job title, e.g. 副局长.
    pub title: String,
    pub department: String,
}

/// An edit a seat makes to the plan. Journaled with the plan it produced
/// (`ShowEvent::PlanEdited`); stored as `{"op": "...", "args": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", content = "args", rename_all = "snake_case")]
pub enum PlanEdit {
    /// A new segment with an empty script, after segment `after`, or at the
    /// end when `after` is `None`.
    AddSegment {
        after: Option<u32>,
        title: String,
        minutes: u32,
    },
    /// Replaces a segment's title, minutes and script.
    EditSegment {
        id: u32,
        title: String,
        minutes: u32,
        script: String,
    },
    /// Moves a segment so that it ends up at `to_index` (0 = first).
    MoveSegment {
        id: u32,
        to_index: usize,
    },
    RemoveSegment {
        id: u32,
    },
    /// Replaces the guest list.
    SetGuests(Vec<Guest>),
    /// Sets the phrase on a function key, or clears it (`None`).
    SetPhrase {
        key: String,
        text: Option<String>,
    },
}

/// Why an edit (or a loaded plan) was refused. The plan is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("no segment with id {id} in the plan")]
    UnknownSegment { id: u32 },
    #[error("segment id {id} appears more than once in the plan")]
    DuplicateSegment { id: u32 },
    #[error("a segment needs a title")]
    EmptyTitle,
    #[error("a segment lasts 1 to {MAX_SEGMENT_MINUTES} minutes, not {minutes}")]
    MinutesOutOfRange { minutes: u32 },
    #[error("a plan holds at most {MAX_SEGMENTS} segments")]
    TooManySegments,
    #[error("cannot move a segment to position {to_index}: the plan has {len} segments")]
    IndexOutOfRange { to_index: usize, len: usize },
    #[error("segment ids are exhausted (the largest is {})", u32::MAX)]
    IdsExhausted,
    #[error("a plan holds at most {MAX_GUESTS} guests")]
    TooManyGuests,
    #[error("guest #{} needs a name", index + 1)]
    EmptyGuestName { index: usize },
    #[error("phrases go on the function keys F2 to F12, not {key:?}")]
    BadPhraseKey { key: String },
    #[error("the phrase on {key} is empty (clear the key instead)")]
    EmptyPhrase { key: String },
    #[error("{field} is {chars} characters long; at most {MAX_TEXT_CHARS} are allowed")]
    TextTooLong { field: &'static str, chars: usize },
}

impl PlanError {
    /// The reason in the console's language.
    pub fn zh(&self) -> String {
        match self {
            PlanError::UnknownSegment { id } => format!("串联单中没有第 {id} 段"),
            PlanError::DuplicateSegment { id } => format!("串联单中第 {id} 段重复"),
            PlanError::EmptyTitle => "每段需要标题".into(),
            PlanError::MinutesOutOfRange { minutes } => {
                format!("每段时长 1 到 {MAX_SEGMENT_MINUTES} 分钟，不是 {minutes}")
            }
            PlanError::TooManySegments => format!("串联单最多 {MAX_SEGMENTS} 段"),
            PlanError::IndexOutOfRange { to_index, len } => {
                format!("不能移到第 {} 位：共 {len} 段", to_index + 1)
            }
            PlanError::IdsExhausted => "段编号已用尽".into(),
            PlanError::TooManyGuests => format!("嘉宾最多 {MAX_GUESTS} 位"),
            PlanError::EmptyGuestName { index } => format!("第 {} 位嘉宾需要姓名", index + 1),
            PlanError::BadPhraseKey { key } => format!("应急话术只能放在 F2 到 F12，不是“{key}”"),
            PlanError::EmptyPhrase { key } => format!("{key} 的话术为空（请清除该键）"),
            PlanError::TextTooLong { field, chars } => {
                format!("{field} 有 {chars} 字，最多 {MAX_TEXT_CHARS} 字")
            }
        }
    }
}

/// Why the plan file could not be read or written. A failed save leaves the
/// previous file as it was; a broken file is reported, never overwritten.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PlanFileError {
    #[error("show plan {path}: cannot read: {detail}")]
    Read { path: PathBuf, detail: String },
    #[error(
        "show plan {path} is not a valid plan ({detail}); fix or remove the file (it was left as it is)"
    )]
    Broken { path: PathBuf, detail: String },
    #[error("show plan {path} is refused: {error}; fix or remove the file (it was left as it is)")]
    Invalid { path: PathBuf, error: PlanError },
    #[error("show plan {path}: cannot save: {detail} (the previous file is unchanged)")]
    Write { path: PathBuf, detail: String },
}

/// Whether `key` names a function key that may hold a phrase (`F2`…`F12`).
pub fn is_phrase_key(key: &str) -> bool {
    key.strip_prefix('F')
        .filter(|n| !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<u8>().ok())
        .is_some_and(|n| (2..=12).contains(&n))
}

fn check_len(field: &'static str, text: &str) -> Result<(), PlanError> {
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(PlanError::TextTooLong { field, chars });
    }
    Ok(())
}

fn check_title_minutes(title: &str, minutes: u32) -> Result<(), PlanError> {
    if title.trim().is_empty() {
        return Err(PlanError::EmptyTitle);
    }
    check_len("the title", title)?;
    if minutes == 0 || minutes > MAX_SEGMENT_MINUTES {
        return Err(PlanError::MinutesOutOfRange { minutes });
    }
    Ok(())
}

fn check_guests(guests: &[Guest]) -> Result<(), PlanError> {
    if guests.len() > MAX_GUESTS {
        return Err(PlanError::TooManyGuests);
    }
    for (index, g) in guests.iter().enumerate() {
        if g.name.trim().is_empty() {
            return Err(PlanError::EmptyGuestName { index });
        }
        check_len("a guest's name", &g.name)?;
        check_len("a guest's title", &g.title)?;
        check_len("a guest's department", &g.department)?;
    }
    Ok(())
}

fn check_phrase(key: &str, text: Option<&str>) -> Result<(), PlanError> {
    if !is_phrase_key(key) {
        return Err(PlanError::BadPhraseKey {
            key: key.to_owned(),
        });
    }
    if let Some(text) = text {
        if text.trim().is_empty() {
            return Err(PlanError::EmptyPhrase {
                key: key.to_owned(),
            });
        }
        check_len("the phrase", text)?;
    }
    Ok(())
}

impl ShowPlan {
    /// A plan seeded from the configured rundown (title, minutes) and
    /// phrases; ids are 1, 2, 3 … Checked like any edit.
    pub fn from_rundown(
        rundown: impl IntoIterator<Item = (String, u32)>,
        phrases: &BTreeMap<String, String>,
    ) -> Result<ShowPlan, PlanError> {
        let mut plan = ShowPlan::default();
        for (title, minutes) in rundown {
            plan.apply(&PlanEdit::AddSegment {
                after: None,
                title,
                minutes,
            })?;
        }
        for (key, text) in phrases {
            plan.apply(&PlanEdit::SetPhrase {
                key: key.clone(),
                text: Some(text.clone()),
            })?;
        }
        Ok(plan)
    }

    /// The segment with this id.
    pub fn segment(&self, id: u32) -> Option<&Segment> {
        self.segments.iter().find(|s| s.id == id)
    }

    fn index_of(&self, id: u32) -> Result<usize, PlanError> {
        self.segments
            .iter()
            .position(|s| s.id == id)
            .ok_or(PlanError::UnknownSegment { id })
    }

    /// The planned length of the whole show, in minutes.
    pub fn total_minutes(&self) -> u64 {
        self.segments.iter().map(|s| u64::from(s.minutes)).sum()
    }

    /// Applies an edit, or refuses it and leaves the plan unchanged.
    pub fn apply(&mut self, edit: &PlanEdit) -> Result<(), PlanError> {
        match edit {
            PlanEdit::AddSegment {
                after,
                title,
                minutes,
            } => {
                check_title_minutes(title, *minutes)?;
                if self.segments.len() >= MAX_SEGMENTS {
                    return Err(PlanError::TooManySegments);
                }
                let at = match after {
                    Some(id) => self.index_of(*id)? + 1,
                    None => self.segments.len(),
                };
                let id = match self.segments.iter().map(|s| s.id).max() {
                    Some(max) => max.checked_add(1).ok_or(PlanError::IdsExhausted)?,
                    None => 1,
                };
                self.segments.insert(
                    at,
                    Segment {
                        id,
                        title: title.clone(),
                        minutes: *minutes,
                        script: String::new(),
                    },
                );
            }
            PlanEdit::EditSegment {
                id,
                title,
                minutes,
                script,
            } => {
                let i = self.index_of(*id)?;
                check_title_minutes(title, *minutes)?;
                check_len("the script", script)?;
                let s = &mut self.segments[i];
                s.title.clone_from(title);
                s.minutes = *minutes;
                s.script.clone_from(script);
            }
            PlanEdit::MoveSegment { id, to_index } => {
                let i = self.index_of(*id)?;
                let len = self.segments.len();
                if *to_index >= len {
                    return Err(PlanError::IndexOutOfRange {
                        to_index: *to_index,
                        len,
                    });
                }
                let s = self.segments.remove(i);
                self.segments.insert(*to_index, s);
            }
            PlanEdit::RemoveSegment { id } => {
                let i = self.index_of(*id)?;
                self.segments.remove(i);
            }
            PlanEdit::SetGuests(guests) => {
                check_guests(guests)?;
                self.guests.clone_from(guests);
            }
            PlanEdit::SetPhrase { key, text } => {
                check_phrase(key, text.as_deref())?;
                match text {
                    Some(text) => {
                        self.phrases.insert(key.clone(), text.clone());
                    }
                    None => {
                        self.phrases.remove(key);
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks everything an edit would have checked (for a plan read from
    /// a file or a journal that someone else wrote).
    pub fn validate(&self) -> Result<(), PlanError> {
        if self.segments.len() > MAX_SEGMENTS {
            return Err(PlanError::TooManySegments);
        }
        let mut ids = std::collections::BTreeSet::new();
        for s in &self.segments {
            if !ids.insert(s.id) {
                return Err(PlanError::DuplicateSegment { id: s.id });
            }
            check_title_minutes(&s.title, s.minutes)?;
            check_len("the script", &s.script)?;
        }
        check_guests(&self.guests)?;
        for (key, text) in &self.phrases {
            check_phrase(key, Some(text))?;
        }
        Ok(())
    }

    /// Reads the plan at `path`: `None` when there is no file yet.
    pub fn load(path: &Path) -> Result<Option<ShowPlan>, PlanFileError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(PlanFileError::Read {
                    path: path.to_path_buf(),
                    detail: e.to_string(),
                });
            }
        };
        let plan: ShowPlan = serde_json::from_slice(&bytes).map_err(|e| PlanFileError::Broken {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        plan.validate().map_err(|error| PlanFileError::Invalid {
            path: path.to_path_buf(),
            error,
        })?;
        Ok(Some(plan))
    }

    /// Writes the plan to `path` as pretty JSON, atomically: a temporary
    /// file in the same folder, flushed to disk, then renamed over the old
    /// one. An invalid plan is refused before anything is written.
    pub fn save(&self, path: &Path) -> Result<(), PlanFileError> {
        let write_err = |detail: String| PlanFileError::Write {
            path: path.to_path_buf(),
            detail,
        };
        self.validate().map_err(|e| write_err(e.to_string()))?;
        let json = serde_json::to_vec_pretty(self).map_err(|e| write_err(e.to_string()))?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .ok_or_else(|| write_err("the path names no file".into()))?;
        std::fs::create_dir_all(dir).map_err(|e| write_err(format!("{}: {e}", dir.display())))?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".{}.tmp", std::process::id()));
        let tmp = dir.join(tmp_name);
        let written = std::fs::File::create(&tmp)
            .and_then(|mut f| {
                f.write_all(&json)?;
                f.write_all(b"\n")?;
                f.sync_all()
            })
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = written {
            // Best effort: the temporary file is ours and useless now.
            let _ = std::fs::remove_file(&tmp);
            return Err(write_err(e.to_string()));
        }
        // Make the rename itself durable (directories can be synced on Unix).
        #[cfg(unix)]
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(plan: &mut ShowPlan, after: Option<u32>, title: &str, minutes: u32) -> u32 {
        plan.apply(&PlanEdit::AddSegment {
            after,
            title: title.into(),
            minutes,
        })
        .unwrap();
        plan.segments.iter().map(|s| s.id).max().unwrap()
    }

    fn titles(plan: &ShowPlan) -> Vec<&str> {
        plan.segments.iter().map(|s| s.title.as_str()).collect()
    }

    fn three() -> ShowPlan {
        let mut p = ShowPlan::default();
        add(&mut p, None, "开场", 5);
        add(&mut p, None, "嘉宾访谈", 30);
        add(&mut p, None, "热线", 20);
        p
    }

    /// Applies an edit that must be refused and checks the plan is unchanged.
    fn refused(plan: &ShowPlan, edit: PlanEdit) -> PlanError {
        let mut p = plan.clone();
        let e = p.apply(&edit).unwrap_err();
        assert_eq!(&p, plan, "a refused edit must leave the plan unchanged");
        e
    }

    #[test]
    fn add_segment_appends_or_inserts_after_and_allocates_max_plus_one() {
        let mut p = three();
        assert_eq!(
            p.segments.iter().map(|s| s.id).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        let id = add(&mut p, Some(1), "新闻", 3);
        assert_eq!(id, 4);
        assert_eq!(titles(&p), ["开场", "新闻", "嘉宾访谈", "热线"]);
        assert_eq!(p.segment(4).unwrap().script, "");
        // Ids come from the largest, not the count.
        p.apply(&PlanEdit::RemoveSegment { id: 2 }).unwrap();
        assert_eq!(add(&mut p, None, "结束", 2), 5);
        assert_eq!(p.total_minutes(), 5 + 3 + 20 + 2);
    }

    #[test]
    fn edit_segment_replaces_title_minutes_and_script() {
        let mut p = three();
        p.apply(&PlanEdit::EditSegment {
            id: 2,
            title: "访谈：社保".into(),
            minutes: 25,
            script: "请嘉宾介绍政策。".into(),
        })
        .unwrap();
        let s = p.segment(2).unwrap();
        assert_eq!(
            (s.title.as_str(), s.minutes, s.script.as_str()),
            ("访谈：社保", 25, "请嘉宾介绍政策。")
        );
    }

    #[test]
    fn move_segment_puts_it_at_the_index() {
        let mut p = three();
        p.apply(&PlanEdit::MoveSegment { id: 3, to_index: 0 })
            .unwrap();
        assert_eq!(titles(&p), ["热线", "开场", "嘉宾访谈"]);
        p.apply(&PlanEdit::MoveSegment { id: 3, to_index: 2 })
            .unwrap();
        assert_eq!(titles(&p), ["开场", "嘉宾访谈", "热线"]);
        p.apply(&PlanEdit::MoveSegment { id: 2, to_index: 1 })
            .unwrap();
        assert_eq!(titles(&p), ["开场", "嘉宾访谈", "热线"]);
    }

    #[test]
    fn remove_segment_drops_it() {
        let mut p = three();
        p.apply(&PlanEdit::RemoveSegment { id: 2 }).unwrap();
        assert_eq!(titles(&p), ["开场", "热线"]);
    }

    #[test]
    fn set_guests_replaces_the_list() {
        let mut p = three();
        let g = vec![Guest {
            name: "李明".into(),
            title: "副局长".into(),
            department: "市人社局".into(),
        }];
        p.apply(&PlanEdit::SetGuests(g.clone())).unwrap();
        assert_eq!(p.guests, g);
        p.apply(&PlanEdit::SetGuests(Vec::new())).unwrap();
        assert!(p.guests.is_empty());
    }

    #[test]
    fn set_phrase_sets_and_clears_a_function_key() {
        let mut p = ShowPlan::default();
        for key in ["F2", "F12"] {
            p.apply(&PlanEdit::SetPhrase {
                key: key.into(),
                text: Some("稍等，我们马上回来。".into()),
            })
            .unwrap();
        }
        assert_eq!(p.phrases.len(), 2);
        p.apply(&PlanEdit::SetPhrase {
            key: "F2".into(),
            text: None,
        })
        .unwrap();
        assert_eq!(p.phrases.keys().collect::<Vec<_>>(), ["F12"]);
        // Clearing a key that holds nothing is harmless.
        p.apply(&PlanEdit::SetPhrase {
            key: "F3".into(),
            text: None,
        })
        .unwrap();
    }

    #[test]
    fn unknown_segment_ids_are_refused_by_every_edit_that_names_one() {
        let p = three();
        let unknown = PlanError::UnknownSegment { id: 9 };
        let edits = [
            PlanEdit::AddSegment {
                after: Some(9),
                title: "x".into(),
                minutes: 1,
            },
            PlanEdit::EditSegment {
                id: 9,
                title: "x".into(),
                minutes: 1,
                script: String::new(),
            },
            PlanEdit::MoveSegment { id: 9, to_index: 0 },
            PlanEdit::RemoveSegment { id: 9 },
        ];
        for edit in edits {
            assert_eq!(refused(&p, edit), unknown);
        }
    }

    #[test]
    fn titles_must_not_be_blank() {
        let p = three();
        for title in ["", "  \t"] {
            let e = refused(
                &p,
                PlanEdit::AddSegment {
                    after: None,
                    title: title.into(),
                    minutes: 5,
                },
            );
            assert_eq!(e, PlanError::EmptyTitle);
        }
        let e = refused(
            &p,
            PlanEdit::EditSegment {
                id: 1,
                title: String::new(),
                minutes: 5,
                script: String::new(),
            },
        );
        assert_eq!(e, PlanError::EmptyTitle);
    }

    #[test]
    fn minutes_must_be_between_1_and_600() {
        let mut p = three();
        for minutes in [0, 601, u32::MAX] {
            let e = refused(
                &p,
                PlanEdit::AddSegment {
                    after: None,
                    title: "x".into(),
                    minutes,
                },
            );
            assert_eq!(e, PlanError::MinutesOutOfRange { minutes });
            let e = refused(
                &p,
                PlanEdit::EditSegment {
                    id: 1,
                    title: "x".into(),
                    minutes,
                    script: String::new(),
                },
            );
            assert_eq!(e, PlanError::MinutesOutOfRange { minutes });
        }
        add(&mut p, None, "最长", 600);
    }

    #[test]
    fn a_plan_holds_at_most_200_segments() {
        let mut p = ShowPlan::default();
        for i in 0..MAX_SEGMENTS {
            add(&mut p, None, &format!("第{i}段"), 1);
        }
        let e = refused(
            &p,
            PlanEdit::AddSegment {
                after: None,
                title: "多一段".into(),
                minutes: 1,
            },
        );
        assert_eq!(e, PlanError::TooManySegments);
    }

    #[test]
    fn texts_longer_than_20000_characters_are_refused() {
        let p = three();
        // Characters, not bytes: 20 000 Chinese characters are fine.
        let ok = "话".repeat(MAX_TEXT_CHARS);
        let long = "话".repeat(MAX_TEXT_CHARS + 1);
        let mut q = p.clone();
        q.apply(&PlanEdit::EditSegment {
            id: 1,
            title: "开场".into(),
            minutes: 5,
            script: ok,
        })
        .unwrap();
        let too_long = |field| PlanError::TextTooLong {
            field,
            chars: MAX_TEXT_CHARS + 1,
        };
        let e = refused(
            &p,
            PlanEdit::EditSegment {
                id: 1,
                title: "开场".into(),
                minutes: 5,
                script: long.clone(),
            },
        );
        assert_eq!(e, too_long("the script"));
        let e = refused(
            &p,
            PlanEdit::AddSegment {
                after: None,
                title: long.clone(),
                minutes: 5,
            },
        );
        assert_eq!(e, too_long("the title"));
        let e = refused(
            &p,
            PlanEdit::SetPhrase {
                key: "F2".into(),
                text: Some(long.clone()),
            },
        );
        assert_eq!(e, too_long("the phrase"));
        let e = refused(
            &p,
            PlanEdit::SetGuests(vec![Guest {
                name: "李明".into(),
                title: long,
                department: String::new(),
            }]),
        );
        assert_eq!(e, too_long("a guest's title"));
    }

    #[test]
    fn phrase_keys_are_f2_to_f12_only() {
        for key in ["F2", "F7", "F10", "F12"] {
            assert!(is_phrase_key(key), "{key}");
        }
        let p = ShowPlan::default();
        for key in ["F1", "F13", "F02", "f2", "F", "", "F2 ", "Ctrl+F2", "F+2"] {
            assert!(!is_phrase_key(key), "{key}");
            let e = refused(
                &p,
                PlanEdit::SetPhrase {
                    key: key.into(),
                    text: Some("稍等".into()),
                },
            );
            assert_eq!(e, PlanError::BadPhraseKey { key: key.into() });
        }
        // Clearing a bad key is refused too: it could never have been set.
        let e = refused(
            &p,
            PlanEdit::SetPhrase {
                key: "F1".into(),
                text: None,
            },
        );
        assert_eq!(e, PlanError::BadPhraseKey { key: "F1".into() });
        let e = refused(
            &p,
            PlanEdit::SetPhrase {
                key: "F2".into(),
                text: Some(" ".into()),
            },
        );
        assert_eq!(e, PlanError::EmptyPhrase { key: "F2".into() });
    }

    #[test]
    fn moves_past_the_end_are_refused() {
        let p = three();
        let e = refused(&p, PlanEdit::MoveSegment { id: 1, to_index: 3 });
        assert_eq!(
            e,
            PlanError::IndexOutOfRange {
                to_index: 3,
                len: 3
            }
        );
    }

    #[test]
    fn guests_need_a_name_and_are_capped() {
        let p = ShowPlan::default();
        let named = Guest {
            name: "李明".into(),
            ..Guest::default()
        };
        let e = refused(
            &p,
            PlanEdit::SetGuests(vec![named.clone(), Guest::default()]),
        );
        assert_eq!(e, PlanError::EmptyGuestName { index: 1 });
        assert_eq!(e.to_string(), "guest #2 needs a name");
        let e = refused(&p, PlanEdit::SetGuests(vec![named; MAX_GUESTS + 1]));
        assert_eq!(e, PlanError::TooManyGuests);
    }

    #[test]
    fn ids_that_cannot_grow_are_refused() {
        let mut p = ShowPlan::default();
        p.segments.push(Segment {
            id: u32::MAX,
            title: "x".into(),
            minutes: 1,
            script: String::new(),
        });
        let e = refused(
            &p,
            PlanEdit::AddSegment {
                after: None,
                title: "y".into(),
                minutes: 1,
            },
        );
        assert_eq!(e, PlanError::IdsExhausted);
    }

    #[test]
    fn seeding_from_the_configured_rundown() {
        let phrases = BTreeMap::from([("F2".to_owned(), "稍等".to_owned())]);
        let p = ShowPlan::from_rundown([("开场".to_owned(), 5), ("热线".to_owned(), 40)], &phrases)
            .unwrap();
        assert_eq!(titles(&p), ["开场", "热线"]);
        assert_eq!(p.segments[1].id, 2);
        assert_eq!(p.phrases, phrases);
        let bad = BTreeMap::from([("F1".to_owned(), "x".to_owned())]);
        assert!(ShowPlan::from_rundown([], &bad).is_err());
    }

    #[test]
    fn edits_are_stored_with_an_op_tag() {
        let edits = [
            PlanEdit::AddSegment {
                after: Some(1),
                title: "t".into(),
                minutes: 1,
            },
            PlanEdit::EditSegment {
                id: 1,
                title: "t".into(),
                minutes: 1,
                script: "s".into(),
            },
            PlanEdit::MoveSegment { id: 1, to_index: 0 },
            PlanEdit::RemoveSegment { id: 1 },
            PlanEdit::SetGuests(vec![Guest::default()]),
            PlanEdit::SetPhrase {
                key: "F2".into(),
                text: None,
            },
        ];
        for edit in edits {
            let json = serde_json::to_value(&edit).unwrap();
            assert!(json["op"].is_string(), "{json}");
            let back: PlanEdit = serde_json::from_value(json).unwrap();
            assert_eq!(back, edit);
        }
        let json = serde_json::to_value(PlanEdit::RemoveSegment { id: 4 }).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"op": "remove_segment", "args": {"id": 4}})
        );
    }

    #[test]
    fn missing_fields_default_so_older_plans_still_load() {
        let p: ShowPlan =
            serde_json::from_str(r#"{"segments":[{"id":1,"title":"开场","minutes":5}]}"#).unwrap();
        assert_eq!(p.segments[0].script, "");
        assert!(p.guests.is_empty() && p.phrases.is_empty());
    }

    #[test]
    fn save_then_load_gives_the_same_plan() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plans").join("show.json");
        assert_eq!(ShowPlan::load(&path).unwrap(), None);
        let mut p = three();
        p.apply(&PlanEdit::SetPhrase {
            key: "F5".into(),
            text: Some("感谢收听".into()),
        })
        .unwrap();
        p.save(&path).unwrap();
        assert_eq!(ShowPlan::load(&path).unwrap(), Some(p.clone()));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\n  \"segments\""), "pretty JSON: {text}");
        // Saving again replaces the file and leaves no temporary behind.
        p.apply(&PlanEdit::RemoveSegment { id: 1 }).unwrap();
        p.save(&path).unwrap();
        assert_eq!(ShowPlan::load(&path).unwrap(), Some(p));
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["show.json"]);
    }

    #[test]
    fn a_broken_file_is_reported_with_its_path_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("show.json");
        std::fs::write(&path, "{\"segments\": [ oops").unwrap();
        let e = ShowPlan::load(&path).unwrap_err();
        assert!(matches!(e, PlanFileError::Broken { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("line 1 column"), "the serde error: {msg}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"segments\": [ oops"
        );

        // Well-formed JSON that breaks a rule is refused the same way.
        std::fs::write(&path, r#"{"phrases": {"F1": "x"}}"#).unwrap();
        let e = ShowPlan::load(&path).unwrap_err();
        assert!(
            matches!(
                &e,
                PlanFileError::Invalid {
                    error: PlanError::BadPhraseKey { .. },
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn a_refused_save_keeps_the_previous_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("show.json");
        let good = three();
        good.save(&path).unwrap();
        let before = std::fs::read(&path).unwrap();

        let mut bad = good.clone();
        bad.segments[0].minutes = 0;
        let e = bad.save(&path).unwrap_err();
        assert!(matches!(e, PlanFileError::Write { .. }), "{e:?}");
        assert_eq!(std::fs::read(&path).unwrap(), before);

        // A save that cannot complete (the target is a folder) leaves no
        // temporary file and the folder intact.
        let folder = dir.path().join("taken");
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("keep"), "x").unwrap();
        assert!(good.save(&folder).is_err());
        assert!(folder.join("keep").exists());
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["show.json", "taken"]);
        assert_eq!(ShowPlan::load(&path).unwrap(), Some(good));
    }
}

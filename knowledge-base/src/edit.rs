//! Editing from the console: validation of an edited entry, who made each
//! version, and fresh ids. The writes themselves are [`crate::Kb::update`],
//! [`crate::Kb::add`] and [`crate::Kb::retire`]; every one is a new version in
//! `entry_versions`, nothing is ever deleted.
//!
//! # Who made a version
//! The store's `origin` column says who or what wrote each version:
//! - an edit through this API stores `edit:<by>` (e.g. `edit:王编导`);
//! - an import stores `import <file>`, the demo seed `built-in demo content`,
//!   and [`crate::Kb::save`] whatever origin its caller gives.
//!
//! [`Version::by`] is the editor's name for an edit and the whole origin for
//! anything else, so an import reads as `import /path/faq.xlsx`.

use serde::{Deserialize, Serialize};

use crate::entry::Entry;
use crate::error::KbError;
use crate::import::Field;
use crate::store::StoredVersion;

/// Prefix of the `origin` of a version written by an editor.
pub const EDIT_ORIGIN_PREFIX: &str = "edit:";

/// Prefix of the ids [`crate::Kb::add`] allocates (`kb-1`, `kb-2`, …).
pub const NEW_ID_PREFIX: &str = "kb-";

/// One stored version of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// 1 for the first version.
    pub version: u32,
    /// When it was written, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub changed_at: String,
    /// Who wrote it: the editor's name for an edit, otherwise the origin as
    /// stored (`import /path/faq.xlsx`, `built-in demo content`).
    pub by: String,
    /// The entry as written.
    pub entry: Entry,
}

impl From<StoredVersion> for Version {
    fn from(v: StoredVersion) -> Version {
        Version {
            version: v.version,
            changed_at: v.changed_at,
            by: by_from_origin(&v.origin).to_string(),
            entry: v.entry,
        }
    }
}

/// The `origin` stored for an edit by `by`.
pub fn edit_origin(by: &str) -> String {
    format!("{EDIT_ORIGIN_PREFIX}{}", by.trim())
}

/// Who wrote a version with this `origin` (see the module docs).
pub fn by_from_origin(origin: &str) -> &str {
    origin.strip_prefix(EDIT_ORIGIN_PREFIX).unwrap_or(origin)
}

/// How an entry without an id is named in errors.
pub(crate) const NEW_ENTRY: &str = "(new entry)";

/// Checks an edited entry and an editor's name: question and answer must not
/// be blank, dates must be `YYYY-MM-DD`. Dates given as blank text count as
/// not given (the console's empty date box). Returns the entry to store.
pub fn validate(mut entry: Entry, by: &str) -> Result<Entry, KbError> {
    let id = if entry.id.is_empty() {
        NEW_ENTRY.to_string()
    } else {
        entry.id.clone()
    };
    let invalid = |field: Field, reason: String| KbError::InvalidEdit {
        id: id.clone(),
        field,
        reason,
    };
    if entry.id != entry.id.trim() {
        return Err(invalid(
            Field::Id,
            format!("{:?} has leading or trailing spaces", entry.id),
        ));
    }
    if by.trim().is_empty() {
        return Err(KbError::NoEditor { id });
    }
    if entry.question.trim().is_empty() {
        return Err(invalid(Field::Question, "empty".into()));
    }
    if entry.answer.trim().is_empty() {
        return Err(invalid(Field::Answer, "empty".into()));
    }
    for (field, date) in [
        (Field::Effective, &mut entry.effective),
        (Field::Expiry, &mut entry.expiry),
        (Field::Reviewed, &mut entry.reviewed),
    ] {
        if date.as_deref().is_some_and(|d| d.trim().is_empty()) {
            *date = None;
        }
        if let Some(d) = date.as_deref()
            && parse_date(d).is_none()
        {
            return Err(invalid(
                field,
                format!("{d:?} is not a date (use YYYY-MM-DD)"),
            ));
        }
    }
    Ok(entry)
}

/// Parses exactly `YYYY-MM-DD` (a real calendar date).
pub fn parse_date(s: &str) -> Option<chrono::NaiveDate> {
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return None;
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// The first `<prefix><n>` after every `<prefix><n>` id in `ids` (prefix `kb-`).
pub fn next_id_number<'a>(prefix: &str, ids: impl Iterator<Item = &'a str>) -> u64 {
    ids.filter_map(|id| id.strip_prefix(prefix)?.parse::<u64>().ok())
        .max()
        .map_or(1, |n| n.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            id: "a-1".into(),
            question: "社保卡丢了怎么补办？".into(),
            answer: "到网点补办。".into(),
            ..Entry::default()
        }
    }

    fn refused(e: Entry, by: &str) -> String {
        validate(e, by).unwrap_err().to_string()
    }

    #[test]
    fn blank_question_answer_and_editor_are_refused_by_name() {
        let e = Entry {
            question: "  \n".into(),
            ..entry()
        };
        assert_eq!(
            refused(e, "王编导"),
            "entry a-1: question: empty; nothing was saved"
        );
        let e = Entry {
            answer: " ".into(),
            id: String::new(),
            ..entry()
        };
        assert_eq!(
            refused(e, "王编导"),
            "entry (new entry): answer: empty; nothing was saved"
        );
        assert!(refused(entry(), " ").contains("must name who made it"));
        let e = Entry {
            id: " a-1".into(),
            ..entry()
        };
        assert!(refused(e, "王").contains("entry  a-1: id: \" a-1\" has leading"));
    }

    #[test]
    fn dates_must_be_iso_days_and_blank_dates_are_none() {
        for (bad, field) in [
            ("2025/01/02", "effective"),
            ("2025-1-2", "effective"),
            ("2025-02-30", "effective"),
            ("明年", "effective"),
        ] {
            let e = Entry {
                effective: Some(bad.into()),
                ..entry()
            };
            let msg = refused(e, "王");
            assert!(
                msg.starts_with(&format!(
                    "entry a-1: {field}: {bad:?} is not a date (use YYYY-MM-DD)"
                )),
                "{msg}"
            );
        }
        let e = Entry {
            expiry: Some("2026-13-01".into()),
            ..entry()
        };
        assert!(refused(e, "王").contains("expiry: \"2026-13-01\""));
        let e = Entry {
            reviewed: Some("  ".into()),
            expiry: Some("2026-12-31".into()),
            ..entry()
        };
        let ok = validate(e, "王").unwrap();
        assert_eq!(ok.reviewed, None);
        assert_eq!(ok.expiry.as_deref(), Some("2026-12-31"));
    }

    #[test]
    fn origins_round_trip_to_the_editor_and_imports_keep_theirs() {
        assert_eq!(edit_origin(" 王编导 "), "edit:王编导");
        assert_eq!(by_from_origin("edit:王编导"), "王编导");
        assert_eq!(by_from_origin("import /tmp/faq.csv"), "import /tmp/faq.csv");
    }

    #[test]
    fn fresh_ids_follow_the_highest_kb_number() {
        assert_eq!(next_id_number("kb-", ["demo-1", "x"].into_iter()), 1);
        assert_eq!(
            next_id_number("kb-", ["kb-2", "kb-10", "kb-x", "kb-3"].into_iter()),
            11
        );
    }
}

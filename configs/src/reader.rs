//! Field-by-field reading of a TOML table, so that one bad key does not hide
//! the others: every problem is recorded with its file and key path.

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;

use crate::error::ConfigIssue;

/// Parses a whole file; a syntax error becomes one issue with line and column.
pub(crate) fn parse_table(
    file: &str,
    text: &str,
    issues: &mut Vec<ConfigIssue>,
) -> Option<toml::Table> {
    match text.parse::<toml::Table>() {
        Ok(table) => Some(table),
        Err(err) => {
            let key = match err.span() {
                Some(span) => {
                    let (line, col) = line_col(text, span.start);
                    format!("(syntax) line {line}, column {col}")
                }
                None => "(syntax)".to_owned(),
            };
            issues.push(ConfigIssue::new(file, key, err.message().trim()));
            None
        }
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// A view over one TOML table at a key path (`""` for the file root,
/// `department[3]` for an element of an array of tables).
pub(crate) struct Section<'a> {
    file: &'a str,
    path: String,
    table: toml::Table,
    seen: BTreeSet<String>,
    issues: &'a mut Vec<ConfigIssue>,
}

impl<'a> Section<'a> {
    pub(crate) fn new(
        file: &'a str,
        path: impl Into<String>,
        table: toml::Table,
        issues: &'a mut Vec<ConfigIssue>,
    ) -> Self {
        Self {
            file,
            path: path.into(),
            table,
            seen: BTreeSet::new(),
            issues,
        }
    }

    pub(crate) fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub(crate) fn issue(&mut self, key: &str, reason: impl Into<String>) {
        let key = self.key_path(key);
        self.issues.push(ConfigIssue::new(self.file, key, reason));
    }

    fn take<T: DeserializeOwned>(&mut self, key: &str) -> Option<Result<T, String>> {
        self.seen.insert(key.to_owned());
        let value = self.table.get(key)?.clone();
        Some(
            value
                .try_into::<T>()
                .map_err(|e| e.message().trim().to_owned()),
        )
    }

    /// A required key: missing or ill-typed values are recorded.
    pub(crate) fn req<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        match self.take(key) {
            None => {
                self.issue(key, "required key is missing");
                None
            }
            Some(Err(reason)) => {
                self.issue(key, reason);
                None
            }
            Some(Ok(v)) => Some(v),
        }
    }

    /// An optional key: absent gives `default`, an ill-typed value is recorded
    /// (and `default` returned so that validation can go on).
    pub(crate) fn or<T: DeserializeOwned>(&mut self, key: &str, default: T) -> T {
        match self.take(key) {
            None => default,
            Some(Err(reason)) => {
                self.issue(key, reason);
                default
            }
            Some(Ok(v)) => v,
        }
    }

    /// An array of tables (`[[key]]`), each returned as its own section path.
    pub(crate) fn tables(&mut self, key: &str, required: bool) -> Vec<(String, toml::Table)> {
        self.seen.insert(key.to_owned());
        match self.table.get(key).cloned() {
            None => {
                if required {
                    self.issue(key, "required list is missing");
                }
                Vec::new()
            }
            Some(toml::Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    let path = format!("{}[{i}]", self.key_path(key));
                    match item {
                        toml::Value::Table(t) => out.push((path, t)),
                        other => self.issues.push(ConfigIssue::new(
                            self.file,
                            path,
                            format!("expected a table, found {}", other.type_str()),
                        )),
                    }
                }
                out
            }
            Some(other) => {
                self.issue(
                    key,
                    format!("expected a list of tables, found {}", other.type_str()),
                );
                Vec::new()
            }
        }
    }

    /// A sub-table (`[key]`), as its own section path; `None` when absent
    /// (or not a table, which is recorded).
    pub(crate) fn table(&mut self, key: &str) -> Option<(String, toml::Table)> {
        self.seen.insert(key.to_owned());
        match self.table.get(key).cloned() {
            None => None,
            Some(toml::Value::Table(t)) => Some((self.key_path(key), t)),
            Some(other) => {
                self.issue(key, format!("expected a table, found {}", other.type_str()));
                None
            }
        }
    }

    /// Marks a key as read without reading it (a caller takes it raw).
    pub(crate) fn raw(&mut self, key: &str) -> Option<toml::Value> {
        self.seen.insert(key.to_owned());
        self.table.get(key).cloned()
    }

    pub(crate) fn file(&self) -> &'a str {
        self.file
    }

    pub(crate) fn issues(&mut self) -> &mut Vec<ConfigIssue> {
        self.issues
    }

    /// Records every key that no reader asked for: usually a typo.
    pub(crate) fn finish(self) {
        for key in self.table.keys() {
            if !self.seen.contains(key) {
                let path = if self.path.is_empty() {
                    key.clone()
                } else {
                    format!("{}.{key}", self.path)
                };
                self.issues
                    .push(ConfigIssue::new(self.file, path, "unknown key (misspelt?)"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }

    #[test]
    fn every_bad_key_is_reported() {
        let mut issues = Vec::new();
        let table = parse_table("x.toml", "a = \"s\"\nb = 1\nc = true\n", &mut issues).unwrap();
        let mut s = Section::new("x.toml", "", table, &mut issues);
        assert_eq!(s.req::<u32>("a"), None);
        assert_eq!(s.req::<String>("b"), None);
        assert_eq!(s.req::<bool>("missing"), None);
        s.finish();
        let keys: Vec<_> = issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "missing", "c"]);
    }
}

//! The decoder's initial prompt, biased with the knowledge base's vocabulary.
//!
//! whisper continues the style and words of its prompt: a simplified-Chinese
//! sentence about citizen services plus the department and matter names makes
//! it spell those names the way the knowledge base does (and prefer
//! simplified characters).

use airbridge_kb::{Entry, Status};

/// Leading sentence of every prompt.
pub const LEAD: &str = "市民来电咨询政务服务：";

/// Longest prompt in characters (whisper keeps at most 223 prompt tokens;
/// a Chinese character is one or two tokens).
pub const MAX_CHARS: usize = 110;

/// A prompt from the active entries' matters (事项) and departments, most
/// frequent first, cut at [`MAX_CHARS`].
pub fn from_entries(entries: &[Entry]) -> String {
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for e in entries.iter().filter(|e| e.status == Status::Active) {
        for term in [
            e.category.as_str(),
            e.domain.as_str(),
            e.department.as_str(),
        ] {
            let term = term.trim();
            if !term.is_empty() {
                *counts.entry(term).or_default() += 1;
            }
        }
    }
    let mut terms: Vec<(&str, usize)> = counts.into_iter().collect();
    terms.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then(a.0.len().cmp(&b.0.len()))
            .then(a.0.cmp(b.0))
    });
    let mut out = LEAD.to_string();
    let mut first = true;
    for (t, _) in terms {
        let add = t.chars().count() + usize::from(!first);
        if out.chars().count() + add > MAX_CHARS {
            continue;
        }
        if !first {
            out.push('、');
        }
        out.push_str(t);
        first = false;
    }
    out.push('。');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_lists_frequent_terms_within_the_limit() {
        let e = |cat: &str, dep: &str| Entry {
            category: cat.into(),
            department: dep.into(),
            ..Entry::default()
        };
        let mut entries = vec![e("公积金提取", "住房公积金中心"); 3];
        entries.push(e("社保卡补办", "人社局"));
        let p = from_entries(&entries);
        assert!(p.starts_with(LEAD));
        assert!(
            p.find("公积金提取").unwrap() < p.find("社保卡补办").unwrap(),
            "{p}"
        );
        let many: Vec<Entry> = (0..200).map(|i| e(&format!("事项{i}"), "部门")).collect();
        assert!(from_entries(&many).chars().count() <= MAX_CHARS + 1);
    }
}

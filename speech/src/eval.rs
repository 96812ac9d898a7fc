//! The Mandarin evaluation set (also the demo show's simulated callers):
//! character error rate and knowledge-base top-K hits.

use airbridge_kb::SearchIndex;
use airbridge_kb::eval::{Query, is_hit, parse_queries};

/// The simulated callers: question text, the KB questions it should find, topic.
pub const CALLERS_TSV: &str = include_str!("../demo/callers.tsv");

/// Parses [`CALLERS_TSV`].
pub fn callers() -> Vec<Query> {
    parse_queries(std::path::Path::new("speech/demo/callers.tsv"), CALLERS_TSV).unwrap_or_default()
}

/// Characters that count for CER: letters, digits and CJK (no punctuation or spaces).
fn cer_chars(s: &str) -> Vec<char> {
    s.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// Edit distance between the reference and the hypothesis, in characters,
/// ignoring punctuation and spaces; and the reference length.
pub fn char_errors(reference: &str, hypothesis: &str) -> (usize, usize) {
    let r = cer_chars(reference);
    let h = cer_chars(hypothesis);
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for (i, rc) in r.iter().enumerate() {
        let mut cur = vec![i + 1; h.len() + 1];
        for (j, hc) in h.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(rc != hc))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    (prev[h.len()], r.len())
}

/// Whether one of the top `k` results for `text` answers `q`.
pub fn top_k_hit(index: &SearchIndex, q: &Query, text: &str, k: usize) -> bool {
    index.search(text, k).iter().any(|h| {
        let e = airbridge_kb::Entry {
            id: h.id.clone(),
            question: h.question.clone(),
            ..airbridge_kb::Entry::default()
        };
        is_hit(q, &e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn character_errors_ignore_punctuation() {
        assert_eq!(char_errors("你好，世界", "你好世界"), (0, 4));
        assert_eq!(char_errors("社保卡丢了", "舍豹卡丢的"), (3, 5));
        assert_eq!(char_errors("abc", ""), (3, 3));
        assert_eq!(char_errors("", "多"), (1, 0));
    }

    #[test]
    fn the_caller_list_has_at_least_twenty_questions() {
        let c = callers();
        assert!(c.len() >= 20, "{}", c.len());
        assert!(c.iter().all(|q| !q.expect_any.is_empty()));
    }
}

//! The in-memory search index: BM25F over the entry's fields, with word
//! terms and pinyin-pair terms, and the plain baseline for comparison.
//!
//! The index is an immutable snapshot built from a list of entries; a
//! changed knowledge base builds a new one.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

use crate::entry::{Entry, Status};
use crate::text::{Analyzer, Mode, Term, syllable};

const K1: f32 = 1.2;
const B: f32 = 0.75;
/// Field weights (BM25F): question, alternatives, matter/domain/tags/department, answer.
const W_QUESTION: f32 = 3.0;
const W_ALT: f32 = 2.5;
const W_META: f32 = 1.5;
const W_ANSWER: f32 = 0.3;
/// Pinyin-pair terms count less than words: they catch homophones but are
/// less precise.
const W_PINYIN: f32 = 0.45;
/// Single characters count least: they only break ties and catch partial words.
const W_CHAR: f32 = 0.2;

#[derive(Debug, Clone, Copy)]
struct Posting {
    doc: u32,
    tf: f32,
}

/// One ranked result.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Hit {
    /// Entry id.
    pub id: String,
    /// BM25 score (larger is better; not comparable across queries).
    pub score: f32,
    /// The standard question.
    pub question: String,
    /// The full answer.
    pub answer: String,
    /// Responsible department.
    pub department: String,
    /// Service matter.
    pub category: String,
    /// A short part of the answer with the query's words marked 【like this】.
    pub snippet: String,
}

/// A built index over a set of entries.
#[derive(Debug)]
pub struct SearchIndex {
    analyzer: &'static Analyzer,
    mode: Mode,
    entries: Arc<Vec<Entry>>,
    terms: HashMap<Term, u32>,
    postings: Vec<Vec<Posting>>,
    doc_len: Vec<f32>,
    avg_len: f32,
}

impl SearchIndex {
    /// Indexes the active entries of `entries` (retired ones are skipped).
    pub fn build(analyzer: &'static Analyzer, entries: Vec<Entry>, mode: Mode) -> SearchIndex {
        let entries: Vec<Entry> = entries
            .into_iter()
            .filter(|e| e.status == Status::Active)
            .collect();
        let mut terms: HashMap<Term, u32> = HashMap::new();
        let mut postings: Vec<Vec<Posting>> = Vec::new();
        let mut doc_len = Vec::with_capacity(entries.len());
        let mut buf = Vec::new();
        let mut tf: HashMap<u32, f32> = HashMap::new();
        for (doc, e) in entries.iter().enumerate() {
            tf.clear();
            let mut len = 0.0;
            let mut add = |text: &str, w: f32, buf: &mut Vec<Term>, tf: &mut HashMap<u32, f32>| {
                if text.is_empty() {
                    return;
                }
                buf.clear();
                analyzer.terms(text, mode, buf);
                for t in buf.drain(..) {
                    let next = u32::try_from(postings.len()).unwrap_or(u32::MAX);
                    let id = *terms.entry(t).or_insert_with(|| {
                        postings.push(Vec::new());
                        next
                    });
                    *tf.entry(id).or_default() += w;
                    len += w;
                }
            };
            match mode {
                Mode::Plain => {
                    add(&e.question, 1.0, &mut buf, &mut tf);
                    add(&e.answer, 1.0, &mut buf, &mut tf);
                }
                Mode::Full => {
                    add(&e.question, W_QUESTION, &mut buf, &mut tf);
                    for alt in &e.alternatives {
                        add(alt, W_ALT, &mut buf, &mut tf);
                    }
                    let meta = format!(
                        "{} {} {} {}",
                        e.category,
                        e.domain,
                        e.tags.join(" "),
                        e.department
                    );
                    add(&meta, W_META, &mut buf, &mut tf);
                    add(&e.answer, W_ANSWER, &mut buf, &mut tf);
                }
            }
            let doc = u32::try_from(doc).unwrap_or(u32::MAX);
            for (&term, &f) in &tf {
                postings[term as usize].push(Posting { doc, tf: f });
            }
            doc_len.push(len);
        }
        let avg_len = if doc_len.is_empty() {
            1.0
        } else {
            (doc_len.iter().sum::<f32>() / doc_len.len() as f32).max(1.0)
        };
        for p in &mut postings {
            p.sort_unstable_by_key(|p| p.doc);
            p.shrink_to_fit();
        }
        SearchIndex {
            analyzer,
            mode,
            entries: Arc::new(entries),
            terms,
            postings,
            doc_len,
            avg_len,
        }
    }

    /// Number of indexed (active) entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The indexed entries, in index order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Approximate heap size of the index structures in bytes (terms,
    /// postings, lengths; not the entries' own text).
    pub fn index_heap_bytes(&self) -> usize {
        let terms: usize = self
            .terms
            .keys()
            .map(|t| {
                let text = match t {
                    Term::Word(w) | Term::Pinyin(w) => w.capacity(),
                    Term::Char(_) => 0,
                };
                text + std::mem::size_of::<(Term, u32)>() + 8
            })
            .sum();
        let postings: usize = self
            .postings
            .iter()
            .map(|p| {
                p.capacity() * std::mem::size_of::<Posting>() + std::mem::size_of::<Vec<Posting>>()
            })
            .sum();
        terms + postings + self.doc_len.capacity() * 4
    }

    /// Number of distinct terms.
    pub fn term_count(&self) -> usize {
        self.terms.len()
    }

    /// The `k` best entries for `query` as (entry index, score), best first.
    pub fn rank(&self, query: &str, k: usize) -> Vec<(usize, f32)> {
        if k == 0 || self.entries.is_empty() {
            return Vec::new();
        }
        let mut qterms = Vec::new();
        self.analyzer.terms(query, self.mode, &mut qterms);
        let mut weights: HashMap<u32, f32> = HashMap::new();
        for t in &qterms {
            let w = match t {
                Term::Word(_) => 1.0,
                Term::Pinyin(_) => W_PINYIN,
                Term::Char(_) => W_CHAR,
            };
            if let Some(&id) = self.terms.get(t) {
                // Repeated query terms count once more each, damped.
                let e = weights.entry(id).or_insert(0.0);
                *e = if *e == 0.0 { w } else { *e + 0.3 * w };
            }
        }
        let n = self.entries.len() as f32;
        let mut scores = vec![0.0f32; self.entries.len()];
        let mut touched: Vec<u32> = Vec::new();
        for (&term, &qw) in &weights {
            let plist = &self.postings[term as usize];
            let df = plist.len() as f32;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            for p in plist {
                let d = p.doc as usize;
                let norm = K1 * (1.0 - B + B * self.doc_len[d] / self.avg_len);
                let s = qw * idf * p.tf * (K1 + 1.0) / (p.tf + norm);
                if scores[d] == 0.0 {
                    touched.push(p.doc);
                }
                scores[d] += s;
            }
        }
        let mut ranked: Vec<(usize, f32)> = touched
            .into_iter()
            .map(|d| (d as usize, scores[d as usize]))
            .filter(|&(_, s)| s > 0.0)
            .collect();
        let by_score =
            |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0));
        if ranked.len() > k {
            ranked.select_nth_unstable_by(k - 1, by_score);
            ranked.truncate(k);
        }
        ranked.sort_unstable_by(by_score);
        ranked
    }

    /// The `k` best entries for `query`, with highlighted snippets.
    pub fn search(&self, query: &str, k: usize) -> Vec<Hit> {
        let ranked = self.rank(query, k);
        if ranked.is_empty() {
            return Vec::new();
        }
        let words = self.analyzer.highlight_words(query);
        ranked
            .into_iter()
            .map(|(d, score)| {
                let e = &self.entries[d];
                Hit {
                    id: e.id.clone(),
                    score,
                    question: e.question.clone(),
                    answer: e.answer.clone(),
                    department: e.department.clone(),
                    category: e.category.clone(),
                    snippet: snippet(&e.answer, &words, 90),
                }
            })
            .collect()
    }
}

/// Marks the `words` (simplified forms) in `text` with 【】, matching on the
/// simplified text and, for Han words, on fuzzy pinyin (so 设保 marks 社保),
/// and cuts a window of about `width` characters around the first mark.
pub fn snippet(text: &str, words: &[String], width: usize) -> String {
    let orig: Vec<char> = text.chars().collect();
    let simp: Vec<char> = crate::text::simplify(text).chars().collect();
    if simp.len() != orig.len() {
        return orig.iter().take(width).collect();
    }
    let py: Vec<Option<&str>> = simp.iter().map(|&c| syllable(c)).collect();
    let mut marked = vec![false; orig.len()];
    for w in words {
        let wc: Vec<char> = w.chars().collect();
        if wc.is_empty() || wc.len() > simp.len() {
            continue;
        }
        let wpy: Option<Vec<&str>> = if wc.len() >= 2 {
            wc.iter().map(|&c| syllable(c)).collect()
        } else {
            None
        };
        for i in 0..=simp.len() - wc.len() {
            let exact = simp[i..i + wc.len()] == wc[..];
            let sounds = !exact
                && wpy.as_ref().is_some_and(|wp| {
                    wp.iter()
                        .zip(&py[i..i + wc.len()])
                        .all(|(a, b)| b.is_some_and(|b| b == *a))
                });
            if exact || sounds {
                marked[i..i + wc.len()].iter_mut().for_each(|m| *m = true);
            }
        }
    }
    let first = marked.iter().position(|&m| m).unwrap_or(0);
    let start = first.saturating_sub(width / 4);
    let end = (start + width).min(orig.len());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut open = false;
    for (&m, &c) in marked[start..end].iter().zip(&orig[start..end]) {
        if m && !open {
            out.push('【');
            open = true;
        } else if !m && open {
            out.push('】');
            open = false;
        }
        out.push(c);
    }
    if open {
        out.push('】');
    }
    if end < orig.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, q: &str, a: &str) -> Entry {
        Entry {
            id: id.into(),
            question: q.into(),
            answer: a.into(),
            ..Entry::default()
        }
    }

    fn index(mode: Mode) -> SearchIndex {
        let a = Analyzer::embedded().unwrap();
        SearchIndex::build(
            a,
            vec![
                entry(
                    "1",
                    "退休提取住房公积金需要哪些材料？",
                    "携带身份证、退休证明到公积金中心窗口办理。",
                ),
                entry(
                    "2",
                    "异地就医备案怎么办理？",
                    "通过国家医保服务平台APP申请跨省异地就医备案。",
                ),
                entry("3", "驾驶证到期换证需要什么材料？", "身份证、体检证明。"),
                entry("4", "社保卡丢了怎么补办？", "到社保卡服务网点挂失补办。"),
                entry("5", "城乡居民医疗保险怎么缴费？", "通过税务APP缴纳医保费。"),
            ],
            mode,
        )
    }

    fn top(idx: &SearchIndex, q: &str) -> String {
        idx.search(q, 3)
            .first()
            .map(|h| h.id.clone())
            .unwrap_or_default()
    }

    #[test]
    fn synonyms_find_the_standard_wording() {
        let idx = index(Mode::Full);
        assert_eq!(top(&idx, "驾照过期了要带啥"), "3");
        assert_eq!(top(&idx, "医保咋交钱"), "5");
        assert_eq!(top(&idx, "退了休公积金怎么取"), "1");
    }

    #[test]
    fn homophone_errors_still_find_the_entry() {
        let idx = index(Mode::Full);
        assert_eq!(top(&idx, "退休提取公鸡金要啥材料"), "1");
        assert_eq!(top(&idx, "一地就医备案咋弄"), "2");
        assert_eq!(top(&idx, "设保卡掉了"), "4");
        // The baseline has no pinyin: the homophone finds nothing useful.
        let plain = index(Mode::Plain);
        assert_ne!(top(&plain, "设保卡"), "4");
    }

    #[test]
    fn traditional_input_finds_simplified_entries() {
        let idx = index(Mode::Full);
        assert_eq!(top(&idx, "異地就醫備案怎麼辦理"), "2");
        assert_eq!(top(&idx, "駕駛證到期換證"), "3");
    }

    #[test]
    fn snippets_mark_words_synonyms_and_homophones() {
        let a = Analyzer::embedded().unwrap();
        let words = a.highlight_words("医保");
        let s = snippet("可以用医疗保险报销。", &words, 40);
        assert!(s.contains("【医疗保险】"), "{s}");
        let s = snippet("社保卡在网点补办。", &a.highlight_words("设保卡"), 40);
        assert!(s.contains("【社保"), "{s}");
    }

    #[test]
    fn empty_and_nonsense_queries_return_nothing_or_rank_safely() {
        let idx = index(Mode::Full);
        assert!(idx.search("", 5).is_empty());
        assert!(idx.search("？？？", 5).is_empty());
        assert!(idx.search("医保", 0).is_empty());
        let hits = idx.search("医保", 100);
        assert!(hits.len() <= 5);
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    }
}

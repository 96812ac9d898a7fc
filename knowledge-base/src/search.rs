//! The in-memory search index: BM25F over the entry's fields, with word
//! terms, pinyin-pair terms and typing keys (full pinyin and initials, for
//! screeners who type `sbk` for 社保卡), and the plain baseline for comparison.
//!
//! The index is an immutable snapshot built from a list of entries; a
//! changed knowledge base builds a new one ([`SearchIndex::refreshed`] after
//! one edit).

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

use crate::entry::{Entry, Status};
use crate::text::{Analyzer, Mode, Term, syllable, typed_tokens};

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

/// Typed (pinyin) query tokens: a full spelling counts like a word; initials
/// are more ambiguous (sbk: 社保卡, 随便看); a prefix of the last token (the
/// screener is still typing) counts less than a whole spelling.
const W_TYPED_FULL: f32 = 1.0;
const W_TYPED_INITIALS: f32 = 0.8;
const W_TYPED_PREFIX: f32 = 0.6;
/// Shortest last token completed as a prefix (one letter would match everything).
const MIN_PREFIX: usize = 2;
/// Most typing keys one prefix expands to.
const MAX_PREFIX_KEYS: usize = 512;

#[derive(Debug, Clone, Copy)]
struct Posting {
    doc: u32,
    tf: f32,
}

/// The two kinds of typing keys (see [`crate::text::Spelling`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Typed {
    Full,
    Initials,
}

/// Gives every term and typing key a posting-list id while indexing.
#[derive(Default)]
struct Interner {
    terms: HashMap<Term, u32>,
    typed: HashMap<(Typed, Box<str>), u32>,
    next: u32,
}

impl Interner {
    fn term(&mut self, t: Term) -> u32 {
        let next = &mut self.next;
        *self.terms.entry(t).or_insert_with(|| {
            *next += 1;
            *next - 1
        })
    }

    fn typed(&mut self, kind: Typed, key: &str) -> u32 {
        if let Some(&id) = self.typed.get(&(kind, Box::from(key))) {
            return id;
        }
        self.next += 1;
        self.typed.insert((kind, key.into()), self.next - 1);
        self.next - 1
    }

    /// The typing keys of `kind`, sorted (for prefix lookups).
    fn sorted(&self, kind: Typed) -> Vec<(Box<str>, u32)> {
        let mut v: Vec<(Box<str>, u32)> = self
            .typed
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|((_, key), &id)| (key.clone(), id))
            .collect();
        v.sort_unstable();
        v
    }
}

/// One entry's analysis: (posting-list id, weighted term frequency), sorted
/// by id, and its BM25 length.
struct DocTerms {
    tf: Vec<(u32, f32)>,
    len: f32,
}

fn analyze(
    analyzer: &Analyzer,
    mode: Mode,
    e: &Entry,
    ids: &mut Interner,
    buf: &mut Vec<Term>,
) -> DocTerms {
    let mut tf: HashMap<u32, f32> = HashMap::new();
    let mut len = 0.0;
    let mut add = |text: &str, w: f32, ids: &mut Interner, tf: &mut HashMap<u32, f32>| {
        if text.is_empty() {
            return;
        }
        buf.clear();
        analyzer.terms(text, mode, buf);
        for t in buf.drain(..) {
            *tf.entry(ids.term(t)).or_default() += w;
            len += w;
        }
    };
    match mode {
        Mode::Plain => {
            add(&e.question, 1.0, ids, &mut tf);
            add(&e.answer, 1.0, ids, &mut tf);
        }
        Mode::Full => {
            add(&e.question, W_QUESTION, ids, &mut tf);
            for alt in &e.alternatives {
                add(alt, W_ALT, ids, &mut tf);
            }
            let meta = format!(
                "{} {} {} {}",
                e.category,
                e.domain,
                e.tags.join(" "),
                e.department
            );
            add(&meta, W_META, ids, &mut tf);
            add(&e.answer, W_ANSWER, ids, &mut tf);
            // Typing keys weigh like their field but do not lengthen the
            // document: Chinese queries rank exactly as without them.
            let typed_meta = format!("{} {} {}", e.category, e.domain, e.tags.join(" "));
            let fields = std::iter::once((e.question.as_str(), W_QUESTION))
                .chain(e.alternatives.iter().map(|a| (a.as_str(), W_ALT)))
                .chain(std::iter::once((typed_meta.as_str(), W_META)));
            let mut spellings = Vec::new();
            for (text, w) in fields {
                spellings.clear();
                analyzer.spellings(text, &mut spellings);
                for s in &spellings {
                    *tf.entry(ids.typed(Typed::Full, &s.full)).or_default() += w;
                    *tf.entry(ids.typed(Typed::Initials, &s.initials))
                        .or_default() += w;
                }
            }
        }
    }
    let mut tf: Vec<(u32, f32)> = tf.into_iter().collect();
    tf.sort_unstable_by_key(|&(id, _)| id);
    DocTerms { tf, len }
}

/// BM25's inverse document frequency of a term in `df` of `n` documents.
fn idf(n: usize, df: usize) -> f32 {
    let (n, df) = (n as f32, df as f32);
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

fn average(doc_len: &[f32]) -> f32 {
    if doc_len.is_empty() {
        1.0
    } else {
        (doc_len.iter().sum::<f32>() / doc_len.len() as f32).max(1.0)
    }
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
///
/// Besides word, pinyin-pair and character terms it holds *typing keys*: the
/// full toneless pinyin and the initials of every Han word of an entry's
/// question, alternatives, matter, domain and tags (`shebaoka`, `sbk`), so a
/// screener without an input method finds 社保卡 by typing `sbk`. On the demo
/// knowledge base (2,268 entries: 1,352 typing keys) they take
/// [`SearchIndex::index_heap_bytes`] from 3.3 to 4.1 MiB (printed by the test
/// `typing_keys_cost_little_memory`); they do not lengthen documents, so
/// Chinese queries rank exactly as without them.
#[derive(Debug)]
pub struct SearchIndex {
    analyzer: &'static Analyzer,
    mode: Mode,
    entries: Arc<Vec<Entry>>,
    terms: HashMap<Term, u32>,
    /// Typing keys, sorted, with their posting-list ids.
    full_keys: Vec<(Box<str>, u32)>,
    initial_keys: Vec<(Box<str>, u32)>,
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
        let mut ids = Interner::default();
        let mut postings: Vec<Vec<Posting>> = Vec::new();
        let mut doc_len = Vec::with_capacity(entries.len());
        let mut buf = Vec::new();
        for (doc, e) in entries.iter().enumerate() {
            let d = analyze(analyzer, mode, e, &mut ids, &mut buf);
            postings.resize_with(ids.next as usize, Vec::new);
            let doc = u32::try_from(doc).unwrap_or(u32::MAX);
            for (term, tf) in d.tf {
                postings[term as usize].push(Posting { doc, tf });
            }
            doc_len.push(d.len);
        }
        for p in &mut postings {
            p.shrink_to_fit();
        }
        SearchIndex {
            analyzer,
            mode,
            avg_len: average(&doc_len),
            entries: Arc::new(entries),
            full_keys: ids.sorted(Typed::Full),
            initial_keys: ids.sorted(Typed::Initials),
            terms: ids.terms,
            postings,
            doc_len,
        }
    }

    /// A new index over `all` (the knowledge base's entries after an edit of
    /// entry `id`), built by re-analysing only that entry: `all` must be the
    /// entries this index was built from, with only entry `id` changed, added
    /// (at the end) or retired. Ranks exactly as [`SearchIndex::build`] of `all`
    /// would, in a fraction of the time, so an edit is searchable at once.
    pub fn refreshed(&self, all: &[Entry], id: &str) -> SearchIndex {
        let entries: Vec<Entry> = all
            .iter()
            .filter(|e| e.status == Status::Active)
            .cloned()
            .collect();
        let old = self.entries.iter().position(|e| e.id == id);
        let new = entries.iter().position(|e| e.id == id);
        let mut ids = Interner {
            terms: self.terms.clone(),
            typed: self
                .full_keys
                .iter()
                .map(|(k, id)| ((Typed::Full, k.clone()), *id))
                .chain(
                    self.initial_keys
                        .iter()
                        .map(|(k, id)| ((Typed::Initials, k.clone()), *id)),
                )
                .collect(),
            next: u32::try_from(self.postings.len()).unwrap_or(u32::MAX),
        };
        let mut postings = self.postings.clone();
        let mut doc_len = self.doc_len.clone();
        if let Some(p) = old {
            let p = u32::try_from(p).unwrap_or(u32::MAX);
            for list in &mut postings {
                list.retain(|x| x.doc != p);
                list.iter_mut()
                    .filter(|x| x.doc > p)
                    .for_each(|x| x.doc -= 1);
            }
            doc_len.remove(p as usize);
        }
        if let Some(q) = new {
            let d = analyze(
                self.analyzer,
                self.mode,
                &entries[q],
                &mut ids,
                &mut Vec::new(),
            );
            postings.resize_with(ids.next as usize, Vec::new);
            let qd = u32::try_from(q).unwrap_or(u32::MAX);
            for list in &mut postings {
                list.iter_mut()
                    .filter(|x| x.doc >= qd)
                    .for_each(|x| x.doc += 1);
            }
            for (term, tf) in d.tf {
                let list = &mut postings[term as usize];
                let at = list.partition_point(|x| x.doc < qd);
                list.insert(at, Posting { doc: qd, tf });
            }
            doc_len.insert(q, d.len);
        }
        SearchIndex {
            analyzer: self.analyzer,
            mode: self.mode,
            avg_len: average(&doc_len),
            entries: Arc::new(entries),
            full_keys: ids.sorted(Typed::Full),
            initial_keys: ids.sorted(Typed::Initials),
            terms: ids.terms,
            postings,
            doc_len,
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
        let typed: usize = self
            .full_keys
            .iter()
            .chain(&self.initial_keys)
            .map(|(k, _)| k.len() + std::mem::size_of::<(Box<str>, u32)>())
            .sum();
        terms + typed + postings + self.doc_len.capacity() * 4
    }

    /// Number of distinct terms (words, pinyin pairs, characters; typing
    /// keys are not counted) that occur in at least one indexed entry.
    pub fn term_count(&self) -> usize {
        self.terms
            .values()
            .filter(|&&id| !self.postings[id as usize].is_empty())
            .count()
    }

    /// Number of distinct typing keys (full pinyin and initials) that occur
    /// in at least one indexed entry.
    pub fn typing_key_count(&self) -> usize {
        self.full_keys
            .iter()
            .chain(&self.initial_keys)
            .filter(|(_, id)| !self.postings[*id as usize].is_empty())
            .count()
    }

    /// The posting lists a typed token reaches, with their query weights:
    /// exact full spellings and initials, and for the `last` token (still
    /// being typed) every key it begins, at a lower weight.
    fn typed_candidates(&self, tok: &str, last: bool, out: &mut Vec<(u32, f32)>) {
        out.clear();
        for (keys, w) in [
            (&self.full_keys, W_TYPED_FULL),
            (&self.initial_keys, W_TYPED_INITIALS),
        ] {
            let start = keys.partition_point(|(k, _)| &**k < tok);
            let prefix = last && tok.len() >= MIN_PREFIX;
            for (k, id) in keys[start..].iter().take(MAX_PREFIX_KEYS) {
                if &**k == tok {
                    out.push((*id, w));
                } else if prefix && k.starts_with(tok) {
                    out.push((*id, w * W_TYPED_PREFIX));
                } else {
                    break;
                }
            }
        }
    }

    fn is_key(&self, key: &str) -> bool {
        [&self.full_keys, &self.initial_keys]
            .iter()
            .any(|keys| keys.binary_search_by(|(k, _)| (**k).cmp(key)).is_ok())
    }

    fn is_key_prefix(&self, prefix: &str) -> bool {
        [&self.full_keys, &self.initial_keys].iter().any(|keys| {
            let at = keys.partition_point(|(k, _)| &**k < prefix);
            keys.get(at).is_some_and(|(k, _)| k.starts_with(prefix))
        })
    }

    /// Splits a token typed as several words run together (`sbkbb`:
    /// 社保卡 补办, `gongjijintiqu`) into typing keys, longest key first;
    /// the last token's last piece may be a prefix. A token that is a key,
    /// begins one, or cannot be split is kept whole.
    fn split_typed(&self, tokens: Vec<String>) -> Vec<String> {
        let count = tokens.len();
        let mut out = Vec::with_capacity(count);
        for (i, tok) in tokens.into_iter().enumerate() {
            let last = i + 1 == count;
            if tok.len() < 2 * MIN_PREFIX || self.is_key(&tok) || self.is_key_prefix(&tok) {
                out.push(tok);
                continue;
            }
            let mut pieces = Vec::new();
            let mut rest = tok.as_str();
            while !rest.is_empty() {
                if last && rest.len() >= MIN_PREFIX && self.is_key_prefix(rest) {
                    pieces.push(rest.to_string());
                    break;
                }
                let Some(len) = (MIN_PREFIX..=rest.len())
                    .rev()
                    .find(|&len| self.is_key(&rest[..len]))
                else {
                    pieces.clear();
                    break;
                };
                pieces.push(rest[..len].to_string());
                rest = &rest[len..];
            }
            if pieces.is_empty() {
                out.push(tok);
            } else {
                out.extend(pieces);
            }
        }
        out
    }

    fn idf(&self, term: u32) -> f32 {
        idf(self.entries.len(), self.postings[term as usize].len())
    }

    fn bm25(&self, qw: f32, idf: f32, p: Posting) -> f32 {
        let norm = K1 * (1.0 - B + B * self.doc_len[p.doc as usize] / self.avg_len);
        qw * idf * p.tf * (K1 + 1.0) / (p.tf + norm)
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
        let mut scores = vec![0.0f32; self.entries.len()];
        let mut touched: Vec<u32> = Vec::new();
        for (&term, &qw) in &weights {
            let idf = self.idf(term);
            for &p in &self.postings[term as usize] {
                let d = p.doc as usize;
                if scores[d] == 0.0 {
                    touched.push(p.doc);
                }
                scores[d] += self.bm25(qw, idf, p);
            }
        }
        // Letters typed as pinyin or initials: each token scores an entry by
        // its best-matching typing key (a prefix reaching many keys of one
        // entry counts once).
        if !self.full_keys.is_empty() {
            let tokens = self.split_typed(typed_tokens(query));
            let mut best = vec![0.0f32; self.entries.len()];
            let mut best_touched: Vec<u32> = Vec::new();
            let mut cands = Vec::new();
            for (i, tok) in tokens.iter().enumerate() {
                self.typed_candidates(tok, i + 1 == tokens.len(), &mut cands);
                // The token is one term whose documents are those of all its
                // keys (one idf for all, so a rare completion does not
                // outrank a common one for its rarity); like an input
                // method, a prefix completes to the commonest words first.
                let df_max = cands
                    .iter()
                    .map(|&(t, _)| self.postings[t as usize].len())
                    .max()
                    .unwrap_or(0)
                    .max(1) as f32;
                for &(term, qw) in &cands {
                    let plist = &self.postings[term as usize];
                    let common = (plist.len() as f32 / df_max).sqrt();
                    for &p in plist {
                        let d = p.doc as usize;
                        if best[d] == 0.0 {
                            best_touched.push(p.doc);
                        }
                        best[d] = best[d].max(self.bm25(qw * common, 1.0, p));
                    }
                }
                let idf = idf(self.entries.len(), best_touched.len());
                for doc in best_touched.drain(..) {
                    let d = doc as usize;
                    if scores[d] == 0.0 {
                        touched.push(doc);
                    }
                    scores[d] += idf * best[d];
                    best[d] = 0.0;
                }
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

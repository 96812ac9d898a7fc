//! Text analysis for search: cleaning, Traditional→Simplified, colloquial
//! and synonym rewriting, segmentation (jieba) and the pinyin terms that make
//! search tolerant of speech-recognition homophones (社保→设保).

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use jieba_rs::Jieba;
use pinyin::ToPinyin;
use serde::Deserialize;

use crate::error::KbError;

/// The synonym/colloquial/stopword dictionary shipped with the product.
pub const EMBEDDED_SYNONYMS: &str = include_str!("../../configs/kb-synonyms.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VocabFile {
    #[serde(default)]
    stopwords: Vec<String>,
    #[serde(default)]
    colloquial: HashMap<String, String>,
    #[serde(default)]
    group: Vec<Group>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Group {
    words: Vec<String>,
}

/// Leftmost-longest rewriting of phrases (keyed by first character).
#[derive(Debug, Default)]
struct Rewriter {
    by_first: HashMap<char, Vec<(Vec<char>, String)>>,
}

impl Rewriter {
    fn add(&mut self, from: &str, to: &str) {
        let chars: Vec<char> = from.chars().collect();
        let Some(&first) = chars.first() else { return };
        if from == to {
            return;
        }
        let list = self.by_first.entry(first).or_default();
        list.push((chars, to.to_string()));
        list.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
    }

    fn rewrite(&self, chars: &[char]) -> Vec<char> {
        let mut out = Vec::with_capacity(chars.len());
        let mut i = 0;
        'outer: while i < chars.len() {
            if let Some(list) = self.by_first.get(&chars[i]) {
                for (from, to) in list {
                    if chars[i..].starts_with(from) {
                        out.extend(to.chars());
                        i += from.len();
                        continue 'outer;
                    }
                }
            }
            out.push(chars[i]);
            i += 1;
        }
        out
    }
}

/// How text is turned into search terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Normalisation, synonyms, stopwords, words and pinyin terms.
    Full,
    /// The plain baseline: jieba words of the raw text, BM25, nothing else.
    Plain,
}

/// One search term with its kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Term {
    /// A segmented word (after normalisation in [`Mode::Full`]).
    Word(String),
    /// Two consecutive syllables, toneless and with fuzzy initials/finals.
    Pinyin(String),
    /// One Han character (catches partial word matches: 换 ~ 换证).
    Char(char),
}

/// Segmenter plus vocabulary. Build once and share (it holds jieba's dictionary).
pub struct Analyzer {
    jieba: Jieba,
    colloquial: Rewriter,
    synonyms: Rewriter,
    /// canonical word → all its spellings (for highlighting).
    variants: HashMap<String, Vec<String>>,
    stopwords: HashSet<String>,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("synonym_groups", &self.variants.len())
            .field("stopwords", &self.stopwords.len())
            .finish_non_exhaustive()
    }
}

impl Analyzer {
    /// The analyzer with the built-in vocabulary, built on first use.
    pub fn embedded() -> Result<&'static Analyzer, KbError> {
        static CELL: OnceLock<Result<Analyzer, String>> = OnceLock::new();
        CELL.get_or_init(|| Analyzer::from_toml(EMBEDDED_SYNONYMS).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| KbError::Vocabulary(format!("built-in kb-synonyms.toml: {e}")))
    }

    /// Builds an analyzer from a vocabulary file's text (see `configs/kb-synonyms.toml`).
    pub fn from_toml(text: &str) -> Result<Analyzer, KbError> {
        let file: VocabFile =
            toml::from_str(text).map_err(|e| KbError::Vocabulary(e.message().to_string()))?;
        let mut jieba = Jieba::new();
        let mut colloquial = Rewriter::default();
        for (from, to) in &file.colloquial {
            let (from, to) = (simplify(from), simplify(to));
            colloquial.add(&from, &to);
        }
        let mut synonyms = Rewriter::default();
        let mut variants = HashMap::new();
        for (n, g) in file.group.iter().enumerate() {
            let words: Vec<String> = g.words.iter().map(|w| simplify(w)).collect();
            let Some(canon) = words.first() else {
                return Err(KbError::Vocabulary(format!(
                    "group #{} has no words",
                    n + 1
                )));
            };
            for w in &words {
                synonyms.add(w, canon);
            }
            if canon.chars().count() > 1 {
                jieba.add_word(canon, Some(100_000), None);
            }
            variants.insert(canon.clone(), words.clone());
        }
        let stopwords = file.stopwords.iter().map(|w| simplify(w)).collect();
        Ok(Analyzer {
            jieba,
            colloquial,
            synonyms,
            variants,
            stopwords,
        })
    }

    /// Cleaned, simplified, lower-cased text with colloquial forms and
    /// synonyms rewritten to their standard word.
    pub fn normalize(&self, text: &str) -> String {
        let chars: Vec<char> = simplify(text).chars().collect();
        let chars = self.colloquial.rewrite(&chars);
        self.synonyms.rewrite(&chars).into_iter().collect()
    }

    /// Appends the search terms of `text` to `out`.
    pub fn terms(&self, text: &str, mode: Mode, out: &mut Vec<Term>) {
        match mode {
            Mode::Plain => {
                for tok in self.jieba.cut_for_search(text, true) {
                    if tok.word.chars().any(char::is_alphanumeric) {
                        out.push(Term::Word(tok.word.to_string()));
                    }
                }
            }
            Mode::Full => {
                // Pinyin and characters come from the surface text (what was
                // said, simplified): speech errors happen there, before any
                // synonym is applied. Words come from the normalised text.
                let surface: Vec<char> = simplify(text).chars().collect();
                let surface = self.colloquial.rewrite(&surface);
                let norm: String = self.synonyms.rewrite(&surface).into_iter().collect();
                let surface: String = surface.into_iter().collect();
                let mut run: Vec<&'static str> = Vec::new();
                for tok in self.jieba.cut(&surface, true) {
                    let w = tok.word;
                    let meaningful = w.chars().any(char::is_alphanumeric);
                    if !meaningful || self.stopwords.contains(w) {
                        push_pinyin_pairs(&run, out);
                        run.clear();
                        continue;
                    }
                    let mut all_han = true;
                    for c in w.chars() {
                        match syllable(c) {
                            Some(s) => {
                                run.push(s);
                                out.push(Term::Char(c));
                            }
                            None => all_han = false,
                        }
                    }
                    if !all_han {
                        push_pinyin_pairs(&run, out);
                        run.clear();
                    }
                }
                push_pinyin_pairs(&run, out);
                for tok in self.jieba.cut_for_search(&norm, true) {
                    let w = tok.word;
                    if w.chars().any(char::is_alphanumeric) && !self.stopwords.contains(w) {
                        out.push(Term::Word(w.to_string()));
                    }
                }
            }
        }
    }

    /// Appends how the Han words of `text` are typed without an input method
    /// (see [`Spelling`]): every word of two or more Han characters from
    /// jieba's search segmentation of the text as written and of its
    /// normalised form, plus every spelling of each synonym group the text
    /// uses (so `sbk` reaches an entry that only says 社会保障卡). No duplicates
    /// are appended for one call.
    pub fn spellings(&self, text: &str, out: &mut Vec<Spelling>) {
        let surface: Vec<char> = simplify(text).chars().collect();
        let surface = self.colloquial.rewrite(&surface);
        let norm: String = self.synonyms.rewrite(&surface).into_iter().collect();
        let surface: String = surface.into_iter().collect();
        let mut words: Vec<&str> = Vec::new();
        for tok in self.jieba.cut_for_search(&surface, true) {
            words.push(tok.word);
        }
        for tok in self.jieba.cut_for_search(&norm, true) {
            words.push(tok.word);
            if let Some(vs) = self.variants.get(tok.word) {
                words.extend(vs.iter().map(String::as_str));
            }
        }
        let start = out.len();
        for w in words {
            if w.chars().nth(1).is_some()
                && !self.stopwords.contains(w)
                && let Some(s) = spell(w)
            {
                out.push(s);
            }
        }
        let mut mine = out.split_off(start);
        mine.sort_unstable();
        mine.dedup();
        out.extend(mine);
    }

    /// Words of a query worth highlighting: its normalised words and every
    /// spelling of their synonyms, longest first.
    pub fn highlight_words(&self, query: &str) -> Vec<String> {
        let norm = self.normalize(query);
        let mut words: Vec<String> = Vec::new();
        for tok in self.jieba.cut(&norm, true) {
            let w = tok.word;
            if self.stopwords.contains(w) || !w.chars().any(char::is_alphanumeric) {
                continue;
            }
            if w.chars().count() < 2 {
                continue;
            }
            match self.variants.get(w) {
                Some(vs) => words.extend(vs.iter().cloned()),
                None => words.push(w.to_string()),
            }
        }
        words.sort_by(|a, b| b.chars().count().cmp(&a.chars().count()).then(a.cmp(b)));
        words.dedup();
        words
    }
}

/// How a Han word is typed on a keyboard without an input method: its full
/// toneless pinyin (`shebaoka`; ü is typed `v`, as input methods do) and the
/// first letter of each syllable (`sbk`; 中 gives `z`). Spellings are exact
/// (no zh/z merging): a screener types the standard spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Spelling {
    /// Full toneless pinyin, syllables run together: `gongjijin`.
    pub full: String,
    /// One letter per syllable: `gjj`.
    pub initials: String,
}

/// The spelling of `word` (simplified), or `None` unless every character is Han.
pub fn spell(word: &str) -> Option<Spelling> {
    let mut full = String::new();
    let mut initials = String::new();
    for c in word.chars() {
        let py = c.to_pinyin()?.plain();
        let mut letters = py.chars().map(|l| if l == 'ü' { 'v' } else { l });
        initials.push(letters.next()?);
        full.push_str(py);
    }
    if initials.is_empty() {
        return None;
    }
    if full.contains('ü') {
        full = full.replace('ü', "v");
    }
    Some(Spelling { full, initials })
}

/// The runs of ASCII letters in a query, lower-cased (full-width letters
/// count): what a screener typed as pinyin or initials. `shebao 补办` gives
/// `["shebao"]`.
pub fn typed_tokens(query: &str) -> Vec<String> {
    simplify(query)
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

fn push_pinyin_pairs(run: &[&'static str], out: &mut Vec<Term>) {
    for pair in run.windows(2) {
        out.push(Term::Pinyin(format!("{}_{}", pair[0], pair[1])));
    }
}

/// Full-width ASCII to half-width, lower case, Traditional → Simplified.
/// Keeps one output character per input character (highlighting relies on it).
pub fn simplify(text: &str) -> String {
    let half: String = text
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => {
                char::from_u32(c as u32 - 0xFEE0).map_or(c, |h| h.to_ascii_lowercase())
            }
            '\u{3000}' => ' ',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    fast2s::convert(&half)
}

/// Toneless pinyin of a Han character, with the distinctions speech
/// recognisers and southern accents blur merged (zh/z, ch/c, sh/s, n/l,
/// -ing/-in, -eng/-en). `None` for anything that is not a Han character.
pub fn syllable(c: char) -> Option<&'static str> {
    Some(fuzzy_static(c.to_pinyin()?.plain()))
}

/// Interns fuzzy syllables (there are only a few hundred).
fn fuzzy_static(plain: &'static str) -> &'static str {
    static TABLE: OnceLock<std::sync::RwLock<HashMap<&'static str, &'static str>>> =
        OnceLock::new();
    let table = TABLE.get_or_init(Default::default);
    if let Ok(t) = table.read()
        && let Some(s) = t.get(plain)
    {
        return s;
    }
    let f = fuzzy(plain);
    let interned: &'static str = if f == plain {
        plain
    } else {
        Box::leak(f.into_boxed_str())
    };
    if let Ok(mut t) = table.write() {
        t.insert(plain, interned);
    }
    interned
}

fn fuzzy(s: &str) -> String {
    let mut s = if let Some(rest) = s.strip_prefix("zh") {
        format!("z{rest}")
    } else if let Some(rest) = s.strip_prefix("ch") {
        format!("c{rest}")
    } else if let Some(rest) = s.strip_prefix("sh") {
        format!("s{rest}")
    } else if let Some(rest) = s.strip_prefix('l') {
        format!("n{rest}")
    } else {
        s.to_string()
    };
    if s.ends_with("ing") || (s.ends_with("eng") && s != "eng") {
        s.pop();
    }
    s
}

/// Removes HTML remnants (tags, common entities) and collapses whitespace.
pub fn clean_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let after = &rest[lt..];
        match after.find('>') {
            Some(gt) if looks_like_tag(&after[1..gt]) => {
                let tag = after[1..gt].trim_start_matches('/').to_ascii_lowercase();
                if tag.starts_with("br") || tag.starts_with('p') || tag.starts_with("li") {
                    out.push('\n');
                }
                rest = &after[gt + 1..];
            }
            _ => {
                out.push('<');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    let decoded = decode_entities(&out);
    let mut cleaned = String::with_capacity(decoded.len());
    for line in decoded.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            continue;
        }
        if !cleaned.is_empty() {
            cleaned.push('\n');
        }
        cleaned.push_str(&line);
    }
    cleaned
}

fn looks_like_tag(inner: &str) -> bool {
    let inner = inner.trim_start_matches('/');
    inner.len() <= 200
        && inner
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '!')
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp..];
        let end = after.find(';').filter(|&e| e <= 10);
        let decoded = end.and_then(|e| {
            let name = &after[1..e];
            let c = match name {
                "nbsp" => Some(' '),
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => name
                    .strip_prefix("#x")
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(a: &Analyzer, s: &str) -> Vec<String> {
        let mut t = Vec::new();
        a.terms(s, Mode::Full, &mut t);
        t.into_iter()
            .filter_map(|t| match t {
                Term::Word(w) => Some(w),
                Term::Pinyin(_) | Term::Char(_) => None,
            })
            .collect()
    }

    #[test]
    fn traditional_and_synonyms_normalise_to_one_word() {
        let a = Analyzer::embedded().unwrap();
        assert_eq!(a.normalize("醫療保險"), a.normalize("医保"));
        assert_eq!(a.normalize("驾照"), a.normalize("驾驶证"));
        assert_eq!(a.normalize("身分證"), a.normalize("身份证"));
        assert_eq!(a.normalize("住房公积金"), "公积金");
        assert!(a.normalize("公积金咋取").contains("怎么"));
        assert!(words(a, "啥材料").contains(&"材料".to_string()));
    }

    #[test]
    fn homophones_share_pinyin_terms() {
        let a = Analyzer::embedded().unwrap();
        let py = |s: &str| {
            let mut t = Vec::new();
            a.terms(s, Mode::Full, &mut t);
            t.into_iter()
                .filter(|t| matches!(t, Term::Pinyin(_)))
                .collect::<HashSet<_>>()
        };
        assert!(!py("公积金").is_disjoint(&py("公鸡金")));
        assert!(!py("社保").is_disjoint(&py("设保")));
        assert!(!py("异地就医").is_disjoint(&py("一地就医")));
        // n/l and zh/z are merged.
        assert_eq!(syllable('留'), Some("niu"));
        assert_eq!(syllable('牛'), Some("niu"));
        assert_eq!(syllable('证'), Some("zen"));
        assert_eq!(syllable('怎'), Some("zen"));
    }

    #[test]
    fn han_words_are_spelled_in_full_and_as_initials() {
        let s = spell("社保卡").unwrap();
        assert_eq!((s.full.as_str(), s.initials.as_str()), ("shebaoka", "sbk"));
        assert_eq!(spell("公积金").unwrap().initials, "gjj");
        assert_eq!(spell("绿色").unwrap().full, "lvse");
        assert_eq!(spell("app"), None);
        assert_eq!(spell("社保2"), None);
        assert_eq!(
            typed_tokens("shebao 补办ＧＪＪ，x1y"),
            ["shebao", "gjj", "x", "y"]
        );
    }

    #[test]
    fn spellings_cover_written_words_sub_words_and_synonyms() {
        let a = Analyzer::embedded().unwrap();
        let mut out = Vec::new();
        a.spellings("社会保障卡挂失补办", &mut out);
        let initials: HashSet<&str> = out.iter().map(|s| s.initials.as_str()).collect();
        let full: HashSet<&str> = out.iter().map(|s| s.full.as_str()).collect();
        assert!(initials.contains("shbzk"), "{initials:?}");
        // 社保卡 is a synonym of 社会保障卡: typed either way, it is found.
        assert!(initials.contains("sbk"), "{initials:?}");
        assert!(full.contains("shebaoka"), "{full:?}");
        assert!(full.contains("guashi"), "{full:?}");
        // No single characters, no duplicates.
        assert!(initials.iter().all(|i| i.len() >= 2));
        let n = out.len();
        out.dedup();
        assert_eq!(out.len(), n);
    }

    #[test]
    fn html_remnants_are_removed() {
        assert_eq!(
            clean_html("<p>第一行&nbsp;说明</p><br/>第二行 &amp; 3 &lt; 5"),
            "第一行 说明\n第二行 & 3 < 5"
        );
        assert_eq!(clean_html("a < b and c>d"), "a < b and c>d");
    }

    #[test]
    fn simplify_keeps_one_char_per_char() {
        let s = "臺灣戶政事務所ＡＢＣ";
        assert_eq!(simplify(s).chars().count(), s.chars().count());
        assert_eq!(simplify("ＡＢＣ"), "abc");
    }
}

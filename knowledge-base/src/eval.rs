//! The evaluation harness: a query file (`query<TAB>expect_any<TAB>kind`)
//! scored as recall@1, recall@K and MRR, per kind and overall.

use std::collections::BTreeMap;
use std::path::Path;

use crate::entry::Entry;
use crate::error::KbError;
use crate::search::SearchIndex;

/// One line of a query file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// What the citizen said or typed.
    pub text: String,
    /// Phrases (or `id:XYZ`) any of which marks a correct result.
    pub expect_any: Vec<String>,
    /// Free label: typed, colloquial, homophone, traditional, ...
    pub kind: String,
}

/// Parses a query file's text. Lines starting with `#` and blank lines are skipped.
pub fn parse_queries(path: &Path, text: &str) -> Result<Vec<Query>, KbError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |reason: &str| KbError::Queries {
            path: path.to_path_buf(),
            line: i + 1,
            reason: reason.to_string(),
        };
        let mut parts = line.split('\t');
        let text = parts.next().unwrap_or("").trim();
        let expect = parts
            .next()
            .ok_or_else(|| bad("expected query<TAB>expect_any<TAB>kind"))?;
        let kind = parts.next().unwrap_or("").trim();
        if text.is_empty() {
            return Err(bad("empty query"));
        }
        let expect_any: Vec<String> = expect
            .split('|')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if expect_any.is_empty() {
            return Err(bad("empty expect_any"));
        }
        out.push(Query {
            text: text.to_string(),
            expect_any,
            kind: if kind.is_empty() {
                "all".into()
            } else {
                kind.to_string()
            },
        });
    }
    Ok(out)
}

/// Whether `e` satisfies `q`.
pub fn is_hit(q: &Query, e: &Entry) -> bool {
    q.expect_any.iter().any(|p| match p.strip_prefix("id:") {
        Some(id) => e.id == id,
        None => e.question.contains(p.as_str()),
    })
}

/// Scores for one group of queries.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scores {
    /// Number of queries.
    pub n: usize,
    /// Fraction with a correct entry first.
    pub recall_at_1: f64,
    /// Fraction with a correct entry in the top K.
    pub recall_at_k: f64,
    /// Mean reciprocal rank of the first correct entry within the top K.
    pub mrr: f64,
}

/// The result of an evaluation run.
#[derive(Debug, Clone)]
pub struct Report {
    /// K.
    pub k: usize,
    /// Scores per kind, and under `"overall"`.
    pub by_kind: BTreeMap<String, Scores>,
    /// Queries with no correct entry in the top K: (query, first result's question).
    pub misses: Vec<(Query, Option<String>)>,
}

impl Report {
    /// The overall scores.
    pub fn overall(&self) -> Scores {
        self.by_kind.get("overall").copied().unwrap_or_default()
    }
}

/// Runs `queries` against `index`, looking at the top `k`.
pub fn evaluate(index: &SearchIndex, queries: &[Query], k: usize) -> Report {
    #[derive(Default)]
    struct Acc {
        n: usize,
        r1: usize,
        rk: usize,
        rr: f64,
    }
    let mut acc: BTreeMap<String, Acc> = BTreeMap::new();
    let mut misses = Vec::new();
    for q in queries {
        let ranked = index.rank(&q.text, k);
        let rank = ranked
            .iter()
            .position(|&(d, _)| is_hit(q, &index.entries()[d]));
        for key in [q.kind.as_str(), "overall"] {
            let a = acc.entry(key.to_string()).or_default();
            a.n += 1;
            if rank == Some(0) {
                a.r1 += 1;
            }
            if let Some(r) = rank {
                a.rk += 1;
                a.rr += 1.0 / (r as f64 + 1.0);
            }
        }
        if rank.is_none() {
            let first = ranked
                .first()
                .map(|&(d, _)| index.entries()[d].question.clone());
            misses.push((q.clone(), first));
        }
    }
    let by_kind = acc
        .into_iter()
        .map(|(kind, a)| {
            let n = a.n.max(1) as f64;
            (
                kind,
                Scores {
                    n: a.n,
                    recall_at_1: a.r1 as f64 / n,
                    recall_at_k: a.rk as f64 / n,
                    mrr: a.rr / n,
                },
            )
        })
        .collect();
    Report { k, by_kind, misses }
}

/// The side-by-side text report of `kb eval`: per kind and overall, this
/// search and the plain baseline; the last line is exactly
/// `recall@K=0.xxx mrr=0.xxx n=N` for this search, overall.
pub fn format_comparison(full: &Report, baseline: &Report) -> String {
    use std::fmt::Write as _;
    let k = full.k;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<14} {:>5}  {:>9} {:>9} {:>7}   {:>9} {:>9} {:>7}",
        "kind",
        "n",
        "R@1",
        format!("R@{k}"),
        "MRR",
        "base R@1",
        format!("base R@{k}"),
        "base MRR"
    );
    let mut kinds: Vec<&String> = full.by_kind.keys().filter(|k| *k != "overall").collect();
    kinds.sort();
    let overall = "overall".to_string();
    kinds.push(&overall);
    for kind in kinds {
        let f = full.by_kind.get(kind).copied().unwrap_or_default();
        let b = baseline.by_kind.get(kind).copied().unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<14} {:>5}  {:>9.3} {:>9.3} {:>7.3}   {:>9.3} {:>9.3} {:>7.3}",
            kind, f.n, f.recall_at_1, f.recall_at_k, f.mrr, b.recall_at_1, b.recall_at_k, b.mrr
        );
    }
    let b = baseline.overall();
    let _ = writeln!(
        out,
        "baseline (segmented BM25, no normalisation/synonyms/pinyin): recall@{k}={:.3} mrr={:.3} n={}",
        b.recall_at_k, b.mrr, b.n
    );
    let f = full.overall();
    let _ = write!(
        out,
        "recall@{k}={:.3} mrr={:.3} n={}",
        f.recall_at_k, f.mrr, f.n
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_file_parses_comments_ids_and_kinds() {
        let q = parse_queries(
            Path::new("q.tsv"),
            "# comment\n\n公积金咋取\t提取住房公积金|id:A-1\thomophone\n医保\t医保\n",
        )
        .unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(q[0].expect_any, vec!["提取住房公积金", "id:A-1"]);
        assert_eq!(q[0].kind, "homophone");
        assert_eq!(q[1].kind, "all");
        let e = Entry {
            id: "A-1".into(),
            question: "别的".into(),
            ..Entry::default()
        };
        assert!(is_hit(&q[0], &e));
        assert!(!is_hit(&q[1], &e));
        let err = parse_queries(Path::new("q.tsv"), "只有问题\n").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}

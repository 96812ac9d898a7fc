//! Search on the built-in demo knowledge base: synonyms, speech-recognition
//! homophones and Traditional input find the entry a host needs.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, OnceLock};

use airbridge_kb::{Kb, SearchIndex, Stats};

/// The demo KB, seeded once into a temporary file; tests share its index.
fn demo() -> &'static (Arc<SearchIndex>, Stats) {
    static KB: OnceLock<(Arc<SearchIndex>, Stats)> = OnceLock::new();
    KB.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let kb = Kb::open_or_seed_demo(&dir.path().join("kb.db")).unwrap();
        (kb.searcher(), kb.stats())
    })
}

fn in_top(query: &str, k: usize, expect: &str) {
    let hits = demo().0.search(query, k);
    assert!(
        hits.iter().any(|h| h.question.contains(expect)),
        "{query:?}: expected {expect:?} in the top {k}, got {:?}",
        hits.iter().map(|h| &h.question).collect::<Vec<_>>()
    );
}

#[test]
fn the_default_demo_kb_is_big_enough() {
    let s = &demo().1;
    assert!(s.entries >= 1600, "{s:?}");
    assert!(s.domains >= 25, "{s:?}");
    assert!(s.departments >= 20, "{s:?}");
    assert_eq!(s.duplicate_questions, 0);
}

#[test]
fn synonyms() {
    in_top("驾照丢了怎么补", 3, "驾驶证遗失补领");
    in_top("医疗保险住院报销", 3, "住院费用零星报销");
    in_top("住房公基金贷款", 3, "住房公积金个人贷款申请");
}

#[test]
fn homophones_from_speech_recognition() {
    in_top("设保卡丢了", 3, "社会保障卡挂失补办");
    in_top("公鸡金退休提取", 3, "退休提取住房公积金");
    in_top("一地就医备案", 3, "异地就医备案");
}

#[test]
fn traditional_input() {
    in_top("護照遺失補發", 3, "护照遗失补发");
    in_top("異地就醫備案", 3, "异地就医备案");
}

#[test]
fn hits_carry_highlighted_snippets() {
    let hits = demo().0.search("异地就医备案要带什么材料", 3);
    assert!(hits[0].snippet.contains('【'), "{:?}", hits[0].snippet);
    assert!(!hits[0].department.is_empty());
}

#[test]
fn the_demo_kb_is_seeded_once_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("kb.db");
    let n = Kb::open_or_seed_demo(&p).unwrap().stats().entries;
    let again = Kb::open_or_seed_demo(&p).unwrap().stats().entries;
    assert_eq!(n, again);
    assert_eq!(Kb::open(&p).unwrap().stats().entries, n);
}

/// Questions of the top `k` hits.
fn top_questions(query: &str, k: usize) -> Vec<String> {
    demo()
        .0
        .search(query, k)
        .into_iter()
        .map(|h| h.question)
        .collect()
}

#[test]
fn screeners_type_pinyin_initials_without_an_input_method() {
    // 社保卡 is the synonym of the demo's 社会保障卡.
    in_top("sbk", 3, "社会保障卡");
    in_top("gjj", 3, "公积金");
    in_top("SBK", 3, "社会保障卡");
}

#[test]
fn screeners_type_full_pinyin_and_prefixes() {
    in_top("gongjijin", 3, "公积金");
    // Still typing: a prefix of the last word.
    in_top("gongji", 3, "公积金");
    in_top("shebao", 3, "社");
    in_top("yidijiuyi", 3, "异地就医");
    // Pinyin mixed with Chinese words narrows to the matter.
    in_top("gongjijin 退休", 3, "退休提取住房公积金");
    in_top("sbk guashi", 3, "社会保障卡挂失补办");
    // Words run together are split into typing keys.
    in_top("sbkbb", 3, "社会保障卡挂失补办");
    in_top("gongjijintiqu", 3, "提取住房公积金");
    for q in ["sbk", "gjj", "gongji"] {
        let hits = top_questions(q, 3);
        assert_eq!(hits.len(), 3, "{q}: {hits:?}");
    }
}

#[test]
fn letters_that_spell_nothing_find_nothing() {
    assert!(
        top_questions("zzzq", 5).is_empty(),
        "{:?}",
        top_questions("zzzq", 5)
    );
    assert!(top_questions("x", 5).is_empty());
}

#[test]
fn typing_keys_cost_little_memory() {
    let dir = tempfile::tempdir().unwrap();
    let kb = Kb::open_or_seed_demo(&dir.path().join("kb.db")).unwrap();
    let full = kb.index();
    let bytes = full.index_heap_bytes();
    let keys = full.typing_key_count();
    println!(
        "demo index: {} entries, {} terms, {keys} typing keys, {:.1} MiB heap",
        full.len(),
        full.term_count(),
        bytes as f64 / 1048576.0
    );
    assert!(keys > 1000, "{keys}");
    assert!(bytes < 8 << 20, "{bytes}");
}

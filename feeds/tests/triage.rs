#![allow(clippy::unwrap_used, clippy::print_stderr)]
//! Triage quality: the PII corpus (0 unmasked, false-positive rate), the
//! question scorer on a labelled set (precision/recall) and near-duplicate
//! clustering on labelled paraphrase groups (pairwise precision/recall).

use airbridge_feeds::pii::{self, contains_unmasked_number};
use airbridge_feeds::triage::{Clusterer, question_score};
use airbridge_feeds::{AudienceMessage, Hint, Triage, TriageConfig};
use airbridge_show::MessageKind;

/// Small deterministic generator (no dependency on a random source).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn digit(&mut self) -> u8 {
        self.below(10) as u8
    }
}

const CN: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
const CN_ALT: [char; 10] = ['〇', '幺', '两', '三', '四', '五', '六', '七', '八', '九'];

/// Spells a digit string in one of many ways.
fn spell(digits: &[u8], style: u64, groups: &[usize]) -> String {
    let plain = |d: u8, st: u64| -> char {
        match st {
            1 => char::from_u32('０' as u32 + u32::from(d)).unwrap(),
            2 => CN[usize::from(d)],
            3 => CN_ALT[usize::from(d)],
            _ => char::from(b'0' + d),
        }
    };
    let (char_style, sep) = match style % 12 {
        0 => (0, None),
        1 => (0, Some(' ')),
        2 => (0, Some('-')),
        3 => (1, None),
        4 => (1, Some('\u{3000}')),
        5 => (2, None),
        6 => (3, None),
        7 => (2, Some(' ')),
        8 => (0, Some('.')),
        9 => (1, Some('－')),
        10 => (4, None), // mixed
        _ => (0, Some('—')),
    };
    let mut out = String::new();
    let mut i = 0;
    for (gi, g) in groups.iter().enumerate() {
        if gi > 0
            && let Some(s) = sep
        {
            out.push(s);
        }
        for _ in 0..*g {
            if i >= digits.len() {
                break;
            }
            let st = if char_style == 4 {
                (i as u64) % 3
            } else {
                char_style
            };
            out.push(plain(digits[i], st));
            i += 1;
        }
    }
    while i < digits.len() {
        out.push(plain(
            digits[i],
            if char_style == 4 { 0 } else { char_style },
        ));
        i += 1;
    }
    out
}

fn digits_of(s: &str) -> String {
    s.chars()
        .filter_map(pii::digit_value)
        .map(|d| char::from(b'0' + d))
        .collect()
}

const TEMPLATES: [&str; 10] = [
    "我的电话是{}，社保卡丢了怎么补",
    "请回电{}谢谢",
    "身份证号{}，想查公积金",
    "{} 这是我的号码，医保怎么转",
    "主持人，我叫王小明，联系方式{}",
    "卡号{}的工资卡能绑社保吗",
    "麻烦打{}找我妈，她问退休金",
    "号码：{}。户口本丢了",
    "{}",
    "异地备案没通过，电话{}，急",
];

#[test]
fn pii_corpus_has_zero_unmasked_and_a_low_false_positive_rate() {
    let mut rng = Lcg(20_261_126);
    let mut total = 0;
    let mut leaked = Vec::new();
    for n in 0..1200u64 {
        let kind = n % 5;
        let (digits, groups): (Vec<u8>, Vec<usize>) = match kind {
            // mobile, 138-0000-xxxx style (synthetic)
            0 => {
                let second = [3u8, 5, 7, 8, 9][rng.below(5) as usize];
                let mut d = vec![1, second, rng.digit(), 0, 0, 0, 0];
                d.extend((0..4).map(|_| rng.digit()));
                (d, vec![3, 4, 4])
            }
            // 18-digit ID (synthetic region 110105, year 19xx/20xx)
            1 => {
                let mut d = vec![1, 1, 0, 1, 0, 5, 1, 9];
                d.extend((0..10).map(|_| rng.digit()));
                (d, vec![6, 8, 4])
            }
            // bank card 16–19 digits starting 62
            2 => {
                let len = 16 + rng.below(4) as usize;
                let mut d = vec![6, 2];
                d.extend((2..len).map(|_| rng.digit()));
                (d, vec![4, 4, 4, 4, 4])
            }
            // landline 0xxx-xxxxxxx
            3 => {
                let mut d = vec![0, 7, 3, 0];
                d.extend((0..7).map(|_| 1 + rng.digit() % 9));
                (d, vec![4, 7])
            }
            // mobile with +86
            _ => {
                let mut d = vec![8, 6, 1, 3, 9, 0, 0, 0, 0];
                d.extend((0..4).map(|_| rng.digit()));
                (d, vec![2, 3, 4, 4])
            }
        };
        let style = rng.below(12);
        let mut number = spell(&digits, style, &groups);
        if kind == 1 && rng.below(4) == 0 {
            // check digit X
            number.pop();
            number.push(if rng.below(2) == 0 { 'X' } else { 'x' });
        }
        if kind == 4 {
            number.insert(0, '+');
        }
        let template = TEMPLATES[rng.below(TEMPLATES.len() as u64) as usize];
        let text = template.replace("{}", &number);
        let masked = pii::mask_text(&text);
        total += 1;
        let original: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
        let body = if kind == 4 {
            &original[2..]
        } else {
            &original[..]
        };
        if contains_unmasked_number(&masked) || digits_of(&masked).contains(body) {
            leaked.push((text, masked));
        }
    }
    eprintln!("PII corpus: {total} strings, {} unmasked", leaked.len());
    for (t, m) in leaked.iter().take(10) {
        eprintln!("  LEAK {t} -> {m}");
    }
    assert!(total >= 1000);
    assert!(leaked.is_empty());

    // false positives: numbers that are not personal data must stay
    let benign_templates = [
        "2024-0{}-1{} 那天去的",
        "交了{}000元社保",
        "打12345热线问过了",
        "第{}个工作日到账",
        "{}点半开门吗",
        "2025年{}月退休",
        "房号{}0{}室",
        "一个月能取{}千",
        "排了{}{}号",
        "2023.{}.2{}办的",
        "三个月前交的",
        "去年一二月份",
        "邮编41{}000",
        "办了{}{}{}天",
        "第一次来",
    ];
    let mut fp = 0;
    let mut benign_total = 0;
    for n in 0..600u64 {
        let t = benign_templates[(n % benign_templates.len() as u64) as usize];
        let mut s = String::new();
        for part in t.split("{}").enumerate() {
            if part.0 > 0 {
                s.push(char::from(b'1' + (rng.below(8) as u8)));
            }
            s.push_str(part.1);
        }
        benign_total += 1;
        if pii::mask_text(&s) != s {
            fp += 1;
            if fp <= 5 {
                eprintln!("  FALSE POSITIVE {s} -> {}", pii::mask_text(&s));
            }
        }
    }
    let rate = fp as f64 / benign_total as f64;
    eprintln!(
        "PII false positives: {fp}/{benign_total} = {:.1}%",
        rate * 100.0
    );
    assert!(rate < 0.05);
}

fn labelled() -> Vec<(bool, String)> {
    include_str!("fixtures/labelled.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (label, text) = l.split_once('\t').unwrap();
            (label == "q", text.to_owned())
        })
        .collect()
}

#[test]
fn question_scorer_precision_and_recall_on_the_labelled_set() {
    let triage = Triage::new(TriageConfig::default());
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    let set = labelled();
    for (is_q, text) in &set {
        let (kind, _) = triage.classify(&Hint::Text, text);
        let predicted = kind == MessageKind::Question;
        match (predicted, *is_q) {
            (true, true) => tp += 1,
            (true, false) => {
                fp += 1;
                eprintln!("  false question: {text} ({:.1})", question_score(text));
            }
            (false, true) => {
                fn_ += 1;
                eprintln!("  missed question: {text} ({:.1})", question_score(text));
            }
            _ => {}
        }
    }
    let precision = tp as f64 / (tp + fp) as f64;
    let recall = tp as f64 / (tp + fn_) as f64;
    eprintln!(
        "question scorer on {} labelled messages: precision {:.3}, recall {:.3}",
        set.len(),
        precision,
        recall
    );
    assert!(set.len() >= 150);
    assert!(precision >= 0.9, "precision {precision}");
    assert!(recall >= 0.9, "recall {recall}");
}

#[test]
fn clustering_pairwise_precision_and_recall_on_paraphrase_groups() {
    let groups: Vec<Vec<String>> = include_str!("fixtures/clusters.txt")
        .split("\n\n")
        .map(|g| {
            g.lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .filter(|g| !g.is_empty())
        .collect();
    let mut c = Clusterer::new(1, TriageConfig::default().cluster_jaccard, 1000, 3);
    let mut assigned = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        for q in g {
            let (id, _) = c.add(q);
            assigned.push((gi, id, q.clone()));
        }
    }
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    for i in 0..assigned.len() {
        for j in i + 1..assigned.len() {
            let same_truth = assigned[i].0 == assigned[j].0;
            let same_pred = assigned[i].1 == assigned[j].1;
            match (same_pred, same_truth) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, true) => fn_ += 1,
                _ => {}
            }
        }
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fn_).max(1) as f64;
    eprintln!(
        "clustering {} questions in {} groups -> {} clusters: pairwise precision {:.3}, recall {:.3}",
        assigned.len(),
        groups.len(),
        c.len(),
        precision,
        recall
    );
    for (gi, id, q) in &assigned {
        eprintln!("  group {gi} cluster {id}: {q}");
    }
    assert!(precision >= 0.95, "precision {precision}");
    assert!(recall >= 0.7, "recall {recall}");
}

#[test]
fn triage_masks_before_anything_leaves_and_counts_clusters() {
    let mut t = Triage::new(TriageConfig::default());
    let a = t.triage(&AudienceMessage::text(
        "sms",
        "1",
        "13800001234",
        "我叫李四，电话138 0000 1234，公积金怎么提取？",
        0,
    ));
    assert_eq!(a.kind, MessageKind::Question);
    assert!(!a.text.contains("0000 1234"), "{}", a.text);
    assert!(a.text.contains("李**"), "{}", a.text);
    assert_eq!(a.author, "138****1234");
    let b = t.triage(&AudienceMessage::text(
        "douyin",
        "2",
        "观众",
        "公积金如何提取",
        0,
    ));
    assert_eq!(b.cluster, a.cluster);
    assert_eq!(b.cluster_count, 2);
    let s = t.triage(&AudienceMessage::text(
        "douyin",
        "3",
        "x",
        "加微信办社保卡，价格优惠",
        0,
    ));
    assert!(s.spam);
    assert_eq!(s.cluster, None);
    let summary = t.clusters().summary(a.cluster.unwrap()).unwrap();
    assert_eq!(summary.count, 2);
    assert_eq!(summary.examples.len(), 2);
}

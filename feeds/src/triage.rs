//! Triage: classify (question / chatter / gift / like / system), filter spam
//! and profanity, mask personal data, and group near-duplicate questions.
//!
//! Synchronous and deterministic, so the console can call it directly and
//! tests and the replay see exactly what a live show sees.

use std::collections::HashMap;

use airbridge_show::MessageKind;
use serde::{Deserialize, Serialize};

use crate::model::{AudienceMessage, Hint};
use crate::pii::{self, MaskReport};

/// Triage settings (word lists are configurable per station).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TriageConfig {
    /// A message containing any of these is spam: dropped from host views
    /// (counted, kept in the back-office store).
    pub spam_words: Vec<String>,
    /// Replaced by `*` in every view.
    pub profanity_words: Vec<String>,
    /// Score at or above which a text message is a question.
    pub question_threshold: f32,
    /// Jaccard similarity (char bigrams of the normalised text) to join a cluster.
    pub cluster_jaccard: f32,
    /// Most clusters kept; the least recently active is forgotten first.
    pub max_clusters: usize,
    /// Examples kept per cluster.
    pub examples_per_cluster: usize,
}

impl Default for TriageConfig {
    fn default() -> Self {
        Self {
            spam_words: [
                "加微信",
                "加v",
                "加V",
                "加我微信",
                "私聊我",
                "代办证件",
                "刷单",
                "兼职日结",
                "免费领取",
                "点击链接",
                "http://",
                "https://",
                "贷款秒批",
                "办证",
            ]
            .map(String::from)
            .to_vec(),
            profanity_words: ["傻逼", "妈的", "他妈", "滚蛋", "垃圾东西", "草泥马", "尼玛"]
                .map(String::from)
                .to_vec(),
            question_threshold: 1.5,
            cluster_jaccard: 0.5,
            max_clusters: 2048,
            examples_per_cluster: 3,
        }
    }
}

/// What triage decided about one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub kind: MessageKind,
    /// Masked (personal data, profanity): safe for host and air views.
    pub text: String,
    /// Masked author name.
    pub author: String,
    /// Near-duplicate group of a question.
    pub cluster: Option<u64>,
    /// Size of that group including this message.
    pub cluster_count: u32,
    /// Spam: not shown to the host.
    pub spam: bool,
    pub mask: MaskReport,
    /// The question score (text messages only).
    pub score: f32,
}

/// A group of near-duplicate questions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterSummary {
    pub id: u64,
    pub count: u32,
    /// Masked examples, first one first.
    pub examples: Vec<String>,
}

// ---------------------------------------------------------------- scorer

const QUESTION_CUES: &[(&str, f32)] = &[
    ("？", 2.0),
    ("?", 2.0),
    ("请问", 2.0),
    ("想问", 2.0),
    ("问一下", 2.0),
    ("问下", 1.5),
    ("咨询", 1.5),
    ("怎么", 1.5),
    ("如何", 1.5),
    ("怎样", 1.2),
    ("咋", 1.2),
    ("哪里", 1.5),
    ("哪儿", 1.5),
    ("在哪", 1.5),
    ("哪个", 1.2),
    ("哪些", 1.2),
    ("什么", 1.0),
    ("多少", 1.2),
    ("多久", 1.2),
    ("几天", 1.0),
    ("几个", 0.8),
    ("能不能", 1.5),
    ("能否", 1.5),
    ("可不可以", 1.5),
    ("可以吗", 1.5),
    ("是否", 1.2),
    ("要不要", 1.2),
    ("需不需要", 1.2),
    ("有没有", 1.0),
    ("为什么", 1.2),
    ("为啥", 1.2),
    ("吗", 1.0),
    ("么", 0.5),
    ("呢", 0.5),
    ("求助", 1.5),
    ("帮忙看", 1.2),
];

const TOPIC_WORDS: &[&str] = &[
    "社保",
    "医保",
    "公积金",
    "户口",
    "户籍",
    "身份证",
    "不动产",
    "房产证",
    "营业执照",
    "退休",
    "养老",
    "失业",
    "工伤",
    "生育",
    "报销",
    "备案",
    "提取",
    "补办",
    "补领",
    "办理",
    "材料",
    "窗口",
    "预约",
    "缴费",
    "贷款",
    "过户",
    "落户",
    "证明",
    "驾驶证",
    "护照",
    "低保",
    "残疾",
    "入学",
    "个税",
    "发票",
    "执照",
    "社保卡",
    "医保卡",
    "异地",
    "转移",
    "挂失",
    "换领",
    "审批",
    "申领",
    "申请",
    "补贴",
    "津贴",
    "养老金",
    "抵押",
    "迁",
];

const CHATTER_CUES: &[(&str, f32)] = &[
    ("哈哈", -1.5),
    ("主持人好", -1.0),
    ("大家好", -1.0),
    ("来了", -1.0),
    ("666", -2.0),
    ("支持", -1.0),
    ("加油", -1.0),
    ("点赞", -1.0),
    ("好听", -1.0),
    ("晚上好", -1.0),
    ("早上好", -1.0),
    ("中午好", -1.0),
    ("关注", -0.8),
    ("厉害", -1.0),
    ("辛苦了", -1.0),
    ("签到", -1.5),
    ("打卡", -1.5),
    ("讲得好", -1.0),
    ("说得好", -1.0),
    ("谢谢", -0.5),
    ("感谢", -0.5),
    ("解决了", -1.0),
    ("办好了", -1.0),
    ("赞", -0.5),
];

/// The hand-tuned question score of a text (see the labelled set in
/// `tests/fixtures/labelled.tsv` and `tests/triage.rs` for precision/recall).
pub fn question_score(text: &str) -> f32 {
    let mut score = 0.0f32;
    let mut cue_score = 0.0f32;
    for (cue, w) in QUESTION_CUES {
        if text.contains(cue) {
            cue_score += w;
        }
    }
    score += cue_score.min(4.0);
    let topics = TOPIC_WORDS.iter().filter(|t| text.contains(*t)).count() as f32;
    score += (topics * 0.8).min(2.0);
    for (cue, w) in CHATTER_CUES {
        if text.contains(cue) {
            score += w;
        }
    }
    let len = text.chars().filter(|c| !c.is_whitespace()).count();
    if len < 4 {
        score -= 1.5;
    } else if len >= 8 {
        score += 0.3;
    }
    score
}

// ------------------------------------------------------------ clustering

const FILLERS: &[&str] = &[
    "请问一下",
    "请问",
    "问一下",
    "想问下",
    "想问",
    "问下",
    "咨询一下",
    "咨询",
    "你好",
    "您好",
    "主持人",
    "老师",
    "一下",
    "谢谢",
    "麻烦",
    "我想",
    "我要",
    "我们",
    "我家",
    "应该",
    "怎么样",
    "怎么",
    "如何",
    "怎样",
    "咋",
    "在哪里",
    "在哪儿",
    "在哪",
    "哪里",
    "哪儿",
    "可以",
    "能不能",
    "能否",
    "是否",
    "需要",
    "要不要",
    "现在",
    "这个",
    "那个",
    "呢",
    "吗",
    "啊",
    "呀",
    "吧",
    "嘛",
    "哈",
    "的",
    "了",
    "我",
    "去",
    "办理",
    "办",
    "要",
    "带",
    "丢",
    "出来",
];

const SYNONYMS: &[(&str, &str)] = &[
    ("提取", "取"),
    ("领取", "取"),
    ("补办", "补"),
    ("补领", "补"),
    ("补卡", "补卡"),
    ("丢失", "丢"),
    ("遗失", "丢"),
    ("丢了", "丢"),
    ("户口本", "户口簿"),
    ("房本", "房产证"),
    ("不动产权证书", "房产证"),
    ("医疗保险", "医保"),
    ("社会保障卡", "社保卡"),
    ("住房公积金", "公积金"),
    ("辞职", "离职"),
    ("异地就医", "异地医"),
    ("看病", "就医"),
    ("外地", "异地"),
    ("新生儿", "小孩"),
    ("孩子", "小孩"),
    ("上户口", "落户"),
    ("养老金", "退休金"),
    ("几号", "什么时候"),
    ("几天", "多久"),
    ("发放", "发"),
    ("哪些", "什么"),
    ("税费", "税"),
];

/// The normalised form used for near-duplicate detection: half-width,
/// lower case, no punctuation, fillers and question words removed,
/// common synonyms unified.
pub fn normalise_for_cluster(text: &str) -> String {
    let mut s: String = text
        .chars()
        .filter_map(|c| {
            let c = match c {
                '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
                _ => c,
            };
            if c.is_alphanumeric() {
                Some(c.to_lowercase().next().unwrap_or(c))
            } else {
                None
            }
        })
        .collect();
    for (from, to) in SYNONYMS {
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    for f in FILLERS {
        if s.contains(f) {
            s = s.replace(f, "");
        }
    }
    s
}

/// Features of a normalised text: its characters and its character bigrams
/// (characters make word-order changes match; bigrams keep precision).
fn bigrams(norm: &str) -> Vec<u64> {
    let chars: Vec<char> = norm.chars().collect();
    let mut out: Vec<u64> = chars.iter().map(|&c| u64::from(u32::from(c))).collect();
    out.extend(
        chars
            .windows(2)
            .map(|w| (u64::from(u32::from(w[0])) << 32) | u64::from(u32::from(w[1]))),
    );
    out.sort_unstable();
    out.dedup();
    out
}

fn jaccard(a: &[u64], b: &[u64]) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - inter;
    let jac = inter as f32 / union as f32;
    let overlap = inter as f32 / a.len().min(b.len()) as f32;
    // a short question fully contained in a longer one counts as the same
    if overlap >= 0.99 && a.len().min(b.len()) >= 5 {
        jac.max(0.6)
    } else {
        jac
    }
}

#[derive(Debug)]
struct Cluster {
    rep: Vec<u64>,
    count: u32,
    examples: Vec<String>,
    touched: u64,
}

/// Near-duplicate grouping with an inverted index (bigram → clusters), so a
/// question is compared only with clusters sharing at least one bigram.
/// Memory is bounded by `max_clusters`.
#[derive(Debug)]
pub struct Clusterer {
    next_id: u64,
    clusters: HashMap<u64, Cluster>,
    index: HashMap<u64, Vec<u64>>,
    clock: u64,
    threshold: f32,
    max_clusters: usize,
    examples: usize,
}

impl Clusterer {
    pub fn new(first_id: u64, threshold: f32, max_clusters: usize, examples: usize) -> Self {
        Self {
            next_id: first_id.max(1),
            clusters: HashMap::new(),
            index: HashMap::new(),
            clock: 0,
            threshold,
            max_clusters: max_clusters.max(1),
            examples,
        }
    }

    /// Adds a question (masked text); returns its cluster id and the count.
    pub fn add(&mut self, masked_text: &str) -> (u64, u32) {
        self.clock += 1;
        let grams = bigrams(&normalise_for_cluster(masked_text));
        let mut seen: Vec<u64> = Vec::new();
        let mut best: Option<(u64, f32)> = None;
        for g in &grams {
            if let Some(ids) = self.index.get(g) {
                for &id in ids {
                    if seen.contains(&id) {
                        continue;
                    }
                    seen.push(id);
                    if let Some(c) = self.clusters.get(&id) {
                        let sim = jaccard(&grams, &c.rep);
                        if sim >= self.threshold && best.is_none_or(|(_, b)| sim > b) {
                            best = Some((id, sim));
                        }
                    }
                }
            }
        }
        if let Some((id, _)) = best
            && let Some(c) = self.clusters.get_mut(&id)
        {
            c.count += 1;
            c.touched = self.clock;
            if c.examples.len() < self.examples && !c.examples.iter().any(|e| e == masked_text) {
                c.examples.push(masked_text.to_owned());
            }
            return (id, c.count);
        }
        if self.clusters.len() >= self.max_clusters {
            self.evict_oldest();
        }
        let id = self.next_id;
        self.next_id += 1;
        for g in &grams {
            self.index.entry(*g).or_default().push(id);
        }
        self.clusters.insert(
            id,
            Cluster {
                rep: grams,
                count: 1,
                examples: vec![masked_text.to_owned()],
                touched: self.clock,
            },
        );
        (id, 1)
    }

    fn evict_oldest(&mut self) {
        let Some(oldest) = self
            .clusters
            .iter()
            .min_by_key(|(_, c)| c.touched)
            .map(|(id, _)| *id)
        else {
            return;
        };
        if let Some(c) = self.clusters.remove(&oldest) {
            for g in &c.rep {
                if let Some(ids) = self.index.get_mut(g) {
                    ids.retain(|&x| x != oldest);
                    if ids.is_empty() {
                        self.index.remove(g);
                    }
                }
            }
        }
    }

    /// A cluster's count and examples (if still remembered).
    pub fn summary(&self, id: u64) -> Option<ClusterSummary> {
        self.clusters.get(&id).map(|c| ClusterSummary {
            id,
            count: c.count,
            examples: c.examples.clone(),
        })
    }

    /// The biggest clusters first.
    pub fn top(&self, n: usize) -> Vec<ClusterSummary> {
        let mut all: Vec<ClusterSummary> = self
            .clusters
            .iter()
            .map(|(id, c)| ClusterSummary {
                id: *id,
                count: c.count,
                examples: c.examples.clone(),
            })
            .collect();
        all.sort_by(|a, b| b.count.cmp(&a.count).then(a.id.cmp(&b.id)));
        all.truncate(n);
        all
    }

    pub fn len(&self) -> usize {
        self.clusters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }
}

// ---------------------------------------------------------------- triage

/// The triage stage: one per pipeline (it keeps the clusters).
#[derive(Debug)]
pub struct Triage {
    config: TriageConfig,
    clusters: Clusterer,
}

impl Triage {
    pub fn new(config: TriageConfig) -> Self {
        Self::with_first_cluster_id(config, 1)
    }

    /// Cluster ids start at `first_id` (pick a fresh base per run so ids
    /// never collide with an earlier run's in the same journal).
    pub fn with_first_cluster_id(config: TriageConfig, first_id: u64) -> Self {
        let clusters = Clusterer::new(
            first_id,
            config.cluster_jaccard,
            config.max_clusters,
            config.examples_per_cluster,
        );
        Self { config, clusters }
    }

    pub fn config(&self) -> &TriageConfig {
        &self.config
    }

    /// Whether the text contains a configured spam word.
    pub fn is_spam(&self, text: &str) -> bool {
        self.config
            .spam_words
            .iter()
            .any(|w| !w.is_empty() && text.contains(w.as_str()))
    }

    /// Replaces configured profanity with `*`.
    pub fn mask_profanity(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for w in &self.config.profanity_words {
            if !w.is_empty() && out.contains(w.as_str()) {
                out = out.replace(w.as_str(), &"*".repeat(w.chars().count()));
            }
        }
        out
    }

    /// The kind of a message, from the platform's hint and, for text, the score.
    pub fn classify(&self, hint: &Hint, text: &str) -> (MessageKind, f32) {
        match hint {
            Hint::Gift { .. } => (MessageKind::Gift, 0.0),
            Hint::Like { .. } => (MessageKind::Like, 0.0),
            Hint::Event { .. } => (MessageKind::System, 0.0),
            Hint::Media { .. } if text.trim().is_empty() => (MessageKind::Chatter, 0.0),
            Hint::Text | Hint::Media { .. } => {
                let s = question_score(text);
                let kind = if s >= self.config.question_threshold {
                    MessageKind::Question
                } else {
                    MessageKind::Chatter
                };
                (kind, s)
            }
        }
    }

    /// Triage one message: mask, classify, filter, cluster.
    pub fn triage(&mut self, msg: &AudienceMessage) -> Verdict {
        let (masked, mask) = pii::mask(&msg.text);
        let text = self.mask_profanity(&masked);
        let author = self.mask_profanity(&pii::mask_text(&msg.author));
        let spam = self.is_spam(&msg.text);
        let (kind, score) = self.classify(&msg.hint, &msg.text);
        // platform test data never joins or starts a cluster of real questions
        let (cluster, cluster_count) = if kind == MessageKind::Question && !spam && !msg.test {
            let (id, n) = self.clusters.add(&text);
            (Some(id), n)
        } else {
            (None, 0)
        };
        Verdict {
            kind,
            text: display_text(&msg.hint, text),
            author,
            cluster,
            cluster_count,
            spam,
            mask,
            score,
        }
    }

    pub fn clusters(&self) -> &Clusterer {
        &self.clusters
    }
}

/// Text for gifts/likes/events that carry none.
fn display_text(hint: &Hint, text: String) -> String {
    if !text.is_empty() {
        return text;
    }
    match hint {
        Hint::Gift { name, count, .. } => format!("送出 {name} ×{count}"),
        Hint::Like { count } => format!("点赞 ×{count}"),
        Hint::Event { name } => format!("[{name}]"),
        Hint::Media { kind } => format!("[{kind}]"),
        Hint::Text => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paraphrases_share_a_cluster() {
        let mut c = Clusterer::new(1, 0.5, 100, 3);
        let (a, _) = c.add("请问公积金怎么提取？");
        let (b, _) = c.add("公积金如何提取啊");
        let (d, n) = c.add("主持人你好，我想问下住房公积金怎么取");
        let (e, _) = c.add("身份证丢了在哪里补办");
        assert_eq!(a, b);
        assert_eq!(a, d);
        assert_eq!(n, 3);
        assert_ne!(a, e);
    }

    #[test]
    fn eviction_keeps_memory_bounded() {
        let mut c = Clusterer::new(1, 0.5, 10, 3);
        for i in 0..100 {
            c.add(&format!("问题编号{i}号窗口在哪里第{i}"));
        }
        assert!(c.len() <= 10);
        assert!(
            c.index
                .values()
                .all(|ids| ids.iter().all(|id| c.clusters.contains_key(id)))
        );
    }

    #[test]
    fn spam_and_profanity() {
        let t = Triage::new(TriageConfig::default());
        assert!(t.is_spam("加微信领补贴"));
        assert_eq!(t.mask_profanity("你妈的"), "你**");
    }
}

//! The knowledge-base entry (知识条目).

use serde::{Deserialize, Serialize};

/// Whether an entry is shown to hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// In use.
    #[default]
    Active,
    /// Kept for the record, never returned by search.
    Retired,
}

impl Status {
    /// Parses `active`/`retired` and the usual Chinese words for them.
    pub fn parse(s: &str) -> Option<Status> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "active" | "有效" | "启用" | "啟用" | "正常" | "在用" => {
                Some(Status::Active)
            }
            "retired" | "inactive" | "失效" | "停用" | "废止" | "廢止" | "已下线" => {
                Some(Status::Retired)
            }
            _ => None,
        }
    }

    /// `active` or `retired`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Retired => "retired",
        }
    }
}

/// One question and its answer, with where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Entry {
    /// Stable id, kept from import.
    pub id: String,
    /// The standard question (标准问题).
    pub question: String,
    /// Other ways people ask it (相似问法).
    pub alternatives: Vec<String>,
    /// The answer read on air (may be long).
    pub answer: String,
    /// Responsible department (name as the station writes it).
    pub department: String,
    /// Domain (领域), e.g. 公积金.
    pub domain: String,
    /// Service matter (事项), e.g. 退休提取住房公积金.
    pub category: String,
    /// Region it applies to.
    pub region: String,
    /// Free tags.
    pub tags: Vec<String>,
    /// Where the answer comes from (policy document, department reply).
    pub source: String,
    /// Effective from (YYYY-MM-DD).
    pub effective: Option<String>,
    /// Expires on (YYYY-MM-DD).
    pub expiry: Option<String>,
    /// Last reviewed (YYYY-MM-DD).
    pub reviewed: Option<String>,
    /// Active or retired.
    pub status: Status,
    /// In a knowledge base shared by several stations (1+5+N): the code of
    /// the station this entry is local to, or empty for an entry shared by
    /// every station. A station on its own leaves it empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub station: String,
}

impl Entry {
    /// The domain, or the category when no domain was given.
    pub fn domain_or_category(&self) -> &str {
        if self.domain.is_empty() {
            &self.category
        } else {
            &self.domain
        }
    }
}

/// Splits a policy answer into its body and the list of materials it names
/// (所需材料：A、B、C。): the host reads the list at a glance, a 办事攻略
/// guide prints it as a checklist.
pub fn answer_parts(answer: &str) -> (String, Vec<String>) {
    for marker in [
        "所需材料：",
        "所需材料:",
        "需要准备：",
        "需提供：",
        "需要材料：",
        "材料：",
    ] {
        if let Some(start) = answer.find(marker) {
            let rest = &answer[start + marker.len()..];
            let end = rest.find(['。', '\n']).unwrap_or(rest.len());
            let items: Vec<String> = rest[..end]
                .split(['、', '；', ';', '，', ','])
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            if !items.is_empty() {
                let mut body = answer[..start].trim_end().to_owned();
                let after = rest[end..].trim_start_matches(['。', '\n']).trim();
                if !after.is_empty() {
                    body.push_str(after);
                }
                return (body, items);
            }
        }
    }
    (answer.to_owned(), Vec::new())
}

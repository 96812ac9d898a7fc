//! The built-in demo knowledge base (示例市政务服务知识库).
//!
//! DEMO CONTENT: a fictional city. It is generated from structured facts
//! (`demo/facts.txt`, compiled in): each service matter × each aspect
//! (materials, conditions, where, online, time limit, fee, process, proxy,
//! progress, hotline, non-local applicants, appointment, result, rejections)
//! becomes one entry, so answers are specific and consistent with each other.
//! A station replaces it with its own knowledge base.

use std::collections::{HashMap, HashSet};

use crate::entry::{Entry, Status};
use crate::error::KbError;

/// The facts file.
pub const FACTS: &str = include_str!("../demo/facts.txt");
/// The demo station's department directory (names by id).
pub const DEPARTMENTS: &str = include_str!("../../configs/departments.toml");

/// Marks every demo entry.
pub const DEMO_SOURCE: &str = "示例数据（演示用，虚构城市“示例市”；电台请用本地知识库替换）";

struct Dept {
    name: String,
    short: String,
    place: String,
    online: String,
    ext: String,
}

struct Matter<'a> {
    domain: &'a str,
    dept: &'a str,
    name: &'a str,
    aliases: Vec<&'a str>,
    conditions: &'a str,
    materials: Vec<&'a str>,
    time: &'a str,
    fee: &'a str,
    proxy: &'a str,
    result: &'a str,
    local_only: bool,
}

#[derive(serde::Deserialize)]
struct DeptFile {
    department: Vec<DeptRow>,
}

#[derive(serde::Deserialize)]
struct DeptRow {
    id: String,
    name: String,
    short_name: String,
}

/// The 14 aspects: code, question template, colloquial tail for alternatives.
const ASPECTS: [(&str, &str, &str); 14] = [
    ("cl", "{m}需要准备哪些材料？", "要带什么材料"),
    ("tj", "{m}需要满足什么条件？", "有什么条件"),
    ("dd", "{m}在哪里办理？", "去哪个窗口办"),
    ("wb", "{m}可以网上办理吗？", "能不能在手机上办"),
    ("sx", "{m}多久能办好？", "要多长时间"),
    ("sf", "办理{m}收费吗？", "要交多少钱"),
    ("lc", "{m}的办理流程是什么？", "怎么办理"),
    ("db", "{m}可以委托别人代办吗？", "能让家里人帮忙办吗"),
    ("jd", "{m}提交后怎么查询办理进度？", "办到哪一步了怎么查"),
    ("dh", "{m}有问题打什么电话咨询？", "咨询电话是多少"),
    ("wd", "外地户籍可以在示例市办理{m}吗？", "外地人能不能办"),
    ("yy", "办理{m}需要提前预约吗？", "要不要预约"),
    ("jg", "{m}办好后怎么领取结果？", "办好了怎么拿"),
    ("th", "{m}申请被退回一般是什么原因？", "为什么被退回"),
];

fn bad(line: usize, reason: &str) -> KbError {
    KbError::Demo(format!("demo/facts.txt line {line}: {reason}"))
}

/// Every demo entry, generated from the facts.
pub fn entries() -> Result<Vec<Entry>, KbError> {
    let dept_file: DeptFile =
        toml::from_str(DEPARTMENTS).map_err(|e| KbError::Demo(format!("departments.toml: {e}")))?;
    let names: HashMap<String, (String, String)> = dept_file
        .department
        .into_iter()
        .map(|d| (d.id, (d.name, d.short_name)))
        .collect();
    let mut depts: HashMap<&str, Dept> = HashMap::new();
    let mut matters = Vec::new();
    for (i, line) in FACTS.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("@dept ") {
            let f: Vec<&str> = rest.split('|').collect();
            let [id, place, online, ext] = f[..] else {
                return Err(bad(n, "@dept needs 4 fields"));
            };
            let (name, short) = names
                .get(id)
                .ok_or_else(|| bad(n, &format!("department {id:?} not in departments.toml")))?;
            depts.insert(
                id,
                Dept {
                    name: name.clone(),
                    short: short.clone(),
                    place: place.into(),
                    online: online.into(),
                    ext: ext.into(),
                },
            );
            continue;
        }
        let f: Vec<&str> = line.split('|').collect();
        let [
            domain,
            dept,
            name,
            aliases,
            conditions,
            materials,
            time,
            fee,
            proxy,
            result,
            scope,
        ] = f[..]
        else {
            return Err(bad(n, &format!("expected 11 fields, found {}", f.len())));
        };
        if !depts.contains_key(dept) {
            return Err(bad(n, &format!("unknown department {dept:?}")));
        }
        matters.push(Matter {
            domain,
            dept,
            name,
            aliases: aliases.split('、').filter(|a| !a.is_empty()).collect(),
            conditions,
            materials: materials.split('、').collect(),
            time,
            fee,
            proxy,
            result,
            local_only: match scope {
                "A" => false,
                "L" => true,
                _ => return Err(bad(n, "scope must be A or L")),
            },
        });
    }
    let mut out = Vec::with_capacity(matters.len() * ASPECTS.len());
    let mut seen = HashSet::new();
    for (mi, m) in matters.iter().enumerate() {
        let d = depts
            .get(m.dept)
            .ok_or_else(|| KbError::Demo(format!("unknown department {}", m.dept)))?;
        for (code, q, tail) in ASPECTS {
            let question = q.replace("{m}", m.name);
            if !seen.insert(question.clone()) {
                return Err(KbError::Demo(format!("duplicate question {question}")));
            }
            let alternatives = m.aliases.iter().map(|a| format!("{a}{tail}")).collect();
            out.push(Entry {
                id: format!("demo-{}-{:03}-{code}", m.dept, mi + 1),
                question,
                alternatives,
                answer: answer(code, m, d),
                department: d.name.clone(),
                domain: m.domain.to_string(),
                category: m.name.to_string(),
                region: "示例市".into(),
                tags: vec!["示例数据".into(), m.domain.to_string()],
                source: DEMO_SOURCE.into(),
                effective: Some("2025-01-01".into()),
                expiry: None,
                reviewed: Some("2025-10-15".into()),
                status: Status::Active,
                station: String::new(),
            });
        }
    }
    Ok(out)
}

fn proxy_text(m: &Matter<'_>) -> String {
    match m.proxy {
        "Y" => format!(
            "可以委托他人代办{}。代办人需携带授权委托书、委托人和代办人的身份证原件。",
            m.name
        ),
        "N" => format!(
            "{}需要申请人本人办理（现场或线上刷脸核验身份），不能委托他人代办。",
            m.name
        ),
        "F" => format!(
            "{}可以由配偶、父母、子女等近亲属代办，代办人需携带亲属关系证明（如户口簿、结婚证）和本人身份证。",
            m.name
        ),
        other => format!("{}：{other}。", m.name),
    }
}

fn result_text(m: &Matter<'_>, d: &Dept) -> String {
    match m.result {
        "S" => "材料齐全、符合条件的当场办结，当场领取办理结果。".to_string(),
        "M" => format!(
            "办结后可选择免费邮寄到家，也可凭受理回执到{}领取。",
            d.place
        ),
        "E" => format!(
            "办理结果以电子证照或电子凭证形式发送，可在{}下载、打印，与纸质结果同等有效。",
            d.online
        ),
        "D" => "审核通过后，待遇或款项直接发放到本人社会保障卡银行账户，并短信通知。".to_string(),
        other => format!("{other}。"),
    }
}

fn answer(code: &str, m: &Matter<'_>, d: &Dept) -> String {
    let mats = m.materials.join("、");
    let first2 = m
        .materials
        .iter()
        .take(2)
        .copied()
        .collect::<Vec<_>>()
        .join("、");
    let hotline = format!("12345政务服务便民热线转{}（{}专线）", d.ext, d.short);
    let body = match code {
        "cl" => format!(
            "办理{}需要准备：{mats}。以上材料请带原件；材料是否齐全可先通过{}咨询预审，避免来回跑。",
            m.name, d.online
        ),
        "tj" => format!("{}的办理条件：{}。", m.name, m.conditions),
        "dd" => format!(
            "{}由{}负责，线下可到{}办理。窗口工作时间为工作日上午9:00—12:00、下午14:00—17:30，周六上午提供延时服务。",
            m.name, d.name, d.place
        ),
        "wb" => format!(
            "可以。登录{}，搜索“{}”，按提示填写信息并上传{first2}的照片或扫描件即可提交；不方便网上办理的，也可以到{}办理。",
            d.online, m.name, d.place
        ),
        "sx" => format!(
            "{}的承诺办结时限为{}（自受理之日起计算，补正材料的时间不计算在内）。",
            m.name, m.time
        ),
        "sf" => format!("办理{}：{}。", m.name, m.fee),
        "lc" => format!(
            "{}的办理流程：1.准备材料（{mats}）；2.提交申请：网上通过{}，或到{}；3.{}受理审核；4.办结：{}，{}",
            m.name,
            d.online,
            d.place,
            d.short,
            m.time,
            result_text(m, d)
        ),
        "db" => proxy_text(m),
        "jd" => format!(
            "提交{}申请后，可登录{}的“我的办件”查看办理进度，也可拨打{hotline}，报办件编号查询。",
            m.name, d.online
        ),
        "dh" => format!(
            "关于{}的政策和办理问题，可拨打{hotline}，工作日8:30—17:30有人工坐席；也可在{}留言咨询。",
            m.name, d.online
        ),
        "wd" => {
            if m.local_only {
                format!(
                    "{}原则上在户籍所在地办理。非示例市户籍的群众，请向户籍所在地相关部门咨询，或在{}查询该事项是否已纳入“跨省通办”。",
                    m.name, d.online
                )
            } else {
                format!(
                    "可以。{}不限户籍，外地户籍群众只要符合条件（{}），在示例市即可办理，所需材料与本市户籍相同。",
                    m.name, m.conditions
                )
            }
        }
        "yy" => format!(
            "{}现场办理建议提前预约：在{}或“示例市政务服务”小程序选择{}的时段，按时到场取号。未预约也可现场取号，周一上午和月底是高峰，等候时间较长。",
            m.name, d.online, d.place
        ),
        "jg" => format!("{}：{}", m.name, result_text(m, d)),
        "th" => format!(
            "{}申请被退回的常见原因：1.材料不全或不清晰（特别是{first2}）；2.不符合办理条件（{}）；3.填写的信息与证件不一致。收到补正告知后按要求补齐材料即可重新提交。",
            m.name, m.conditions
        ),
        _ => String::new(),
    };
    format!("{body}【示例数据】")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_is_big_varied_and_has_no_duplicate_questions() {
        let e = entries().unwrap();
        assert!(e.len() >= 1600, "{}", e.len());
        let domains: HashSet<_> = e.iter().map(|e| e.domain.as_str()).collect();
        let depts: HashSet<_> = e.iter().map(|e| e.department.as_str()).collect();
        let questions: HashSet<_> = e.iter().map(|e| e.question.as_str()).collect();
        let ids: HashSet<_> = e.iter().map(|e| e.id.as_str()).collect();
        assert!(domains.len() >= 25, "{}", domains.len());
        assert!(depts.len() >= 20, "{}", depts.len());
        assert_eq!(questions.len(), e.len());
        assert_eq!(ids.len(), e.len());
        assert!(e.iter().all(|e| e.source == DEMO_SOURCE));
        assert!(e.iter().all(|e| !e.answer.is_empty()));
    }
}

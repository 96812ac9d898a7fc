//! Privacy masking of audience text before it reaches any host or air view.
//!
//! Numbers are found on a *normalised* view of the text, so that the spellings
//! people actually type are caught: full-width digits (`１３８`), Chinese
//! numerals read digit by digit (`一三八`, `幺`, `壹贰叁`), and separators
//! inside a number (spaces, dashes, dots, full-width space). A digit run is
//! masked when it is:
//! - a mainland mobile number (11 digits, `1[3-9]…`, optional `+86`/`86`),
//! - an 18-digit ID number (17 digits + digit or `X`), or a 15-digit old ID,
//! - a bank card (16–19 digits),
//! - a landline (`0` + area code + 7–8 digits, or a bare 7–8 digit number),
//! - any other run of 7 or more digits (conservative: better one masked order
//!   number than one leaked phone number).
//!
//! Dates written `2024-01-15` / `2024.1.15` are left alone (they look like an
//! 8-digit run but are not personal data). A name after `我叫` / `我是` /
//! `本人叫` / `名字叫` / `我的名字是` keeps its surname only (`我叫张**`).
//!
//! Masking is deterministic and never needs the original later: the raw text
//! goes to the back-office store only (see [`crate::store`]).

/// What [`mask`] found, for counters and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MaskReport {
    pub mobiles: u32,
    pub landlines: u32,
    pub ids: u32,
    pub cards: u32,
    pub other_numbers: u32,
    pub names: u32,
}

impl MaskReport {
    /// Whether anything was masked.
    pub fn any(&self) -> bool {
        self.mobiles + self.landlines + self.ids + self.cards + self.other_numbers + self.names > 0
    }
}

/// The digit a character stands for in a number, if any.
///
/// `X`/`x` count as a digit only as the check digit of an ID number (handled
/// by the scanner), not here.
pub fn digit_value(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '０'..='９' => Some((c as u32 - '０' as u32) as u8),
        '〇' | '零' | '○' | 'Ｏ' => Some(0),
        '一' | '幺' | '壹' => Some(1),
        '二' | '两' | '贰' => Some(2),
        '三' | '叁' => Some(3),
        '四' | '肆' => Some(4),
        '五' | '伍' => Some(5),
        '六' | '陆' => Some(6),
        '七' | '柒' | '拐' => Some(7),
        '八' | '捌' => Some(8),
        '九' | '玖' | '勾' => Some(9),
        _ => None,
    }
}

fn is_ascii_or_fullwidth_digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

/// Characters that may sit between two digits of one number.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{3000}'
            | '\u{a0}'
            | '\t'
            | '-'
            | '－'
            | '—'
            | '–'
            | '‑'
            | '_'
            | '.'
            | '．'
            | '·'
            | '/'
    )
}

fn is_id_check(c: char) -> bool {
    matches!(c, 'X' | 'x' | 'Ｘ' | 'ｘ')
}

/// One number found in the text: char index range (inclusive start, exclusive
/// end) in the original, its digits, and the separators used.
#[derive(Debug)]
struct Run {
    start: usize,
    end: usize,
    digits: Vec<u8>,
    /// Lengths of the digit groups between separators.
    groups: Vec<usize>,
    seps: Vec<char>,
    check_x: bool,
    /// Run made only of Chinese numerals (e.g. `一三八…`).
    all_cjk: bool,
}

fn scan_runs(chars: &[char]) -> Vec<Run> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if digit_value(chars[i]).is_none() {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = Vec::new();
        let mut groups = vec![0usize];
        let mut seps = Vec::new();
        let mut all_cjk = true;
        let mut end = i;
        let mut j = i;
        loop {
            if let Some(d) = chars.get(j).copied().and_then(digit_value) {
                digits.push(d);
                if let Some(g) = groups.last_mut() {
                    *g += 1;
                }
                if is_ascii_or_fullwidth_digit(chars[j]) {
                    all_cjk = false;
                }
                j += 1;
                end = j;
                continue;
            }
            // up to two separators, then a digit, continue the same number
            let mut k = j;
            while k < chars.len() && k < j + 2 && is_separator(chars[k]) {
                k += 1;
            }
            if k > j && chars.get(k).copied().and_then(digit_value).is_some() {
                seps.push(chars[j]);
                groups.push(0);
                j = k;
                continue;
            }
            break;
        }
        let mut check_x = false;
        if digits.len() == 17 && chars.get(end).copied().is_some_and(is_id_check) {
            check_x = true;
            end += 1;
        }
        runs.push(Run {
            start,
            end,
            digits,
            groups,
            seps,
            check_x,
            all_cjk,
        });
        i = end.max(start + 1);
    }
    runs
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumberKind {
    Mobile,
    Landline,
    Id,
    Card,
    Other,
}

fn looks_like_date(run: &Run) -> bool {
    // 2024-01-15, 2024.1.15, 2024/01/15: year, month, day groups.
    if run.groups.len() != 3 || run.seps.iter().any(|c| c.is_whitespace()) {
        return false;
    }
    let d = &run.digits;
    if run.groups[0] != 4 {
        return false;
    }
    let year = d[..4].iter().fold(0u32, |a, &x| a * 10 + u32::from(x));
    let m_len = run.groups[1];
    let month = d[4..4 + m_len]
        .iter()
        .fold(0u32, |a, &x| a * 10 + u32::from(x));
    let day = d[4 + m_len..]
        .iter()
        .fold(0u32, |a, &x| a * 10 + u32::from(x));
    (1900..=2100).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && run.groups[1] <= 2
        && run.groups[2] <= 2
}

fn classify(run: &Run) -> Option<NumberKind> {
    let n = run.digits.len() + usize::from(run.check_x);
    let d = &run.digits;
    if run.all_cjk && n < 7 {
        return None;
    }
    if n < 7 || looks_like_date(run) {
        return None;
    }
    // strip a +86 / 86 country prefix for the mobile check
    let body: &[u8] = if n == 13 && d.starts_with(&[8, 6]) {
        &d[2..]
    } else {
        d
    };
    if body.len() == 11 && body[0] == 1 && (3..=9).contains(&body[1]) {
        return Some(NumberKind::Mobile);
    }
    if n == 18 || n == 15 {
        return Some(NumberKind::Id);
    }
    if (16..=19).contains(&n) {
        return Some(NumberKind::Card);
    }
    if d[0] == 0 && (10..=12).contains(&n) || (7..=8).contains(&n) {
        return Some(NumberKind::Landline);
    }
    Some(NumberKind::Other)
}

fn digits_str(d: &[u8]) -> String {
    d.iter().map(|x| char::from(b'0' + x)).collect()
}

fn masked_number(kind: NumberKind, run: &Run) -> String {
    let d = &run.digits;
    match kind {
        NumberKind::Mobile => {
            let body = if d.len() == 13 { &d[2..] } else { &d[..] };
            format!("{}****{}", digits_str(&body[..3]), digits_str(&body[7..]))
        }
        NumberKind::Id => {
            // region prefix only; birth date, sequence and check digit hidden
            format!(
                "{}{}",
                digits_str(&d[..3]),
                "*".repeat(d.len() + usize::from(run.check_x) - 3)
            )
        }
        NumberKind::Card => format!("****{}", digits_str(&d[d.len() - 4..])),
        NumberKind::Landline => {
            if d[0] == 0 {
                let area = if matches!(d.get(1), Some(1 | 2)) {
                    3
                } else {
                    4
                };
                let area = area.min(d.len());
                format!("{}-{}", digits_str(&d[..area]), "*".repeat(d.len() - area))
            } else {
                "*".repeat(d.len())
            }
        }
        NumberKind::Other => "*".repeat(d.len()),
    }
}

const NAME_CUES: [&str; 6] = [
    "我的名字是",
    "我的名字叫",
    "名字叫",
    "本人叫",
    "我叫",
    "我是",
];

/// Words that follow `我是` without being a name.
const NOT_NAME_AFTER_WO_SHI: [&str; 24] = [
    "想", "要", "问", "在", "个", "一", "不", "从", "来", "本", "外", "退", "新", "老", "农", "残",
    "第", "准", "刚", "去", "有", "因", "该", "这",
];

fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

/// Stop characters that end a name (common words after a self-introduction).
fn ends_name(c: char) -> bool {
    !is_cjk(c)
        || matches!(
            c,
            '，' | '。'
                | '的'
                | '想'
                | '要'
                | '问'
                | '在'
                | '住'
                | '今'
                | '是'
                | '从'
                | '家'
                | '我'
                | '来'
                | '电'
                | '手'
                | '身'
                | '号'
        )
}

fn mask_names(chars: &mut Vec<char>, report: &mut MaskReport) {
    let mut i = 0;
    while i < chars.len() {
        let mut matched = None;
        for cue in NAME_CUES {
            let cue_chars: Vec<char> = cue.chars().collect();
            if chars[i..].starts_with(&cue_chars) {
                matched = Some(cue_chars.len());
                break;
            }
        }
        let Some(cue_len) = matched else {
            i += 1;
            continue;
        };
        let name_start = i + cue_len;
        if cue_len == 2 && chars[i..].starts_with(&['我', '是']) {
            let next: String = chars
                .get(name_start)
                .map(|c| c.to_string())
                .unwrap_or_default();
            if NOT_NAME_AFTER_WO_SHI.contains(&next.as_str()) {
                i = name_start;
                continue;
            }
        }
        let mut name_end = name_start;
        while name_end < chars.len() && name_end < name_start + 3 && !ends_name(chars[name_end]) {
            name_end += 1;
        }
        if name_end - name_start >= 2 {
            // keep the surname, hide the rest with a fixed-width mask
            let replacement = ['*', '*'];
            chars.splice(name_start + 1..name_end, replacement);
            report.names += 1;
            i = name_start + 3;
        } else {
            i = name_end.max(i + 1);
        }
    }
}

/// Masks personal data in `text`; returns the masked text and what was found.
pub fn mask(text: &str) -> (String, MaskReport) {
    let mut report = MaskReport::default();
    let chars: Vec<char> = text.chars().collect();
    let runs = scan_runs(&chars);
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    let mut pos = 0;
    for run in &runs {
        let Some(kind) = classify(run) else { continue };
        // a "+86 " prefix stays as written; the number itself is replaced
        out.extend_from_slice(&chars[pos..run.start]);
        out.extend(masked_number(kind, run).chars());
        pos = run.end;
        match kind {
            NumberKind::Mobile => report.mobiles += 1,
            NumberKind::Landline => report.landlines += 1,
            NumberKind::Id => report.ids += 1,
            NumberKind::Card => report.cards += 1,
            NumberKind::Other => report.other_numbers += 1,
        }
    }
    out.extend_from_slice(&chars[pos..]);
    mask_names(&mut out, &mut report);
    (out.into_iter().collect(), report)
}

/// Masks and returns the text only.
pub fn mask_text(text: &str) -> String {
    mask(text).0
}

/// Whether `text` still contains something that looks like a phone, ID or
/// card number (a run of 7+ digits in any spelling, separators allowed).
/// Used by tests and by the pipeline's last-line check before a host view.
pub fn contains_unmasked_number(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    scan_runs(&chars).iter().any(|r| classify(r).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_mobile_in_many_spellings() {
        for s in [
            "电话13800001234",
            "电话 138 0000 1234",
            "电话138-0000-1234",
            "电话１３８００００１２３４",
            "电话一三八零零零零一二三四",
            "电话幺三八〇〇〇〇幺二三四",
            "电话+86 138 0000 1234",
        ] {
            let (m, r) = mask(s);
            assert_eq!(r.mobiles, 1, "{s} -> {m}");
            assert!(m.contains("138****1234"), "{s} -> {m}");
            assert!(!contains_unmasked_number(&m), "{s} -> {m}");
        }
    }

    #[test]
    fn masks_ids_cards_and_landlines() {
        let (m, r) =
            mask("身份证号11010519491231002X，卡号6222 0000 1111 2222 333，座机0730-8880000");
        assert_eq!((r.ids, r.cards, r.landlines), (1, 1, 1), "{m}");
        assert!(!m.contains("19491231"), "{m}");
        assert!(m.contains("****2333") || m.contains("****"), "{m}");
        assert!(m.contains("0730-*******"), "{m}");
    }

    #[test]
    fn leaves_dates_amounts_and_hotlines() {
        for s in [
            "2024-01-15那天去办的",
            "打12345热线问过",
            "交了3000元",
            "一个月能取多少",
            "2025年退休",
            "八点半开门吗",
        ] {
            let (m, r) = mask(s);
            assert_eq!(m, s);
            assert!(!r.any());
        }
    }

    #[test]
    fn masks_names_after_self_introduction() {
        assert_eq!(mask_text("我叫张三丰，想问社保"), "我叫张**，想问社保");
        assert_eq!(
            mask_text("你好我是李四，公积金怎么取"),
            "你好我是李**，公积金怎么取"
        );
        assert_eq!(mask_text("我是想问一下医保"), "我是想问一下医保");
    }
}

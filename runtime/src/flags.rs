//! On-air safety: what the speech worker flags in callers' speech (phone,
//! ID and bank-card numbers, the station's `[flags] words`), and the
//! settings of the broadcast delay the producer dumps it with.

use std::sync::Arc;

use airbridge_configs::studio::Studio;
use airbridge_feeds::pii;

/// `[delay]` and `[flags]` as the runtime uses them.
#[derive(Debug, Clone, Default)]
pub struct Safety {
    /// Words that are flagged wherever they occur (spaces ignored).
    pub words: Vec<String>,
    /// How much one dump removes; `None`: the whole delay.
    pub dump_secs: Option<f32>,
}

impl Safety {
    pub fn of(studio: Option<&Studio>) -> Safety {
        Safety {
            words: studio.map(|s| s.flag_words.clone()).unwrap_or_default(),
            dump_secs: studio
                .and_then(|s| s.delay.as_ref())
                .and_then(|d| d.dump_secs),
        }
    }

    /// The speech worker's flagger over these words.
    pub fn flagger(&self) -> airbridge_speech::Flagger {
        let words = self.words.clone();
        airbridge_speech::Flagger(Arc::new(move |text: &str| kinds(text, &words)))
    }
}

/// What in `text` should not go out, as kinds: `mobile`, `landline`,
/// `id_number`, `bank_card`, `number` (another run of 7+ digits), `word`.
pub fn kinds(text: &str, words: &[String]) -> Vec<String> {
    let (_, r) = pii::mask(text);
    let mut out = Vec::new();
    for (n, kind) in [
        (r.mobiles, "mobile"),
        (r.landlines, "landline"),
        (r.ids, "id_number"),
        (r.cards, "bank_card"),
        (r.other_numbers, "number"),
    ] {
        if n > 0 {
            out.push(kind.to_owned());
        }
    }
    if !words.is_empty() {
        let squeezed = squeeze(text);
        if words.iter().any(|w| squeezed.contains(&squeeze(w))) {
            out.push("word".to_owned());
        }
    }
    out
}

/// `text` with listed words replaced by ＊ (for the flag's transcript).
pub fn mask_words(text: &str, words: &[String]) -> String {
    let mut out = text.to_owned();
    for w in words {
        let w = w.trim();
        if !w.is_empty() && out.contains(w) {
            out = out.replace(w, &"＊".repeat(w.chars().count()));
        }
    }
    out
}

fn squeeze(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The kinds in the console's language.
pub fn kind_zh(kind: &str) -> &'static str {
    match kind {
        "mobile" => "手机号",
        "landline" => "座机号",
        "id_number" => "身份证号",
        "bank_card" => "银行卡号",
        "number" => "号码",
        "word" => "敏感词",
        _ => "其他",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_words_are_flagged_in_the_spellings_speech_gives() {
        let words = vec!["他妈的".to_owned()];
        assert_eq!(kinds("我的电话是13800001234", &words), ["mobile"]);
        assert_eq!(kinds("电话 一三八 零零零零 一二三四", &words), ["mobile"]);
        assert_eq!(kinds("身份证 11010519491231002X", &words), ["id_number"]);
        assert_eq!(kinds("卡号 6222 0212 3456 7890 123", &words), ["bank_card"]);
        assert_eq!(kinds("这 他 妈的 什么 事", &words), ["word"]);
        assert!(kinds("我想问一下社保卡怎么补办", &words).is_empty());
        assert!(kinds("2024年1月15日办的", &words).is_empty());
        assert_eq!(mask_words("这他妈的", &words), "这＊＊＊");
    }
}

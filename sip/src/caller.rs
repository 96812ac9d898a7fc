//! Who is calling: the number from `P-Asserted-Identity` (what the PBX or
//! trunk vouches for) or else `From`, and the display name. A header that
//! cannot be read gives no number; it never fails the call.

/// The caller as the INVITE says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// Digits with an optional leading `+` (3 to 20 of them), or `None`
    /// (anonymous, withheld, or not a number).
    pub number: Option<String>,
    /// The display name, when one was sent.
    pub display: Option<String>,
}

impl Caller {
    /// From the raw values of `P-Asserted-Identity` and `From`.
    pub fn identify(asserted: Option<&str>, from: Option<&str>) -> Caller {
        let pai = asserted.map(parse_name_addr).unwrap_or_default();
        let from = from.map(parse_name_addr).unwrap_or_default();
        Caller {
            number: pai.0.or(from.0),
            display: pai.1.or(from.1),
        }
    }
}

/// `"Name" <sip:user@host;params>;tag=…` or `tel:+86…`: (number, display).
fn parse_name_addr(value: &str) -> (Option<String>, Option<String>) {
    let value = value.trim();
    let (display, uri) = match (value.find('<'), value.rfind('>')) {
        (Some(a), Some(b)) if a < b => (
            Some(value[..a].trim().trim_matches('"').trim().to_owned()).filter(|d| !d.is_empty()),
            &value[a + 1..b],
        ),
        _ => (None, value.split(';').next().unwrap_or("")),
    };
    let lower = uri.to_ascii_lowercase();
    let user = if lower.starts_with("tel:") {
        uri[4..].split(';').next()
    } else if lower.starts_with("sip:") || lower.starts_with("sips:") {
        let rest = &uri[uri.find(':').map_or(0, |i| i + 1)..];
        rest.split_once('@')
            .map(|(u, _)| u.split(';').next().unwrap_or(u))
    } else {
        None
    };
    let display = display.filter(|d| d.chars().count() <= 64 && !d.chars().any(char::is_control));
    (user.and_then(number), display)
}

/// A dialable number out of a URI user part (visual separators dropped).
fn number(user: &str) -> Option<String> {
    let kept: String = user
        .chars()
        .filter(|c| !matches!(c, '-' | '.' | ' ' | '(' | ')'))
        .collect();
    let digits = kept.strip_prefix('+').unwrap_or(&kept);
    let ok = (3..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_asserted_identity_wins_over_from() {
        let c = Caller::identify(
            Some("\"Hotline\" <sip:+8613700000001@pbx.example.invalid;user=phone>"),
            Some("<sip:1001@pbx.example.invalid>;tag=abc"),
        );
        assert_eq!(c.number.as_deref(), Some("+8613700000001"));
        assert_eq!(c.display.as_deref(), Some("Hotline"));
        let c = Caller::identify(None, Some("sip:137-0000-0002@10.0.0.1;tag=x"));
        assert_eq!(c.number.as_deref(), Some("13700000002"));
        let c = Caller::identify(Some("<tel:+86-137-0000-0003;phone-context=x>"), None);
        assert_eq!(c.number.as_deref(), Some("+8613700000003"));
    }

    #[test]
    fn withheld_and_garbage_give_no_number() {
        for from in [
            "\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1",
            "<sip:sipp@127.0.0.1:5061>;tag=1",
            "<sip:@host>",
            "<<<>>>",
            "",
            "sip:12@x",
            "tel:",
            "\u{0}\u{1}",
        ] {
            assert_eq!(Caller::identify(None, Some(from)).number, None, "{from}");
        }
    }
}

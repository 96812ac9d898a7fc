//! Caller numbers: masked for every screen (`138****0000`), and a keyed
//! hash for recognising repeat callers without keeping the number in the
//! journal. The key is the station's own secret (a private file in the data
//! directory, made on first use), so hashes cannot be reversed by trying
//! every number elsewhere.

use std::path::Path;

use sha2::{Digest, Sha256};

/// Digits of a number as dialled (`+86 138-0000-1234` → `8613800001234`).
fn digits(number: &str) -> String {
    number.chars().filter(char::is_ascii_digit).collect()
}

/// The number as every screen shows it: the first three and last four
/// digits of a mobile, the last four of anything shorter; never more than
/// half of the digits.
pub fn mask(number: &str) -> String {
    let d = digits(number);
    let d = d.strip_prefix("86").filter(|r| r.len() == 11).unwrap_or(&d);
    match d.len() {
        0 => "未知号码".to_owned(),
        // a mobile: the usual 138****0000
        11 if d.starts_with('1') => format!("{}****{}", &d[..3], &d[7..]),
        n if n >= 8 => format!("****{}", &d[n - 4..]),
        n => format!("{}{}", "*".repeat(n - n / 2), &d[n - n / 2..]),
    }
}

/// Masks a name for on-air views: 张三 → 张*, 欧阳娜娜 → 欧阳**.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_owned(),
        2 => format!("{}*", chars[0]),
        3 => format!("{}**", chars[0]),
        n => format!(
            "{}{}",
            chars[..2].iter().collect::<String>(),
            "*".repeat(n - 2)
        ),
    }
}

/// The station's key for caller hashes.
#[derive(Clone)]
pub struct CallerKey([u8; 32]);

impl std::fmt::Debug for CallerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallerKey(…)")
    }
}

impl CallerKey {
    /// Loads the key from `path`, making a new random one there (mode 0600)
    /// when there is none.
    pub fn load_or_create(path: &Path) -> Result<Self, crate::secrets::SecretError> {
        if !path.exists() {
            let key: [u8; 32] = rand::random();
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            if let Err(e) = crate::secrets::write_private_file(path, &hex)
                && e.kind() != std::io::ErrorKind::AlreadyExists
            {
                return Err(crate::secrets::SecretError::Unreadable {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                });
            }
        }
        let text = crate::secrets::read_private_file(path)?;
        let mut key = [0u8; 32];
        let bytes: Vec<u8> = (0..text.len())
            .step_by(2)
            .filter_map(|i| {
                text.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect();
        if bytes.len() != 32 {
            return Err(crate::secrets::SecretError::Unreadable {
                path: path.to_path_buf(),
                reason: "not a caller key (64 hex digits expected)".into(),
            });
        }
        key.copy_from_slice(&bytes);
        Ok(Self(key))
    }

    /// A key for tests and the built-in demo station.
    pub fn fixed(key: [u8; 32]) -> Self {
        Self(key)
    }

    /// A key for another purpose (`label`), derived from this one: audience
    /// author keys use it, so they are as stable and as private.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.0);
        h.update(label.as_bytes());
        h.finalize().into()
    }

    /// The caller's keyed hash: the same number always gives the same key.
    pub fn hash(&self, number: &str) -> String {
        let d = digits(number);
        let d = d.strip_prefix("86").filter(|r| r.len() == 11).unwrap_or(&d);
        let mut h = Sha256::new();
        h.update(self.0);
        h.update(d.as_bytes());
        let out = h.finalize();
        out.iter().take(12).map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_masked_for_screens() {
        assert_eq!(mask("13800001234"), "138****1234");
        assert_eq!(mask("+86 138-0000-1234"), "138****1234");
        assert_eq!(mask("0730-8880000"), "****0000");
        assert_eq!(mask("12345"), "***45");
        assert_eq!(mask(""), "未知号码");
    }

    #[test]
    fn the_same_caller_hashes_the_same_under_one_key_only() {
        let a = CallerKey::fixed([1; 32]);
        let b = CallerKey::fixed([2; 32]);
        assert_eq!(a.hash("13800001234"), a.hash("+86 138 0000 1234"));
        assert_ne!(a.hash("13800001234"), a.hash("13800001235"));
        assert_ne!(a.hash("13800001234"), b.hash("13800001234"));
        assert!(!a.hash("13800001234").contains("1234"));
    }

    #[test]
    fn a_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secrets/caller-key");
        let k1 = CallerKey::load_or_create(&p).unwrap();
        let k2 = CallerKey::load_or_create(&p).unwrap();
        assert_eq!(k1.hash("1"), k2.hash("1"));
    }
}

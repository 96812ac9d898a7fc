//! The seats' tokens file: one seat per line, `NAME ROLE TOKEN`
//! (whitespace-separated, `#` starts a comment). The file must be private to
//! its owner; a seat's own `--token-file` holds just its token.

use std::path::Path;

use airbridge_runtime::Role;
use sha2::{Digest, Sha256};

use crate::HubError;

/// A seat as the tokens file names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatId {
    pub name: String,
    pub role: Role,
}

/// The seats that may connect. Tokens are kept as SHA-256 digests and
/// compared in constant time.
#[derive(Clone)]
pub struct Tokens {
    seats: Vec<(SeatId, [u8; 32])>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field(
                "seats",
                &self.seats.iter().map(|(s, _)| &s.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The smallest token accepted: 16 characters (about 80 bits when random).
pub const MIN_TOKEN_LEN: usize = 16;

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Tokens {
    /// Reads and checks a tokens file (private to its owner).
    pub fn load(path: &Path) -> Result<Self, HubError> {
        airbridge_runtime::secrets::check_private(path)
            .map_err(|e| HubError::Tokens(e.to_string()))?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| HubError::Tokens(format!("{}: {e}", path.display())))?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Parses a tokens file's text; `file` names it in messages.
    pub fn parse(file: &str, text: &str) -> Result<Self, HubError> {
        let mut seats: Vec<(SeatId, [u8; 32])> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let at = |why: String| HubError::Tokens(format!("{file}: line {}: {why}", i + 1));
            let parts: Vec<&str> = line.split_whitespace().collect();
            let [name, role, token] = parts[..] else {
                return Err(at(format!(
                    "expected NAME ROLE TOKEN, found {} field(s)",
                    parts.len()
                )));
            };
            let role = Role::parse(role).ok_or_else(|| {
                at(format!(
                    "unknown role {role:?}: use host, assistant, screener, control, backoffice or observer"
                ))
            })?;
            if token.len() < MIN_TOKEN_LEN {
                return Err(at(format!(
                    "the token of {name} is too short ({} characters; use at least {MIN_TOKEN_LEN}, e.g. `airbridge seat token`)",
                    token.len()
                )));
            }
            if seats.iter().any(|(s, _)| s.name == name) {
                return Err(at(format!("seat {name} is named twice")));
            }
            let d = digest(token);
            if seats.iter().any(|(_, t)| *t == d) {
                return Err(at(format!("the token of {name} is used by another seat")));
            }
            seats.push((
                SeatId {
                    name: name.to_owned(),
                    role,
                },
                d,
            ));
        }
        if seats.is_empty() {
            return Err(HubError::Tokens(format!("{file}: no seats")));
        }
        Ok(Self { seats })
    }

    /// The seat a token belongs to.
    pub fn seat(&self, token: &str) -> Option<&SeatId> {
        let d = digest(token.trim());
        let mut found = None;
        for (seat, t) in &self.seats {
            // every entry compared, each in constant time
            let diff = t
                .iter()
                .zip(d.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            if diff == 0 {
                found = Some(seat);
            }
        }
        found
    }

    pub fn len(&self) -> usize {
        self.seats.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seats.is_empty()
    }
}

/// A new random token (32 hex characters).
pub fn new_token() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_seats_and_finds_them_by_token() {
        let t = Tokens::parse(
            "seats.tokens",
            "# the team\nhost1 host 0123456789abcdef0123\n\nscreen screener  fedcba9876543210fedc # hotline\n",
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        let s = t.seat("fedcba9876543210fedc").unwrap();
        assert_eq!((s.name.as_str(), s.role), ("screen", Role::Screener));
        assert!(t.seat("fedcba9876543210fedd").is_none());
        assert!(t.seat("").is_none());
    }

    #[test]
    fn refuses_bad_lines_with_the_line_number() {
        for (text, want) in [
            ("a host", "line 1: expected NAME ROLE TOKEN"),
            ("a boss 0123456789abcdef", "unknown role \"boss\""),
            ("a host short", "too short"),
            (
                "a host 0123456789abcdef\na screener 0123456789abcdeX",
                "line 2: seat a is named twice",
            ),
            (
                "a host 0123456789abcdef\nb screener 0123456789abcdef",
                "used by another seat",
            ),
            ("# nothing\n", "no seats"),
        ] {
            let e = Tokens::parse("f", text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn new_tokens_are_long_and_differ() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}

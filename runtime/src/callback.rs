//! Call-backs (回拨 / 一按灵): the back office calls a citizen back from a
//! ticket, through the station's PBX, on a SIP line.
//!
//! A ticket made from a call keeps the caller's full number **sealed**
//! (ChaCha20-Poly1305 with a key derived from the station's caller key,
//! `<data>/caller.key`, 0600): the ticket store, exports and every screen
//! hold the masked number only; the call-back opens the seal in the
//! runtime and hands the number to the SIP lines, nowhere else.
//!
//! The call rings out on the first free SIP line (the line shows
//! 回拨 and the masked number), is put through to the back office's
//! talkback when the citizen answers (never on air unless the producer
//! moves it), is recorded as every answered call, and its recording is
//! attached to the ticket when the call ends.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use crate::callers::CallerKey;

/// What a sealed number starts with (the format's version).
const SEALED_PREFIX: &str = "sealed1:";

/// Seals and opens citizens' numbers with the station's key.
#[derive(Clone)]
pub struct NumberSeal {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for NumberSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NumberSeal(…)")
    }
}

/// A sealed number that cannot be opened (another station's key, damage).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the stored number cannot be opened with this station's key ({0})")]
pub struct SealError(&'static str);

impl NumberSeal {
    pub fn new(key: &CallerKey) -> Self {
        let k = key.derive("callback-numbers");
        Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&k)),
        }
    }

    /// `sealed1:` + base64(nonce ‖ ciphertext).
    pub fn seal(&self, number: &str) -> String {
        let nonce_bytes: [u8; 12] = rand::random();
        let nonce = Nonce::from_slice(&nonce_bytes);
        // encryption with a valid key and nonce does not fail
        let ct = self
            .cipher
            .encrypt(nonce, number.as_bytes())
            .unwrap_or_default();
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&ct);
        format!(
            "{SEALED_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        )
    }

    pub fn open(&self, sealed: &str) -> Result<String, SealError> {
        let body = sealed
            .strip_prefix(SEALED_PREFIX)
            .ok_or(SealError("not a sealed number"))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| SealError("not base64"))?;
        if bytes.len() < 12 + 16 {
            return Err(SealError("too short"));
        }
        let (nonce, ct) = bytes.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| SealError("wrong key or damaged"))?;
        String::from_utf8(plain).map_err(|_| SealError("not text"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_number_opens_with_the_station_key_only() {
        let seal = NumberSeal::new(&CallerKey::fixed([7; 32]));
        let s = seal.seal("13700000001");
        assert!(s.starts_with(SEALED_PREFIX));
        assert!(!s.contains("13700000001"));
        assert_ne!(s, seal.seal("13700000001"), "a fresh nonce each time");
        assert_eq!(seal.open(&s).unwrap(), "13700000001");
        let other = NumberSeal::new(&CallerKey::fixed([8; 32]));
        assert!(other.open(&s).is_err());
        let mut damaged = s.clone();
        damaged.pop();
        damaged.push('A');
        assert!(seal.open(&damaged).is_err());
        assert!(seal.open("13700000001").is_err());
    }
}

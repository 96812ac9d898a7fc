//! Digest authentication of incoming calls (RFC 3261 §22, RFC 2617 MD5
//! with `qop=auth`): when the station sets a user and password for its
//! PBX or trunk, an INVITE without credentials is challenged (`401` with a
//! fresh nonce), one with wrong credentials is refused (`403`), and only
//! one whose response matches rings a line.
//!
//! Nonces are random, kept for [`NONCE_LIFETIME`] (a retransmitted or
//! re-sent INVITE may use one again within that time), at most
//! [`MAX_NONCES`] at once (a flood of challenges cannot grow memory
//! without bound: the oldest go first). An expired nonce gets a new
//! challenge with `stale=true`, as the RFC asks, not a refusal.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rsipstack::dialog::authenticate::verify_digest;
use rsipstack::sip::headers::auth::{Algorithm, Scheme};
use rsipstack::sip::headers::typed;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, Method, Request};

/// Credentials a caller (the PBX or trunk) must prove it has.
#[derive(Clone, PartialEq, Eq)]
pub struct InboundAuth {
    /// Names the protection space in the challenge (e.g. the station's code).
    pub realm: String,
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for InboundAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundAuth")
            .field("realm", &self.realm)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// How long a nonce may be used.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(300);
/// Nonces kept at most.
pub const MAX_NONCES: usize = 4096;

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The credentials are right.
    Valid,
    /// No credentials (or a nonce we no longer know): challenge. `stale`:
    /// the credentials were right but the nonce too old.
    Challenge { stale: bool },
    /// Credentials that are wrong: refuse, with why (for the health report).
    Wrong(String),
}

/// The nonces handed out and not yet expired.
#[derive(Debug, Default)]
pub struct Nonces {
    issued: HashMap<String, Instant>,
}

impl Nonces {
    /// A new nonce, remembered.
    pub fn issue(&mut self) -> String {
        let now = Instant::now();
        if self.issued.len() >= MAX_NONCES {
            self.issued
                .retain(|_, t| now.duration_since(*t) < NONCE_LIFETIME);
        }
        while self.issued.len() >= MAX_NONCES {
            let oldest = self
                .issued
                .iter()
                .min_by_key(|(_, t)| **t)
                .map(|(n, _)| n.clone());
            match oldest {
                Some(n) => self.issued.remove(&n),
                None => break,
            };
        }
        let nonce = format!("{:032x}", rand::random::<u128>());
        self.issued.insert(nonce.clone(), now);
        nonce
    }

    /// Checks the `Authorization` of `req` against `auth`.
    pub fn check(&mut self, req: &Request, auth: &InboundAuth) -> Check {
        let Some(raw) = req.authorization_header().map(|h| h.value().to_owned()) else {
            return Check::Challenge { stale: false };
        };
        self.check_header(&raw, &req.method, auth)
    }

    /// Checks one `Authorization` header value (parsing included: never
    /// panics on what it holds).
    pub fn check_header(&mut self, raw: &str, method: &Method, auth: &InboundAuth) -> Check {
        let Ok(given) = typed::Authorization::parse(raw) else {
            return Check::Wrong("unreadable Authorization header".into());
        };
        if given.scheme != Scheme::Digest {
            return Check::Wrong("not a digest".into());
        }
        if !matches!(given.algorithm, None | Some(Algorithm::Md5)) {
            // we offered MD5 only
            return Check::Challenge { stale: false };
        }
        let fresh = self
            .issued
            .get(&given.nonce)
            .map(|t| t.elapsed() < NONCE_LIFETIME);
        let right = given.username == auth.user
            && given.realm == auth.realm
            && verify_digest(&given, &auth.password, method, raw);
        match (fresh, right) {
            (Some(true), true) => Check::Valid,
            (Some(false), true) => {
                self.issued.remove(&given.nonce);
                Check::Challenge { stale: true }
            }
            // a nonce we never gave (or forgot): ask again
            (None, _) => Check::Challenge { stale: false },
            (Some(_), false) => {
                Check::Wrong(format!("wrong credentials for user {:?}", given.username))
            }
        }
    }
}

/// The `WWW-Authenticate` header of a challenge.
pub fn challenge(auth: &InboundAuth, nonce: &str, stale: bool) -> Header {
    let stale = if stale { ", stale=true" } else { "" };
    Header::WwwAuthenticate(rsipstack::sip::headers::WwwAuthenticate::new(format!(
        "Digest realm=\"{}\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\"{stale}",
        auth.realm
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsipstack::dialog::authenticate::compute_digest;
    use rsipstack::sip::headers::auth::AuthQop;

    fn station() -> InboundAuth {
        InboundAuth {
            realm: "fs".into(),
            user: "pbx".into(),
            password: "s3cret".into(),
        }
    }

    fn header(user: &str, password: &str, nonce: &str) -> String {
        let uri = "sip:hotline@127.0.0.1:5060";
        let qop = AuthQop::Auth {
            cnonce: "c0ffee".into(),
            nc: 1,
        };
        let response = compute_digest(
            user,
            password,
            "fs",
            nonce,
            &Method::Invite,
            uri,
            Algorithm::Md5,
            Some(&qop),
        );
        format!(
            "Digest username=\"{user}\", realm=\"fs\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{response}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c0ffee\""
        )
    }

    #[test]
    fn the_right_credentials_pass_and_wrong_ones_are_refused() {
        let mut n = Nonces::default();
        let nonce = n.issue();
        assert_eq!(
            n.check_header(
                &header("pbx", "s3cret", &nonce),
                &Method::Invite,
                &station()
            ),
            Check::Valid
        );
        assert!(matches!(
            n.check_header(&header("pbx", "guess", &nonce), &Method::Invite, &station()),
            Check::Wrong(_)
        ));
        assert!(matches!(
            n.check_header(
                &header("someone", "s3cret", &nonce),
                &Method::Invite,
                &station()
            ),
            Check::Wrong(_)
        ));
        // a nonce we never gave: a new challenge
        assert_eq!(
            n.check_header(
                &header("pbx", "s3cret", "0123"),
                &Method::Invite,
                &station()
            ),
            Check::Challenge { stale: false }
        );
        // the response is for INVITE, not for another method
        assert!(matches!(
            n.check_header(&header("pbx", "s3cret", &nonce), &Method::Bye, &station()),
            Check::Wrong(_)
        ));
        assert!(matches!(
            n.check_header("Basic cGJ4OnMzY3JldA==", &Method::Invite, &station()),
            Check::Wrong(_)
        ));
    }

    #[test]
    fn an_old_nonce_is_stale_and_nonces_are_bounded() {
        let mut n = Nonces::default();
        let nonce = n.issue();
        if let Some(t) = n.issued.get_mut(&nonce) {
            *t = Instant::now()
                .checked_sub(NONCE_LIFETIME)
                .unwrap_or_else(Instant::now);
        }
        assert_eq!(
            n.check_header(
                &header("pbx", "s3cret", &nonce),
                &Method::Invite,
                &station()
            ),
            Check::Challenge { stale: true }
        );
        for _ in 0..MAX_NONCES + 10 {
            n.issue();
        }
        assert_eq!(n.issued.len(), MAX_NONCES);
    }
}

//! The parsing AirBridge owns on the SIP path (the SDP offer, the caller's
//! number and name, the credentials of a call that must authenticate)
//! against 1,000,000 mutated inputs: every one gives a
//! value or an error, none panics, and whatever is accepted is sane.
//! (rsipstack parses the SIP messages themselves.) Deterministic: the same
//! inputs every run.

use airbridge_sip::auth::{Check, Nonces};
use airbridge_sip::{Caller, InboundAuth, Offer};
use rsipstack::dialog::authenticate::compute_digest;
use rsipstack::sip::Method;
use rsipstack::sip::headers::auth::{Algorithm, AuthQop};

const SEEDS_SDP: [&str; 3] = [
    "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-11,16\r\n",
    "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nt=0 0\r\nm=audio 7078 RTP/AVP 0 8 111\r\nc=IN IP6 ::1\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 useinbandfec=1\r\nm=video 9 RTP/AVP 96\r\n",
    "v=0\r\no=- 2 2 IN IP4 10.0.0.9\r\ns=call\r\nc=IN IP4 10.0.0.9\r\nb=AS:64\r\nt=0 0\r\nm=audio 40000 RTP/SAVP 18 0\r\na=sendonly\r\na=ptime:20\r\n",
];

const SEEDS_NAME: [&str; 4] = [
    "\"Hotline\" <sip:+8613700000001@pbx.example.invalid;user=phone>;tag=1",
    "<tel:+86-137-0000-0003;phone-context=x>",
    "sip:137-0000-0002@10.0.0.1;tag=x",
    "\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1",
];

/// xorshift64*: a fixed sequence, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
    }
}

const INTERESTING: [&[u8]; 12] = [
    b"\r\n",
    b"\n",
    b" ",
    b"<",
    b">",
    b"@",
    b";",
    b":",
    b"m=audio 0 RTP/AVP",
    b"c=IN IP4 999.1.1.1",
    b"a=rtpmap:8 PCMA/",
    "\u{4e2d}".as_bytes(),
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=rng.below(8) {
        let at = rng.below(v.len() + 1);
        match rng.below(5) {
            0 if !v.is_empty() => {
                let end = (at + rng.below(16)).min(v.len());
                v.drain(at.min(end)..end);
            }
            1 => v.insert(at.min(v.len()), u8::try_from(rng.below(256)).unwrap_or(0)),
            2 => {
                let piece = INTERESTING[rng.below(INTERESTING.len())];
                let at = at.min(v.len());
                v.splice(at..at, piece.iter().copied());
            }
            3 if !v.is_empty() => {
                let i = at.min(v.len() - 1);
                v[i] = v[i].wrapping_add(u8::try_from(rng.below(256)).unwrap_or(1));
            }
            _ => {
                // duplicate a slice (long lines, repeated fields)
                let end = (at + rng.below(64)).min(v.len());
                let piece: Vec<u8> = v[at.min(end)..end].to_vec();
                v.splice(end..end, piece);
            }
        }
    }
    v
}

#[test]
fn a_million_mutated_offers_names_and_credentials_never_panic() {
    let mut rng = Rng(0x5eed_a1b2_c3d4_e5f6);
    let (mut offers_ok, mut numbers, mut refused) = (0u32, 0u32, 0u32);
    let station = InboundAuth {
        realm: "fs".into(),
        user: "trunk".into(),
        password: "s3cret".into(),
    };
    let mut nonces = Nonces::default();
    let nonce = nonces.issue();
    let uri = "sip:hotline@127.0.0.1:5060";
    let qop = AuthQop::Auth {
        cnonce: "c0ffee".into(),
        nc: 1,
    };
    let response = compute_digest(
        "trunk",
        "s3cret",
        "fs",
        &nonce,
        &Method::Invite,
        uri,
        Algorithm::Md5,
        Some(&qop),
    );
    let good = format!(
        "Digest username=\"trunk\", realm=\"fs\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{response}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c0ffee\""
    );
    assert_eq!(
        nonces.check_header(&good, &Method::Invite, &station),
        Check::Valid
    );
    for i in 0..1_000_000u32 {
        if i % 3 == 2 {
            let bytes = mutate(&mut rng, good.as_bytes());
            let text = String::from_utf8_lossy(&bytes);
            match nonces.check_header(&text, &Method::Invite, &station) {
                // accepted only when the digest still matches
                Check::Valid => assert!(text.contains(&response) && text.contains(&nonce)),
                Check::Wrong(_) => refused += 1,
                Check::Challenge { .. } => {}
            }
        } else if i % 3 == 0 {
            let seed = SEEDS_SDP[rng.below(SEEDS_SDP.len())].as_bytes();
            if let Ok(o) = Offer::parse(&mutate(&mut rng, seed)) {
                offers_ok += 1;
                assert!(o.codecs.iter().all(|(pt, _)| o.offered.contains(pt)));
            }
        } else {
            let seed = SEEDS_NAME[rng.below(SEEDS_NAME.len())].as_bytes();
            let bytes = mutate(&mut rng, seed);
            let text = String::from_utf8_lossy(&bytes);
            let c = Caller::identify(Some(&text), Some(&text));
            if let Some(n) = &c.number {
                numbers += 1;
                let digits = n.strip_prefix('+').unwrap_or(n);
                assert!(
                    (3..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()),
                    "{n}"
                );
            }
        }
    }
    // the mutations keep many inputs valid: the accepting paths ran too
    assert!(offers_ok > 10_000, "{offers_ok}");
    assert!(numbers > 10_000, "{numbers}");
    assert!(refused > 10_000, "{refused}");
}

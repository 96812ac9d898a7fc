//! The SDP of a call: what the caller offers (where its audio comes from,
//! which codecs it speaks, RFC 4733 telephone events) and the answer
//! AirBridge gives (one codec, the line's RTP address). Parsing is
//! `ezk-sdp-types`; a body it cannot read is an error, never a panic.

use std::net::{IpAddr, SocketAddr};

use bytesstr::BytesStr;
use ezk_sdp_types::{MediaType, SessionDescription, TaggedAddress};

/// Codecs a SIP line can speak (the RTP line's codecs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    Opus,
    Pcma,
    Pcmu,
}

impl Codec {
    pub fn name(self) -> &'static str {
        match self {
            Codec::Opus => "opus",
            Codec::Pcma => "pcma",
            Codec::Pcmu => "pcmu",
        }
    }

    /// `opus`, `pcma`, `pcmu` (any case).
    pub fn parse(s: &str) -> Option<Codec> {
        match s.trim().to_ascii_lowercase().as_str() {
            "opus" => Some(Codec::Opus),
            "pcma" => Some(Codec::Pcma),
            "pcmu" => Some(Codec::Pcmu),
            _ => None,
        }
    }

    /// The `a=rtpmap` encoding and clock of this codec.
    fn rtpmap(self) -> &'static str {
        match self {
            Codec::Opus => "opus/48000/2",
            Codec::Pcma => "PCMA/8000",
            Codec::Pcmu => "PCMU/8000",
        }
    }
}

/// What the caller offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// Where the caller's RTP comes from and goes to.
    pub rtp: SocketAddr,
    /// Offered audio formats we know, in the caller's order: (payload type, codec).
    pub codecs: Vec<(u8, Codec)>,
    /// Every payload type offered for audio (for messages).
    pub offered: Vec<u8>,
    /// The payload type of `telephone-event/8000` (RFC 4733), if offered.
    pub telephone_event: Option<u8>,
}

/// Why an offer cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    #[error("the INVITE has no SDP offer (late offer is not supported)")]
    Empty,
    #[error("the SDP offer cannot be read: {0}")]
    Malformed(String),
    #[error("the SDP offer has no audio stream")]
    NoAudio,
    #[error("the SDP offer has no IP address for its audio")]
    NoAddress,
}

impl Offer {
    /// Reads an INVITE's body.
    pub fn parse(body: &[u8]) -> Result<Offer, OfferError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(OfferError::Empty);
        }
        let text =
            std::str::from_utf8(body).map_err(|_| OfferError::Malformed("not UTF-8".into()))?;
        let sdp = SessionDescription::parse(&BytesStr::from(text))
            .map_err(|e| OfferError::Malformed(e.to_string()))?;
        let audio = sdp
            .media_descriptions
            .iter()
            .find(|m| m.media.media_type == MediaType::Audio && m.media.port != 0)
            .ok_or(OfferError::NoAudio)?;
        let address = audio
            .connection
            .as_ref()
            .or(sdp.connection.as_ref())
            .and_then(|c| match &c.address {
                TaggedAddress::IP4(a) => Some(IpAddr::V4(*a)),
                TaggedAddress::IP6(a) => Some(IpAddr::V6(*a)),
                _ => None,
            })
            .ok_or(OfferError::NoAddress)?;
        let mut codecs = Vec::new();
        let mut telephone_event = None;
        for &pt in &audio.media.fmts {
            let map = audio.rtpmap.iter().find(|r| r.payload == pt);
            let named = match map {
                Some(r) => {
                    let enc = r.encoding.to_ascii_lowercase();
                    match (enc.as_str(), r.clock_rate) {
                        ("opus", 48000) => Some(Codec::Opus),
                        ("pcma", 8000) => Some(Codec::Pcma),
                        ("pcmu", 8000) => Some(Codec::Pcmu),
                        ("telephone-event", 8000) => {
                            telephone_event.get_or_insert(pt);
                            None
                        }
                        _ => None,
                    }
                }
                // static payload types may come without an rtpmap
                None if pt == 0 => Some(Codec::Pcmu),
                None if pt == 8 => Some(Codec::Pcma),
                None => None,
            };
            if let Some(c) = named {
                codecs.push((pt, c));
            }
        }
        Ok(Offer {
            rtp: SocketAddr::new(address, audio.media.port),
            codecs,
            offered: audio.media.fmts.clone(),
            telephone_event,
        })
    }

    /// The first of `preference` the caller offered, with its payload type.
    pub fn choose(&self, preference: &[Codec]) -> Option<(u8, Codec)> {
        preference
            .iter()
            .find_map(|want| self.codecs.iter().find(|(_, c)| c == want).copied())
    }
}

/// The answer: one codec (the offer's payload type for it) and, when
/// offered, telephone events, on `local` (the address the caller sends to).
pub fn answer(offer: &Offer, pt: u8, codec: Codec, local: SocketAddr, session: u64) -> String {
    describe(pt, codec, offer.telephone_event, local, session)
}

/// The offer of a call AirBridge places (a call-back): one codec
/// (Opus as 96, G.711 on its static type) and telephone events (101) on `local`.
pub fn offer(codec: Codec, local: SocketAddr, session: u64) -> String {
    let pt = match codec {
        Codec::Opus => 96,
        Codec::Pcma => 8,
        Codec::Pcmu => 0,
    };
    describe(pt, codec, Some(101), local, session)
}

fn describe(
    pt: u8,
    codec: Codec,
    telephone_event: Option<u8>,
    local: SocketAddr,
    session: u64,
) -> String {
    let ip = local.ip();
    let family = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let mut fmts = vec![pt.to_string()];
    let mut attrs = format!("a=rtpmap:{pt} {}\r\n", codec.rtpmap());
    if codec == Codec::Opus {
        attrs.push_str(&format!("a=fmtp:{pt} useinbandfec=1\r\n"));
    }
    if let Some(te) = telephone_event {
        fmts.push(te.to_string());
        attrs.push_str(&format!(
            "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-16\r\n"
        ));
    }
    let ptime = if codec == Codec::Opus { 10 } else { 20 };
    format!(
        "v=0\r\no=airbridge {session} {session} IN {family} {ip}\r\ns=AirBridge\r\nc=IN {family} {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP {fmts}\r\n{attrs}a=ptime:{ptime}\r\na=sendrecv\r\n",
        port = local.port(),
        fmts = fmts.join(" "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The offer sipp's `uac_pcap` scenario sends.
    const SIPP: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-11,16\r\n";

    #[test]
    fn a_g711_offer_with_telephone_events() {
        let o = Offer::parse(SIPP.as_bytes()).unwrap();
        assert_eq!(o.rtp, "127.0.0.1:6000".parse().unwrap());
        assert_eq!(o.codecs, vec![(8, Codec::Pcma)]);
        assert_eq!(o.telephone_event, Some(101));
        assert_eq!(
            o.choose(&[Codec::Opus, Codec::Pcma, Codec::Pcmu]),
            Some((8, Codec::Pcma))
        );
        assert_eq!(o.choose(&[Codec::Pcmu]), None);
        let a = answer(&o, 8, Codec::Pcma, "127.0.0.1:40000".parse().unwrap(), 7);
        assert!(a.contains("m=audio 40000 RTP/AVP 8 101\r\n"), "{a}");
        assert!(a.contains("a=rtpmap:8 PCMA/8000\r\n"));
        assert!(a.contains("a=rtpmap:101 telephone-event/8000\r\n"));
        // the answer reads back as an offer would
        let back = Offer::parse(a.as_bytes()).unwrap();
        assert_eq!(back.codecs, vec![(8, Codec::Pcma)]);
    }

    #[test]
    fn preference_order_is_ours_and_static_types_need_no_rtpmap() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nt=0 0\r\nm=audio 7078 RTP/AVP 0 8 111\r\nc=IN IP4 10.0.0.9\r\na=rtpmap:111 opus/48000/2\r\n";
        let o = Offer::parse(sdp.as_bytes()).unwrap();
        assert_eq!(
            o.codecs,
            vec![(0, Codec::Pcmu), (8, Codec::Pcma), (111, Codec::Opus)]
        );
        assert_eq!(
            o.choose(&[Codec::Opus, Codec::Pcma]),
            Some((111, Codec::Opus))
        );
        let a = answer(&o, 111, Codec::Opus, "10.0.0.1:5004".parse().unwrap(), 1);
        assert!(a.contains("a=rtpmap:111 opus/48000/2\r\n"));
    }

    #[test]
    fn bad_offers_are_errors() {
        assert_eq!(Offer::parse(b""), Err(OfferError::Empty));
        assert!(matches!(
            Offer::parse(b"hello"),
            Err(OfferError::Malformed(_)) | Err(OfferError::NoAudio)
        ));
        let video = "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\nm=video 9000 RTP/AVP 96\r\n";
        assert_eq!(Offer::parse(video.as_bytes()), Err(OfferError::NoAudio));
        let g729 = "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\nm=audio 9000 RTP/AVP 18\r\n";
        let o = Offer::parse(g729.as_bytes()).unwrap();
        assert!(o.codecs.is_empty());
        assert_eq!(o.offered, vec![18]);
        assert_eq!(
            Offer::parse(&[0xff, 0xfe, 0x00]).map(|_| ()),
            Err(OfferError::Malformed("not UTF-8".into()))
        );
    }
}

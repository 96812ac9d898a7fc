//! Seats over TLS: a seat trusting the station's CA connects with wss://;
//! an expired certificate is refused by the seat, with the reason, and
//! nothing reaches the runtime; a key file others can read is refused.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use airbridge_hub::{ClientOptions, Hub, HubOptions, LinkState, SeatClient, Tokens};
use airbridge_runtime::{Action, Role};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

mod common;
use common::*;

/// A test CA (PEM file) and a server certificate for 127.0.0.1 signed by
/// it, valid now or expired a year ago: (chain file, key file).
fn pki(dir: &Path, expired: bool) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Test Station CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut leaf =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, "studio");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    if expired {
        leaf.not_before = rcgen::date_time_ymd(2023, 1, 1);
        leaf.not_after = rcgen::date_time_ymd(2024, 1, 1);
    }
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    let tag = if expired { "expired" } else { "valid" };
    let ca_file = dir.join(format!("ca-{tag}.pem"));
    let chain = dir.join(format!("seats-{tag}.pem"));
    let key_file = dir.join(format!("seats-{tag}.key"));
    std::fs::write(&ca_file, ca_cert.pem()).unwrap();
    std::fs::write(&chain, format!("{}{}", cert.pem(), ca_cert.pem())).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    (ca_file, chain, key_file)
}

fn tls_hub(rt: &airbridge_runtime::Runtime, chain: &Path, key: &Path) -> Hub {
    Hub::start(
        rt.clone(),
        HubOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            tls: Some((chain.to_owned(), key.to_owned())),
            tokens: Tokens::parse("t", TOKENS).unwrap(),
            overlay: Default::default(),
        },
    )
    .unwrap()
}

fn client(url: &str, ca: &Path) -> SeatClient {
    SeatClient::connect(
        ClientOptions {
            url: url.to_owned(),
            token: token(Role::Screener).to_owned(),
            ca_file: Some(ca.to_owned()),
            from: 1,
            meters: false,
        },
        || {},
    )
}

#[test]
fn a_seat_connects_over_tls_and_refuses_an_expired_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir.path().join("station"));
    let (ca, chain, key) = pki(dir.path(), false);
    let hub = tls_hub(&rt, &chain, &key);
    assert!(hub.url().starts_with("wss://"));
    let seat = client(&hub.url(), &ca);
    seat.wait_connected(Duration::from_secs(10)).unwrap();
    seat.act_wait(
        Action::Message {
            text: "over TLS".into(),
        },
        Duration::from_secs(10),
    )
    .unwrap();
    drop(seat);
    hub.stop();

    let (ca, chain, key) = pki(dir.path(), true);
    let before = rt.journal().last_seq();
    let hub = tls_hub(&rt, &chain, &key);
    let seat = client(&hub.url(), &ca);
    let why = seat.wait_connected(Duration::from_secs(10)).unwrap_err();
    assert!(why.to_lowercase().contains("expired"), "{why}");
    assert!(matches!(seat.state(), LinkState::Refused(_)));
    // nothing reached the runtime
    assert_eq!(rt.journal().last_seq(), before);
    drop(seat);
    hub.stop();

    // a private key others can read is refused, with the fix
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = Hub::start(
        rt.clone(),
        HubOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            tls: Some((chain, key)),
            tokens: Tokens::parse("t", TOKENS).unwrap(),
            overlay: Default::default(),
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("chmod 600"), "{e}");
    // and plain ws:// off loopback is refused
    let e = Hub::start(
        rt.clone(),
        HubOptions {
            listen: "0.0.0.0:0".parse().unwrap(),
            tls: None,
            tokens: Tokens::parse("t", TOKENS).unwrap(),
            overlay: Default::default(),
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("TLS"), "{e}");
    rt.stop();
}

//! Registering to a real registrar, `kamailio` (Debian), on 127.0.0.1:
//! REGISTER is challenged and answered with digest authentication, the
//! binding is refreshed before it expires (kamailio grants 4 s), a wrong
//! password is reported, and a call sent to the registered user through
//! kamailio rings, is answered and ends (sipp as the caller).
#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::disallowed_methods)]

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use airbridge_sip::testing::{Sipp, free_port, installed};
use airbridge_sip::{Ended, Register, Settings, SipEvent, SipLines};
use crossbeam_channel::{Receiver, unbounded};

/// kamailio in the foreground on a free port; killed when dropped.
struct Kamailio {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kamailio(password: &str) -> Option<Kamailio> {
    if !installed(&["kamailio", "sipp"]) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kamailio.cfg"))
            .unwrap()
            .replace("@PORT@", &port.to_string())
            .replace("@PASSWORD@", password);
    let file = dir.path().join("kamailio.cfg");
    std::fs::write(&file, cfg).unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    let child = Command::new("kamailio")
        .args([
            "-f",
            &file.display().to_string(),
            "-DD",
            "-E",
            "-Y",
            &run.display().to_string(),
        ])
        .args(["-P", &dir.path().join("pid").display().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // ready when it answers OPTIONS-less: wait for the UDP port to be taken
    let t = Instant::now();
    while UdpSocket::bind(("127.0.0.1", port)).is_ok() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "kamailio did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Kamailio {
        child,
        port,
        _dir: dir,
    })
}

fn registering(registrar: u16, password: &str) -> (SipLines, Receiver<SipEvent>) {
    let mut s = Settings::new("127.0.0.1:0".parse().unwrap());
    s.register = Some(Register {
        registrar: format!("127.0.0.1:{registrar}"),
        user: "airbridge".into(),
        password: password.into(),
        expires: 60,
    });
    let (tx, rx) = unbounded();
    (SipLines::start(s, tx).unwrap(), rx)
}

fn next(rx: &Receiver<SipEvent>) -> SipEvent {
    rx.recv_timeout(Duration::from_secs(20)).unwrap()
}

#[test]
fn registers_with_digest_and_refreshes_before_expiry() {
    let Some(kam) = kamailio("secret1") else {
        return;
    };
    let (sip, rx) = registering(kam.port, "secret1");
    let t = Instant::now();
    for _ in 0..3 {
        match next(&rx) {
            SipEvent::Registration { ok, detail } => assert!(ok, "{detail}"),
            other => panic!("{other:?}"),
        }
    }
    // granted 4 s, refreshed at 3 s: three registrations take about 6 s
    let took = t.elapsed();
    eprintln!("3 registrations in {took:?}");
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(12),
        "{took:?}"
    );
    assert_eq!(sip.stats().registered.load(Ordering::Relaxed), 3);
}

#[test]
fn a_wrong_password_is_reported() {
    let Some(kam) = kamailio("secret1") else {
        return;
    };
    let (sip, rx) = registering(kam.port, "not-the-password");
    match next(&rx) {
        SipEvent::Registration { ok, detail } => {
            assert!(!ok);
            assert!(
                detail.starts_with("401") || detail.starts_with("403"),
                "{detail}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sip.stats().registered.load(Ordering::Relaxed), 0);
}

#[test]
fn a_call_to_the_registered_user_rings_through_the_registrar() {
    let Some(kam) = kamailio("secret1") else {
        return;
    };
    let (sip, rx) = registering(kam.port, "secret1");
    let SipEvent::Registration { ok: true, .. } = next(&rx) else {
        panic!("not registered")
    };
    let target: SocketAddr = ([127, 0, 0, 1], kam.port).into();
    let caller = std::thread::spawn(move || {
        Sipp::new("call.xml")
            .to(target)
            .timeout_s(30)
            .args(&["-s", "airbridge", "-d", "1000"])
            .run()
    });
    let call = loop {
        match next(&rx) {
            SipEvent::Incoming(c) => break c,
            SipEvent::Registration { .. } => {}
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(call.caller.number.as_deref(), Some("13700000001"));
    let id = call.id;
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    call.ring();
    sip.answer(id, rtp.local_addr().unwrap());
    loop {
        match next(&rx) {
            SipEvent::Ended { id: i, why } => {
                assert_eq!(i, id);
                assert_eq!(why, Ended::HungUp);
                break;
            }
            SipEvent::Registration { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    let out = caller.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

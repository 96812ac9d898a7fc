#![allow(clippy::unwrap_used, clippy::print_stderr)]
//! Program out to the network, end to end through real servers on
//! 127.0.0.1: an Icecast 2 server (`icecast2`) and an RTMP server (nginx
//! with its RTMP module), both started by the test on a free port.
//!
//! Engine A puts a 1 kHz caller on air and pushes its program through
//! [`open_sink`] (Ogg/Vorbis to Icecast, FLV/AAC to RTMP). Engine B listens
//! to the same stream through [`open_source`] with the stream's URI, as a
//! line, and the test checks by spectrum that the tone comes out of the
//! server. `scripts/install-deps.sh` installs both servers; without them the
//! tests skip, or fail when `AIRBRIDGE_REQUIRE_AUDIO=1` (CI).

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use airbridge_media::core::TapPoint;
use airbridge_media::dsp::goertzel_power;
use airbridge_media::gst::{NetSink, NetSource, open_sink, open_source};
use airbridge_media::source::Tone;
use airbridge_media::{MixerConfig, build};
use common::on_air;

const TONE: f32 = 1000.0;

/// A server process, killed when the test ends (pass or fail).
struct Server {
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `cmd` quietly and waits until it listens on `port`; `log` is
    /// the server's own log, quoted when something fails.
    fn start(mut cmd: Command, port: u16, log: std::path::PathBuf) -> Server {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut server = Server { child, log };
        wait_for_port(port, &mut server);
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn required() -> bool {
    std::env::var("AIRBRIDGE_REQUIRE_AUDIO").is_ok_and(|v| v == "1")
}

/// `None` (skip) when `program` is not installed, unless CI requires it.
fn installed(program: &str, package: &str) -> Option<()> {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Some(());
    }
    assert!(
        !required(),
        "{program} is required (AIRBRIDGE_REQUIRE_AUDIO=1): apt install {package} (scripts/install-deps.sh does)"
    );
    eprintln!("SKIPPED: {program} not installed (apt install {package})");
    None
}

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, server: &mut Server) {
    let limit = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("the server exited ({status}); its log:\n{}", server.log());
        }
        assert!(
            Instant::now() < limit,
            "the server did not listen on {port}; its log:\n{}",
            server.log()
        );
        let _ = crossbeam_channel::after(Duration::from_millis(50)).recv();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn start_icecast(dir: &Path, port: u16) -> Server {
    let logdir = dir.join("log");
    std::fs::create_dir_all(&logdir).unwrap();
    // Icecast refuses to run as root; as root it must drop to `nobody`,
    // who then writes the logs.
    let change_owner = if is_root() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&logdir, std::fs::Permissions::from_mode(0o777)).unwrap();
        "<changeowner><user>nobody</user><group>nogroup</group></changeowner>"
    } else {
        ""
    };
    let config = format!(
        r#"<icecast>
  <location>test</location>
  <limits><clients>10</clients><sources>2</sources><source-timeout>10</source-timeout></limits>
  <authentication>
    <source-password>test-source</source-password>
    <admin-user>admin</admin-user><admin-password>test-admin</admin-password>
  </authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <fileserve>0</fileserve>
  <paths>
    <basedir>{dir}</basedir><logdir>{log}</logdir>
    <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot>
  </paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>3</loglevel></logging>
  <security><chroot>0</chroot>{change_owner}</security>
</icecast>
"#,
        dir = dir.display(),
        log = logdir.display(),
    );
    let path = dir.join("icecast.xml");
    std::fs::write(&path, config).unwrap();
    let mut cmd = Command::new("icecast2");
    cmd.arg("-c").arg(&path);
    Server::start(cmd, port, logdir.join("error.log"))
}

fn start_nginx_rtmp(dir: &Path, port: u16) -> Server {
    let module = Path::new("/usr/lib/nginx/modules/ngx_rtmp_module.so");
    assert!(
        module.exists(),
        "{} is missing: apt install libnginx-mod-rtmp",
        module.display()
    );
    // One foreground process as the invoking user: no privilege drop, no
    // files outside `dir`.
    let config = format!(
        r#"load_module {module};
daemon off;
master_process off;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 64; }}
rtmp {{
  server {{
    listen 127.0.0.1:{port};
    chunk_size 4096;
    application live {{ live on; record off; }}
  }}
}}
"#,
        module = module.display(),
        dir = dir.display(),
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, config).unwrap();
    let mut cmd = Command::new("nginx");
    cmd.arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(&path);
    Server::start(cmd, port, dir.join("error.log"))
}

/// Engine A's program (a 1 kHz caller) goes out through `sink`; engine B
/// takes `listen` as a line and must hear the tone within the time limit.
fn program_goes_out_and_comes_back(sink: NetSink, listen: &str, server: &Server) {
    // Engine A: the studio.
    let a = build(MixerConfig::new(1)).unwrap();
    let (mut ctl_a, mut core_a) = (a.controller, a.core);
    ctl_a
        .set_line_source(1, Box::new(Tone::new(48_000, TONE, 0.3)))
        .unwrap();
    on_air(&mut ctl_a, 1);
    let (_, tap) = ctl_a.add_tap(TapPoint::Program, 2.0).unwrap();
    let (notice_tx, notices) = crossbeam_channel::bounded(64);
    let out = open_sink(&sink, tap, 48_000, "stream", Some(notice_tx)).unwrap();

    // Engine B: a listener, the stream as its line 1.
    let b = build(MixerConfig::new(1)).unwrap();
    let (mut ctl_b, mut core_b) = (b.controller, b.core);
    let mut listener = None;

    let (_never, tick) = crossbeam_channel::bounded::<()>(1);
    let started = Instant::now();
    let limit = started + Duration::from_secs(40);
    let mut next = started;
    let mut heard = Vec::new();
    let mut blocks = 0u64;
    loop {
        next += Duration::from_millis(10);
        let _ = tick.recv_timeout(next.saturating_duration_since(Instant::now()));
        core_a.process_block();
        core_b.process_block();
        blocks += 1;
        heard.extend_from_slice(core_b.mixer().program());
        // The server knows the stream once the first data arrived: connect
        // the listener after 1.5 s of program, retry if it gave up.
        if listener.is_none() && blocks.is_multiple_of(150) {
            match open_source(&NetSource::Uri(listen.into()), 48_000, "listener", None) {
                Ok((pipe, src)) => {
                    ctl_b.set_line_source(1, Box::new(src)).unwrap();
                    on_air(&mut ctl_b, 1);
                    listener = Some(pipe);
                }
                Err(e) => eprintln!("listener not started yet: {e}"),
            }
        }
        let n = 48_000 / 2;
        if heard.len() >= n {
            let tail = &heard[heard.len() - n..];
            let tone = goertzel_power(tail, 48_000, TONE);
            let off = goertzel_power(tail, 48_000, 1_370.0);
            if tone > 1e-3 && tone > 100.0 * off {
                eprintln!(
                    "tone back from the server after {:.1} s of program (power {tone:.2e}, off-tone {off:.2e})",
                    started.elapsed().as_secs_f32()
                );
                break;
            }
        }
        if Instant::now() > limit {
            let seen: Vec<_> = notices.try_iter().collect();
            panic!(
                "no {TONE} Hz tone came back through {listen} in 40 s; sink notices: {seen:?}; server log:\n{}",
                server.log()
            );
        }
        if blocks.is_multiple_of(100) {
            // A failing sink reports on the bus: fail with its words.
            for n in notices.try_iter() {
                eprintln!("sink notice: {n:?}");
                if let airbridge_media::MediaEvent::Health {
                    ok: false, detail, ..
                } = &n
                {
                    panic!("the sink failed: {detail}; server log:\n{}", server.log());
                }
            }
        }
    }
    drop(listener);
    drop(core_a); // the tap is abandoned: the sink gets end-of-stream
    drop(ctl_a);
    out.finish();
}

#[test]
fn program_reaches_listeners_through_an_icecast_server() {
    if installed("icecast2", "icecast2").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_tcp_port();
    let server = start_icecast(dir.path(), port);
    program_goes_out_and_comes_back(
        NetSink::Icecast {
            host: "127.0.0.1".into(),
            port,
            mount: "/airbridge.ogg".into(),
            password: "test-source".into(),
        },
        &format!("http://127.0.0.1:{port}/airbridge.ogg"),
        &server,
    );
}

#[test]
fn program_reaches_a_live_platform_through_an_rtmp_server() {
    if installed("nginx", "nginx libnginx-mod-rtmp").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_tcp_port();
    let server = start_nginx_rtmp(dir.path(), port);
    let url = format!("rtmp://127.0.0.1:{port}/live/airbridge");
    program_goes_out_and_comes_back(NetSink::Rtmp { url: url.clone() }, &url, &server);
}

//! The window as a seat of a runtime on another PC (`airbridge --connect
//! wss://HOST:PORT --token-file F`): the same views, fed by
//! [`airbridge_hub::SeatClient`] instead of an in-process runtime. The
//! token decides the seat and its role; the link's state (connected,
//! reconnecting for N s, behind by N events, refused) is always on screen;
//! a command typed while the link is down is refused with a message.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use airbridge_hub::protocol::Welcome;
use airbridge_hub::{LinkState, SeatClient};
use airbridge_show::LineNo;

use crate::app::Role;
use crate::live::{Level, Loudness, MeterSource};

type Wake = Arc<OnceLock<Box<dyn Fn() + Send + Sync>>>;

/// A connected remote seat.
pub struct Remote {
    pub client: SeatClient,
    pub welcome: Welcome,
    pub url: String,
    wake: Wake,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("url", &self.url)
            .field("seat", &self.welcome.seat)
            .finish_non_exhaustive()
    }
}

impl Remote {
    /// Connects and waits (up to 30 s) for the runtime's welcome.
    #[allow(clippy::disallowed_methods)] // before the window opens
    pub fn connect(args: &crate::commands::seat::ConnectArgs) -> anyhow::Result<Self> {
        let wake: Wake = Arc::new(OnceLock::new());
        let w = Arc::clone(&wake);
        let client = SeatClient::connect(args.options(1, true)?, move || {
            if let Some(f) = w.get() {
                f();
            }
        });
        let welcome = client
            .wait_connected(Duration::from_secs(30))
            .map_err(|why| anyhow::anyhow!("{}: {why}", args.connect))?;
        Ok(Self {
            client,
            welcome,
            url: args.connect.clone(),
            wake,
        })
    }

    /// What to call when something arrives (the window's repaint); set once.
    pub fn on_wake(&self, f: impl Fn() + Send + Sync + 'static) {
        let _ = self.wake.set(Box::new(f));
    }

    /// The view this seat's role opens.
    pub fn view(&self) -> Role {
        view_of(self.welcome.role)
    }

    /// The link as the status bar says it: text and whether it is healthy.
    pub fn status_zh(&self) -> (String, bool) {
        let who = format!(
            "{}（{}）@ {}",
            self.welcome.seat,
            self.welcome.role.label_zh(),
            self.url
        );
        match self.client.state() {
            LinkState::Connected => {
                let behind = self.client.behind();
                if behind > 0 {
                    (format!("已连接 {who} · 落后 {behind} 条"), behind < 50)
                } else {
                    (format!("已连接 {who}"), true)
                }
            }
            LinkState::Connecting => (format!("正在连接 {who}"), false),
            LinkState::Reconnecting { since, why } => (
                format!(
                    "连接中断，重连中 {} 秒（{why}）· {who}",
                    since.elapsed().as_secs()
                ),
                false,
            ),
            LinkState::Refused(why) => (format!("运行时拒绝本席位：{why} · {who}"), false),
            LinkState::Closed => (format!("连接已关闭 · {who}"), false),
        }
    }
}

/// The window's view for a seat role.
pub fn view_of(role: airbridge_runtime::Role) -> Role {
    use airbridge_runtime::Role as R;
    match role {
        R::Screener => Role::Screener,
        R::Control => Role::Control,
        R::Backoffice => Role::BackOffice,
        R::Host | R::Assistant | R::Observer => Role::Host,
    }
}

/// Meters from the runtime's meter stream.
pub struct RemoteMeters(pub Arc<Remote>);

impl std::fmt::Debug for RemoteMeters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RemoteMeters")
    }
}

fn level(x: [f32; 2]) -> Level {
    let db = |v: f32| {
        if v <= 1e-6 {
            crate::live::FLOOR_DB
        } else {
            (20.0 * v.log10()).max(crate::live::FLOOR_DB)
        }
    };
    Level {
        peak_db: db(x[0]),
        rms_db: db(x[1]),
    }
}

impl RemoteMeters {
    fn frame(&self) -> Option<airbridge_hub::protocol::MeterFrame> {
        // a frame older than a second is no reading: the meters fall
        self.0
            .client
            .meters()
            .filter(|(at, _)| at.elapsed() < Duration::from_secs(1))
            .map(|(_, f)| f)
    }
}

impl MeterSource for RemoteMeters {
    fn line(&self, line: LineNo) -> Option<Level> {
        let i = usize::from(line).checked_sub(1)?;
        self.frame()
            .and_then(|f| f.lines.get(i).copied())
            .map(level)
    }
    fn program(&self) -> Option<Level> {
        self.frame().map(|f| level(f.program))
    }
    fn cue(&self) -> Option<Level> {
        self.frame().map(|f| level(f.cue))
    }
    fn loudness(&self) -> Option<Loudness> {
        self.frame().map(|f| Loudness {
            momentary: f.momentary_lufs.max(crate::live::FLOOR_DB),
            short_term: f.short_term_lufs.max(crate::live::FLOOR_DB),
        })
    }
    fn delay(&self) -> Option<airbridge_media::DelayReading> {
        self.frame().and_then(|f| f.delay)
    }
}

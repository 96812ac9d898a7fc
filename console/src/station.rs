//! The composition root: which station runs, from which configuration
//! directory, with which studio, script and paths — the same for the window
//! (`airbridge --config DIR`), the rack PC (`airbridge serve`) and the demo
//! (`airbridge --demo`: the demo station plus its rehearsal script).

use std::path::{Path, PathBuf};

use airbridge_configs::ConfigSet;
use airbridge_configs::studio::{SeatsSettings, StudioLoad, load_studio};
use airbridge_hub::{Hub, HubOptions};
use airbridge_runtime::{PartReport, PartStatus, Runtime, RuntimeOptions, StationPaths};
use anyhow::Context;

/// A station ready to start.
#[derive(Debug)]
pub struct Station {
    pub config: ConfigSet,
    pub studio: StudioLoad,
    pub paths: StationPaths,
    pub script: Option<PathBuf>,
    /// The built-in demo station without a directory: no studio, no audio.
    pub built_in: bool,
    /// The demo show (`--demo`).
    pub demo: bool,
}

/// What the command line chose.
#[derive(Debug, Clone, Default)]
pub struct Choice {
    pub config_dir: Option<PathBuf>,
    pub journal: Option<PathBuf>,
    pub script: Option<PathBuf>,
    pub demo: bool,
}

/// Resolves the station: `--demo` writes the demo station into the data
/// directory and uses its script (unless another is given); `--config DIR`
/// loads the station's own directory and its `studio.toml`; neither is the
/// built-in demo station without audio.
pub fn resolve(choice: &Choice) -> anyhow::Result<Station> {
    if choice.demo {
        let embedded =
            ConfigSet::embedded_demo().context("the built-in demo configuration is not valid")?;
        let data = crate::paths::data_dir(None, &embedded)?;
        let (dir, script) = crate::demo::prepare(&data)?;
        let mut station = load(&dir, choice.journal.clone())?;
        station.script = Some(choice.script.clone().unwrap_or(script));
        station.demo = true;
        return Ok(station);
    }
    match &choice.config_dir {
        Some(dir) => {
            let mut station = load(dir, choice.journal.clone())?;
            station.script.clone_from(&choice.script);
            Ok(station)
        }
        None => {
            let config = ConfigSet::embedded_demo()
                .context("the built-in demo configuration is not valid")?;
            let paths = crate::paths::station(None, &config, choice.journal.clone())?;
            Ok(Station {
                config,
                studio: StudioLoad::default(),
                paths,
                script: choice.script.clone(),
                built_in: true,
                demo: false,
            })
        }
    }
}

fn load(dir: &Path, journal: Option<PathBuf>) -> anyhow::Result<Station> {
    let config = crate::cli::load_config(Some(dir))?;
    let studio = load_studio(dir, config.show.lines);
    let paths = crate::paths::station(Some(dir), &config, journal)?;
    Ok(Station {
        config,
        studio,
        paths,
        script: None,
        built_in: false,
        demo: false,
    })
}

impl Station {
    /// Starts its runtime (speech on; the demo opens its show at once),
    /// then the seats listener if studio.toml has `[seats]` — last, so a
    /// seat never joins a half-started show. A listener that cannot start
    /// is a failed part; the show runs on.
    pub fn start(self) -> anyhow::Result<Show> {
        let journal = self.paths.journal.clone();
        let seats = self.studio.studio.as_ref().and_then(|s| s.seats.clone());
        let overlay = self
            .studio
            .studio
            .as_ref()
            .and_then(|s| s.overlay.clone())
            .map(|o| airbridge_hub::overlay::OverlayStyle {
                font_size: o.font_size,
                color: o.color,
                background: o.background,
                position: o.position,
            })
            .unwrap_or_default();
        let mut opts = RuntimeOptions::new(self.config, self.paths, self.studio);
        opts.script = self.script;
        opts.open_show = self.demo;
        let runtime =
            Runtime::start(opts).with_context(|| format!("show journal {}", journal.display()))?;
        let hub = seats.and_then(|settings| start_seats(&runtime, &settings, overlay));
        Ok(Show { runtime, hub })
    }
}

fn start_seats(
    runtime: &Runtime,
    settings: &SeatsSettings,
    overlay: airbridge_hub::overlay::OverlayStyle,
) -> Option<Hub> {
    let started = HubOptions::from_settings(settings).and_then(|mut options| {
        options.overlay = overlay;
        let seats = options.tokens.len();
        Hub::start(runtime.clone(), options).map(|hub| (hub, seats))
    });
    match started {
        Ok((hub, seats)) => {
            runtime.report(hub.report(seats));
            Some(hub)
        }
        Err(e) => {
            runtime.report(PartReport {
                name: "seats".into(),
                component: "seats".into(),
                status: PartStatus::Failed(e.to_string()),
                zh: None,
            });
            None
        }
    }
}

/// A running show: the runtime and, when configured, the seats listener.
#[derive(Debug)]
pub struct Show {
    pub runtime: Runtime,
    pub hub: Option<Hub>,
}

impl Show {
    /// Closes the seats listener, then stops the show in the runtime's order.
    pub fn stop(self) -> airbridge_runtime::Summary {
        if let Some(hub) = self.hub {
            hub.stop();
        }
        self.runtime.stop()
    }
}

/// What the window says above every seat on the built-in station.
pub const BUILT_IN_NOTICE: &str = "这是内置的演示电台（示例台）：没有声卡、线路和弹幕接入。\
     生成本台配置：airbridge studio init 目录 ，再用 airbridge --config 目录 启动；\
     看完整演示：airbridge --demo";

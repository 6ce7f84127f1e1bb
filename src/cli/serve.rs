//! `sluice serve`: runs ingest and delivery until SIGTERM or Ctrl-C.
//!
//! Shutdown runs in three steps, so nothing acknowledged is lost and nothing in flight is cut
//! off: ingest and the admin socket stop accepting and finish the requests they have (each
//! ingest response follows the commit of its append); then delivery stops leasing and lets
//! the requests in flight finish or return to the queue; last the outbox writes outstanding
//! outcomes and closes.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::sync::Arc;

use anyhow::Context;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{ServeArgs, trial};
use crate::admin::Admin;
use crate::admin::server::AdminServer;
use crate::config::{Config, DestinationKind};
use crate::ingest::IngestState;
use crate::store::{Outbox, OutboxOptions};
use crate::{destinations, dispatch, ingest, telemetry};

/// The file name of the outbox database inside the state directory.
pub const OUTBOX_FILE: &str = "outbox.redb";

/// Runs the server until a shutdown signal arrives.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = Config::load(args.config.as_deref()).map_err(|error| {
        anyhow::anyhow!("invalid configuration:\n{}", error.problems.join("\n"))
    })?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(state_dir) = args.state_dir {
        config.state_dir = state_dir;
    }
    config.check_overrides().map_err(|message| anyhow::anyhow!("{message}"))?;
    // The trial renders of `sluice check`: a template that fails on every event stops the start
    // instead of dead-lettering everything.
    let sample = trial::sample_event();
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    for destination in &config.destinations {
        for finding in trial::trial_render(destination, &sample) {
            match finding {
                trial::Finding::Error(message) => {
                    problems.push(format!("destinations.{}: {message}", destination.name));
                }
                trial::Finding::Warning(message) => {
                    warnings.push((destination.name.clone(), message))
                }
            }
        }
    }
    if !problems.is_empty() {
        anyhow::bail!("invalid configuration:\n{}", problems.join("\n"));
    }
    telemetry::init(args.log.log_format, &args.log.log_level);
    for (destination, message) in warnings {
        warn!(destination = %destination, "{message}");
    }
    destinations::install_crypto_provider();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sluice")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let config = Arc::new(config);
    // Event data is private to the service: a new state directory is 0700 and a new outbox
    // file 0600, whatever the umask.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&config.state_dir)
        .with_context(|| format!("cannot create state directory {}", config.state_dir.display()))?;
    let names: Vec<&str> = config.destinations.iter().map(|d| d.name.as_str()).collect();
    let options = OutboxOptions {
        cache_size_bytes: config.outbox.cache_size_bytes,
        max_pending_entries: config.outbox.max_pending_entries,
    };
    let outbox_path = config.state_dir.join(OUTBOX_FILE);
    let new_outbox = !outbox_path.exists();
    let outbox = Outbox::open(&outbox_path, &names, options)?;
    if new_outbox {
        std::fs::set_permissions(&outbox_path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict permissions of {}", outbox_path.display()))?;
    }

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    // Bound while the outbox is open, so a socket file left by a crash is known to be stale.
    // Without it the admin commands cannot reach this process, but events still flow.
    let admin_server = AdminServer::bind(&config.state_dir)
        .inspect_err(|error| {
            tracing::error!(%error, "admin socket unavailable; admin commands cannot reach sluice");
        })
        .ok();
    let config_name =
        config.path.as_ref().map_or_else(|| "embedded default".into(), |p| p.display().to_string());
    info!(config = %config_name, version = env!("CARGO_PKG_VERSION"), "sluice starting");
    for destination in &config.destinations {
        let target = match &destination.kind {
            DestinationKind::Stdout => "stdout".to_owned(),
            DestinationKind::Http(http) => crate::config::url_for_display(&http.url),
        };
        info!(destination = %destination.name, target, "destination configured");
    }
    for counts in outbox.counts() {
        let configured = config.destinations.iter().any(|d| d.name == counts.name);
        if !configured && (counts.pending > 0 || counts.dead > 0) {
            warn!(
                destination = %counts.name,
                outbox_pending = counts.pending,
                dead = counts.dead,
                "destination is no longer configured but still holds entries; they count toward \
                 the ingest quota until dropped with `sluice queues drop NAME --yes`"
            );
        }
    }
    if config.sources.iter().any(|s| matches!(s.api_keys, crate::config::ApiKeys::Any)) {
        warn!("a source accepts any API key; list the keys before exposing sluice to a network");
    }

    let ingest_shutdown = CancellationToken::new();
    let dispatch_shutdown = CancellationToken::new();
    let delivery =
        dispatch::spawn(outbox.clone(), &config.destinations, dispatch_shutdown.clone())?;
    let state = IngestState::from_config(&config, outbox.clone())?;
    let configured = config.destinations.iter().map(|d| d.name.clone()).collect();
    let operations = Admin::new(outbox.clone(), Some(configured))
        .with_deliveries(Arc::new(delivery.pause_switches()))
        .with_stop(ingest_shutdown.clone());
    let admin =
        admin_server.map(|server| tokio::spawn(server.serve(operations, ingest_shutdown.clone())));
    let signals = Signals::install().context("cannot watch for shutdown signals")?;
    let signals = tokio::spawn(wait_for_signal(signals, ingest_shutdown.clone()));
    notify_systemd(sd_notify::NotifyState::Ready);

    let served = ingest::serve(listener, state, ingest_shutdown.clone()).await;
    ingest_shutdown.cancel();
    signals.abort();
    notify_systemd(sd_notify::NotifyState::Stopping);
    if let Some(admin) = admin
        && let Err(error) = admin.await
    {
        warn!(%error, "admin socket task failed");
    }
    info!("ingest stopped; finishing deliveries in flight");
    dispatch_shutdown.cancel();
    let delivered = delivery.wait().await;
    let pending = outbox.pending();
    outbox.close();
    info!(pending, "sluice stopped");
    served?;
    delivered?;
    Ok(())
}

/// Tells systemd about a state change when it started sluice with `Type=notify`; does
/// nothing otherwise.
fn notify_systemd(state: sd_notify::NotifyState<'_>) {
    if let Err(error) = sd_notify::notify(&[state]) {
        warn!(%error, "cannot notify systemd");
    }
}

/// The signals that stop sluice, and SIGHUP, registered with the runtime.
///
/// They are registered before systemd hears that sluice is ready, so a SIGTERM sent right
/// after start-up is handled like any other instead of killing the process.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }
}

/// Cancels `shutdown` on SIGTERM or Ctrl-C (SIGINT).
///
/// SIGHUP would end the process by default. Tools such as logrotate send it expecting a
/// reload, so it is caught and logged as a warning instead.
async fn wait_for_signal(mut signals: Signals, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = signals.interrupt.recv() => {
                info!(signal = "SIGINT", "shutting down");
                break;
            }
            _ = signals.terminate.recv() => {
                info!(signal = "SIGTERM", "shutting down");
                break;
            }
            _ = signals.hangup.recv() => warn!(
                signal = "SIGHUP",
                "configuration reload is not supported; restart sluice to apply changes"
            ),
        }
    }
    shutdown.cancel();
}

//! The admin subcommands: `sluice queues`, `sluice dead`, `sluice pause` and `sluice resume`.
//!
//! Each command sends its request to the running `sluice serve` through the admin socket in
//! the state directory. When no server listens there, it opens the outbox file itself
//! (offline), which works for everything but pause and resume. Output is a table, or JSON with `--json`.
//! Problems with single dead letters (a missing key, a letter that cannot be read) are reported
//! on standard error, the command goes on, and it exits with 1.

mod output;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::EXIT_PROBLEMS;
use super::serve::OUTBOX_FILE;
use crate::admin::api::{
    ActionReport, DEFAULT_LIST_LIMIT, DeadList, DropReport, LetterDetail, LetterKey, ListQuery,
    MAX_LIST_LIMIT, PauseReport, Queues, Target,
};
use crate::admin::client::Client;
use crate::admin::locate::{Location, locate};
use crate::admin::{Admin, AdminError, Deliveries, SOCKET_FILE};
use crate::dispatch::PauseSwitches;
use crate::store::{Outbox, OutboxOptions};
use output::{print_report, warn};

/// redb's page cache for an offline command, which reads little.
const OFFLINE_CACHE_BYTES: usize = 16 << 20;

/// Options shared by the admin subcommands.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Read the state directory and the destination names from FILE.
    ///
    /// Only `state_dir` and the names under `[destinations]` are read, so secrets need not be
    /// set. Without it, and without --state-dir, the embedded default is used.
    #[arg(long, short, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Use the state directory DIR, overriding `state_dir` in the file.
    #[arg(long, value_name = "DIR", global = true)]
    pub state_dir: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Arguments of `sluice queues`.
#[derive(Debug, Args)]
pub struct QueuesArgs {
    /// Act on the queues instead of listing them.
    #[command(subcommand)]
    pub action: Option<QueuesAction>,
    #[command(flatten)]
    pub common: AdminArgs,
}

/// The subcommands of `sluice queues`.
#[derive(Debug, Subcommand)]
pub enum QueuesAction {
    /// Delete the entries and dead letters of a destination no longer configured.
    ///
    /// A destination renamed or removed in the configuration keeps its queue, which counts
    /// toward the ingest quota. A destination still configured is rejected.
    Drop(DropArgs),
}

/// Arguments of `sluice queues drop`.
#[derive(Debug, Args)]
pub struct DropArgs {
    /// The destination whose queue to delete.
    #[arg(value_name = "NAME")]
    pub destination: String,
    /// Confirm that the entries and dead letters are deleted for good.
    #[arg(long)]
    pub yes: bool,
}

/// Arguments of `sluice dead`.
#[derive(Debug, Args)]
pub struct DeadArgs {
    /// The dead-letter subcommand.
    #[command(subcommand)]
    pub action: DeadAction,
    #[command(flatten)]
    pub common: AdminArgs,
}

/// The subcommands of `sluice dead`.
#[derive(Debug, Subcommand)]
pub enum DeadAction {
    /// List dead letters, oldest first.
    List(ListArgs),
    /// Show one dead letter with its reason, response and event.
    Show(ShowArgs),
    /// Queue dead letters again for delivery, due now with no attempts.
    Replay(TargetArgs),
    /// Delete dead letters for good.
    Purge(TargetArgs),
}

/// Arguments of `sluice dead list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// List only the dead letters of destination NAME.
    #[arg(long, value_name = "NAME")]
    pub destination: Option<String>,
    /// List at most NUM dead letters.
    #[arg(long, value_name = "NUM", default_value_t = DEFAULT_LIST_LIMIT, value_parser = parse_limit)]
    pub limit: usize,
    /// Start after KEY, the key printed at the end of the previous page.
    #[arg(long, value_name = "KEY")]
    pub after: Option<LetterKey>,
    /// List the newest dead letters first.
    #[arg(long)]
    pub newest_first: bool,
}

/// Arguments of `sluice dead show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The dead letter, as DESTINATION:EVENT_ID from `sluice dead list`.
    #[arg(value_name = "KEY")]
    pub key: LetterKey,
}

/// Arguments of `sluice dead replay` and `sluice dead purge`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["keys", "all"]))]
pub struct TargetArgs {
    /// The dead letters, as DESTINATION:EVENT_ID from `sluice dead list`.
    #[arg(value_name = "KEY")]
    pub keys: Vec<LetterKey>,
    /// Act on the dead letters of destination NAME; needs --all.
    #[arg(long, value_name = "NAME", requires = "all")]
    pub destination: Option<String>,
    /// Act on every dead letter that the --destination has when the command starts.
    #[arg(long, requires = "destination")]
    pub all: bool,
}

/// Arguments of `sluice pause` and `sluice resume`.
#[derive(Debug, Args)]
pub struct PauseArgs {
    /// The destination.
    #[arg(value_name = "NAME")]
    pub destination: String,
    #[command(flatten)]
    pub common: AdminArgs,
}

/// Parses `--limit`: a whole number from 1 to [`MAX_LIST_LIMIT`].
fn parse_limit(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(limit) if (1..=MAX_LIST_LIMIT).contains(&limit) => Ok(limit),
        _ => Err(format!("expected a whole number from 1 to {MAX_LIST_LIMIT}")),
    }
}

impl Deliveries for PauseSwitches {
    fn is_paused(&self, destination: &str) -> Option<bool> {
        PauseSwitches::is_paused(self, destination)
    }

    fn set_paused(&self, destination: &str, paused: bool) -> Option<bool> {
        PauseSwitches::set_paused(self, destination, paused)
    }
}

/// One admin operation, with its arguments.
#[derive(Debug)]
enum Operation {
    Queues,
    Drop(String),
    List(ListQuery),
    Show(LetterKey),
    Replay(Target),
    Purge(Target),
    Pause(String, bool),
}

/// The report of an operation.
#[derive(Debug)]
enum Report {
    Queues(Queues),
    Drop(DropReport),
    List(DeadList),
    Show(LetterDetail),
    Replay(ActionReport),
    Purge(ActionReport),
    Pause(PauseReport),
}

/// Runs `sluice queues`.
pub fn queues(args: QueuesArgs) -> anyhow::Result<ExitCode> {
    let operation = match args.action {
        None => Operation::Queues,
        Some(QueuesAction::Drop(drop)) => {
            if !drop.yes {
                anyhow::bail!(
                    "dropping the queue of `{}` deletes its pending entries and dead letters \
                     for good; add --yes to confirm",
                    drop.destination
                );
            }
            Operation::Drop(drop.destination)
        }
    };
    execute(&args.common, operation)
}

/// Runs `sluice dead`.
pub fn dead(args: DeadArgs) -> anyhow::Result<ExitCode> {
    let operation = match args.action {
        DeadAction::List(list) => Operation::List(ListQuery {
            destination: list.destination,
            limit: list.limit,
            after: list.after,
            newest_first: list.newest_first,
        }),
        DeadAction::Show(show) => Operation::Show(show.key),
        DeadAction::Replay(target) => Operation::Replay(target.into_target()),
        DeadAction::Purge(target) => Operation::Purge(target.into_target()),
    };
    execute(&args.common, operation)
}

/// Runs `sluice pause` (`paused` true) or `sluice resume`.
pub fn pause(args: PauseArgs, paused: bool) -> anyhow::Result<ExitCode> {
    execute(&args.common, Operation::Pause(args.destination, paused))
}

impl TargetArgs {
    fn into_target(self) -> Target {
        match self.destination {
            Some(destination) if self.all => Target::Destination { destination },
            _ => Target::Keys { keys: self.keys },
        }
    }
}

/// Locates the outbox, performs the operation online or offline, and prints its report.
fn execute(common: &AdminArgs, operation: Operation) -> anyhow::Result<ExitCode> {
    let location = locate(common.config.as_deref(), common.state_dir.as_deref())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match runtime.block_on(perform(&location, operation))? {
        Ok(report) => print_report(&report, common.json),
        Err(error) if error.is_problem() => {
            warn(&error.to_string());
            Ok(ExitCode::from(EXIT_PROBLEMS))
        }
        Err(error) => Err(error.into()),
    }
}

/// Sends the operation to the running server, or performs it on the outbox file when no
/// server listens. The outer error means that neither was reachable, the inner one is the
/// operation's.
async fn perform(
    location: &Location,
    operation: Operation,
) -> anyhow::Result<Result<Report, AdminError>> {
    let socket = location.state_dir.join(SOCKET_FILE);
    if let Some(client) = Client::connect(&socket).await? {
        return Ok(ask_server(client, operation).await);
    }
    if let Operation::Pause(..) = operation {
        anyhow::bail!(
            "no sluice serve listens on admin socket {}; pause and resume act on a running \
             server",
            socket.display()
        );
    }
    let outbox = open_offline(&location.state_dir, &socket)?;
    if let Operation::Queues = operation {
        warn("sluice serve is not running; the counts come from the outbox file");
    }
    let admin = Admin::new(outbox.clone(), location.configured.clone());
    let report = perform_offline(&admin, operation).await;
    drop(admin);
    outbox.close();
    Ok(report)
}

async fn ask_server(client: Client, operation: Operation) -> Result<Report, AdminError> {
    match operation {
        Operation::Queues => client.queues().await.map(Report::Queues),
        Operation::Drop(name) => client.drop_queue(&name).await.map(Report::Drop),
        Operation::List(query) => client.dead_list(&query).await.map(Report::List),
        Operation::Show(key) => client.dead_show(&key).await.map(Report::Show),
        Operation::Replay(target) => client.replay(&target).await.map(Report::Replay),
        Operation::Purge(target) => client.purge(&target).await.map(Report::Purge),
        Operation::Pause(name, paused) => client.set_paused(&name, paused).await.map(Report::Pause),
    }
}

async fn perform_offline(admin: &Admin, operation: Operation) -> Result<Report, AdminError> {
    match operation {
        Operation::Queues => Ok(Report::Queues(admin.queues())),
        Operation::Drop(name) => admin.drop_queue(&name).await.map(Report::Drop),
        Operation::List(query) => admin.dead_list(&query).map(Report::List),
        Operation::Show(key) => admin.dead_show(&key).map(Report::Show),
        Operation::Replay(target) => admin.replay(&target).await.map(Report::Replay),
        Operation::Purge(target) => admin.purge(&target).await.map(Report::Purge),
        Operation::Pause(..) => Err(AdminError::NotRunning),
    }
}

/// Opens the outbox file of a state directory where no server listens; never creates one.
fn open_offline(state_dir: &Path, socket: &Path) -> anyhow::Result<Outbox> {
    let path = state_dir.join(OUTBOX_FILE);
    if !path.exists() {
        anyhow::bail!(
            "no outbox at {}; check --config or --state-dir (sluice serve creates the outbox \
             when it first starts)",
            path.display()
        );
    }
    let options =
        OutboxOptions { cache_size_bytes: OFFLINE_CACHE_BYTES, max_pending_entries: u64::MAX };
    Outbox::open(&path, &[], options)
        .with_context(|| format!("no sluice serve listens on admin socket {}", socket.display()))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> Result<Command, clap::Error> {
        Cli::try_parse_from(std::iter::once("sluice").chain(args.iter().copied()))
            .map(|cli| cli.command)
    }

    #[test]
    fn queues_takes_common_flags_before_and_after_drop() {
        let Command::Queues(args) = parse(&["queues", "--json", "--state-dir", "s"]).unwrap()
        else {
            panic!("not queues")
        };
        assert!(args.common.json);
        assert!(args.action.is_none());
        let Command::Queues(args) =
            parse(&["queues", "--config", "c.toml", "drop", "old", "--yes", "--json"]).unwrap()
        else {
            panic!("not queues")
        };
        assert_eq!(args.common.config, Some(PathBuf::from("c.toml")));
        assert!(args.common.json);
        let Some(QueuesAction::Drop(drop)) = args.action else { panic!("not drop") };
        assert_eq!(drop.destination, "old");
        assert!(drop.yes);
    }

    #[test]
    fn dead_list_reads_paging_flags() {
        let Command::Dead(args) = parse(&[
            "dead",
            "list",
            "--destination",
            "hook",
            "--limit",
            "5",
            "--after",
            "hook:7",
            "--newest-first",
        ])
        .unwrap() else {
            panic!("not dead")
        };
        let DeadAction::List(list) = args.action else { panic!("not list") };
        assert_eq!(list.destination.as_deref(), Some("hook"));
        assert_eq!(list.limit, 5);
        assert_eq!(list.after.unwrap().event_id, 7);
        assert!(list.newest_first);
    }

    #[test]
    fn dead_list_rejects_limits_out_of_range() {
        assert!(parse(&["dead", "list", "--limit", "0"]).is_err());
        assert!(parse(&["dead", "list", "--limit", "10001"]).is_err());
        assert!(parse(&["dead", "list", "--limit", "10000"]).is_ok());
    }

    #[test]
    fn dead_show_rejects_a_malformed_key() {
        let error = parse(&["dead", "show", "hook"]).unwrap_err();
        assert!(error.to_string().contains("DESTINATION:EVENT_ID"), "{error}");
    }

    #[test]
    fn replay_takes_keys_or_a_whole_destination() {
        let Command::Dead(args) = parse(&["dead", "replay", "hook:1", "hook:2"]).unwrap() else {
            panic!("not dead")
        };
        let DeadAction::Replay(target) = args.action else { panic!("not replay") };
        assert_eq!(
            target.into_target(),
            Target::Keys { keys: vec!["hook:1".parse().unwrap(), "hook:2".parse().unwrap(),] }
        );

        let Command::Dead(args) =
            parse(&["dead", "purge", "--destination", "hook", "--all"]).unwrap()
        else {
            panic!("not dead")
        };
        let DeadAction::Purge(target) = args.action else { panic!("not purge") };
        assert_eq!(target.into_target(), Target::Destination { destination: "hook".into() });
    }

    #[test]
    fn replay_needs_keys_or_all() {
        assert!(parse(&["dead", "replay"]).is_err());
        assert!(parse(&["dead", "replay", "--destination", "hook"]).is_err());
        assert!(parse(&["dead", "replay", "--all"]).is_err());
        assert!(parse(&["dead", "replay", "hook:1", "--destination", "hook", "--all"]).is_err());
    }

    #[test]
    fn pause_and_resume_take_a_name() {
        assert!(matches!(parse(&["pause", "hook"]).unwrap(), Command::Pause(_)));
        assert!(matches!(parse(&["resume", "hook", "--json"]).unwrap(), Command::Resume(_)));
        assert!(parse(&["pause"]).is_err());
    }
}

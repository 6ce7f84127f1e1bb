//! The admin operations, run by the admin API server and by the offline commands alike.

use std::cmp::Reverse;
use std::collections::HashSet;
use std::sync::Arc;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use super::api::{
    ActionItem, ActionReport, DeadList, DropReport, LetterDetail, LetterKey, LetterSummary,
    ListQuery, MAX_KEYS_PER_REQUEST, MAX_LIST_LIMIT, PauseReport, Problem, QueueRow, Queues,
    Target,
};
use super::{AdminError, suggest};
use crate::event::Event;
use crate::store::{
    DeadLetterError, DeadLetterKey, DeadLetterOrder, DeadLetterSummary, DestinationCounts,
    DestinationId, DiscardError, Outbox,
};

/// Dead letters read per page, and acted on concurrently, by the whole-destination replay and
/// purge.
const LETTERS_PER_PAGE: usize = 1000;

/// Pausing and resuming the delivery tasks of a running server.
pub trait Deliveries: Send + Sync {
    /// Returns whether deliveries to `destination` are paused, or `None` when it has no
    /// delivery task.
    fn is_paused(&self, destination: &str) -> Option<bool>;

    /// Pauses or resumes deliveries to `destination` and returns the previous state, or `None`
    /// when it has no delivery task.
    fn set_paused(&self, destination: &str, paused: bool) -> Option<bool>;
}

/// The admin operations over one open outbox.
#[derive(Clone)]
pub struct Admin {
    outbox: Outbox,
    /// The names of the configured destinations, in the configuration's order; `None` when no
    /// configuration was read.
    configured: Option<Vec<String>>,
    /// The delivery tasks; `None` offline.
    deliveries: Option<Arc<dyn Deliveries>>,
    /// Cancelled when the server shuts down; a long replay or purge stops between pages.
    stop: CancellationToken,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("outbox", &self.outbox)
            .field("configured", &self.configured)
            .field("running", &self.deliveries.is_some())
            .finish_non_exhaustive()
    }
}

/// A destination named in a request, resolved against the outbox and the configuration.
enum Resolved {
    /// Registered in the outbox.
    Registered(DestinationId),
    /// Configured but never registered, so it has no entries or dead letters.
    Empty,
}

impl Admin {
    /// Returns the operations over `outbox`, with the names of the configured destinations when
    /// a configuration was read.
    pub fn new(outbox: Outbox, configured: Option<Vec<String>>) -> Admin {
        Admin { outbox, configured, deliveries: None, stop: CancellationToken::new() }
    }

    /// Adds the delivery tasks of the running server, for pause and resume.
    pub fn with_deliveries(mut self, deliveries: Arc<dyn Deliveries>) -> Admin {
        self.deliveries = Some(deliveries);
        self
    }

    /// Makes long operations stop between pages once `stop` is cancelled.
    pub fn with_stop(mut self, stop: CancellationToken) -> Admin {
        self.stop = stop;
        self
    }

    /// Returns the pending, leased and dead counts of every destination.
    ///
    /// Lists the configured destinations in the configuration's order, then those no longer
    /// configured that still hold entries or dead letters. Without a configuration it lists
    /// every destination the outbox has registered.
    pub fn queues(&self) -> Queues {
        let counts = self.outbox.counts();
        let paused =
            |name: &str| self.deliveries.as_ref().and_then(|d| d.is_paused(name)).unwrap_or(false);
        let row = |name: &str, configured: Option<bool>| {
            let found = counts.iter().find(|count| count.name == name);
            QueueRow {
                destination: name.to_owned(),
                configured,
                paused: paused(name),
                pending: found.map_or(0, |count| count.pending),
                leased: found.map_or(0, |count| count.leased),
                dead: found.map_or(0, |count| count.dead),
            }
        };

        let mut rows = Vec::new();
        match &self.configured {
            Some(configured) => {
                for name in configured {
                    rows.push(row(name, Some(true)));
                }
                let mut left: Vec<&DestinationCounts> = counts
                    .iter()
                    .filter(|count| !configured.contains(&count.name))
                    .filter(|count| count.pending > 0 || count.dead > 0)
                    .collect();
                left.sort_by(|a, b| a.name.cmp(&b.name));
                rows.extend(left.into_iter().map(|count| row(&count.name, Some(false))));
            }
            None => {
                let mut names: Vec<&str> = counts.iter().map(|count| count.name.as_str()).collect();
                names.sort_unstable();
                rows.extend(names.into_iter().map(|name| row(name, None)));
            }
        }
        Queues { destinations: rows }
    }

    /// Lists one page of dead letters, of one destination or of all.
    ///
    /// The order is by event id, then by destination id, so pages over all destinations
    /// continue where the previous one ended. It reads at most `limit` dead letters per
    /// destination. The reads are blocking redb reads; call it off the async threads.
    pub fn dead_list(&self, query: &ListQuery) -> Result<DeadList, AdminError> {
        if !(1..=MAX_LIST_LIMIT).contains(&query.limit) {
            return Err(AdminError::Invalid(format!(
                "limit {} is out of range; use 1 to {MAX_LIST_LIMIT}",
                query.limit
            )));
        }
        let counts = self.outbox.counts();
        let destinations: Vec<(DestinationId, String)> = match &query.destination {
            Some(name) => match self.resolve(name, &counts)? {
                Resolved::Registered(id) => vec![(id, name.clone())],
                Resolved::Empty => Vec::new(),
            },
            None => counts.iter().map(|count| (count.id, count.name.clone())).collect(),
        };
        let after = match &query.after {
            Some(key) => Some(self.cursor(key, query.destination.as_deref(), &counts)?),
            None => None,
        };
        let order = if query.newest_first {
            DeadLetterOrder::NewestFirst
        } else {
            DeadLetterOrder::OldestFirst
        };

        let mut items: Vec<(u64, DestinationId, Result<LetterSummary, Problem>)> = Vec::new();
        let mut page_full = false;
        for (id, name) in &destinations {
            let start_after = after.and_then(|cursor| start_after(cursor, *id, order));
            let page = self
                .outbox
                .dead_letter_page(*id, start_after, order, query.limit)
                .map_err(|error| dead_letter_error(&error))?;
            page_full |= page.letters.len() + page.unreadable.len() >= query.limit;
            for letter in page.letters {
                let seq = letter.key.event_seq;
                items.push((seq, *id, Ok(summary(name, letter))));
            }
            for (key, error) in page.unreadable {
                let letter = LetterKey { destination: name.clone(), event_id: key.event_seq };
                let message = format!("cannot read dead letter {letter}: {error}");
                items.push((key.event_seq, *id, Err(Problem { key: Some(letter), message })));
            }
        }

        match order {
            DeadLetterOrder::OldestFirst => items.sort_by_key(|(seq, id, _)| (*seq, *id)),
            DeadLetterOrder::NewestFirst => items.sort_by_key(|(seq, id, _)| Reverse((*seq, *id))),
        }
        let more = page_full || items.len() > query.limit;
        items.truncate(query.limit);
        let next_after = if more {
            items.last().map(|(seq, id, _)| {
                let name = destinations.iter().find(|(d, _)| d == id).map(|(_, n)| n.clone());
                LetterKey { destination: name.unwrap_or_default(), event_id: *seq }
            })
        } else {
            None
        };
        let mut list = DeadList { letters: Vec::new(), problems: Vec::new(), next_after };
        for (_, _, item) in items {
            match item {
                Ok(letter) => list.letters.push(letter),
                Err(problem) => list.problems.push(problem),
            }
        }
        Ok(list)
    }

    /// Returns one dead letter with its event as JSON.
    ///
    /// An event that cannot be decoded leaves `event` empty and its reason in `event_error`.
    /// The read is a blocking redb read; call it off the async threads.
    pub fn dead_show(&self, key: &LetterKey) -> Result<LetterDetail, AdminError> {
        let counts = self.outbox.counts();
        let id = self.resolve_key(key, &counts)?;
        let stored_key = DeadLetterKey { destination: id, event_seq: key.event_id };
        let detail = self.outbox.dead_letter(stored_key).map_err(|error| match error {
            DeadLetterError::NotFound { .. } => not_found(key),
            DeadLetterError::Storage(message) => {
                AdminError::LetterUnreadable { key: key.clone(), message }
            }
            other => dead_letter_error(&other),
        })?;
        let summary = summary(&key.destination, detail.summary);
        let (source, event, event_error) = match Event::decode(&detail.event) {
            Ok(event) => match serde_json::from_str(&event.input.to_json()) {
                Ok(json) => (Some(event.source), Some(json), None),
                Err(error) => (Some(event.source), None, Some(error.to_string())),
            },
            Err(error) => (None, None, Some(error.to_string())),
        };
        Ok(LetterDetail { summary, source, event, event_error })
    }

    /// Queues dead letters again, due now with no attempts, and deletes them from the dead
    /// letters.
    ///
    /// With keys, a missing key or an unreadable letter is reported in the problems and the
    /// others go on. With a destination, it replays the dead letters the destination holds
    /// when it starts, in pages of 1,000; letters that die again meanwhile are left for the
    /// next run, so a destination that keeps rejecting them cannot keep it going. Letters that
    /// another command replays or purges meanwhile are skipped without a problem. A
    /// destination that is no longer configured is rejected.
    pub async fn replay(&self, target: &Target) -> Result<ActionReport, AdminError> {
        self.act(target, Action::Replay).await
    }

    /// Deletes dead letters, as [`Admin::replay`] selects them.
    pub async fn purge(&self, target: &Target) -> Result<ActionReport, AdminError> {
        self.act(target, Action::Purge).await
    }

    /// Deletes the pending entries and dead letters of a destination that is no longer
    /// configured.
    ///
    /// Rejects a destination that is configured, and any destination when no configuration was
    /// read.
    pub async fn drop_queue(&self, name: &str) -> Result<DropReport, AdminError> {
        let counts = self.outbox.counts();
        let Some(configured) = &self.configured else {
            return Err(AdminError::ConfigurationUnknown(name.to_owned()));
        };
        if configured.iter().any(|configured| configured == name) {
            return Err(AdminError::StillConfigured(name.to_owned()));
        }
        let Resolved::Registered(id) = self.resolve(name, &counts)? else {
            return Err(AdminError::StillConfigured(name.to_owned()));
        };
        let entries = self.outbox.discard_entries(id).await.map_err(|error| match error {
            DiscardError::Closed => unavailable(),
            other => AdminError::Storage(format!("cannot drop queue of `{name}`: {other}")),
        })?;
        let dead_letters =
            self.outbox.purge_dead_letters(id).await.map_err(|error| dead_letter_error(&error))?;
        info!(destination = name, entries, dead_letters, "queue dropped");
        Ok(DropReport { destination: name.to_owned(), entries, dead_letters })
    }

    /// Pauses deliveries to a configured destination in the running server.
    pub fn pause(&self, name: &str) -> Result<PauseReport, AdminError> {
        self.set_paused(name, true)
    }

    /// Resumes deliveries to a paused destination in the running server.
    pub fn resume(&self, name: &str) -> Result<PauseReport, AdminError> {
        self.set_paused(name, false)
    }

    fn set_paused(&self, name: &str, paused: bool) -> Result<PauseReport, AdminError> {
        let deliveries = self.deliveries.as_ref().ok_or(AdminError::NotRunning)?;
        let Some(before) = deliveries.set_paused(name, paused) else {
            let known = self.configured.iter().flatten().map(String::as_str);
            return Err(AdminError::UnknownDestination {
                name: name.to_owned(),
                suggestion: suggest(name, known).map(str::to_owned),
            });
        };
        let changed = before != paused;
        if changed {
            if paused {
                info!(destination = name, "deliveries paused");
            } else {
                info!(destination = name, "deliveries resumed");
            }
        }
        Ok(PauseReport { destination: name.to_owned(), paused, changed })
    }

    /// Resolves a destination name; an unknown name gets a suggestion from every known name.
    fn resolve(&self, name: &str, counts: &[DestinationCounts]) -> Result<Resolved, AdminError> {
        if let Some(count) = counts.iter().find(|count| count.name == name) {
            return Ok(Resolved::Registered(count.id));
        }
        if self.configured.iter().flatten().any(|configured| configured == name) {
            return Ok(Resolved::Empty);
        }
        let registered = counts.iter().map(|count| count.name.as_str());
        let configured = self.configured.iter().flatten().map(String::as_str);
        Err(AdminError::UnknownDestination {
            name: name.to_owned(),
            suggestion: suggest(name, registered.chain(configured)).map(str::to_owned),
        })
    }

    /// Resolves the destination of a dead-letter key; an unknown one means no such letter.
    fn resolve_key(
        &self,
        key: &LetterKey,
        counts: &[DestinationCounts],
    ) -> Result<DestinationId, AdminError> {
        match self.resolve(&key.destination, counts) {
            Ok(Resolved::Registered(id)) => Ok(id),
            Ok(Resolved::Empty) => Err(not_found(key)),
            Err(error) => {
                Err(AdminError::LetterNotFound { key: key.clone(), reason: error.to_string() })
            }
        }
    }

    /// Resolves the `after` key of a listing into a destination id and event sequence.
    fn cursor(
        &self,
        key: &LetterKey,
        only: Option<&str>,
        counts: &[DestinationCounts],
    ) -> Result<(DestinationId, u64), AdminError> {
        if let Some(only) = only
            && only != key.destination
        {
            return Err(AdminError::Invalid(format!(
                "after key {key} belongs to destination `{}`, not `{only}`; pass a key of the \
                 listed destination",
                key.destination
            )));
        }
        let id = match self.resolve(&key.destination, counts)? {
            Resolved::Registered(id) => id,
            // Nothing is stored for it, so an id above every registered one orders the same.
            Resolved::Empty => DestinationId(u32::MAX),
        };
        Ok((id, key.event_id))
    }

    async fn act(&self, target: &Target, action: Action) -> Result<ActionReport, AdminError> {
        match target {
            Target::Keys { keys } => self.act_on_keys(keys, action).await,
            Target::Destination { destination } => {
                self.act_on_destination(destination, action).await
            }
        }
    }

    async fn act_on_keys(
        &self,
        keys: &[LetterKey],
        action: Action,
    ) -> Result<ActionReport, AdminError> {
        if keys.is_empty() {
            return Err(AdminError::Invalid("no dead-letter key given".to_owned()));
        }
        if keys.len() > MAX_KEYS_PER_REQUEST {
            return Err(AdminError::Invalid(format!(
                "{} keys given, over the maximum of {MAX_KEYS_PER_REQUEST} per request; split \
                 them, or act on a whole destination",
                keys.len()
            )));
        }

        let counts = self.outbox.counts();
        let mut report = ActionReport::default();
        let mut seen = HashSet::new();
        let mut selected = Vec::new();
        for key in keys {
            if !seen.insert(key) {
                continue;
            }
            let id = match self.resolve_key(key, &counts) {
                Ok(id) => id,
                Err(error) => {
                    report
                        .problems
                        .push(Problem { key: Some(key.clone()), message: error.to_string() });
                    continue;
                }
            };
            if action == Action::Replay && !self.is_configured(&key.destination) {
                let error = AdminError::NotConfigured(key.destination.clone());
                report
                    .problems
                    .push(Problem { key: Some(key.clone()), message: error.to_string() });
                continue;
            }
            selected
                .push((key.clone(), DeadLetterKey { destination: id, event_seq: key.event_id }));
        }

        let done = self.act_on_letters(selected, action, &mut report, Missing::Report).await?;
        report.count = done.len() as u64;
        report.letters = done;
        if report.count > 0 {
            info!(letters = report.count, action = action.name(), "dead letters acted on");
        }
        Ok(report)
    }

    async fn act_on_destination(
        &self,
        name: &str,
        action: Action,
    ) -> Result<ActionReport, AdminError> {
        let counts = self.outbox.counts();
        let id = match self.resolve(name, &counts)? {
            Resolved::Registered(id) => id,
            Resolved::Empty => return Ok(ActionReport::default()),
        };
        if action == Action::Replay && !self.is_configured(name) {
            return Err(AdminError::NotConfigured(name.to_owned()));
        }

        let mut report = ActionReport::default();
        // Only the dead letters present now: a replayed letter that dies again gets a larger
        // event id, beyond this bound.
        let newest = self.read_page(id, None, DeadLetterOrder::NewestFirst, 1).await?;
        let Some((_, last, _)) = newest.first() else {
            return Ok(report);
        };
        let last = last.event_seq;

        let mut after = None;
        loop {
            if self.stop.is_cancelled() {
                report.problems.push(Problem {
                    key: None,
                    message: "stopped early because sluice is shutting down; run the command \
                              again once it is back"
                        .to_owned(),
                });
                break;
            }

            let page =
                self.read_page(id, after, DeadLetterOrder::OldestFirst, LETTERS_PER_PAGE).await?;
            let full = page.len() == LETTERS_PER_PAGE;
            after = page.last().map(|(_, key, _)| key.event_seq);
            let mut selected = Vec::new();
            let mut reached_end = !full;
            for (readable, key, error) in page {
                if key.event_seq > last {
                    reached_end = true;
                    break;
                }
                let letter = LetterKey { destination: name.to_owned(), event_id: key.event_seq };
                if readable || action == Action::Purge {
                    selected.push((letter, key));
                } else {
                    let message = format!("cannot read dead letter {letter}: {error}");
                    report.problems.push(Problem { key: Some(letter), message });
                }
            }

            // A letter gone since its page was read was replayed or purged by another command.
            // It is no longer dead, so nothing is left to do and nothing went wrong.
            let done = self.act_on_letters(selected, action, &mut report, Missing::Skip).await?;
            report.count += done.len() as u64;
            if reached_end {
                break;
            }
        }
        info!(
            destination = name,
            letters = report.count,
            action = action.name(),
            "dead letters acted on"
        );
        Ok(report)
    }

    /// Replays or purges the letters concurrently, so that the outbox writer commits them
    /// together, and returns those done in the order given. Unreadable letters and failed
    /// commits go to the report's problems, and so do missing letters unless `missing` is
    /// [`Missing::Skip`].
    async fn act_on_letters(
        &self,
        letters: Vec<(LetterKey, DeadLetterKey)>,
        action: Action,
        report: &mut ActionReport,
        missing: Missing,
    ) -> Result<Vec<ActionItem>, AdminError> {
        let mut tasks = JoinSet::new();
        for (index, (_, key)) in letters.iter().enumerate() {
            let outbox = self.outbox.clone();
            let key = *key;
            tasks.spawn(async move {
                let result = match action {
                    Action::Replay => {
                        outbox.replay_dead_letter(key).await.map(|entry| Some(entry.event_seq))
                    }
                    Action::Purge => outbox.purge_dead_letter(key).await.map(|()| None),
                };
                (index, result)
            });
        }
        let mut results = Vec::with_capacity(letters.len());
        while let Some(joined) = tasks.join_next().await {
            let (index, result) = joined
                .map_err(|error| AdminError::Storage(format!("admin task failed: {error}")))?;
            results.push((index, result));
        }
        results.sort_by_key(|(index, _)| *index);

        let mut done = Vec::new();
        for (index, result) in results {
            let key = &letters[index].0;
            match result {
                Ok(queued_as) => done.push(ActionItem { key: key.clone(), queued_as }),
                // Gone since it was selected: another command took it.
                Err(DeadLetterError::NotFound { .. }) if missing == Missing::Skip => {
                    debug!(letter = %key, "dead letter already replayed or purged; skipped");
                }
                Err(DeadLetterError::NotFound { .. }) => {
                    report.problems.push(Problem {
                        key: Some(key.clone()),
                        message: not_found(key).to_string(),
                    });
                }
                // The letter cannot be decoded, or the commit failed, and the message names which.
                Err(DeadLetterError::Storage(message)) => {
                    let message = format!("cannot {} dead letter {key}: {message}", action.name());
                    report.problems.push(Problem { key: Some(key.clone()), message });
                }
                Err(other) => return Err(dead_letter_error(&other)),
            }
        }
        Ok(done)
    }

    /// Reads one page of a destination's dead-letter keys on the blocking pool, each with
    /// whether it can be read and, if not, why.
    async fn read_page(
        &self,
        id: DestinationId,
        after: Option<u64>,
        order: DeadLetterOrder,
        limit: usize,
    ) -> Result<Vec<(bool, DeadLetterKey, String)>, AdminError> {
        let outbox = self.outbox.clone();
        let page =
            tokio::task::spawn_blocking(move || outbox.dead_letter_page(id, after, order, limit))
                .await
                .map_err(|error| AdminError::Storage(format!("admin task failed: {error}")))?
                .map_err(|error| dead_letter_error(&error))?;
        let mut keys: Vec<(bool, DeadLetterKey, String)> =
            page.letters.into_iter().map(|letter| (true, letter.key, String::new())).collect();
        keys.extend(
            page.unreadable.into_iter().map(|(key, error)| (false, key, error.to_string())),
        );
        match order {
            DeadLetterOrder::OldestFirst => keys.sort_by_key(|(_, key, _)| key.event_seq),
            DeadLetterOrder::NewestFirst => keys.sort_by_key(|(_, key, _)| Reverse(key.event_seq)),
        }
        Ok(keys)
    }

    /// Returns whether `name` is configured; true when no configuration was read.
    fn is_configured(&self, name: &str) -> bool {
        self.configured.as_ref().is_none_or(|configured| configured.iter().any(|c| c == name))
    }
}

/// An action on selected dead letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Replay,
    Purge,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Replay => "replay",
            Action::Purge => "purge",
        }
    }
}

/// Returns the exclusive bound to pass to `dead_letter_page` for destination `id`, so that the
/// listing resumes after `cursor` in the order by event id, then destination id.
fn start_after(
    cursor: (DestinationId, u64),
    id: DestinationId,
    order: DeadLetterOrder,
) -> Option<u64> {
    let (cursor_id, seq) = cursor;
    match order {
        // Destinations at or before the cursor's continue after its event; those after it
        // include its event.
        DeadLetterOrder::OldestFirst if id <= cursor_id => Some(seq),
        DeadLetterOrder::OldestFirst => seq.checked_sub(1),
        // Newest first reverses both: destinations before the cursor's include its event.
        DeadLetterOrder::NewestFirst if id >= cursor_id => Some(seq),
        DeadLetterOrder::NewestFirst => seq.checked_add(1),
    }
}

fn summary(destination: &str, letter: DeadLetterSummary) -> LetterSummary {
    LetterSummary {
        key: LetterKey { destination: destination.to_owned(), event_id: letter.key.event_seq },
        reason: letter.reason,
        status: letter.status,
        attempts: letter.attempts,
        first_failure_ms: letter.first_failure_ms,
        dead_at_ms: letter.dead_at_ms,
        last_error: letter.last_error,
        response_snippet: letter.response_snippet,
        event_bytes: letter.event_bytes,
    }
}

/// The handling of a letter that no longer exists in [`Admin::act_on_letters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Missing {
    /// Adds it to the report's problems, because the operator named it.
    Report,
    /// Leaves it out: it was selected from a listing that another command has since acted on.
    Skip,
}

fn not_found(key: &LetterKey) -> AdminError {
    AdminError::LetterNotFound {
        key: key.clone(),
        reason: "`sluice dead list` lists the dead letters".to_owned(),
    }
}

fn unavailable() -> AdminError {
    AdminError::Unavailable("the outbox is closed because sluice is shutting down".to_owned())
}

/// Converts a store error that is not about one letter.
fn dead_letter_error(error: &DeadLetterError) -> AdminError {
    match error {
        DeadLetterError::Closed => unavailable(),
        other => AdminError::Storage(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::store::{DeadLetter, NewEvent, OutboxOptions, Outcome};
    use crate::template::Value;

    fn options() -> OutboxOptions {
        OutboxOptions { cache_size_bytes: 1 << 20, max_pending_entries: 1_000_000 }
    }

    fn event(event_type: &str) -> Vec<u8> {
        let input = Value::from_json_str(&format!(r#"{{"event_type":"{event_type}"}}"#)).unwrap();
        Event { source: "web".to_owned(), input }.encode()
    }

    /// Appends one event per type to every destination given, one append each.
    async fn append(outbox: &Outbox, types: &[&str], destinations: &[DestinationId]) {
        for event_type in types {
            let new = NewEvent { body: event(event_type), destinations: destinations.to_vec() };
            outbox.append(vec![new]).await.unwrap();
        }
    }

    /// Leases every due entry of `destination` and moves it to the dead letters.
    async fn kill_all(outbox: &Outbox, destination: DestinationId) {
        let leases = outbox.lease(destination, u64::MAX, 1000).unwrap();
        let outcomes = leases
            .iter()
            .map(|lease| {
                let letter = DeadLetter {
                    reason: "status 400 is not retried".to_owned(),
                    status: Some(400),
                    response_snippet: "{\"error\":\"bad\"}".to_owned(),
                };
                (lease.key, Outcome::Dead(letter))
            })
            .collect();
        outbox.complete(outcomes);
        outbox.flush().await.unwrap();
    }

    fn stored_bodies(path: &Path) -> u64 {
        use redb::{ReadableDatabase, ReadableTableMetadata};
        const BODIES: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("bodies");
        let db = redb::Database::builder().set_cache_size(1 << 20).open(path).unwrap();
        let txn = db.begin_read().unwrap();
        txn.open_table(BODIES).unwrap().len().unwrap()
    }

    fn query(limit: usize, after: Option<&str>, newest_first: bool) -> ListQuery {
        ListQuery {
            destination: None,
            limit,
            after: after.map(|key| key.parse().unwrap()),
            newest_first,
        }
    }

    fn keys(list: &DeadList) -> Vec<String> {
        list.letters.iter().map(|letter| letter.key.to_string()).collect()
    }

    #[tokio::test]
    async fn listing_pages_across_destinations_in_event_order() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(&dir.path().join("o.redb"), &["a", "b"], options()).unwrap();
        let (a, b) = (outbox.destination_id("a").unwrap(), outbox.destination_id("b").unwrap());
        append(&outbox, &["one", "two", "three"], &[a, b]).await;
        kill_all(&outbox, a).await;
        kill_all(&outbox, b).await;
        let admin = Admin::new(outbox.clone(), Some(vec!["a".into(), "b".into()]));
        let all = admin.dead_list(&query(100, None, false)).unwrap();
        let seqs: Vec<u64> = all.letters.iter().map(|letter| letter.key.event_id).collect();
        let (s1, s2, s3) = (seqs[0], seqs[2], seqs[4]);
        let key = |name: &str, seq: u64| format!("{name}:{seq}");
        assert_eq!(
            keys(&all),
            [key("a", s1), key("b", s1), key("a", s2), key("b", s2), key("a", s3), key("b", s3)]
        );
        assert_eq!(all.next_after, None);

        let first = admin.dead_list(&query(3, None, false)).unwrap();
        assert_eq!(keys(&first), [key("a", s1), key("b", s1), key("a", s2)]);
        let after = first.next_after.unwrap().to_string();
        assert_eq!(after, key("a", s2));
        let second = admin.dead_list(&query(3, Some(&after), false)).unwrap();
        assert_eq!(keys(&second), [key("b", s2), key("a", s3), key("b", s3)]);

        let newest = admin.dead_list(&query(3, None, true)).unwrap();
        assert_eq!(keys(&newest), [key("b", s3), key("a", s3), key("b", s2)]);
        let after = newest.next_after.unwrap().to_string();
        let older = admin.dead_list(&query(3, Some(&after), true)).unwrap();
        assert_eq!(keys(&older), [key("a", s2), key("b", s1), key("a", s1)]);
    }

    #[tokio::test]
    async fn listing_one_destination_rejects_a_cursor_of_another() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(&dir.path().join("o.redb"), &["a", "b"], options()).unwrap();
        let admin = Admin::new(outbox, Some(vec!["a".into(), "b".into()]));
        let mut list = query(10, Some("b:5"), false);
        list.destination = Some("a".to_owned());
        let error = admin.dead_list(&list).unwrap_err();
        assert_eq!(error.code(), super::super::ErrorCode::Invalid);
        list.destination = Some("c".to_owned());
        assert!(matches!(admin.dead_list(&list), Err(AdminError::UnknownDestination { .. })));
    }

    #[tokio::test]
    async fn show_decodes_the_stored_event() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(&dir.path().join("o.redb"), &["a"], options()).unwrap();
        let a = outbox.destination_id("a").unwrap();
        append(&outbox, &["Song Played"], &[a]).await;
        kill_all(&outbox, a).await;
        let admin = Admin::new(outbox, Some(vec!["a".into()]));
        let key = admin.dead_list(&query(1, None, false)).unwrap().letters[0].key.clone();
        let detail = admin.dead_show(&key).unwrap();
        assert_eq!(detail.event.unwrap()["event_type"], "Song Played");
        assert_eq!(detail.source.as_deref(), Some("web"));
        assert_eq!(detail.summary.status, Some(400));
        let missing = LetterKey { destination: "a".into(), event_id: key.event_id + 1 };
        assert!(admin.dead_show(&missing).unwrap_err().is_problem());
    }

    #[tokio::test]
    async fn replay_reports_missing_keys() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(&dir.path().join("o.redb"), &["a"], options()).unwrap();
        let a = outbox.destination_id("a").unwrap();
        append(&outbox, &["one", "two"], &[a]).await;
        kill_all(&outbox, a).await;
        let admin = Admin::new(outbox.clone(), Some(vec!["a".into()]));
        let listed = admin.dead_list(&query(10, None, false)).unwrap();
        let first = listed.letters[0].key.clone();
        let missing: LetterKey = "a:1".parse().unwrap();
        let unknown: LetterKey = "b:1".parse().unwrap();
        let target = Target::Keys { keys: vec![missing, first.clone(), unknown, first.clone()] };
        let report = admin.replay(&target).await.unwrap();
        assert_eq!(report.count, 1);
        assert_eq!(report.letters[0].key, first);
        assert!(report.letters[0].queued_as.is_some());
        assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
        let counts = outbox.counts();
        assert_eq!((counts[0].pending, counts[0].dead), (1, 1));
    }

    #[tokio::test]
    async fn replay_of_a_destination_moves_every_letter() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(&dir.path().join("o.redb"), &["a", "old"], options()).unwrap();
        let (a, old) = (outbox.destination_id("a").unwrap(), outbox.destination_id("old").unwrap());
        let types: Vec<String> = (0..1005).map(|i| format!("event {i}")).collect();
        let types: Vec<&str> = types.iter().map(String::as_str).collect();
        let new: Vec<NewEvent> =
            types.iter().map(|t| NewEvent { body: event(t), destinations: vec![a, old] }).collect();
        outbox.append(new).await.unwrap();
        kill_all(&outbox, a).await;
        kill_all(&outbox, a).await;
        kill_all(&outbox, old).await;
        kill_all(&outbox, old).await;
        let admin = Admin::new(outbox.clone(), Some(vec!["a".into()]));

        let all_of = |name: &str| Target::Destination { destination: name.to_owned() };
        let error = admin.replay(&all_of("old")).await.unwrap_err();
        assert!(matches!(error, AdminError::NotConfigured(_)), "{error}");
        let report = admin.replay(&all_of("a")).await.unwrap();
        assert_eq!(report.count, 1005);
        assert!(report.problems.is_empty());
        let purged = admin.purge(&all_of("old")).await.unwrap();
        assert_eq!(purged.count, 1005);
        let counts = outbox.counts();
        assert_eq!((counts[0].pending, counts[0].dead), (1005, 0));
        assert_eq!((counts[1].pending, counts[1].dead), (0, 0));
    }

    #[tokio::test]
    async fn letters_taken_by_another_command_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(&dir.path().join("o.redb"), &["a"], options()).unwrap();
        let a = outbox.destination_id("a").unwrap();
        append(&outbox, &["one", "two", "three"], &[a]).await;
        kill_all(&outbox, a).await;
        let admin = Admin::new(outbox.clone(), Some(vec!["a".into()]));
        let page = admin.read_page(a, None, DeadLetterOrder::OldestFirst, 10).await.unwrap();
        let selected: Vec<(LetterKey, DeadLetterKey)> = page
            .iter()
            .map(|(_, key, _)| {
                (LetterKey { destination: "a".into(), event_id: key.event_seq }, *key)
            })
            .collect();
        // Another command replays the first letter after this page was read.
        outbox.replay_dead_letter(selected[0].1).await.unwrap();

        let mut report = ActionReport::default();
        let done = admin
            .act_on_letters(selected.clone(), Action::Replay, &mut report, Missing::Skip)
            .await
            .unwrap();
        assert_eq!(done.len(), 2);
        assert!(report.problems.is_empty(), "{:?}", report.problems);

        let mut report = ActionReport::default();
        let done = admin
            .act_on_letters(selected, Action::Purge, &mut report, Missing::Report)
            .await
            .unwrap();
        assert!(done.is_empty());
        assert_eq!(report.problems.len(), 3, "{:?}", report.problems);
    }

    #[tokio::test]
    async fn concurrent_replays_of_a_destination_report_no_problems() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(&dir.path().join("o.redb"), &["a"], options()).unwrap();
        let a = outbox.destination_id("a").unwrap();
        let new: Vec<NewEvent> = (0..500)
            .map(|i| NewEvent { body: event(&format!("event {i}")), destinations: vec![a] })
            .collect();
        outbox.append(new).await.unwrap();
        kill_all(&outbox, a).await;
        let admin = Admin::new(outbox.clone(), Some(vec!["a".into()]));
        let target = Target::Destination { destination: "a".into() };

        let (first, second, third, fourth) = tokio::join!(
            admin.replay(&target),
            admin.replay(&target),
            admin.replay(&target),
            admin.replay(&target)
        );
        let mut replayed = 0;
        for report in [first, second, third, fourth] {
            let report = report.unwrap();
            assert!(report.problems.is_empty(), "{:?}", report.problems);
            replayed += report.count;
        }
        assert_eq!(replayed, 500);
        let counts = outbox.counts();
        assert_eq!((counts[0].pending, counts[0].dead), (500, 0));
    }

    #[tokio::test]
    async fn drop_queue_discards_only_unconfigured_destinations() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.redb");
        let outbox = Outbox::open(&path, &["a", "old"], options()).unwrap();
        let (a, old) = (outbox.destination_id("a").unwrap(), outbox.destination_id("old").unwrap());
        append(&outbox, &["one", "two", "three"], &[a, old]).await;
        let admin = Admin::new(outbox.clone(), Some(vec!["a".into()]));

        assert!(matches!(admin.drop_queue("a").await, Err(AdminError::StillConfigured(_))));
        let unknown = admin.drop_queue("olf").await.unwrap_err();
        assert!(unknown.to_string().contains("did you mean `old`"), "{unknown}");
        let report = admin.drop_queue("old").await.unwrap();
        assert_eq!((report.entries, report.dead_letters), (3, 0));
        let queues = admin.queues();
        assert_eq!(queues.destinations.len(), 1, "an emptied destination is still listed");
        assert_eq!(queues.destinations[0].pending, 3);

        // The bodies stay for `a`, and go once `a` has delivered its entries.
        let leases = outbox.lease(a, u64::MAX, 10).unwrap();
        assert_eq!(leases.len(), 3);
        outbox.complete(leases.iter().map(|lease| (lease.key, Outcome::Delivered)).collect());
        outbox.flush().await.unwrap();
        drop(admin);
        outbox.close();
        assert_eq!(stored_bodies(&path), 0);

        let unknown_config = Admin::new(Outbox::open(&path, &[], options()).unwrap(), None);
        let error = unknown_config.drop_queue("old").await.unwrap_err();
        assert!(matches!(error, AdminError::ConfigurationUnknown(_)), "{error}");
    }

    #[tokio::test]
    async fn queues_lists_configured_then_leftover_destinations() {
        let dir = tempfile::tempdir().unwrap();
        let outbox =
            Outbox::open(&dir.path().join("o.redb"), &["z", "old", "empty"], options()).unwrap();
        let old = outbox.destination_id("old").unwrap();
        append(&outbox, &["one"], &[old]).await;
        let admin = Admin::new(outbox, Some(vec!["z".into(), "new".into()]));
        let rows = admin.queues().destinations;
        let names: Vec<&str> = rows.iter().map(|row| row.destination.as_str()).collect();
        assert_eq!(names, ["z", "new", "old"]);
        assert_eq!(rows[2].configured, Some(false));
        assert_eq!(rows[2].pending, 1);
        assert_eq!(rows[1].pending, 0);
    }

    #[test]
    fn pause_needs_a_running_server() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(&dir.path().join("o.redb"), &["a"], options()).unwrap();
        let admin = Admin::new(outbox, Some(vec!["a".into()]));
        assert!(matches!(admin.pause("a"), Err(AdminError::NotRunning)));
    }
}

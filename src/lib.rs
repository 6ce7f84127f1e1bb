//! sluice accepts analytics events over HTTP, stores them durably in a redb outbox and forwards
//! each one to every configured destination as an HTTP request rendered from a FreeMarker
//! template.
//!
//! # Layout
//!
//! Dependencies point down this list only: a module uses the ones named after it.
//!
//! - [`template`]: the FreeMarker-subset renderer (lexer, parser, evaluator) and its value type.
//!   Performs no I/O.
//! - [`telemetry`]: tracing subscriber setup and the field names shared by logs.
//! - [`config`]: the TOML schema, loading, validation with spans, and the embedded default.
//!   Uses `template` to compile templates when the file loads.
//! - [`event`]: the normalized event that every ingest API produces and every destination
//!   template reads as `input`. Uses `template` for its value type.
//! - [`store`]: the durable outbox on redb: one writer thread with group commit, entries keyed by
//!   due time, dead letters. Stores bytes; knows nothing of HTTP.
//! - [`destinations`]: HTTP clients, request building and outcome classification. Uses `config`.
//! - [`ingest`]: the hyper server that validates requests, normalizes events and appends them to
//!   the outbox. Uses `store`, `event`, `config`.
//! - [`dispatch`]: one task per destination that leases due entries, renders, batches, rate
//!   limits, sends and records the outcome. The only module that joins storage and network.
//! - [`admin`]: the operator commands over the outbox (queue counts, dead letters, dropping a
//!   removed destination's queue, pausing deliveries), with the admin API server on a Unix
//!   socket and its client. Uses `store`, `event`.
//! - [`cli`]: subcommands, runtime construction, wiring and shutdown. Uses everything.
//!
//! `docs/outbox.md` describes the storage layout and its invariants, `docs/templates.md` the
//! template language and data model.

pub mod admin;
pub mod cli;
pub mod config;
pub mod destinations;
pub mod dispatch;
pub mod event;
pub mod ingest;
pub mod store;
pub mod telemetry;
pub mod template;

//! Destinations: HTTP clients, request building and outcome classification.
//!
//! A [`Sender`] is built once per configured destination: an HTTP client (reqwest with rustls)
//! or a writer of lines to standard output. [`build_request`] renders a destination's URL and
//! header templates around a rendered body, and [`Sender::send`] performs one attempt and
//! returns a [`Verdict`]: success, retry or give up, with the reason, status, response snippet
//! and `Retry-After` delay as data. Deciding what to do with a verdict (backoff, dead letters)
//! is the dispatcher's job; this module never touches the outbox.
//!
//! Nothing here logs request bodies or credentials: sensitive header values are marked so their
//! `Debug` output is masked, and transport errors are described without the URL.

pub mod classify;
mod client;
mod request;
mod stdout;

pub use classify::{Failure, Verdict};
pub use client::HttpSender;
pub use request::{BuildError, HttpRequest, Request, build_request, redacted_url};
pub use stdout::StdoutSender;

use crate::config::{Destination, DestinationKind};

/// Errors building a destination's sender.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// reqwest could not build the HTTP client, for example because the TLS setup failed.
    #[error("cannot build HTTP client: {0}")]
    Build(#[source] reqwest::Error),
}

/// Installs rustls's `ring` crypto provider as the process default.
///
/// The CLI calls it once at start-up; [`HttpSender::new`] calls it too, so that no client is
/// ever built without a provider. Calls after the first change nothing.
pub fn install_crypto_provider() {
    // Fails only when a provider is already installed, which is the state wanted.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Performs one attempt for a destination.
#[derive(Debug, Clone)]
pub enum Sender {
    /// An HTTP destination.
    Http(HttpSender),
    /// The stdout destination.
    Stdout(StdoutSender),
}

impl Sender {
    /// Builds the sender for `destination`.
    pub fn new(destination: &Destination) -> Result<Sender, ClientError> {
        match destination.kind {
            DestinationKind::Http(_) => Ok(Sender::Http(HttpSender::new(destination)?)),
            DestinationKind::Stdout => Ok(Sender::Stdout(StdoutSender::new())),
        }
    }

    /// Sends one request and classifies the outcome.
    ///
    /// A request of the wrong kind for the sender (a line for an HTTP destination or the
    /// reverse) gives up, because no retry can fix it.
    pub async fn send(&self, request: Request) -> Verdict {
        match (self, request) {
            (Sender::Http(sender), Request::Http(request)) => sender.send(*request).await,
            (Sender::Stdout(sender), Request::Line(body)) => sender.send(body).await,
            (Sender::Http(_), Request::Line(_)) | (Sender::Stdout(_), Request::Http(_)) => {
                Verdict::GiveUp(Failure::transport(
                    "request kind does not match the destination kind",
                ))
            }
        }
    }
}

//! The HTTP sender: one reqwest client per destination.

use std::error::Error as _;
use std::time::{Duration, SystemTime};

use http::header::RETRY_AFTER;

use super::ClientError;
use super::classify::{self, Failure, SNIPPET_MAX_BYTES, Verdict};
use super::request::HttpRequest;
use crate::config::Destination;

/// Maximum bytes of a successful response read before the response is dropped. Reading a
/// short body to its end lets the connection go back to the pool.
const DRAIN_MAX_BYTES: usize = 64 * 1024;

/// Sends a destination's HTTP requests and classifies the responses.
#[derive(Debug, Clone)]
pub struct HttpSender {
    client: reqwest::Client,
    timeout: Duration,
}

impl HttpSender {
    /// Builds the client for `destination`: its timeout covers one whole attempt (connect,
    /// send, response), redirects are not followed, and up to `concurrency` idle connections
    /// are kept.
    pub fn new(destination: &Destination) -> Result<HttpSender, ClientError> {
        super::install_crypto_provider();
        let timeout = destination.timeout;
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(destination.concurrency.max(1))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("sluice/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ClientError::Build)?;
        Ok(HttpSender { client, timeout })
    }

    /// Sends one request and classifies the outcome; every failure becomes a verdict.
    pub async fn send(&self, request: HttpRequest) -> Verdict {
        let HttpRequest { method, url, headers, body } = request;
        let sent = self.client.request(method, url).headers(headers).body(body).send().await;
        let mut response = match sent {
            Ok(response) => response,
            Err(error) => return Verdict::Retry(Failure::transport(self.describe(error))),
        };

        let status = response.status();
        if status.is_success() {
            // The status already counts; a body that fails to arrive changes nothing.
            let _ = read_prefix(&mut response, DRAIN_MAX_BYTES).await;
            return Verdict::Success { status: Some(status.as_u16()) };
        }
        let retry_after =
            response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        // Read a little past the snippet size so the snippet can be cut on a character boundary.
        let body_start = read_prefix(&mut response, SNIPPET_MAX_BYTES + 4).await;
        classify::classify_status(status, retry_after.as_deref(), &body_start, SystemTime::now())
    }

    /// Describes a transport error on one line, without the URL, which may hold credentials.
    fn describe(&self, error: reqwest::Error) -> String {
        let error = error.without_url();
        if error.is_timeout() {
            return format!("request timed out after {}", humantime::format_duration(self.timeout));
        }
        let mut chain = Vec::new();
        let mut source = error.source();
        while let Some(cause) = source {
            chain.push(cause.to_string());
            source = cause.source();
        }
        if error.is_connect() {
            // The innermost cause is the useful part ("Connection refused (os error 111)").
            let cause = chain.last().map_or("unknown cause", String::as_str);
            return format!("connection failed: {cause}");
        }
        let mut text = error.to_string();
        for cause in chain {
            text.push_str(": ");
            text.push_str(&cause);
        }
        text
    }
}

/// Reads at most about `max` bytes of the response body; stops early at the end of the body or
/// on an error.
async fn read_prefix(response: &mut reqwest::Response, max: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < max {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let take = chunk.len().min(max - body.len());
                body.extend_from_slice(&chunk[..take]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    body
}

//! Request building: renders a destination's URL and header templates and pairs them with a
//! rendered body.

use std::fmt;

use bytes::Bytes;
use http::Method;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::Url;

use crate::config::{Destination, DestinationKind};
use crate::template::{TemplateError, Value};

/// One request, ready to send.
pub enum Request {
    /// An HTTP request; boxed because it is much larger than a line.
    Http(Box<HttpRequest>),
    /// A line for the stdout destination.
    Line(Bytes),
}

/// An HTTP request with its URL and headers rendered.
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The rendered URL.
    pub url: Url,
    /// The rendered headers; values of sensitive headers are marked with
    /// [`HeaderValue::set_sensitive`].
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl fmt::Debug for HttpRequest {
    /// Formats the request without secrets: the URL without its query and user information,
    /// sensitive header values masked, and the body's length instead of its content.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &redacted_url(&self.url))
            .field("headers", &self.headers)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::Http(request) => request.fmt(f),
            Request::Line(body) => f.debug_struct("Line").field("body_bytes", &body.len()).finish(),
        }
    }
}

/// Returns the URL's scheme, host, port and path: the parts that are safe to log.
pub fn redacted_url(url: &Url) -> String {
    let mut text = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        text.push_str(&format!(":{port}"));
    }
    text.push_str(url.path());
    text
}

/// Errors building a request; each one dead-letters the entries the request was for.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The URL template failed to render.
    #[error("url template failed: {0}")]
    UrlTemplate(#[source] Box<TemplateError>),
    /// The rendered URL does not parse.
    #[error("rendered url is invalid ({0}); check the destination's url template")]
    Url(String),
    /// The rendered URL is not HTTP.
    #[error("rendered url has scheme {0:?}; destinations accept http and https only")]
    Scheme(String),
    /// A header template failed to render.
    #[error("template of header {name} failed: {source}")]
    HeaderTemplate {
        /// The header.
        name: HeaderName,
        /// The template error.
        #[source]
        source: Box<TemplateError>,
    },
    /// A rendered header value contains characters HTTP does not allow, such as a line break.
    #[error("rendered value of header {0} contains characters not allowed in a header value")]
    HeaderValue(HeaderName),
}

/// Builds the request that carries `body` to `destination`.
///
/// The URL and header templates see `parameters`, and `input` when it is given (batching off).
/// Sensitive headers, and `Authorization`, `Proxy-Authorization` and `Cookie` always, are
/// marked sensitive so that no `Debug` output shows them. A request without a `Content-Type`
/// header gets `application/json`.
pub fn build_request(
    destination: &Destination,
    input: Option<&Value>,
    body: Bytes,
) -> Result<Request, BuildError> {
    let target = match &destination.kind {
        DestinationKind::Stdout => return Ok(Request::Line(body)),
        DestinationKind::Http(target) => target,
    };
    let mut vars: Vec<(&str, &Value)> = vec![("parameters", &destination.parameters)];
    if let Some(input) = input {
        vars.push(("input", input));
    }

    let mut text = String::new();
    target
        .url
        .render_to(&vars, &mut text)
        .map_err(|error| BuildError::UrlTemplate(Box::new(error)))?;
    let url = Url::parse(text.trim()).map_err(|error| BuildError::Url(error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(BuildError::Scheme(url.scheme().to_owned()));
    }

    let mut headers = HeaderMap::with_capacity(target.headers.len() + 1);
    for configured in &target.headers {
        text.clear();
        configured.value.render_to(&vars, &mut text).map_err(|source| {
            BuildError::HeaderTemplate { name: configured.name.clone(), source: Box::new(source) }
        })?;
        let mut value = HeaderValue::from_str(&text)
            .map_err(|_| BuildError::HeaderValue(configured.name.clone()))?;
        if configured.sensitive || is_always_sensitive(&configured.name) {
            value.set_sensitive(true);
        }
        headers.append(configured.name.clone(), value);
    }
    if !headers.contains_key(header::CONTENT_TYPE) {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }

    Ok(Request::Http(Box::new(HttpRequest { method: target.method.clone(), url, headers, body })))
}

/// Returns true for headers whose values are credentials, whatever the configuration sets.
pub fn is_always_sensitive(name: &HeaderName) -> bool {
    name == header::AUTHORIZATION || name == header::PROXY_AUTHORIZATION || name == header::COOKIE
}

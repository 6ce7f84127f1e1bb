//! The ingest HTTP server: Amplitude's HTTP V2 and Batch APIs and `GET /health`.
//!
//! TODO: filled in with the server.

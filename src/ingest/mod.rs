//! The ingest HTTP server: Amplitude's HTTP V2 and Batch APIs and `GET /health`.

pub mod amplitude;
pub mod normalize;

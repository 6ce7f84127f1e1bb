//! HTTP clients, request building and outcome classification.
//!
//! TODO: filled in with dispatch.

//! Delivery: one task per destination leases due entries, renders, batches, rate limits, sends
//! and records the outcome.
//!
//! TODO: filled in with the dispatcher.

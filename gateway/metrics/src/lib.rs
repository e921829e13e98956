//! `cordon-metrics`: the appliance's counter set, defined once. [`table::TABLE`] names every
//! counter, gauge and histogram with its type, unit, help text and when it resets; the cells
//! that hold the values, the config port's `counters` and `status`, the Prometheus text
//! exposition and the table in docs/operations.md are all read from it.
//!
//! Values live in a fixed array of `AtomicU64` ([`cells`]): one slot per worker, sized at
//! start, written with relaxed atomics on the data path (no lock, no allocation per message).
//! Under `cordon supervise` the array is a shared memory region the supervisor holds, so the
//! worker serving the endpoint reads every worker's slot and a restarted worker continues its
//! predecessor's counts; `cordon run` keeps it on its own heap.
//!
//! # Layout
//! - [`table`]: the metric table, histogram buckets and the verdict label values.
//! - [`cells`]: the slot layout, [`cells::Recorder`] (one worker writes its slot) and
//!   [`cells::Snapshot`] (a reader's copy of every slot, summed where the table says so).
//! - [`trace`]: the message trace, a fixed ring of the newest messages at the end of each slot.
//! - [`text`]: the Prometheus text exposition format (0.0.4) and the config port's name/value
//!   pairs, both rendered from a snapshot.

#![forbid(unsafe_code)]

pub mod cells;
pub mod log;
mod ring;
pub mod table;
pub mod text;
pub mod trace;

pub use cells::{Recorder, Snapshot, Store};
pub use table::{Id, Kind, Metric, Scope, TABLE};

//! One handler per step or consumer, over the port traits in [`ports`].
//!
//! What this crate is for: the behaviour of Skip the Line, independent of where it runs. What it
//! is not for: talking to SQLite, AWS or HTTP — adapters implementing [`ports`] do that, in the
//! `skipline` binary (embedded) and in `skipline-aws`.

pub mod clear_cart;
pub mod deliver;
pub mod error;
pub mod esm;
pub mod get_item;
pub mod get_object;
pub mod notify_vendor;
pub mod ports;
pub mod put_item;
pub mod put_object;
pub mod schedule;
pub mod sqs;
pub mod tasks;
pub mod vendors;
pub mod webhook;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::{QueryError, StepError};

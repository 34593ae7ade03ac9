//! The embedded backend: SQLite under a data directory, the ASL executor, the topic, the
//! queues and the consumers, in one process.
//!
//! Parts: [`db`] (group commit), [`executions`] (durable executions), [`invoker`] (Task
//! resources → handlers), [`topic`] (fan-out with filter policies), [`queues`] (SQS semantics),
//! [`runtime`] (wiring, dispatcher and consumer loops), [`live`] (what just became durable, for
//! watchers). The adapters ([`cart`], [`invoices`],
//! [`vendors`]) implement the handlers' ports.

pub mod backup;
pub mod cart;
pub mod db;
pub mod deliveries;
pub mod executions;
pub mod invoices;
pub mod invoker;
pub mod live;
pub mod queues;
pub mod replay;
pub mod runtime;
pub mod schema;
pub mod tokens;
pub mod topic;
pub mod vendors;

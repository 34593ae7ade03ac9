//! Skip the Line: the `skipline` binary's library — CLI, embedded runtime, local HTTP API and
//! the backends the CLI drives.
//!
//! Where to look: [`local`] is the embedded engine (executor wiring, topic, queues, SQLite);
//! [`api`] the HTTP routes; [`backend`] the operations both backends offer; [`cli`] argument
//! parsing and commands; [`demo`] the guided scenario. The contract lives in `skipline-events`,
//! the behaviour in `skipline-handlers`, the ASL executor and filter policies in `skipline-engine`.

pub mod api;
pub mod backend;
pub mod bench;
pub mod cli;
pub mod demo;
pub mod local;
pub mod metrics;
pub mod receiver;

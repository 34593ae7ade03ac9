//! Pure engine parts shared by both backends: the ASL executor and SNS filter policies.

pub mod asl;
pub mod filter;

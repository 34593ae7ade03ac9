//! ASL executor (in progress)

//! Helpers shared by the fuzz targets (see `common.rs`, which the seed
//! recorder in `record/` includes too).

mod common;
pub use common::*;

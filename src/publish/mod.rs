//! Publishing a run's outputs: an output folder switched as one set under
//! a lock (`folder`, `lock`), the scoring run's set and manifest
//! (`scoring`), the drift gate that can keep the previous set (`gate`),
//! and the run's copy in PostgreSQL (`sink`). The bundle's own set is
//! listed in `bundle_files`.
pub mod folder;
pub mod gate;
pub mod lock;
pub mod scoring;
pub mod sink;

pub use folder::{Contents, OutputFolder, Staging};
pub use gate::{DriftReport, DRIFT_WARN_PSI};
pub use lock::LockWait;

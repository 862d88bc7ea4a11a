//! Publishing a run's outputs: an output folder switched as one set under
//! a lock (`folder`, `lock`), the scoring run's set and manifest
//! (`scoring`), and the drift gate that can keep the previous set
//! (`gate`). The bundle's own set is listed in `bundle_files`.
pub mod folder;
pub mod gate;
pub mod lock;
pub mod scoring;

pub use folder::{Contents, OutputFolder, Staging};
pub use gate::{DriftReport, DRIFT_WARN_PSI};
pub use lock::LockWait;

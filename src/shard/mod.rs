//! Scoring more accounts than one machine holds: the bucket function Spark
//! SQL shares (`bucket`), one shard's tables (`subset`), the part a shard
//! writes (`part`) and the merge of parts into one run's batch (`merge`).
//! The queue, manifest, gate and page of a merge come from the finishing
//! step every scoring run shares (`cli::score`).
pub mod bucket;
pub mod merge;
pub mod part;
pub mod subset;

pub use bucket::{bucket, spark_xxhash64, xxh64, Shard};
pub use merge::{merge, Merged};
pub use part::{read_part, write_part, Part, PartManifest, ShardRun, PART_FILES};
pub use subset::{keep_shard, Input};

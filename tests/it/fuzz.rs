//! Seeded fuzzing of the input side (placeholder, filled below).

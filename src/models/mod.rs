//! The models, one file each; every fitted model is a plain serializable
//! struct of our own, copied out of linfa, with its own `predict`.
pub mod curve_reader;
pub mod lifetime;
pub mod propensity;
pub mod rfm;
pub mod scale;
pub mod survival;

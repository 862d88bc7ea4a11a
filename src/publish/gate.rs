//! The drift report a scoring run publishes and the gate that can stop the
//! run from replacing the previous queue. PSI itself is computed in `drift`
//! and `score`; this module only reads it.

use serde::Serialize;

use crate::dates::{format_day, Day};
use crate::drift::{drifts_with_time, DRIFTS_WITH_TIME};
use crate::score::FeatureDrift;

/// PSI above this is reported as a warning in the manifest and on stderr.
pub const DRIFT_WARN_PSI: f64 = 0.2;

/// Drift of a scoring batch against training, as `manifest.json` records it.
#[derive(Debug, Clone, Serialize)]
pub struct DriftReport {
    /// False when no account was active at the as-of date: an empty batch
    /// has no distribution to compare, which is not the same as no drift.
    pub measured: bool,
    pub warn_above: f64,
    pub fail_above: Option<f64>,
    /// Features whose PSI is listed but neither warned about nor gated on,
    /// because they drift with the calendar by construction.
    pub not_gated: &'static [&'static str],
    pub warnings: Vec<FeatureDrift>,
    /// Every feature's PSI, largest first (none when not measured).
    pub features: Vec<FeatureDrift>,
}

impl DriftReport {
    /// The report for a batch's PSI per feature; `measured` is false for an
    /// empty batch (its PSI list is then dropped: no PSI of 0 for nothing).
    pub fn of(drift: &[FeatureDrift], measured: bool, fail_above: Option<f64>) -> DriftReport {
        let mut features: Vec<FeatureDrift> = if measured { drift.to_vec() } else { Vec::new() };
        features.sort_by(|a, b| {
            b.psi
                .total_cmp(&a.psi)
                .then_with(|| a.feature.cmp(&b.feature))
        });
        let warnings = features
            .iter()
            .filter(|d| d.psi > DRIFT_WARN_PSI && !drifts_with_time(&d.feature))
            .cloned()
            .collect();
        DriftReport {
            measured,
            warn_above: DRIFT_WARN_PSI,
            fail_above,
            not_gated: DRIFTS_WITH_TIME,
            warnings,
            features,
        }
    }

    /// Why the gate stops this batch, if a gate is set and it does: the
    /// largest gated PSI above the threshold, or an empty batch, since with
    /// nothing measured the gate cannot say the data is fine.
    pub fn gate(&self, as_of: Day) -> Option<String> {
        let t = self.fail_above?;
        if !self.measured {
            return Some(format!(
                "no account is active as of {}, so drift cannot be measured (an empty batch is not \"no drift\")",
                format_day(as_of)
            ));
        }
        self.features
            .iter()
            .find(|d| d.psi > t && !drifts_with_time(&d.feature))
            .map(|d| format!("feature {} has PSI {:.3} > {t}", d.feature, d.psi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn psi(feature: &str, psi: f64) -> FeatureDrift {
        FeatureDrift {
            feature: feature.into(),
            psi,
        }
    }

    #[test]
    fn the_gate_names_the_largest_gated_psi_and_skips_tenure() {
        let batch = [
            psi("mrr", 0.6),
            psi("tenure_days", 3.0),
            psi("events_30d", 0.1),
        ];
        let r = DriftReport::of(&batch, true, Some(0.5));
        assert_eq!(
            r.features[0].feature, "tenure_days",
            "listed, largest first"
        );
        assert_eq!(r.warnings.len(), 1, "tenure_days is not warned about");
        assert_eq!(r.gate(0).unwrap(), "feature mrr has PSI 0.600 > 0.5");
        assert_eq!(DriftReport::of(&batch, true, Some(0.7)).gate(0), None);
        assert_eq!(DriftReport::of(&batch, true, None).gate(0), None);
    }

    #[test]
    fn an_empty_batch_fails_a_set_gate_and_lists_no_psi() {
        let r = DriftReport::of(&[psi("mrr", 0.0)], false, Some(0.2));
        assert!(r.features.is_empty());
        assert!(r.gate(0).unwrap().contains("drift cannot be measured"));
        assert_eq!(DriftReport::of(&[], false, None).gate(0), None);
    }
}

//! The two self-contained HTML reports: the scored queue (`score_page`,
//! written by `ebbflow-score` beside the queue) and the model
//! (`train_page`, written by `ebbflow-train` into the bundle), with the
//! comparison of two bundles (`compare`). Shared pieces are in `html`
//! (escaping, safe JSON embedding, the page shell) and `data` (thinned
//! survival curves, validation rows).

pub mod compare;
pub mod data;
pub mod html;
pub mod score_page;
pub mod train_page;

//! The input contract (v1) as code: which tables exist, their columns, which
//! are required and what each must hold. The README's contract section is
//! written from this file; loading (`io::load`) enforces it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The five tables a company already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableKind {
    Accounts,
    Subscriptions,
    Events,
    Tickets,
    Surveys,
}

/// What a column must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// Non-empty string key.
    Id,
    /// Free text (display only, or a category).
    Text,
    /// `YYYY-MM-DD` or RFC 3339 datetime (UTC day is used); Parquet Date/Datetime.
    Day,
    /// A number; range checks are in the loader.
    Number,
}

#[derive(Debug, Clone, Copy)]
pub struct ColumnDef {
    pub name: &'static str,
    pub ty: ColType,
    pub required: bool,
    pub doc: &'static str,
}

const fn col(name: &'static str, ty: ColType, required: bool, doc: &'static str) -> ColumnDef {
    ColumnDef {
        name,
        ty,
        required,
        doc,
    }
}

use ColType::*;

const ACCOUNTS: &[ColumnDef] = &[
    col("account_id", Id, true, "unique, non-empty"),
    col("created_at", Day, true, "when the account was created"),
    col("name", Text, false, "display only"),
];
const SUBSCRIPTIONS: &[ColumnDef] = &[
    col("account_id", Id, true, "must exist in accounts"),
    col("start_date", Day, true, "first day the line is billed"),
    col(
        "end_date",
        Day,
        true,
        "first day it is no longer billed; empty = still open",
    ),
    col("mrr", Number, true, "monthly recurring revenue, >= 0"),
    col("plan", Text, false, "plan name"),
    col("seats", Number, false, "licensed seats, integer >= 0"),
];
const EVENTS: &[ColumnDef] = &[
    col("account_id", Id, true, "must exist in accounts"),
    col("timestamp", Day, true, "UTC date or datetime"),
    col("event", Text, true, "event type name"),
    col("user_id", Text, false, "who did it"),
    col(
        "count",
        Number,
        false,
        "occurrences in this row, >= 0; default 1",
    ),
];
const TICKETS: &[ColumnDef] = &[
    col("account_id", Id, true, "must exist in accounts"),
    col("created_at", Day, true, "when the ticket was opened"),
    col("priority", Text, false, "low | normal | high | urgent"),
    col("csat", Number, false, "1..5"),
    col("sentiment", Number, false, "-1..1"),
    col("topic", Text, false, "free text"),
];
const SURVEYS: &[ColumnDef] = &[
    col("account_id", Id, true, "must exist in accounts"),
    col("responded_at", Day, true, "when the answer came in"),
    col("score", Number, true, "NPS answer 0..10"),
];

impl TableKind {
    pub const ALL: [TableKind; 5] = [
        TableKind::Accounts,
        TableKind::Subscriptions,
        TableKind::Events,
        TableKind::Tickets,
        TableKind::Surveys,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TableKind::Accounts => "accounts",
            TableKind::Subscriptions => "subscriptions",
            TableKind::Events => "events",
            TableKind::Tickets => "tickets",
            TableKind::Surveys => "surveys",
        }
    }

    /// Accounts and subscriptions are required; the others are optional and
    /// their features are simply absent when the table is.
    pub fn required(self) -> bool {
        matches!(self, TableKind::Accounts | TableKind::Subscriptions)
    }

    pub fn columns(self) -> &'static [ColumnDef] {
        match self {
            TableKind::Accounts => ACCOUNTS,
            TableKind::Subscriptions => SUBSCRIPTIONS,
            TableKind::Events => EVENTS,
            TableKind::Tickets => TICKETS,
            TableKind::Surveys => SURVEYS,
        }
    }
}

impl fmt::Display for TableKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Ticket priority, ordered so `>= High` means "high priority".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
#[repr(u8)]
pub enum Priority {
    #[default]
    Unknown = 0,
    Low = 1,
    Normal = 2,
    High = 3,
    Urgent = 4,
}

impl Priority {
    /// Case-insensitive; `None` for anything outside the contract.
    pub fn parse(s: &str) -> Option<Priority> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Some(Priority::Low),
            "normal" | "medium" => Some(Priority::Normal),
            "high" => Some(Priority::High),
            "urgent" => Some(Priority::Urgent),
            _ => None,
        }
    }
}

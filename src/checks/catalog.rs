//! The catalogue: every check cmkscan reports, in report order. Each check's
//! definition — its id (a contract with auditors), title, severity,
//! remediation, controls and what one of its rows is about — is a
//! [`CheckDef`] in the module of its rule; [`CheckId`] is the index that
//! finds it.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use super::status::{Status, StatusCounts};
use super::{access, alerting, keys, recording, trails};

/// A check's entry in the catalogue, defined beside its rule.
#[derive(Debug)]
pub struct CheckDef {
    /// The `check_id` of its rows: stable, since auditors filter on it.
    pub id: &'static str,
    /// States the compliant condition; the same for every status.
    pub title: &'static str,
    /// Fixed per check, whatever the status.
    pub severity: Severity,
    pub remediation: &'static str,
    /// Controls the check maps to; the report follows them with
    /// [`REFERENCE_CONTROLS`]. `None` for a check about the scan itself,
    /// which maps to no control.
    pub controls: Option<&'static str>,
    pub rows: RowsPer,
}

/// What one row of a check stands for, within its account and region: what
/// tells two of its rows apart, and finds the same row in another report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowsPer {
    /// One row per account and region (`global` for a row about the whole
    /// account); `resource_id` names what passed, so it changes with the
    /// verdict.
    Region,
    /// One row per resource, named by `resource_id` (empty for the row that
    /// stands for the whole region).
    Resource,
    /// One row per event: the same resource may have several, which only
    /// `detail` (naming the event's id) tells apart.
    Event,
}

/// The control cmkscan checks: CIS "Ensure disabling or scheduled deletion
/// of customer-managed KMS keys is monitored".
const REFERENCE_CONTROLS: &str = "CIS v8 4.9; CIS v7 6.3; CIS v7 5.2";

/// A check, by its place in the catalogue. The variant order is the report
/// order (`Ord`); the id it stands for is in its [`CheckDef`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckId {
    AccountAccess,
    KmsEventsLogged,
    KmsKeyRecording,
    KmsDisableDeleteAlerting,
    KeyState,
    RecentDisableDeleteEvents,
}

impl CheckId {
    pub const ALL: [CheckId; 6] = [
        CheckId::AccountAccess,
        CheckId::KmsEventsLogged,
        CheckId::KmsKeyRecording,
        CheckId::KmsDisableDeleteAlerting,
        CheckId::KeyState,
        CheckId::RecentDisableDeleteEvents,
    ];

    /// The ids, in catalogue order.
    const IDS: [&'static str; 6] = [
        access::DEFINITION.id,
        trails::DEFINITION.id,
        recording::DEFINITION.id,
        alerting::DEFINITION.id,
        keys::KEY_STATE.id,
        keys::RECENT_EVENTS.id,
    ];

    pub fn definition(self) -> &'static CheckDef {
        match self {
            CheckId::AccountAccess => &access::DEFINITION,
            CheckId::KmsEventsLogged => &trails::DEFINITION,
            CheckId::KmsKeyRecording => &recording::DEFINITION,
            CheckId::KmsDisableDeleteAlerting => &alerting::DEFINITION,
            CheckId::KeyState => &keys::KEY_STATE,
            CheckId::RecentDisableDeleteEvents => &keys::RECENT_EVENTS,
        }
    }

    /// The check with this id, if this version knows it.
    pub fn from_id(id: &str) -> Option<CheckId> {
        CheckId::ALL.into_iter().find(|check| check.as_str() == id)
    }

    pub fn as_str(self) -> &'static str {
        self.definition().id
    }

    pub fn title(self) -> &'static str {
        self.definition().title
    }

    pub fn severity(self) -> Severity {
        self.definition().severity
    }

    pub fn remediation(self) -> &'static str {
        self.definition().remediation
    }

    /// Mapped controls, `; `-separated in the report.
    pub fn controls(self) -> String {
        self.control_list().collect::<Vec<_>>().join("; ")
    }

    /// Mapped controls one by one: the check's own, then
    /// [`REFERENCE_CONTROLS`]; none for a check about the scan itself.
    pub fn control_list(self) -> impl Iterator<Item = &'static str> {
        self.definition()
            .controls
            .into_iter()
            .flat_map(|specific| [specific, REFERENCE_CONTROLS])
            .flat_map(|list| list.split("; "))
    }

    pub fn rows_per(self) -> RowsPer {
        self.definition().rows
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// As its id, like the report's `check_id`.
impl Serialize for CheckId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CheckId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = String::deserialize(deserializer)?;
        CheckId::from_id(&id).ok_or_else(|| serde::de::Error::unknown_variant(&id, &CheckId::IDS))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    High,
    Medium,
    Low,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_auditors_contract_in_report_order() {
        let ids: Vec<&str> = CheckId::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            ids,
            [
                "scan.account_access",
                "cloudtrail.kms_events_logged",
                "config.kms_key_recording",
                "alerting.kms_disable_delete",
                "kms.key_state",
                "kms.recent_disable_delete_events",
            ]
        );
        assert_eq!(CheckId::IDS.as_slice(), ids.as_slice());
        let mut sorted = CheckId::ALL;
        sorted.sort();
        assert_eq!(sorted, CheckId::ALL, "variant order is catalogue order");
    }

    #[test]
    fn serde_uses_the_id_and_knows_only_catalogue_ids() {
        for check in CheckId::ALL {
            let json = serde_json::to_string(&check).unwrap();
            assert_eq!(json, format!("\"{}\"", check.as_str()));
            assert_eq!(serde_json::from_str::<CheckId>(&json).unwrap(), check);
            assert_eq!(CheckId::from_id(check.as_str()), Some(check));
        }
        let err = serde_json::from_str::<CheckId>("\"kms.key_stat\"").unwrap_err();
        assert!(
            err.to_string().contains("unknown variant `kms.key_stat`"),
            "{err}"
        );
        assert_eq!(CheckId::from_id("KeyState"), None);
    }
}

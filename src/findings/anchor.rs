//! Where a row's plan is: the anchor of the section of `plan.md` that
//! plans (or refuses) it. `cmkscan plan` puts it in plan.md and
//! report.html links each failing row to it, so both must make it the
//! same way, from the row alone.

use sha2::{Digest, Sha256};

use crate::checks::{Finding, Subject};

/// `f-<account>-<region>-<check>` (dots and anything but lowercase
/// letters, digits and `-` as `-`), plus the first 10 hex digits of a
/// SHA-256 of the resource (and event) for a check with a row per
/// resource or event. Only `[a-z0-9-]`, whatever the facts hold: safe in
/// an HTML attribute, a URL fragment and markdown.
pub fn plan_anchor(finding: &Finding) -> String {
    let mut anchor = format!(
        "f-{}-{}-{}",
        finding.account_id, finding.region, finding.check
    );
    let hashed = match finding.subject() {
        Subject::Region => None,
        Subject::Resource(resource) => Some(resource.to_string()),
        Subject::Event { resource, detail } => Some(format!("{resource}\n{detail}")),
    };
    if let Some(text) = hashed {
        let digest = Sha256::digest(text.as_bytes());
        anchor.push('-');
        for byte in &digest[..5] {
            anchor.push_str(&format!("{byte:02x}"));
        }
    }
    anchor
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::catalog::{CheckId, Status};

    fn row(check: CheckId, resource: &str) -> Finding {
        Finding {
            account_id: "111122223333".into(),
            account_name: "prod".into(),
            ou_path: String::new(),
            ou_id: String::new(),
            region: "eu-west-1".into(),
            check,
            status: Status::Fail,
            resource_id: resource.into(),
            detail: "d".into(),
            exception: None,
            pending_deletion: None,
        }
    }

    #[test]
    fn anchors_name_the_row_in_safe_characters() {
        assert_eq!(
            plan_anchor(&row(CheckId::KmsKeyRecording, "default")),
            "f-111122223333-eu-west-1-config-kms-key-recording"
        );
        let key = plan_anchor(&row(
            CheckId::KeyState,
            "arn:aws:kms:eu-west-1:111122223333:key/1",
        ));
        assert!(
            key.starts_with("f-111122223333-eu-west-1-kms-key-state-"),
            "{key}"
        );
        assert_eq!(
            key.len(),
            "f-111122223333-eu-west-1-kms-key-state-".len() + 10
        );
        assert_ne!(
            key,
            plan_anchor(&row(
                CheckId::KeyState,
                "arn:aws:kms:eu-west-1:111122223333:key/2"
            ))
        );
        let mut hostile = row(CheckId::KmsKeyRecording, "");
        hostile.account_id = "\"><script>".into();
        let anchor = plan_anchor(&hostile);
        assert!(
            anchor
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{anchor}"
        );
    }
}

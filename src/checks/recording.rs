//! `config.kms_key_recording`: does AWS Config record `AWS::KMS::Key`?

use super::catalog::{CheckDef, CheckId, RowsPer, Severity, Status};
use super::{Finding, RegionContext};
use crate::facts::{ConfigFacts, RecorderFacts};

pub const DEFINITION: CheckDef = CheckDef {
    id: "config.kms_key_recording",
    title: "AWS Config records AWS::KMS::Key in the region",
    severity: Severity::Medium,
    remediation: "Start a configuration recorder with a delivery channel that records AWS::KMS::Key (aws configservice put-configuration-recorder ... --recording-group allSupported=true, or include AWS::KMS::Key; then start-configuration-recorder).",
    controls: Some("CIS AWS Foundations 3.3; Security Hub Config.1"),
    rows: RowsPer::Region,
};

const KMS_KEY: &str = "AWS::KMS::Key";

pub fn check(ctx: &RegionContext<'_>, out: &mut Vec<Finding>) {
    let (status, resource, detail) = match &ctx.region.config {
        Err(err) => (Status::Error, String::new(), err.to_string()),
        Ok(config) => match verdict(config) {
            Ok(recorder) => (
                Status::Pass,
                recorder.name.clone(),
                format!(
                    "recorder {} is recording {KMS_KEY} ({}; last status {}) with delivery channel {}",
                    recorder.name,
                    group_summary(recorder),
                    recorder.last_status.as_deref().unwrap_or("not reported"),
                    config.delivery_channels.join(", ")
                ),
            ),
            Err((resource, why)) => (Status::Fail, resource, why),
        },
    };
    out.push(ctx.finding(CheckId::KmsKeyRecording, status, &resource, detail));
}

/// The recorder that qualifies, or (resource, reason) for the FAIL row.
pub fn verdict(config: &ConfigFacts) -> Result<&RecorderFacts, (String, String)> {
    if config.recorders.is_empty() {
        return Err((
            String::new(),
            "no configuration recorder in this region".into(),
        ));
    }
    let mut reasons = Vec::new();
    for recorder in &config.recorders {
        let why = if !covers_kms_keys(recorder) {
            Some(format!(
                "does not record {KMS_KEY} ({})",
                group_summary(recorder)
            ))
        } else if !recorder.recording {
            Some("is stopped".to_string())
        } else if let Some(failed) = recorder
            .last_status
            .as_deref()
            .filter(|s| s.eq_ignore_ascii_case("failure"))
        {
            Some(format!("is failing (last status {failed})"))
        } else if config.delivery_channels.is_empty() {
            Some("has no delivery channel".to_string())
        } else {
            None
        };
        match why {
            None => return Ok(recorder),
            Some(why) => reasons.push(format!("recorder {} {why}", recorder.name)),
        }
    }
    let resource = config.recorders[0].name.clone();
    Err((resource, reasons.join("; ")))
}

/// Does the recording group include `AWS::KMS::Key`?
pub fn covers_kms_keys(recorder: &RecorderFacts) -> bool {
    match recorder.strategy.as_deref() {
        Some("EXCLUSION_BY_RESOURCE_TYPES") => !recorder
            .excluded_resource_types
            .iter()
            .any(|t| t == KMS_KEY),
        Some("INCLUSION_BY_RESOURCE_TYPES") => recorder.resource_types.iter().any(|t| t == KMS_KEY),
        _ => recorder.all_supported || recorder.resource_types.iter().any(|t| t == KMS_KEY),
    }
}

fn group_summary(recorder: &RecorderFacts) -> String {
    match recorder.strategy.as_deref() {
        Some("EXCLUSION_BY_RESOURCE_TYPES") => {
            format!(
                "all types except {}",
                list_or_none(&recorder.excluded_resource_types)
            )
        }
        _ if recorder.all_supported => "all supported types".into(),
        _ => format!("only {}", list_or_none(&recorder.resource_types)),
    }
}

fn list_or_none(types: &[String]) -> String {
    if types.is_empty() {
        "no types".into()
    } else {
        types.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorder(
        all: bool,
        strategy: Option<&str>,
        include: &[&str],
        exclude: &[&str],
    ) -> RecorderFacts {
        RecorderFacts {
            name: "default".into(),
            all_supported: all,
            strategy: strategy.map(str::to_string),
            resource_types: include.iter().map(|s| s.to_string()).collect(),
            excluded_resource_types: exclude.iter().map(|s| s.to_string()).collect(),
            recording: true,
            last_status: Some("SUCCESS".into()),
            ..RecorderFacts::default()
        }
    }

    fn config(recorders: Vec<RecorderFacts>) -> ConfigFacts {
        ConfigFacts {
            recorders,
            delivery_channels: vec!["default".into()],
            channels: None,
        }
    }

    #[test]
    fn recording_group_table() {
        let cases = [
            (recorder(true, None, &[], &[]), true),
            (
                recorder(true, Some("ALL_SUPPORTED_RESOURCE_TYPES"), &[], &[]),
                true,
            ),
            (recorder(false, None, &[KMS_KEY], &[]), true),
            (
                recorder(
                    false,
                    Some("INCLUSION_BY_RESOURCE_TYPES"),
                    &["AWS::S3::Bucket"],
                    &[],
                ),
                false,
            ),
            (
                recorder(
                    false,
                    Some("EXCLUSION_BY_RESOURCE_TYPES"),
                    &[],
                    &["AWS::EC2::Instance"],
                ),
                true,
            ),
            (
                recorder(false, Some("EXCLUSION_BY_RESOURCE_TYPES"), &[], &[KMS_KEY]),
                false,
            ),
            (recorder(false, None, &[], &[]), false),
        ];
        for (r, expected) in cases {
            assert_eq!(covers_kms_keys(&r), expected, "{r:?}");
        }
    }

    fn rows(config: crate::facts::Fetched<ConfigFacts>) -> Vec<(Status, String)> {
        use crate::checks::fixtures::{account, empty_region, evaluate_region, verdicts};
        let mut region = empty_region();
        region.config = config;
        verdicts(
            &evaluate_region(&account(region), &Ok(vec![])),
            CheckId::KmsKeyRecording,
        )
    }

    #[test]
    fn details_name_the_recorder_its_status_and_channel_or_the_failed_call() {
        assert_eq!(
            rows(Ok(config(vec![recorder(true, None, &[], &[])]))),
            vec![(
                Status::Pass,
                "recorder default is recording AWS::KMS::Key (all supported types; last status SUCCESS) with delivery channel default".to_string()
            )]
        );
        let mut stopped = recorder(true, None, &[], &[]);
        stopped.recording = false;
        assert_eq!(
            rows(Ok(config(vec![stopped]))),
            vec![(Status::Fail, "recorder default is stopped".to_string())]
        );
        assert_eq!(
            rows(Err(crate::aws::throttle::CallError::new(
                crate::aws::api::Api::ConfigDescribeDeliveryChannels,
                "AccessDeniedException",
                "no"
            ))),
            vec![(
                Status::Error,
                "config:DescribeDeliveryChannels failed: AccessDeniedException: no".to_string()
            )]
        );
    }

    #[test]
    fn verdict_reasons() {
        assert!(verdict(&config(vec![recorder(true, None, &[], &[])])).is_ok());
        assert!(verdict(&config(vec![]))
            .unwrap_err()
            .1
            .contains("no configuration recorder"));

        let mut stopped = recorder(true, None, &[], &[]);
        stopped.recording = false;
        assert!(verdict(&config(vec![stopped]))
            .unwrap_err()
            .1
            .contains("is stopped"));

        let mut failing = recorder(true, None, &[], &[]);
        failing.last_status = Some("Failure".into());
        assert!(verdict(&config(vec![failing]))
            .unwrap_err()
            .1
            .contains("is failing (last status Failure)"));

        let excluded = recorder(false, Some("EXCLUSION_BY_RESOURCE_TYPES"), &[], &[KMS_KEY]);
        assert!(verdict(&config(vec![excluded]))
            .unwrap_err()
            .1
            .contains("except AWS::KMS::Key"));

        let mut no_channel = config(vec![recorder(true, None, &[], &[])]);
        no_channel.delivery_channels.clear();
        assert!(verdict(&no_channel)
            .unwrap_err()
            .1
            .contains("no delivery channel"));
    }
}

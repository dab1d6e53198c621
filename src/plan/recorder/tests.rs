//! The script's reduction of the live state and the planner's of the
//! evidence must agree exactly, or every script would call a fresh plan
//! stale (or, worse, a stale one fresh).

use super::*;
use crate::facts::{RecordingModeFacts, RecordingModeOverrideFacts};

/// Runs the script's `read_state` reduction over Describe answers.
fn normalize(recorders: Value, status: Value, channels: Value) -> Value {
    let dir = tempfile::tempdir().unwrap();
    for (name, value) in [
        ("recorders", recorders),
        ("status", status),
        ("channels", channels),
    ] {
        std::fs::write(dir.path().join(format!("{name}.json")), value.to_string()).unwrap();
    }
    let python = READ_STATE
        .split("<<'PY'\n")
        .nth(1)
        .and_then(|rest| rest.split("\nPY\n").next())
        .expect("the embedded Python");
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(python)
        .arg(dir.path())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(dir.path().join("live.json")).unwrap()).unwrap()
}

#[test]
fn the_live_state_reduces_to_what_the_evidence_says() {
    // As AWS describes a recorder with every setting, and as the collector
    // keeps it.
    let described = json!({"ConfigurationRecorders": [{
        "arn": "arn:aws:config:eu-west-1:111122223333:configuration-recorder/default/x",
        "name": "default",
        "roleARN": "arn:aws:iam::111122223333:role/config-role",
        "recordingGroup": {
            "allSupported": false,
            "includeGlobalResourceTypes": false,
            "resourceTypes": [],
            "exclusionByResourceTypes": {"resourceTypes": ["AWS::KMS::Key", "AWS::EC2::Instance"]},
            "recordingStrategy": {"useOnly": "EXCLUSION_BY_RESOURCE_TYPES"}
        },
        "recordingMode": {
            "recordingFrequency": "CONTINUOUS",
            "recordingModeOverrides": [{
                "description": "daily instances",
                "resourceTypes": ["AWS::EC2::Instance"],
                "recordingFrequency": "DAILY"
            }]
        },
        "recordingScope": "PAID"
    }]});
    let status = json!({"ConfigurationRecordersStatus": [{
        "name": "default", "recording": true, "lastStatus": "SUCCESS"
    }]});
    let channels = json!({"DeliveryChannels": [{
        "name": "default",
        "s3BucketName": "config-bucket",
        "s3KeyPrefix": "org",
        "configSnapshotDeliveryProperties": {"deliveryFrequency": "TwentyFour_Hours"}
    }]});
    let kept = ConfigState {
        recorders: vec![RecorderFacts {
            name: "default".into(),
            all_supported: false,
            strategy: Some(EXCLUSION.into()),
            resource_types: vec![],
            excluded_resource_types: vec!["AWS::KMS::Key".into(), "AWS::EC2::Instance".into()],
            recording: true,
            last_status: Some("SUCCESS".into()),
            settings: Some(RecorderSettings {
                role_arn: Some("arn:aws:iam::111122223333:role/config-role".into()),
                include_global_resource_types: false,
                recording_mode: Some(RecordingModeFacts {
                    recording_frequency: "CONTINUOUS".into(),
                    overrides: vec![RecordingModeOverrideFacts {
                        description: Some("daily instances".into()),
                        resource_types: vec!["AWS::EC2::Instance".into()],
                        recording_frequency: "DAILY".into(),
                    }],
                }),
                service_principal: None,
                recording_scope: Some("PAID".into()),
            }),
            last_error: None,
        }],
        channels: vec![DeliveryChannelFacts {
            name: "default".into(),
            s3_bucket_name: Some("config-bucket".into()),
            s3_key_prefix: Some("org".into()),
            delivery_frequency: Some("TwentyFour_Hours".into()),
            ..DeliveryChannelFacts::default()
        }],
    };
    assert_eq!(
        normalize(described, status.clone(), channels.clone()),
        canonical(&kept)
    );

    // The emulator describes no recording mode and a legacy group without
    // a strategy: the defaults AWS applies stand in for them, both sides.
    let legacy = json!({"ConfigurationRecorders": [{
        "name": "default",
        "roleARN": "arn:aws:iam::111122223333:role/config-role",
        "recordingGroup": {"allSupported": true, "includeGlobalResourceTypes": true}
    }]});
    let mut kept_legacy = kept.clone();
    kept_legacy.recorders[0] = RecorderFacts {
        all_supported: true,
        strategy: None,
        excluded_resource_types: vec![],
        settings: Some(RecorderSettings {
            role_arn: Some("arn:aws:iam::111122223333:role/config-role".into()),
            include_global_resource_types: true,
            ..RecorderSettings::default()
        }),
        ..kept.recorders[0].clone()
    };
    assert_eq!(normalize(legacy, status, channels), canonical(&kept_legacy));

    // Nothing at all.
    let none = ConfigState {
        recorders: vec![],
        channels: vec![],
    };
    assert_eq!(
        normalize(
            json!({"ConfigurationRecorders": []}),
            json!({"ConfigurationRecordersStatus": []}),
            json!({"DeliveryChannels": []})
        ),
        canonical(&none)
    );
}

#[test]
fn put_inputs_have_each_strategy_s_own_group_shape() {
    let mut r = RecorderFacts {
        name: "default".into(),
        strategy: Some(INCLUSION.into()),
        resource_types: vec!["AWS::S3::Bucket".into(), KMS_KEY.into()],
        settings: Some(RecorderSettings {
            role_arn: Some("arn:aws:iam::111122223333:role/r".into()),
            ..RecorderSettings::default()
        }),
        ..RecorderFacts::default()
    };
    let group = |r: &RecorderFacts| {
        put_recorder_input(r)["ConfigurationRecorder"]["recordingGroup"].clone()
    };
    assert_eq!(
        group(&r),
        json!({"allSupported": false, "includeGlobalResourceTypes": false,
               "resourceTypes": ["AWS::S3::Bucket", "AWS::KMS::Key"],
               "recordingStrategy": {"useOnly": INCLUSION}})
    );
    r.strategy = Some(EXCLUSION.into());
    r.excluded_resource_types = vec!["AWS::EC2::Instance".into()];
    assert_eq!(
        group(&r),
        json!({"allSupported": false, "includeGlobalResourceTypes": false,
               "exclusionByResourceTypes": {"resourceTypes": ["AWS::EC2::Instance"]},
               "recordingStrategy": {"useOnly": EXCLUSION}})
    );
    // The only excluded type removed: everything, global types included.
    let mut only_kms = r.clone();
    only_kms.excluded_resource_types = vec![KMS_KEY.into()];
    record_kms_keys(&mut only_kms).unwrap();
    assert_eq!(
        group(&only_kms),
        json!({"allSupported": true, "includeGlobalResourceTypes": true,
               "recordingStrategy": {"useOnly": ALL}})
    );
    // A legacy group keeps having no strategy.
    r.strategy = None;
    assert!(group(&r).get("recordingStrategy").is_none());
    assert!(put_recorder_input(&r)["ConfigurationRecorder"]
        .get("recordingMode")
        .is_none());
}

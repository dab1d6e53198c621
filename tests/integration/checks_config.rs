//! `config.kms_key_recording` against the emulator: one scenario per test,
//! each on its own emulator, asserting the status and the detail.

use crate::support::TestScan;
use cmkscan::Finding;
use cmkscan::Status;

use crate::support::seed::Recording;
use crate::support::{assert_finding, findings_for, options, single, Emulator, MANAGEMENT_ACCOUNT};

const CHECK: &str = "config.kms_key_recording";
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// An organisation of the management account alone, with one recorder in
/// us-east-1 (none in eu-west-1), scanned in both regions.
async fn scan_recorder(recording: Recording, started: bool, channel: bool) -> TestScan {
    let emulator = Emulator::with_organization().await;
    emulator
        .management()
        .await
        .recorder("us-east-1", recording, started, channel)
        .await;
    emulator.scan(options(&REGIONS)).await
}

async fn us_east_1_row(recording: Recording, started: bool, channel: bool) -> Finding {
    let outcome = scan_recorder(recording, started, channel).await;
    single(&outcome.findings, MANAGEMENT_ACCOUNT, "us-east-1", CHECK).clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn all_supported_types_pass() {
    let finding = us_east_1_row(Recording::AllSupported, true, true).await;
    assert_finding(
        &finding,
        Status::Pass,
        &[
            "recorder default is recording AWS::KMS::Key (all supported types; last status ",
            "with delivery channel ",
        ],
    );
    assert_eq!(finding.resource_id, "default");
}

#[tokio::test(flavor = "multi_thread")]
async fn inclusion_of_kms_keys_passes() {
    let finding = us_east_1_row(
        Recording::Include(vec!["AWS::S3::Bucket", "AWS::KMS::Key"]),
        true,
        true,
    )
    .await;
    assert_finding(
        &finding,
        Status::Pass,
        &["is recording AWS::KMS::Key (only AWS::S3::Bucket, AWS::KMS::Key; last status "],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn inclusion_of_other_types_only_fails() {
    let finding = us_east_1_row(Recording::Include(vec!["AWS::S3::Bucket"]), true, true).await;
    assert_finding(
        &finding,
        Status::Fail,
        &["recorder default does not record AWS::KMS::Key (only AWS::S3::Bucket)"],
    );
    assert_eq!(finding.resource_id, "default");
}

#[tokio::test(flavor = "multi_thread")]
async fn exclusion_of_kms_keys_fails() {
    let finding = us_east_1_row(
        Recording::Exclude(vec!["AWS::KMS::Key", "AWS::EC2::Instance"]),
        true,
        true,
    )
    .await;
    assert_finding(
        &finding,
        Status::Fail,
        &["recorder default does not record AWS::KMS::Key (all types except AWS::KMS::Key, AWS::EC2::Instance)"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn exclusion_of_other_types_passes() {
    let finding = us_east_1_row(Recording::Exclude(vec!["AWS::EC2::Instance"]), true, true).await;
    assert_finding(
        &finding,
        Status::Pass,
        &["is recording AWS::KMS::Key (all types except AWS::EC2::Instance; last status "],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stopped_recorder_fails() {
    let finding = us_east_1_row(Recording::AllSupported, false, true).await;
    assert_finding(&finding, Status::Fail, &["recorder default is stopped"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn absent_recorder_fails() {
    let outcome = scan_recorder(Recording::AllSupported, true, true).await;
    // The recorder in us-east-1 does not count for eu-west-1.
    assert_finding(
        single(&outcome.findings, MANAGEMENT_ACCOUNT, "us-east-1", CHECK),
        Status::Pass,
        &["recorder default is recording"],
    );
    let eu = single(&outcome.findings, MANAGEMENT_ACCOUNT, "eu-west-1", CHECK);
    assert_finding(
        eu,
        Status::Fail,
        &["no configuration recorder in this region"],
    );
    assert_eq!(eu.resource_id, "", "{eu:#?}");
}

/// A recording recorder without a delivery channel cannot be made through
/// the API (StartConfigurationRecorder needs a channel, DeleteDeliveryChannel
/// refuses while the recorder runs, in AWS as in the emulator), so the
/// scanned facts of a working recorder lose their channel and are
/// re-evaluated, as a saved facts file would be.
#[tokio::test(flavor = "multi_thread")]
async fn recorder_without_delivery_channel_fails() {
    let outcome = scan_recorder(Recording::AllSupported, true, true).await;
    assert_finding(
        single(&outcome.findings, MANAGEMENT_ACCOUNT, "us-east-1", CHECK),
        Status::Pass,
        &["recorder default is recording"],
    );

    let mut facts = outcome.facts;
    let account = facts
        .accounts
        .iter_mut()
        .find(|a| a.id == MANAGEMENT_ACCOUNT)
        .expect("management account facts");
    let region = account
        .regions
        .iter_mut()
        .find(|r| r.region == "us-east-1")
        .expect("us-east-1 facts");
    let config = region.config.as_mut().expect("config facts");
    assert_eq!(config.delivery_channels, vec!["default".to_string()]);
    assert!(config.recorders[0].recording, "{config:#?}");
    config.delivery_channels.clear();

    let findings = cmkscan::evaluate(&facts);
    assert_finding(
        single(&findings, MANAGEMENT_ACCOUNT, "us-east-1", CHECK),
        Status::Fail,
        &["recorder default has no delivery channel"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn access_denied_on_describe_recorders_is_an_error() {
    let emulator = Emulator::with_organization().await;
    let member = emulator.create_account("member").await;
    // A recorder that would pass, were it visible.
    member
        .recorder("us-east-1", Recording::AllSupported, true, true)
        .await;
    emulator
        .front
        .deny(&member.id, "DescribeConfigurationRecorders");
    let outcome = emulator.scan(options(&REGIONS)).await;
    for region in REGIONS {
        assert_finding(
            single(&outcome.findings, &member.id, region, CHECK),
            Status::Error,
            &["config:DescribeConfigurationRecorders", "AccessDenied"],
        );
        // The account's other checks still ran.
        assert!(
            !findings_for(
                &outcome.findings,
                &member.id,
                region,
                "cloudtrail.kms_events_logged"
            )
            .is_empty(),
            "no trail rows for {region}: {:#?}",
            outcome.findings
        );
    }
    // The denial is the member's alone.
    assert_finding(
        single(&outcome.findings, MANAGEMENT_ACCOUNT, "us-east-1", CHECK),
        Status::Fail,
        &["no configuration recorder"],
    );
}

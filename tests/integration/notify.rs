//! `--sns-topic-arn`: one message at the end of a scan, read back the way a
//! subscriber gets it (an SQS queue subscribed to the topic on the
//! emulator), with the counts, the keys pending deletion and their dates,
//! the recent events and the report's S3 URIs; a failed publish exits 1
//! after the report is written and uploaded.

use std::time::Duration;

use serde_json::Value;

use crate::support::cli::{
    assert_exit, assert_one_line_reason, cmkscan_command, describe, run, scan_args, text,
};
use crate::support::sample_org::key_event;
use crate::support::seed::KeyState;
use crate::support::{Account, Emulator, MANAGEMENT_ACCOUNT, REGION};

/// A queue subscribed to `topic`; returns the queue's URL and client.
async fn subscriber(account: &Account, topic: &str) -> (aws_sdk_sqs::Client, String) {
    let sqs = aws_sdk_sqs::Client::new(&account.at(REGION));
    let url = sqs
        .create_queue()
        .queue_name("summary-reader")
        .send()
        .await
        .expect("create queue")
        .queue_url()
        .expect("queue url")
        .to_string();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes");
    let queue_arn = attributes
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .expect("queue arn")
        .to_string();
    aws_sdk_sns::Client::new(&account.at(REGION))
        .subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .expect("subscribe the queue");
    (sqs, url)
}

/// The SNS envelopes waiting in the queue.
async fn received(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Value> {
    let out = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("receive");
    out.messages()
        .iter()
        .map(|m| serde_json::from_str(m.body().expect("a body")).expect("an SNS envelope"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_summary_reaches_a_subscriber_with_keys_events_and_the_report_location() {
    let emulator = Emulator::with_organization().await;
    let management = emulator.management().await;
    management.bucket(REGION, "reports-bucket").await;
    let topic = management.topic(REGION, "cmkscan-summary", false).await;
    let (sqs, url) = subscriber(&management, &topic).await;
    let member = emulator.create_account("member").await;
    let key = member
        .key(REGION, Some("alias/payments"), KeyState::PendingDeletion)
        .await;
    emulator.front.add_event(key_event(
        &member.id,
        REGION,
        "ScheduleKeyDeletion",
        &key,
        Duration::from_secs(3_600),
    ));

    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    cmd.args([
        "--s3-uri",
        "s3://reports-bucket/weekly",
        "--sns-topic-arn",
        &topic,
    ]);
    let output = run(cmd).await;
    assert_exit(&output, 0);
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains(&format!("published to {topic} (message ")),
        "{stdout}"
    );
    let uploaded: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("uploaded "))
        .collect();
    assert_eq!(uploaded.len(), 5, "{stdout}");

    let messages = received(&sqs, &url).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let envelope = &messages[0];
    assert_eq!(envelope["TopicArn"], topic.as_str());
    let subject = envelope["Subject"].as_str().expect("a subject");
    assert!(subject.is_ascii() && subject.len() < 100, "{subject}");
    assert!(
        subject.starts_with("cmkscan ") && subject.ends_with(", 1 key(s) pending deletion"),
        "{subject}"
    );
    let message = envelope["Message"].as_str().expect("a message");
    let json: Value =
        serde_json::from_slice(&std::fs::read(out_dir.path().join("findings.json")).unwrap())
            .unwrap();
    // Whole days left from the scan's start, rounded down: a key scheduled
    // for 7 days before the scan started has 6 left, unless both fall in
    // one second (scan_time has no fraction).
    let key_row = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["check_id"] == "kms.key_state" && r["status"] == "FAIL")
        .expect("the pending key's row");
    let deletion_date = key_row["detail"]
        .as_str()
        .unwrap()
        .split_once("(deletion date ")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(date, _)| date)
        .expect("a deletion date");
    let seconds = |time: &str| {
        aws_smithy_types::DateTime::from_str(time, aws_smithy_types::date_time::Format::DateTime)
            .unwrap_or_else(|err| panic!("{time}: {err}"))
            .secs()
    };
    let days_left =
        (seconds(deletion_date) - seconds(json["scan_time"].as_str().unwrap())).div_euclid(86_400);
    assert!(days_left == 6 || days_left == 7, "{days_left}");
    for needle in [
        format!("cmkscan scan {}", json["scan_id"].as_str().unwrap()),
        format!(
            "Findings: {} PASS, {} FAIL, {} WARN, {} ERROR",
            json["summary"]["by_status"]["PASS"],
            json["summary"]["by_status"]["FAIL"],
            json["summary"]["by_status"]["WARN"],
            json["summary"]["by_status"]["ERROR"]
        ),
        "Coverage: 2 of 2 accounts complete".to_string(),
        "Changes: not compared: no earlier report under s3://reports-bucket/weekly".to_string(),
        "Keys pending deletion (1), soonest first:\n".to_string(),
        format!(
            "- in {days_left} days: {} (member) {REGION}: key {key} is PendingDeletion (deletion date ",
            member.id
        ),
        "aliases: alias/payments".to_string(),
        "DisableKey / ScheduleKeyDeletion in the last 7 days (1):\n".to_string(),
        format!("(member) {REGION}: ScheduleKeyDeletion at "),
        "from 203.0.113.5 (event ScheduleKeyDeletion-".to_string(),
        format!("key {key}\n"),
        "Changed rows (0):\n  none\n".to_string(),
    ] {
        assert!(message.contains(&needle), "{needle:?} missing:\n{message}");
    }
    let report: String = uploaded.iter().map(|uri| format!("  {uri}\n")).collect();
    assert!(
        message.ends_with(&format!("\nReport:\n{report}")),
        "{message}"
    );
    assert_eq!(
        envelope["MessageAttributes"]["keys_pending_deletion"],
        serde_json::json!({"Type": "Number", "Value": "1"})
    );
    assert_eq!(
        envelope["MessageAttributes"]["scan_id"]["Value"],
        json["scan_id"]
    );
    // One message per scan.
    assert!(received(&sqs, &url).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_publish_exits_1_after_the_report_is_written_and_uploaded() {
    let emulator = Emulator::with_organization().await;
    emulator
        .management()
        .await
        .bucket(REGION, "reports-bucket")
        .await;
    let missing = format!("arn:aws:sns:{REGION}:{MANAGEMENT_ACCOUNT}:no-such-topic");
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    cmd.args([
        "--s3-uri",
        "s3://reports-bucket/weekly",
        "--sns-topic-arn",
        &missing,
    ]);
    let output = run(cmd).await;
    assert_exit(&output, 1);
    let reason = assert_one_line_reason(
        &output,
        &format!("the message to {missing} was not published: sns:Publish failed: NotFound"),
    );
    assert!(
        reason.ends_with("the report is written and uploaded"),
        "{reason}"
    );
    for name in ["findings.csv", "findings.json", "facts.json.gz"] {
        assert!(
            out_dir.path().join(name).exists(),
            "{name}: {}",
            describe(&output)
        );
    }
    let uploads = text(&output.stdout)
        .lines()
        .filter(|l| l.starts_with("uploaded s3://reports-bucket/weekly/"))
        .count();
    assert_eq!(uploads, 5, "{}", describe(&output));

    // A topic ARN that is not one is a usage error, before any request.
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    cmd.args([
        "--sns-topic-arn",
        "arn:aws:sqs:us-east-1:111122223333:queue",
    ]);
    let output = run(cmd).await;
    assert_exit(&output, 2);
    assert!(
        text(&output.stderr).contains("not an SNS topic ARN"),
        "{}",
        describe(&output)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_failed_upload_the_message_still_goes_out_and_says_so() {
    let emulator = Emulator::with_organization().await;
    let management = emulator.management().await;
    let topic = management.topic(REGION, "cmkscan-summary", false).await;
    let (sqs, url) = subscriber(&management, &topic).await;
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    cmd.args([
        "--s3-uri",
        "s3://missing-bucket/weekly",
        "--sns-topic-arn",
        &topic,
    ]);
    let output = run(cmd).await;
    assert_exit(&output, 1);
    let reason = assert_one_line_reason(&output, "upload to s3://missing-bucket/weekly/");
    assert!(reason.contains("NoSuchBucket"), "{reason}");
    assert!(!reason.contains("not published"), "{reason}");

    let messages = received(&sqs, &url).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let message = messages[0]["Message"].as_str().expect("a message");
    assert!(
        message.contains("Report:\n  the upload failed: upload to s3://missing-bucket/weekly/"),
        "{message}"
    );
    assert!(
        message.ends_with(&format!(
            "the files are kept in {} on the runner\n",
            out_dir.path().display()
        )),
        "{message}"
    );
    // The previous report could not be looked for either: said, not fatal.
    assert!(
        message.contains(
            "Changes: not compared: cannot look for an earlier report under s3://missing-bucket/weekly: s3:ListObjectsV2 failed: NoSuchBucket"
        ),
        "{message}"
    );
}

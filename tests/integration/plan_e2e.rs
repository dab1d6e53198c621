//! The plan's loop on the emulator, with the pinned AWS CLI: scan the
//! sample organisation, plan beside the report (`--check`), run every
//! apply script in its order as each account's administrator, scan again
//! (the planned rows PASS, no other row changed), run every backout in
//! reverse order, scan again (every recorder and delivery channel as the
//! first scan's evidence has it, field for field; `last_status` aside: a
//! recorder once started keeps reporting PENDING). A stale plan, or
//! credentials of another account, change nothing.
//!
//! Forwarders are planned as plain stacks (`--forwarders stacks`): moto's
//! StackSets ignore `AccountFilterType` and deploy to the management
//! account too, so the StackSet scripts are checked as text
//! (`src/plan/tests.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

use crate::evidence::plan_schema_errors;
use crate::support::cli::{
    cmkscan_command, describe, output_within, read_facts_json, read_json, read_report_file, run,
};
use crate::support::sample_org;
use crate::support::{Emulator, MANAGEMENT_ACCOUNT};

/// A script makes a dozen AWS CLI calls, each a Python start-up.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

fn venv_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/venv/bin");
    assert!(
        bin.join("aws").is_file(),
        "{} is missing: run scripts/install-tools.sh to install the pinned AWS CLI (awscli)",
        bin.join("aws").display()
    );
    bin
}

/// Where the AWS CLI finds its profiles: one per account, named by its id,
/// the management account's with the runner's keys, the others assuming
/// the role an administrator would use.
struct CliConfig {
    dir: tempfile::TempDir,
    endpoint: String,
}

impl CliConfig {
    fn new(endpoint: &str, members: &[&str]) -> CliConfig {
        let dir = tempfile::tempdir().unwrap();
        let mut config = format!("[profile {MANAGEMENT_ACCOUNT}]\nregion = us-east-1\n");
        for id in members {
            config.push_str(&format!(
                "[profile {id}]\nrole_arn = arn:aws:iam::{id}:role/OrganizationAccountAccessRole\nsource_profile = {MANAGEMENT_ACCOUNT}\nregion = us-east-1\n"
            ));
        }
        std::fs::write(dir.path().join("config"), config).unwrap();
        std::fs::write(
            dir.path().join("credentials"),
            format!("[{MANAGEMENT_ACCOUNT}]\naws_access_key_id = testing\naws_secret_access_key = testing\n"),
        )
        .unwrap();
        CliConfig {
            dir,
            endpoint: endpoint.to_string(),
        }
    }

    /// `script [args]` as an administrator runs it: the AWS CLI on PATH,
    /// the profiles above, and nothing else from this machine.
    fn command(&self, script: &Path, profile: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(script);
        cmd.env_clear()
            .env(
                "PATH",
                format!("{}:/usr/local/bin:/usr/bin:/bin", venv_bin().display()),
            )
            .env("HOME", self.dir.path())
            .env("AWS_CONFIG_FILE", self.dir.path().join("config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.dir.path().join("credentials"),
            )
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(["--profile", profile])
            .args(args);
        cmd
    }

    fn run(&self, script: &Path, profile: &str, args: &[&str]) -> Output {
        output_within(self.command(script, profile, args), SCRIPT_TIMEOUT)
    }
}

async fn scan(emulator: &Emulator, out: &Path) {
    let mut cmd = cmkscan_command(emulator.endpoint());
    cmd.args(["scan", "--regions", "us-east-1,eu-west-1", "--output-dir"])
        .arg(out)
        .env("CMKSCAN_EXTERNAL_ID", "sample-external-id");
    let output = run(cmd).await;
    assert!(output.status.success(), "{}", describe(&output));
}

/// Every row of a report, by what it is about: (account, region, check,
/// resource for rows per resource or event, and the event's detail).
fn rows(dir: &Path) -> BTreeMap<(String, String, String, String), (String, String)> {
    let json = read_json(&dir.join("findings.json"));
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            let check = s("check_id");
            let subject = match check.as_str() {
                "kms.key_state" => s("resource_id"),
                "kms.recent_disable_delete_events" => {
                    format!("{}\n{}", s("resource_id"), s("detail"))
                }
                _ => String::new(),
            };
            (
                (s("account_id"), s("region"), check, subject),
                (s("status"), s("detail")),
            )
        })
        .collect()
}

/// The Config facts of every account-region, as an exact backout must
/// leave them: recorders without `last_status`, channels.
fn config_facts(dir: &Path) -> BTreeMap<(String, String), Value> {
    let facts = read_facts_json(dir);
    let mut out = BTreeMap::new();
    for account in facts["accounts"].as_array().unwrap() {
        for region in account["regions"].as_array().unwrap_or(&Vec::new()) {
            let mut config = region["config"]["Ok"].clone();
            assert!(config.is_object(), "Config unread in {account} {region}");
            for recorder in config["recorders"].as_array_mut().unwrap() {
                recorder.as_object_mut().unwrap().remove("last_status");
            }
            out.insert(
                (
                    account["id"].as_str().unwrap().to_string(),
                    region["region"].as_str().unwrap().to_string(),
                ),
                config,
            );
        }
    }
    out
}

/// The steps that run scripts, in run order, with the account whose
/// profile runs them.
fn scripted_steps(plan: &Value) -> Vec<(String, PathBuf, PathBuf, Vec<String>)> {
    let mut steps: Vec<&Value> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["scripts"].is_object())
        .collect();
    steps.sort_by_key(|s| s["order"].as_u64());
    steps
        .iter()
        .map(|s| {
            (
                s["account_id"].as_str().unwrap().to_string(),
                PathBuf::from(s["scripts"]["apply"].as_str().unwrap()),
                PathBuf::from(s["scripts"]["backout"].as_str().unwrap()),
                s["depends_on"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

/// Runs `scripts` (profile, path) at once, each on its own thread, and
/// asserts each exits 0.
fn run_all(cli: &CliConfig, dir: &Path, scripts: &[(String, PathBuf)], args: &[&str]) {
    std::thread::scope(|scope| {
        let handles: Vec<_> = scripts
            .iter()
            .map(|(profile, script)| {
                let path = dir.join(script);
                scope.spawn(move || (path.clone(), cli.run(&path, profile, args)))
            })
            .collect();
        for handle in handles {
            let (path, output) = handle.join().unwrap();
            assert!(
                output.status.success(),
                "{}: {}",
                path.display(),
                describe(&output)
            );
        }
    });
}

/// moto's CloudFormation reports an `AWS::Events::EventBusPolicy` and an
/// `AWS::SNS::TopicPolicy` created but makes neither: puts on the central
/// stack's bus and topic what those two resources of
/// `kms-alerts-central.yaml` would, so that the scan after the apply judges
/// the stack AWS would have made (the bus admitting the organisation's
/// accounts, the topic admitting EventBridge).
async fn stand_in_for_policies_moto_skips(emulator: &Emulator, plan: &Value, dir: &Path) {
    let central = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["change"]
                .as_str()
                .is_some_and(|c| c.starts_with("deploy stack cmkscan-kms-alerts-central"))
        })
        .expect("the plan deploys the central stack");
    let (account, region) = (
        central["account_id"].as_str().unwrap(),
        central["region"].as_str().unwrap(),
    );
    let org_id = read_facts_json(dir)["organization_id"]
        .as_str()
        .unwrap()
        .to_string();
    let hub = emulator.account(account).await;
    let bus = format!("arn:aws:events:{region}:{account}:event-bus/cmkscan-kms-alerts");
    let region = aws_types::region::Region::new(region.to_string());
    let events = aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(&hub.config)
            .region(region.clone())
            .build(),
    );
    // The whole policy, as the template states it: moto turns PutPermission's
    // `Principal: *` into `arn:aws:iam::*:root`, which AWS does not.
    let bus_policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "OrganizationAccountsPutEvents",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "events:PutEvents",
            "Resource": bus,
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}},
        }],
    });
    events
        .put_permission()
        .event_bus_name("cmkscan-kms-alerts")
        .policy(bus_policy.to_string())
        .send()
        .await
        .expect("the bus policy");
    let sns = aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(&hub.config)
            .region(region)
            .build(),
    );
    let topics = sns.list_topics().send().await.expect("topics");
    let topic = topics
        .topics()
        .iter()
        .filter_map(|t| t.topic_arn())
        .find(|arn| arn.contains("cmkscan-kms-alerts-central"))
        .expect("the central stack's topic")
        .to_string();
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "RulesPublish",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic,
        }],
    });
    sns.set_topic_attributes()
        .topic_arn(&topic)
        .attribute_name("Policy")
        .attribute_value(policy.to_string())
        .send()
        .await
        .expect("the topic policy");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_plan_applies_and_backs_out_exactly_on_the_emulator() {
    let emulator = Emulator::start().await;
    let org = sample_org::seed(&emulator).await;
    let management = emulator.management().await;
    management.bucket("us-east-1", "org-config-logs").await;
    let first = tempfile::tempdir().unwrap();
    scan(&emulator, first.path()).await;

    // Plan beside the report, checked.
    let mut cmd = cmkscan_command(emulator.endpoint());
    cmd.args(["plan", "--facts"])
        .arg(first.path().join("facts.json.gz"))
        .arg("--output-dir")
        .arg(first.path())
        .args(["--config-bucket", "org-config-logs"])
        .args(["--alert-email", "security@example.com"])
        .args(["--forwarders", "stacks", "--check"]);
    let output = run(cmd).await;
    assert!(output.status.success(), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("check: passed"));
    assert_eq!(plan_schema_errors(&first.path().join("plan.json")), "");
    let plan = read_json(&first.path().join("plan.json"));
    let planned: Vec<(String, String, String)> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"] == "apply")
        .flat_map(|s| s["rows"].as_array().unwrap().iter())
        .map(|r| {
            (
                r["account_id"].as_str().unwrap().to_string(),
                r["region"].as_str().unwrap().to_string(),
                r["check_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Four recorders and three alert paths: every FAIL row of the sample
    // but the key pending deletion, which is a decision.
    assert_eq!(planned.len(), 7, "{planned:#?}");
    let html = std::fs::read_to_string(first.path().join("report.html")).unwrap();
    assert_eq!(
        html.matches("<a class=\"plan\" href=\"plan.md#f-").count(),
        8
    );

    // The same evidence read from S3 plans the same steps.
    let facts_text = read_report_file(&first.path().join("facts.json.gz"));
    management
        .object(
            "us-east-1",
            "org-config-logs",
            "cmkscan/facts.json",
            &facts_text,
        )
        .await;
    let from_s3 = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    cmd.args([
        "plan",
        "--facts",
        "s3://org-config-logs/cmkscan/facts.json",
        "--output-dir",
    ])
    .arg(from_s3.path().join("plan"))
    .args([
        "--config-bucket",
        "org-config-logs",
        "--forwarders",
        "stacks",
    ]);
    let output = run(cmd).await;
    assert!(output.status.success(), "{}", describe(&output));
    let s3_plan = read_json(&from_s3.path().join("plan/plan.json"));
    assert_eq!(
        s3_plan["scan"]["facts"],
        "s3://org-config-logs/cmkscan/facts.json"
    );
    let ids = |plan: &Value| -> Vec<Value> {
        plan["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| serde_json::json!([s["id"], s["action"], s["scripts"]]))
            .collect()
    };
    assert_eq!(ids(&s3_plan), ids(&plan));

    let cli = CliConfig::new(emulator.endpoint(), &[&org.prod, &org.dev]);
    let steps = scripted_steps(&plan);
    assert_eq!(steps.len(), 7);

    // Credentials of another account: nothing changed, exit 3.
    let (account, apply, _, _) = &steps[0];
    let other = if account == &org.dev {
        &org.prod
    } else {
        &org.dev
    };
    let output = cli.run(&first.path().join(apply), other, &[]);
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));

    // Apply: what depends on nothing at once, then the rest.
    let ids: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["scripts"].is_object())
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), steps.len());
    let (free, dependent): (Vec<_>, Vec<_>) = steps.iter().partition(|s| s.3.is_empty());
    let wave = |list: &[&(String, PathBuf, PathBuf, Vec<String>)],
                backout: bool|
     -> Vec<(String, PathBuf)> {
        list.iter()
            .map(|(account, apply, back, _)| {
                (
                    account.clone(),
                    if backout { back.clone() } else { apply.clone() },
                )
            })
            .collect()
    };
    assert!(
        !dependent.is_empty(),
        "the forwarders wait for the central stack"
    );
    run_all(&cli, first.path(), &wave(&free, false), &[]);
    stand_in_for_policies_moto_skips(&emulator, &plan, first.path()).await;
    run_all(&cli, first.path(), &wave(&dependent, false), &[]);
    // Again: already applied, nothing to do.
    let output = cli.run(&first.path().join(&steps[0].1), &steps[0].0, &[]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("already applied"));

    // The planned rows PASS; nothing else changed.
    let second = tempfile::tempdir().unwrap();
    scan(&emulator, second.path()).await;
    let (before, after) = (rows(first.path()), rows(second.path()));
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (key, (status, detail)) in &before {
        let planned_here = planned
            .iter()
            .any(|(a, r, c)| (a, r, c) == (&key.0, &key.1, &key.2));
        let now = &after[key];
        if planned_here {
            assert_eq!(
                (status.as_str(), now.0.as_str()),
                ("FAIL", "PASS"),
                "{key:?}: {}",
                now.1
            );
        } else {
            assert_eq!((status, detail), (&now.0, &now.1), "{key:?} changed");
        }
    }

    // Backout, in the reverse order; then Config is as the first scan saw it.
    run_all(&cli, first.path(), &wave(&dependent, true), &[]);
    run_all(&cli, first.path(), &wave(&free, true), &[]);
    let third = tempfile::tempdir().unwrap();
    scan(&emulator, third.path()).await;
    let (evidence, now) = (config_facts(first.path()), config_facts(third.path()));
    assert_eq!(evidence.len(), 6);
    for (place, config) in &evidence {
        assert_eq!(config, &now[place], "{place:?}");
    }
    assert_eq!(
        rows(third.path()),
        before,
        "every row is as the first scan's"
    );

    // A stale plan: prod's recorder changed since the scan. The apply
    // changes nothing and says so.
    let (_, prod_recorder, _, _) = steps
        .iter()
        .find(|(a, apply, _, _)| a == &org.prod && apply.ends_with("eu-west-1/config.apply.sh"))
        .expect("prod eu-west-1's recorder step");
    let prod = emulator.account(&org.prod).await;
    prod.recorder(
        "eu-west-1",
        crate::support::seed::Recording::Exclude(vec!["AWS::KMS::Key", "AWS::EC2::Instance"]),
        true,
        false,
    )
    .await;
    let output = cli.run(&first.path().join(prod_recorder), &org.prod, &[]);
    assert_eq!(output.status.code(), Some(4), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("STALE PLAN"));
    let config = aws_sdk_config::Client::new(&prod.at("eu-west-1"));
    let described = config
        .describe_configuration_recorders()
        .send()
        .await
        .expect("describe the recorder");
    let group = described.configuration_recorders()[0]
        .recording_group()
        .expect("a recording group");
    let excluded: Vec<&str> = group
        .exclusion_by_resource_types()
        .map(|e| e.resource_types().iter().map(|t| t.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        excluded,
        ["AWS::KMS::Key", "AWS::EC2::Instance"],
        "the stale apply left the recorder as it found it"
    );
}

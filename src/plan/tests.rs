//! The planner over hand-made facts: what each failing state plans, what
//! is refused and why, that `--check` can fail, and that text from AWS
//! reaches scripts and plan.md only as text.

use std::collections::BTreeMap;

use super::model::{Action, ReasonCode, Step};
use super::*;
use crate::checks::catalog::{CheckId, Status};
use crate::facts::fixtures::header;
use crate::facts::{
    AccountFacts, ConfigFacts, DeliveryChannelFacts, KeyFacts, KmsFacts, RecorderFacts,
    RecorderSettings, RecordingModeFacts, RegionFacts, ScanFacts, ScanTail, TrailFacts,
};

pub const MEMBER: &str = "111122223333";
const MANAGEMENT: &str = "111111111111";
/// 2026-11-29T10:15:00Z: a day after the fixture header's scan.
const NOW: i64 = 1_795_947_300;

pub fn region(name: &str, config: ConfigFacts) -> RegionFacts {
    RegionFacts {
        region: name.into(),
        visible_trails: Ok(vec![]),
        config: Ok(config),
        rules: Ok(vec![]),
        keys: Ok(KmsFacts::default()),
        recent_events: Ok(vec![]),
    }
}

pub fn account(id: &str, name: &str, regions: Vec<RegionFacts>) -> AccountFacts {
    AccountFacts {
        id: id.into(),
        name: name.into(),
        ou_path: "Root/Workloads".into(),
        ou_id: "ou-ab12-workload1".into(),
        ou_ancestors: vec!["r-ab12".into(), "ou-ab12-workload1".into()],
        access: Ok(()),
        skipped_regions: vec![],
        trails: vec![],
        regions,
    }
}

/// An organisation whose management account has a logging organisation
/// trail (so no trail row fails) and the given member accounts.
pub fn scan(members: Vec<AccountFacts>) -> ScanFacts {
    let mut trail = crate::checks::fixtures::logging_trail();
    trail.described.arn = format!("arn:aws:cloudtrail:us-east-1:{MANAGEMENT}:trail/org");
    trail.described.is_organization_trail = true;
    let mut management = account(MANAGEMENT, "management", vec![]);
    management.ou_path = "Root".into();
    management.trails = vec![trail.clone()];
    let mut accounts = vec![management];
    accounts.extend(members);
    ScanFacts::new(
        header(),
        accounts,
        ScanTail {
            organization_trails: Ok(vec![trail]),
            inactive_accounts: vec![],
            duration_seconds: 1.0,
            api_calls: BTreeMap::new(),
        },
    )
}

pub fn settings() -> RecorderSettings {
    RecorderSettings {
        role_arn: Some(format!("arn:aws:iam::{MEMBER}:role/config-role")),
        include_global_resource_types: false,
        recording_mode: Some(RecordingModeFacts {
            recording_frequency: "DAILY".into(),
            overrides: vec![],
        }),
        service_principal: None,
        recording_scope: None,
    }
}

pub fn recorder(strategy: &str, include: &[&str], exclude: &[&str]) -> RecorderFacts {
    RecorderFacts {
        name: "default".into(),
        all_supported: strategy == "ALL_SUPPORTED_RESOURCE_TYPES",
        strategy: Some(strategy.into()),
        resource_types: include.iter().map(|s| s.to_string()).collect(),
        excluded_resource_types: exclude.iter().map(|s| s.to_string()).collect(),
        recording: true,
        last_status: Some("SUCCESS".into()),
        settings: Some(settings()),
        last_error: None,
    }
}

pub fn channel() -> DeliveryChannelFacts {
    DeliveryChannelFacts {
        name: "default".into(),
        s3_bucket_name: Some("config-bucket".into()),
        ..DeliveryChannelFacts::default()
    }
}

pub fn config(recorders: Vec<RecorderFacts>, channels: Vec<DeliveryChannelFacts>) -> ConfigFacts {
    ConfigFacts {
        recorders,
        delivery_channels: channels.iter().map(|c| c.name.clone()).collect(),
        channels: Some(channels),
    }
}

pub fn options() -> PlanOptions {
    PlanOptions {
        max_age_days: 7,
        config_bucket: None,
        alerts_account: None,
        alerts_region: None,
        alert_email: None,
        forwarders: Forwarders::StackSet,
    }
}

/// The checked plan of `facts`, without exceptions.
pub fn plan_of(facts: &ScanFacts, options: &PlanOptions) -> Plan {
    let day = crate::exceptions::day_of(&facts.scan_time).unwrap();
    let findings = findings_of(facts, None, day);
    let input = PlanInput {
        facts,
        facts_source: "facts.json.gz".into(),
        facts_sha256: "00".repeat(32),
        exceptions_source: None,
        findings: &findings,
        now_epoch: NOW,
    };
    let mut plan = build(&input, options);
    check(&mut plan, facts, None, day);
    plan
}

/// The one step about `check` in the member account.
fn step_of(plan: &Plan, check: CheckId) -> &Step {
    let steps: Vec<&Step> = plan
        .steps
        .iter()
        .filter(|s| s.check_id == check && s.rows.iter().any(|r| r.account_id == MEMBER))
        .collect();
    assert_eq!(steps.len(), 1, "{:#?}", plan.steps);
    steps[0]
}

fn config_plan(config: ConfigFacts, options: &PlanOptions) -> Plan {
    plan_of(
        &scan(vec![account(
            MEMBER,
            "prod",
            vec![region("eu-west-1", config)],
        )]),
        options,
    )
}

fn script<'a>(step: &'a Step, direction: &str) -> &'a str {
    &step
        .files
        .iter()
        .find(|f| f.path.ends_with(&format!(".{direction}.sh")))
        .unwrap_or_else(|| panic!("no {direction} script in {step:#?}"))
        .text
}

#[test]
fn each_failing_recorder_gets_the_smallest_change_and_check_proves_it() {
    let kms = "AWS::KMS::Key";
    let mut stopped = recorder("ALL_SUPPORTED_RESOURCE_TYPES", &[], &[]);
    stopped.recording = false;
    let mut legacy = recorder("INCLUSION_BY_RESOURCE_TYPES", &["AWS::S3::Bucket"], &[]);
    legacy.strategy = None;
    let plain = options();
    let with_bucket = PlanOptions {
        config_bucket: Some("config-logs".parse().unwrap()),
        ..options()
    };
    let cases: Vec<(ConfigFacts, &PlanOptions, &str)> = vec![
        (
            config(
                vec![recorder("EXCLUSION_BY_RESOURCE_TYPES", &[], &[kms])],
                vec![channel()],
            ),
            &plain,
            "all supported types, global IAM types included",
        ),
        (
            config(
                vec![recorder(
                    "EXCLUSION_BY_RESOURCE_TYPES",
                    &[],
                    &[kms, "AWS::EC2::Instance"],
                )],
                vec![channel()],
            ),
            &plain,
            "all supported types except AWS::EC2::Instance",
        ),
        (
            config(
                vec![recorder(
                    "INCLUSION_BY_RESOURCE_TYPES",
                    &["AWS::S3::Bucket"],
                    &[],
                )],
                vec![channel()],
            ),
            &plain,
            "only AWS::S3::Bucket, AWS::KMS::Key",
        ),
        (
            config(vec![legacy], vec![channel()]),
            &plain,
            "only AWS::S3::Bucket, AWS::KMS::Key",
        ),
        (
            config(vec![stopped], vec![channel()]),
            &plain,
            "start recorder default",
        ),
        (
            config(vec![], vec![]),
            &with_bucket,
            "create recorder default",
        ),
        (
            config(vec![], vec![channel()]),
            &plain,
            "create recorder default",
        ),
    ];
    for (facts, options, change) in cases {
        let plan = config_plan(facts.clone(), options);
        let step = step_of(&plan, CheckId::KmsKeyRecording);
        assert_eq!(step.action, Action::Apply, "{facts:?}: {step:#?}");
        assert!(step.change.contains(change), "{facts:?}: {}", step.change);
        let check = plan.check.as_ref().unwrap();
        assert!(check.passed, "{facts:?}: {check:#?}");
        assert_eq!(
            check.turned_pass, check.planned_rows,
            "{facts:?}: {check:#?}"
        );
        for direction in ["apply", "backout"] {
            let text = script(step, direction);
            assert!(bash_parses(text), "{direction}:\n{text}");
        }
    }
}

fn bash_parses(text: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sh");
    std::fs::write(&path, text).unwrap();
    std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .status()
        .unwrap()
        .success()
}

#[test]
fn puts_carry_the_role_and_recording_mode_both_ways() {
    let plan = config_plan(
        config(
            vec![recorder(
                "EXCLUSION_BY_RESOURCE_TYPES",
                &[],
                &["AWS::KMS::Key", "AWS::EC2::Instance"],
            )],
            vec![channel()],
        ),
        &options(),
    );
    let step = step_of(&plan, CheckId::KmsKeyRecording);
    for direction in ["apply", "backout"] {
        let text = script(step, direction);
        let put = text
            .lines()
            .find(|l| l.contains("put-recorder.json") && l.starts_with("printf"))
            .unwrap_or_else(|| panic!("{direction} puts no recorder:\n{text}"));
        assert!(
            put.contains("\"roleARN\":\"arn:aws:iam::111122223333:role/config-role\""),
            "{put}"
        );
        assert!(
            put.contains("\"recordingMode\":{\"recordingFrequency\":\"DAILY\""),
            "{put}"
        );
        assert!(put.contains("EXCLUSION_BY_RESOURCE_TYPES"), "{put}");
    }
    assert!(script(step, "backout").contains("AWS::KMS::Key\",\"AWS::EC2::Instance"));
    assert!(
        step.notes.iter().any(|n| n.contains("daily")),
        "a DAILY recorder is said to record daily: {:?}",
        step.notes
    );
    // Stopped only if it was: this one was recording.
    assert!(!script(step, "backout").contains("stop-configuration-recorder"));
}

#[test]
fn recorders_the_plan_must_not_touch_are_refused_with_their_reason() {
    let mut control_tower = recorder("EXCLUSION_BY_RESOURCE_TYPES", &[], &["AWS::KMS::Key"]);
    control_tower.name = "aws-controltower-BaselineConfigRecorder".into();
    let mut linked = recorder("INCLUSION_BY_RESOURCE_TYPES", &["AWS::S3::Bucket"], &[]);
    linked.name = "AWSConfigurationRecorderForSecurityHub".into();
    let mut old = recorder("EXCLUSION_BY_RESOURCE_TYPES", &[], &["AWS::KMS::Key"]);
    old.settings = None;
    let mut old_channels = config(
        vec![recorder("INCLUSION_BY_RESOURCE_TYPES", &[], &[])],
        vec![channel()],
    );
    old_channels.channels = None;
    let cases = [
        (
            config(vec![control_tower], vec![channel()]),
            ReasonCode::ControlTowerManaged,
        ),
        (
            config(vec![linked], vec![channel()]),
            ReasonCode::ServiceLinkedRecorder,
        ),
        (
            config(vec![old], vec![channel()]),
            ReasonCode::EvidenceTooOld,
        ),
        (old_channels, ReasonCode::EvidenceTooOld),
        (config(vec![], vec![]), ReasonCode::NeedsConfigBucket),
    ];
    for (facts, code) in cases {
        let plan = config_plan(facts.clone(), &options());
        let step = step_of(&plan, CheckId::KmsKeyRecording);
        assert_eq!(step.action, Action::Refused, "{facts:?}");
        assert_eq!(step.reason_code, Some(code), "{facts:?}: {}", step.reason);
        assert!(step.files.is_empty() && step.scripts.is_none());
    }
    let mut failing = recorder("ALL_SUPPORTED_RESOURCE_TYPES", &[], &[]);
    failing.last_status = Some("FAILURE".into());
    failing.last_error = Some("AccessDenied: no s3:PutObject".into());
    let plan = config_plan(config(vec![failing], vec![channel()]), &options());
    let step = step_of(&plan, CheckId::KmsKeyRecording);
    assert_eq!(step.action, Action::Decide);
    assert!(
        step.reason.contains("AccessDenied: no s3:PutObject"),
        "{}",
        step.reason
    );
}

#[test]
fn evidence_past_max_age_plans_nothing() {
    let facts = scan(vec![account(
        MEMBER,
        "prod",
        vec![region("eu-west-1", config(vec![], vec![channel()]))],
    )]);
    let plan = plan_of(
        &facts,
        &PlanOptions {
            max_age_days: 1,
            ..options()
        },
    );
    // The scan is 1 day old: not past a 1-day limit.
    assert_eq!(
        step_of(&plan, CheckId::KmsKeyRecording).action,
        Action::Apply
    );
    let day = crate::exceptions::day_of(&facts.scan_time).unwrap();
    let findings = findings_of(&facts, None, day);
    let input = PlanInput {
        facts: &facts,
        facts_source: "f".into(),
        facts_sha256: String::new(),
        exceptions_source: None,
        findings: &findings,
        now_epoch: NOW + 86_400,
    };
    let plan = build(
        &input,
        &PlanOptions {
            max_age_days: 1,
            ..options()
        },
    );
    let step = step_of(&plan, CheckId::KmsKeyRecording);
    assert_eq!(
        step.reason_code,
        Some(ReasonCode::EvidenceExpired),
        "{step:#?}"
    );
    assert!(plan.steps.iter().all(|s| s.files.is_empty()));
}

#[test]
fn check_fails_when_a_step_would_not_fix_its_row() {
    let facts = scan(vec![account(
        MEMBER,
        "prod",
        vec![region("eu-west-1", config(vec![], vec![channel()]))],
    )]);
    let day = crate::exceptions::day_of(&facts.scan_time).unwrap();
    let findings = findings_of(&facts, None, day);
    let input = PlanInput {
        facts: &facts,
        facts_source: "f".into(),
        facts_sha256: String::new(),
        exceptions_source: None,
        findings: &findings,
        now_epoch: NOW,
    };
    let mut plan = build(&input, &options());
    // A recorder that is created but never started would not pass.
    for step in &mut plan.steps {
        for effect in &mut step.effects {
            if let effect::Effect::Config { recorders, .. } = effect {
                recorders[0].recording = false;
            }
        }
    }
    let outcome = check(&mut plan, &facts, None, day);
    assert!(!outcome.passed);
    assert_eq!(outcome.not_as_planned.len(), 1, "{outcome:#?}");
    // And a change to a row no step is about is caught too.
    let mut plan = build(&input, &options());
    plan.steps[0]
        .effects
        .push(effect::Effect::KeyDeletionCancelled {
            account: MEMBER.into(),
            region: "eu-west-1".into(),
            key_arn: "arn:aws:kms:eu-west-1:111122223333:key/k".into(),
        });
    let mut with_key = facts.clone();
    if let Ok(kms) = &mut with_key.accounts[1].regions[0].keys {
        kms.customer_keys.push(KeyFacts {
            arn: "arn:aws:kms:eu-west-1:111122223333:key/k".into(),
            state: "Enabled".into(),
            deletion_date: None,
            aliases: vec![],
        });
    }
    let outcome = check(&mut plan, &with_key, None, day);
    assert!(!outcome.passed);
    assert_eq!(outcome.other_rows_changed.len(), 1, "{outcome:#?}");
}

#[test]
fn keys_pending_deletion_are_decisions_that_leave_the_key_disabled() {
    let mut r = region(
        "eu-west-1",
        config(
            vec![recorder("ALL_SUPPORTED_RESOURCE_TYPES", &[], &[])],
            vec![channel()],
        ),
    );
    r.keys = Ok(KmsFacts {
        customer_keys: vec![KeyFacts {
            arn: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd".into(),
            state: "PendingDeletion".into(),
            deletion_date: Some("2026-12-05T10:15:00Z".into()),
            aliases: vec!["alias/orders".into()],
        }],
        ..KmsFacts::default()
    });
    let plan = plan_of(&scan(vec![account(MEMBER, "prod", vec![r])]), &options());
    let step = step_of(&plan, CheckId::KeyState);
    assert_eq!(step.action, Action::Decide);
    assert_eq!(step.expected_status, Some(Status::Warn));
    assert_eq!(
        step.commands,
        ["aws kms cancel-key-deletion --key-id '1234abcd' --region 'eu-west-1'"]
    );
    assert_eq!(
        step.backout_commands,
        ["aws kms schedule-key-deletion --key-id '1234abcd' --pending-window-in-days 7 --region 'eu-west-1'"]
    );
    let check = plan.check.as_ref().unwrap();
    assert!(check.passed && check.turned_warn == 1, "{check:#?}");
    assert!(render::render(&plan).contains("soonest deletion first"));
}

#[test]
fn alerting_goes_through_one_central_stack_and_a_stack_set_of_exactly_the_failing_members() {
    let member = |id: &str, name: &str| {
        account(
            id,
            name,
            vec![
                region(
                    "eu-west-1",
                    config(
                        vec![recorder("ALL_SUPPORTED_RESOURCE_TYPES", &[], &[])],
                        vec![channel()],
                    ),
                ),
                region(
                    "us-east-1",
                    config(
                        vec![recorder("ALL_SUPPORTED_RESOURCE_TYPES", &[], &[])],
                        vec![channel()],
                    ),
                ),
            ],
        )
    };
    let facts = scan(vec![member(MEMBER, "prod"), member("222233334444", "dev")]);
    let plan = plan_of(&facts, &options());
    let check = plan.check.as_ref().unwrap();
    assert!(check.passed, "{check:#?}");
    assert_eq!(check.turned_pass, 4);
    let alerting: Vec<&Step> = plan
        .steps
        .iter()
        .filter(|s| s.check_id == CheckId::KmsDisableDeleteAlerting)
        .collect();
    assert_eq!(alerting.len(), 2, "{alerting:#?}");
    let (central, set) = (alerting[0], alerting[1]);
    assert!(central
        .scripts
        .as_ref()
        .unwrap()
        .apply
        .ends_with("111111111111/eu-west-1/alerts-central.apply.sh"));
    assert_eq!(set.depends_on, std::slice::from_ref(&central.id));
    let apply = script(set, "apply");
    assert!(apply.contains("ROOT='r-ab12'"), "{apply}");
    assert!(
        apply.contains("AccountFilterType\":\"INTERSECTION"),
        "{apply}"
    );
    assert!(
        apply.contains("deploy_region 'eu-west-1' '111122223333' '222233334444'"),
        "{apply}"
    );
    assert!(
        apply.contains("deploy_region 'us-east-1' '111122223333' '222233334444'"),
        "{apply}"
    );
    assert!(apply.contains("--permission-model SERVICE_MANAGED"));
    assert!(apply.contains("--auto-deployment Enabled=false"));
    let backout = script(set, "backout");
    let instances = backout.find("remove_region 'eu-west-1'").unwrap();
    let set_deleted = backout.find("delete-stack-set --stack-set-name").unwrap();
    assert!(
        instances < set_deleted,
        "instances first, then the set:\n{backout}"
    );
    assert!(backout.contains("--no-retain-stacks"));
    for step in alerting {
        for direction in ["apply", "backout"] {
            assert!(bash_parses(script(step, direction)));
        }
    }

    // Plain stacks on request; without a root, the StackSet is refused.
    let stacks = plan_of(
        &facts,
        &PlanOptions {
            forwarders: Forwarders::Stacks,
            ..options()
        },
    );
    assert_eq!(
        stacks
            .steps
            .iter()
            .filter(|s| s.check_id == CheckId::KmsDisableDeleteAlerting)
            .count(),
        5,
        "the central stack and a forwarder per failing member account-region"
    );
    let mut rootless = facts.clone();
    for a in &mut rootless.accounts {
        a.ou_ancestors.clear();
    }
    let plan = plan_of(&rootless, &options());
    assert!(plan
        .steps
        .iter()
        .any(|s| s.reason_code == Some(ReasonCode::NoOuInEvidence)));
    let mut no_org = facts;
    no_org.organization_id.clear();
    let plan = plan_of(&no_org, &options());
    assert!(plan
        .steps
        .iter()
        .filter(|s| s.check_id == CheckId::KmsDisableDeleteAlerting)
        .all(|s| s.reason_code == Some(ReasonCode::EvidenceTooOld)));
}

#[test]
fn a_missing_organisation_trail_is_a_request_to_the_management_account() {
    let mut facts = scan(vec![account(
        MEMBER,
        "prod",
        vec![region(
            "eu-west-1",
            config(
                vec![recorder("ALL_SUPPORTED_RESOURCE_TYPES", &[], &[])],
                vec![channel()],
            ),
        )],
    )]);
    facts.organization_trails = Ok(vec![]);
    facts.accounts[0].trails.clear();
    let plan = plan_of(&facts, &options());
    let step = step_of(&plan, CheckId::KmsEventsLogged);
    assert_eq!(step.action, Action::Request);
    assert_eq!(step.account_id, MANAGEMENT);
    assert!(script(step, "apply").contains("--is-organization-trail --is-multi-region-trail"));
    assert!(plan.check.as_ref().unwrap().passed, "{:#?}", plan.check);
    // The alerting steps wait for the trail.
    assert!(plan
        .steps
        .iter()
        .filter(|s| s.check_id == CheckId::KmsDisableDeleteAlerting && s.changes_aws())
        .all(|s| s.depends_on.contains(&step.id)));

    // An organisation trail that excludes KMS is fixed, with its data
    // events kept; a Control Tower trail is refused.
    let mut trail: TrailFacts = crate::checks::fixtures::logging_trail();
    trail.described.arn = format!("arn:aws:cloudtrail:us-east-1:{MANAGEMENT}:trail/org");
    trail.described.is_organization_trail = true;
    trail.selectors = Ok(crate::facts::EventSelectors::Classic(vec![
        crate::facts::ClassicSelector {
            include_management_events: true,
            read_write_type: "All".into(),
            exclude_management_event_sources: vec!["kms.amazonaws.com".into()],
            data_resources: Some(vec![]),
        },
    ]));
    facts.organization_trails = Ok(vec![trail.clone()]);
    let plan = plan_of(&facts, &options());
    let step = step_of(&plan, CheckId::KmsEventsLogged);
    assert!(
        step.change.contains("put event selectors"),
        "{}",
        step.change
    );
    assert!(script(step, "backout").contains("kms.amazonaws.com"));
    assert!(plan.check.as_ref().unwrap().passed, "{:#?}", plan.check);
    trail.described.name = "aws-controltower-BaselineCloudTrail".into();
    facts.organization_trails = Ok(vec![trail]);
    let plan = plan_of(&facts, &options());
    assert_eq!(
        step_of(&plan, CheckId::KmsEventsLogged).reason_code,
        Some(ReasonCode::ControlTowerManaged)
    );
}

#[test]
fn text_from_aws_reaches_scripts_and_markdown_only_as_text() {
    let hostile = "x'$(touch /tmp/cmkscan-plan-pwned)`id`\n# <img src=x onerror=alert(1)>";
    let mut r = recorder("INCLUSION_BY_RESOURCE_TYPES", &["AWS::S3::Bucket"], &[]);
    r.name = hostile.into();
    let mut c = channel();
    c.name = hostile.into();
    let mut member = account(
        MEMBER,
        hostile,
        vec![region("eu-west-1", config(vec![r], vec![c]))],
    );
    member.ou_path = format!("Root/{hostile}");
    let plan = plan_of(&scan(vec![member]), &options());
    let step = step_of(&plan, CheckId::KmsKeyRecording);
    assert_eq!(step.action, Action::Apply);
    for direction in ["apply", "backout"] {
        let text = script(step, direction);
        assert!(bash_parses(text), "{text}");
        for line in text.lines().filter(|l| l.contains("touch /tmp")) {
            // Only ever in a comment, or right after the value's own
            // quote, written `'\''`: inside a single-quoted word.
            assert!(
                line.starts_with('#') || line.contains("x'\\''$(touch"),
                "unquoted: {line}"
            );
        }
    }
    let md = render::render(&plan);
    // Raw HTML only ever inside a code span, where markdown shows it as text.
    assert!(!outside_code_spans(&md).contains("<img"), "{md}");
    assert!(md.contains("&lt;img"), "{md}");
    assert!(!md
        .lines()
        .any(|l| l.starts_with("# &lt;img") || l.starts_with("# <img")));
}

#[test]
fn facts_written_before_the_settings_were_kept_plan_nothing_from_config() {
    let bytes = include_bytes!("../../tests/fixtures/facts/sample.json");
    let facts = crate::facts::evidence::read_facts(bytes).expect("the sample loads");
    let day = crate::exceptions::day_of(&facts.scan_time).unwrap();
    let findings = findings_of(&facts, None, day);
    let input = PlanInput {
        facts: &facts,
        facts_source: "sample.json".into(),
        facts_sha256: String::new(),
        exceptions_source: None,
        findings: &findings,
        now_epoch: DateTimeOf::scan(&facts.scan_time),
    };
    let plan = build(&input, &options());
    let config_steps: Vec<&Step> = plan
        .steps
        .iter()
        .filter(|s| s.check_id == CheckId::KmsKeyRecording && s.rows[0].status == Status::Fail)
        .collect();
    assert!(!config_steps.is_empty());
    for step in config_steps {
        assert_eq!(
            step.reason_code,
            Some(ReasonCode::EvidenceTooOld),
            "{step:#?}"
        );
    }
}

/// `md` without its code spans (a run of backticks to the next run of
/// the same length; a backslash-escaped backtick opens none).
fn outside_code_spans(md: &str) -> String {
    let chars: Vec<char> = md.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' && i + 1 < chars.len() {
            out.push(chars[i]);
            out.push(chars[i + 1]);
            i += 2;
            continue;
        }
        if chars[i] != '`' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|c| **c == '`').count();
        let mut j = i + run;
        let mut closed = None;
        while j < chars.len() {
            let here = chars[j..].iter().take_while(|c| **c == '`').count();
            if here == run {
                closed = Some(j + run);
                break;
            }
            j += here.max(1);
        }
        match closed {
            Some(end) => i = end,
            None => {
                out.push('`');
                i += 1;
            }
        }
    }
    out
}

/// Epoch seconds of an RFC 3339 time.
struct DateTimeOf;

impl DateTimeOf {
    fn scan(time: &str) -> i64 {
        aws_smithy_types::DateTime::from_str(time, aws_smithy_types::date_time::Format::DateTime)
            .unwrap()
            .secs()
    }
}

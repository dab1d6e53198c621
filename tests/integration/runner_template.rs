//! How the operations parts of `deploy/` fit together, read from the
//! templates as cfn-lint decodes them: the heartbeat's namespace is the one
//! the task role may publish to and the "no report" alarm watches, with
//! missing data breaching and a window CloudWatch accepts; a scheduled
//! start the scheduler gives up on lands in a queue its role may send to;
//! the alert topic is encrypted with a customer managed key that this
//! account's CloudWatch alarms and the failure rule may use; the external
//! id survives a replacement of its secret; the scan's deadline reaches the
//! container and stays under the day between two daily runs; the network
//! template gives the runner subnets, a closed security group and the
//! matching AssignPublicIp; the image repository scans on push, keeps tags
//! immutable and expires old images; the base images are pinned by digest.

use std::process::Command;

use serde_json::{json, Value};

use crate::iam_templates::{
    image_repository, network, permission_policies, project_root, resources_of_type, runner,
    runner_container, venv_tool, TOOL_TIMEOUT,
};
use crate::support::cli::output_within;

/// CloudWatch's longest alarm window, `Period` × `EvaluationPeriods`
/// (PutMetricAlarm).
const LONGEST_ALARM_WINDOW_SECONDS: u64 = 7 * 24 * 3600;

fn resource<'a>(template: &'a Value, id: &str) -> &'a Value {
    let resource = &template["Resources"][id];
    assert!(resource.is_object(), "no resource {id}");
    resource
}

fn get_att_arn(id: &str) -> Value {
    json!({ "Fn::GetAtt": [id, "Arn"] })
}

/// Every statement under `node` whose `Action` is or lists `action`.
fn statements_granting<'a>(node: &'a Value, action: &str, out: &mut Vec<&'a Value>) {
    match node {
        Value::Object(map) => {
            let grants = match map.get("Action") {
                Some(Value::Array(actions)) => actions.iter().any(|a| a == action),
                Some(single) => single == action,
                None => false,
            };
            if grants && map.get("Effect") == Some(&json!("Allow")) {
                out.push(node);
            }
            map.values()
                .for_each(|value| statements_granting(value, action, out));
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| statements_granting(item, action, out)),
        _ => {}
    }
}

/// The one statement of role `role_id` that grants `action`.
fn role_statement<'a>(template: &'a Value, role_id: &str, action: &str) -> &'a Value {
    let mut found = Vec::new();
    for document in permission_policies(template, role_id) {
        statements_granting(document, action, &mut found);
    }
    let [statement] = found.as_slice() else {
        panic!("{role_id} should grant {action} in one statement, found {found:?}");
    };
    statement
}

/// The container's command as one `!Sub` string.
fn command() -> &'static str {
    runner_container()["Command"]["Fn::Split"][1]["Fn::Sub"][0]
        .as_str()
        .expect("Command is !Split [\" \", !Sub [<string>, ...]]")
}

#[test]
fn the_heartbeat_namespace_is_the_one_the_role_may_publish_to_and_the_alarm_watches() {
    let words: Vec<&str> = command().split(' ').collect();
    let namespace = words
        .iter()
        .position(|word| *word == "--heartbeat-namespace")
        .and_then(|at| words.get(at + 1))
        .expect("the command passes --heartbeat-namespace");
    let namespace = json!({ "Fn::Sub": namespace });
    let template = runner();

    let role_id = crate::iam_templates::task_definition(template)["TaskRoleArn"]["Fn::GetAtt"][0]
        .as_str()
        .expect("TaskRoleArn is !GetAtt <Role>.Arn")
        .to_owned();
    let publish = role_statement(template, &role_id, "cloudwatch:PutMetricData");
    assert_eq!(publish["Resource"], "*", "PutMetricData takes no resource");
    assert_eq!(
        publish["Condition"]["StringEquals"]["cloudwatch:namespace"], namespace,
        "the task role may publish to the heartbeat's namespace only"
    );

    let alarm = &resource(template, "NoReportAlarm")["Properties"];
    assert_eq!(alarm["Namespace"], namespace);
    assert_eq!(alarm["MetricName"], "ReportDelivered");
    // Silence is what this alarm is for.
    assert_eq!(alarm["TreatMissingData"], "breaching");
    assert_eq!(alarm["Statistic"], "Maximum");
    assert_eq!(alarm["ComparisonOperator"], "LessThanThreshold");
    assert_eq!(alarm["Threshold"], 1);
    let days = json!({ "Ref": "NoReportAlarmDays" });
    assert_eq!(alarm["EvaluationPeriods"], days);
    assert_eq!(
        alarm["DatapointsToAlarm"], days,
        "every day of the window silent"
    );
    let longest = template["Parameters"]["NoReportAlarmDays"]["AllowedValues"]
        .as_array()
        .expect("NoReportAlarmDays lists its values")
        .iter()
        .filter_map(Value::as_u64)
        .max()
        .expect("a longest window");
    let period = alarm["Period"].as_u64().expect("a literal Period");
    assert!(
        period * longest <= LONGEST_ALARM_WINDOW_SECONDS,
        "{longest} periods of {period} s exceed CloudWatch's 7 days"
    );
    assert!(
        alarm["AlarmActions"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "the alarm tells someone: {alarm}"
    );
    assert_eq!(
        template["Outputs"]["HeartbeatNamespace"]["Value"],
        namespace
    );
}

#[test]
fn a_scheduled_start_given_up_on_lands_in_a_queue_the_scheduler_role_may_send_to() {
    let template = runner();
    let target = &resource(template, "Schedule")["Properties"]["Target"];
    let queue_arn = &target["DeadLetterConfig"]["Arn"];
    let queue_id = queue_arn["Fn::GetAtt"][0]
        .as_str()
        .unwrap_or_else(|| panic!("the dead-letter queue is !GetAtt <Queue>.Arn: {target}"));
    let queue = resource(template, queue_id);
    assert_eq!(queue["Type"], "AWS::SQS::Queue");
    assert_eq!(
        queue["Properties"]["MessageRetentionPeriod"], 1_209_600,
        "the longest SQS keeps a message: 14 days"
    );
    let role_id = target["RoleArn"]["Fn::GetAtt"][0]
        .as_str()
        .expect("the schedule's role is !GetAtt <Role>.Arn");
    let send = role_statement(template, role_id, "sqs:SendMessage");
    assert_eq!(send["Resource"], get_att_arn(queue_id));
}

#[test]
fn the_alert_topic_is_encrypted_with_a_key_alarms_and_the_failure_rule_may_use() {
    let template = runner();
    let topic = &resource(template, "AlertTopic")["Properties"];
    let key = &topic["KmsMasterKeyId"]["Fn::If"];
    assert_eq!(key[0], "HasLogAndTopicKmsKey", "{topic}");
    assert_eq!(key[1], json!({ "Ref": "LogAndTopicKmsKeyArn" }));
    assert_eq!(
        key[2],
        get_att_arn("AlertTopicKey"),
        "never unencrypted, never aws/sns"
    );
    let key = &resource(template, "AlertTopicKey")["Properties"];
    assert_eq!(key["EnableKeyRotation"], true);
    let statements = key["KeyPolicy"]["Statement"]
        .as_array()
        .expect("the key policy has statements");
    let for_service = |service: &str| {
        let found: Vec<&Value> = statements
            .iter()
            .filter(|s| s["Principal"]["Service"] == service)
            .collect();
        let [statement] = found.as_slice() else {
            panic!("one statement for {service}, found {found:?}");
        };
        let actions = statement["Action"].as_array().expect("an action list");
        for needed in ["kms:Decrypt", "kms:GenerateDataKey*"] {
            assert!(actions.contains(&json!(needed)), "{service}: {statement}");
        }
        *statement
    };
    let alarms = for_service("cloudwatch.amazonaws.com");
    assert_eq!(
        alarms["Condition"]["StringEquals"]["aws:SourceAccount"],
        json!({ "Ref": "AWS::AccountId" }),
        "only this account's alarms: {alarms}"
    );
    // KMS requests made for EventBridge carry no aws:Source* keys: a
    // condition on them would drop every failure alert.
    let rule = for_service("events.amazonaws.com");
    assert!(
        !rule.to_string().contains("aws:Source"),
        "the EventBridge statement must not depend on aws:Source* keys: {rule}"
    );
}

#[test]
fn the_external_id_secret_survives_a_replacement() {
    let secret = resource(runner(), "ExternalIdSecret");
    assert_eq!(
        secret["UpdateReplacePolicy"], "Retain",
        "a replaced secret would take the value every member role trusts"
    );
    assert_eq!(
        secret["DeletionPolicy"], "Delete",
        "the teardown deletes it (Secrets Manager keeps it for its recovery window)"
    );
}

/// Whether Python's `re.fullmatch` (CloudFormation's AllowedPattern is a
/// whole-value match) accepts each value.
fn full_matches(pattern: &str, values: &[&str]) -> Vec<bool> {
    let mut cmd = Command::new(venv_tool("python"));
    cmd.env_clear()
        .arg("-c")
        .arg("import re, sys; print(' '.join(str(bool(re.fullmatch(sys.argv[1], v))) for v in sys.argv[2:]))")
        .arg(pattern)
        .args(values);
    let output = output_within(cmd, TOOL_TIMEOUT);
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(|word| word == "True")
        .collect()
}

#[test]
fn the_deadline_reaches_the_container_and_stays_under_a_day() {
    let environment = runner_container()["Environment"]
        .as_array()
        .expect("the container has an Environment");
    let deadline = environment
        .iter()
        .find(|variable| variable["Name"] == "CMKSCAN_DEADLINE")
        .expect("CMKSCAN_DEADLINE is set");
    assert_eq!(deadline["Value"], json!({ "Ref": "ScanDeadline" }));
    let parameter = &runner()["Parameters"]["ScanDeadline"];
    let pattern = parameter["AllowedPattern"].as_str().expect("a pattern");
    let default = parameter["Default"].as_str().expect("a default");
    let accepted = ["90m", "4h", "23h", "999m", "1m", default];
    let refused = ["24h", "1000m", "0h", "0m", "1d", "4h30m", "", "4 h"];
    assert_eq!(
        full_matches(pattern, &accepted),
        vec![true; accepted.len()],
        "{pattern} should accept {accepted:?}"
    );
    assert_eq!(
        full_matches(pattern, &refused),
        vec![false; refused.len()],
        "{pattern} should refuse {refused:?}: a day or more would let two daily runs overlap"
    );
}

#[test]
fn the_network_gives_the_runner_subnets_a_closed_security_group_and_its_assign_public_ip() {
    let template = network();
    let outputs = &template["Outputs"];
    for name in ["SubnetIds", "SecurityGroupId", "AssignPublicIp"] {
        assert!(outputs[name].is_object(), "output {name} is missing");
    }
    assert_eq!(
        outputs["AssignPublicIp"]["Value"],
        json!({ "Fn::If": ["UseNatGateway", "DISABLED", "ENABLED"] })
    );
    for (id, subnet) in resources_of_type(template, "AWS::EC2::Subnet") {
        assert_eq!(
            subnet["Properties"]["MapPublicIpOnLaunch"], false,
            "{id}: only the task asks for a public IP"
        );
    }
    let groups = resources_of_type(template, "AWS::EC2::SecurityGroup");
    let [(_, group)] = groups.as_slice() else {
        panic!("one security group, found {groups:?}");
    };
    let group = &group["Properties"];
    assert!(group.get("SecurityGroupIngress").is_none(), "{group}");
    assert!(resources_of_type(template, "AWS::EC2::SecurityGroupIngress").is_empty());
    assert_eq!(
        group["SecurityGroupEgress"]
            .as_array()
            .expect("an explicit egress list")
            .iter()
            .map(|rule| (
                rule["IpProtocol"].clone(),
                rule["FromPort"].clone(),
                rule["ToPort"].clone()
            ))
            .collect::<Vec<_>>(),
        vec![(json!("tcp"), json!(443), json!(443))],
        "outbound HTTPS only"
    );
    // The private subnets reach the internet through the NAT gateway.
    let route = &resource(template, "PrivateDefaultRoute")["Properties"];
    assert_eq!(route["DestinationCidrBlock"], "0.0.0.0/0");
    assert_eq!(route["NatGatewayId"], json!({ "Ref": "NatGateway" }));
}

#[test]
fn the_image_repository_scans_on_push_keeps_tags_and_expires_old_images() {
    let repositories = resources_of_type(image_repository(), "AWS::ECR::Repository");
    let [(_, repository)] = repositories.as_slice() else {
        panic!("one repository, found {repositories:?}");
    };
    let properties = &repository["Properties"];
    assert_eq!(properties["ImageScanningConfiguration"]["ScanOnPush"], true);
    assert_eq!(properties["ImageTagMutability"], "IMMUTABLE");
    let policy = properties["LifecyclePolicy"]["LifecyclePolicyText"]["Fn::Sub"]
        .as_str()
        .expect("a lifecycle policy");
    let policy: Value = serde_json::from_str(&policy.replace("${KeepImages}", "10"))
        .unwrap_or_else(|e| panic!("the lifecycle policy is not JSON: {e}\n{policy}"));
    let rules = policy["rules"].as_array().expect("rules");
    assert!(
        rules.iter().any(
            |rule| rule["selection"]["countType"] == "imageCountMoreThan"
                && rule["selection"]["countNumber"] == 10
        ),
        "{policy}"
    );
}

#[test]
fn base_images_are_pinned_by_digest() {
    let path = project_root().join("deploy/Dockerfile");
    let dockerfile = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let images: Vec<&str> = dockerfile
        .lines()
        .filter_map(|line| line.trim().strip_prefix("FROM "))
        .map(|rest| rest.split_whitespace().next().unwrap_or_default())
        .collect();
    assert_eq!(images.len(), 2, "a build stage and a runtime stage");
    for image in images {
        let digest = image
            .split_once("@sha256:")
            .map(|(_, digest)| digest)
            .unwrap_or_default();
        assert!(
            digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()),
            "{image} is not pinned by digest: run scripts/pin-base-images.sh"
        );
    }
}

//! The IAM in `deploy/cloudformation/` answers to the code's catalogue of AWS
//! calls (`cmkscan::Api::ALL`): the member role grants exactly the reads
//! cmkscan makes in a scanned account; the task role exactly the runner's
//! calls plus those reads (the runner's own account is scanned with the task
//! role's own credentials), the Organizations reads only when it makes them
//! itself (no `OrgRoleArn`); the org-reader role and the Organizations
//! delegation policy exactly the Organizations reads; the opt-in Security
//! Hub import role exactly the Security Hub calls, which the task role
//! never holds itself (it may only assume that role, and only when
//! `SecurityHubImportRoleName` is set); nothing is a wildcard, and cfn-lint
//! passes in regions of every partition. The member, import and task roles
//! are also checked against a scan's calls, identity by identity, as the
//! front saw them signed. (How the runner's operations parts fit together
//! is `runner_template.rs`'s.)
//!
//! The templates are read through cfn-lint's own decoder (pinned in
//! `.tools/venv` by `scripts/install-tools.sh`), which understands the short
//! intrinsic-function tags (`!Sub`, `!If`, ...) that plain YAML parsers reject.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use cmkscan::{Api, Caller};
use serde_json::Value;

use crate::support::cli::{assert_exit, cmkscan_command, output_within, run};
use crate::support::front::MuteRule;
use crate::support::sample_org;
use crate::support::seed::{TrailSpec, CIS_RULE};
use crate::support::{Emulator, MANAGEMENT_ACCOUNT};

/// Generous for cfn-lint on every template in every region below, on a
/// loaded machine.
pub(crate) const TOOL_TIMEOUT: Duration = Duration::from_secs(240);

/// cfn-lint checks resource types and properties against each region's
/// CloudFormation schema: two commercial regions, both China regions
/// (`aws-cn`) and both GovCloud regions (`aws-us-gov`).
const LINT_REGIONS: [&str; 6] = [
    "us-east-1",
    "eu-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "us-gov-west-1",
    "us-gov-east-1",
];

const INSTALL_HINT: &str = "run scripts/install-tools.sh to install moto[server] and cfn-lint";

/// Not an API cmkscan calls: when the report is uploaded with SSE-KMS
/// (`--s3-kms-key-id`), S3 asks KMS for a data key on the uploader's behalf
/// and requires the uploader to hold this action on the key. Only the task
/// role uploads, so only the task role may have it.
const SSE_KMS_UPLOAD: &str = "kms:GenerateDataKey";

/// Not an API cmkscan calls either: reading the previous report back from
/// an SSE-KMS bucket, and publishing to an SNS topic encrypted with a
/// customer-managed key, make S3 or SNS ask KMS to decrypt (SNS also for a
/// data key, [`SSE_KMS_UPLOAD`]) on the caller's behalf.
const KMS_DECRYPT_VIA_SERVICE: &str = "kms:Decrypt";

pub(crate) fn project_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn venv_tool(name: &str) -> PathBuf {
    let path = project_root().join(".tools/venv/bin").join(name);
    assert!(
        path.is_file(),
        "{} is missing: {INSTALL_HINT}",
        path.display()
    );
    path
}

/// Prints the template as JSON, or exits non-zero with cfn-lint's parse errors.
const DECODE_TEMPLATE: &str = r#"
import json, sys
from cfnlint.decode import decode
template, matches = decode(sys.argv[1])
if matches or template is None:
    sys.exit("\n".join(str(m) for m in matches) or "could not decode " + sys.argv[1])
json.dump(template, sys.stdout)
"#;

fn decode_template(file_name: &str) -> Value {
    let path = project_root().join("deploy/cloudformation").join(file_name);
    let mut cmd = Command::new(venv_tool("python"));
    cmd.env_clear().arg("-c").arg(DECODE_TEMPLATE).arg(&path);
    let output = output_within(cmd, TOOL_TIMEOUT);
    assert!(
        output.status.success(),
        "decoding {}: {}\n{}",
        path.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("decoded {} is not JSON: {e}", path.display()))
}

pub(crate) fn runner() -> &'static Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE.get_or_init(|| decode_template("runner.yaml"))
}

fn org_reader_role() -> &'static Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE.get_or_init(|| decode_template("org-reader-role.yaml"))
}

fn org_delegation_policy() -> &'static Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE.get_or_init(|| decode_template("org-delegation-policy.yaml"))
}

fn security_hub_role() -> &'static Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE.get_or_init(|| decode_template("member-securityhub-role.yaml"))
}

pub(crate) fn network() -> &'static Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE.get_or_init(|| decode_template("network.yaml"))
}

pub(crate) fn image_repository() -> &'static Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE.get_or_init(|| decode_template("image-repository.yaml"))
}

/// Every template, by file name, for the checks that apply to all of them.
fn all_templates() -> [(&'static str, &'static Value); 7] {
    [
        ("runner.yaml", runner()),
        ("member-role.yaml", member_role()),
        ("member-securityhub-role.yaml", security_hub_role()),
        ("org-reader-role.yaml", org_reader_role()),
        ("org-delegation-policy.yaml", org_delegation_policy()),
        ("network.yaml", network()),
        ("image-repository.yaml", image_repository()),
    ]
}

fn member_role() -> &'static Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE.get_or_init(|| decode_template("member-role.yaml"))
}

/// The template's resources of one type, by logical id.
pub(crate) fn resources_of_type<'a>(template: &'a Value, ty: &str) -> Vec<(&'a str, &'a Value)> {
    template["Resources"]
        .as_object()
        .expect("template has a Resources map")
        .iter()
        .filter(|(_, resource)| resource["Type"] == ty)
        .map(|(id, resource)| (id.as_str(), resource))
        .collect()
}

/// The logical id named by `!GetAtt Id.Arn`, which the decoder gives as
/// `{"Fn::GetAtt": ["Id", "Arn"]}`.
fn get_att_arn_target(value: &Value) -> Option<&str> {
    match value.get("Fn::GetAtt")?.as_array()?.as_slice() {
        [id, attribute] if attribute == "Arn" => id.as_str(),
        _ => None,
    }
}

/// The one task definition's properties.
pub(crate) fn task_definition(template: &Value) -> &Value {
    let task_definitions = resources_of_type(template, "AWS::ECS::TaskDefinition");
    let [(_, task_definition)] = task_definitions.as_slice() else {
        panic!("runner.yaml should hold one task definition, found {task_definitions:?}");
    };
    &task_definition["Properties"]
}

/// The role the ECS task runs as: the TaskRoleArn of the one task definition.
fn task_role_id(template: &Value) -> &str {
    let task_role_arn = &task_definition(template)["TaskRoleArn"];
    get_att_arn_target(task_role_arn)
        .unwrap_or_else(|| panic!("TaskRoleArn should be !GetAtt <Role>.Arn, is {task_role_arn}"))
}

fn only_role_id(template: &Value) -> &str {
    let roles = resources_of_type(template, "AWS::IAM::Role");
    let [(id, _)] = roles.as_slice() else {
        panic!("the template should hold one role, found {roles:?}");
    };
    id
}

/// `node` as it is deployed when each condition in `decided` has the value
/// given: the chosen branch of every `Fn::If` on one of them, with the
/// `AWS::NoValue` it may leave behind dropped from lists and maps. An
/// `Fn::If` on any other condition stays, so both its branches still count.
pub(crate) fn with_conditions(node: &Value, decided: &BTreeMap<&str, bool>) -> Option<Value> {
    let no_value = serde_json::json!({ "Ref": "AWS::NoValue" });
    match node {
        Value::Object(map) => {
            if let Some(Value::Array(arguments)) = map.get("Fn::If") {
                if let [Value::String(condition), when_true, when_false] = arguments.as_slice() {
                    if let Some(&value) = decided.get(condition.as_str()) {
                        let chosen = if value { when_true } else { when_false };
                        return with_conditions(chosen, decided);
                    }
                }
            }
            if *node == no_value {
                return None;
            }
            Some(Value::Object(
                map.iter()
                    .filter_map(|(key, value)| {
                        with_conditions(value, decided).map(|value| (key.clone(), value))
                    })
                    .collect(),
            ))
        }
        Value::Array(items) => Some(Value::Array(
            items
                .iter()
                .filter_map(|item| with_conditions(item, decided))
                .collect(),
        )),
        other => Some(other.clone()),
    }
}

/// Every policy document in the template that grants permissions to role
/// `role_id`: its inline policies and any policy resource attached to it by
/// `!Ref`. Its trust policy is not one of them, and neither are AWS managed
/// policies (`ManagedPolicyArns`), whose contents are not in the template.
pub(crate) fn permission_policies<'a>(template: &'a Value, role_id: &str) -> Vec<&'a Value> {
    let role = &template["Resources"][role_id];
    let mut documents: Vec<&Value> = role["Properties"]["Policies"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|policy| &policy["PolicyDocument"])
        .collect();
    let by_ref = serde_json::json!({ "Ref": role_id });
    for ty in [
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::RolePolicy",
    ] {
        for (_, policy) in resources_of_type(template, ty) {
            let properties = &policy["Properties"];
            let attached = properties["Roles"]
                .as_array()
                .is_some_and(|roles| roles.contains(&by_ref))
                || properties["RoleName"] == by_ref;
            if attached {
                documents.push(&properties["PolicyDocument"]);
            }
        }
    }
    documents
}

/// Adds every action an Allow statement under `node` grants. Statements are
/// found wherever they sit, so both branches of an `Fn::If` count: the test
/// checks the most a role can ever be granted, whatever the parameters.
fn collect_allowed_actions(node: &Value, out: &mut BTreeSet<String>) {
    match node {
        Value::Object(map) => {
            assert!(
                !map.contains_key("NotAction"),
                "NotAction grants everything but a list; use Action: {node}"
            );
            if let Some(actions) = map.get("Action") {
                let effect = map.get("Effect").and_then(Value::as_str);
                assert!(
                    matches!(effect, Some("Allow" | "Deny")),
                    "statement without a literal Effect: {node}"
                );
                if effect == Some("Allow") {
                    let actions = match actions {
                        Value::Array(items) => items.iter().collect(),
                        single => vec![single],
                    };
                    for action in actions {
                        let action = action.as_str().unwrap_or_else(|| {
                            panic!("actions must be literal strings, found {action} in {node}")
                        });
                        out.insert(action.to_owned());
                    }
                }
            }
            for value in map.values() {
                collect_allowed_actions(value, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_allowed_actions(item, out);
            }
        }
        _ => {}
    }
}

pub(crate) fn allowed_actions(documents: &[&Value]) -> BTreeSet<String> {
    let mut actions = BTreeSet::new();
    for document in documents {
        collect_allowed_actions(document, &mut actions);
    }
    actions
}

/// Everything role `role_id` is allowed to do. Refuses a role with AWS
/// managed policies attached: what they grant cannot be seen, so it could not
/// be checked.
fn role_actions(template: &Value, role_id: &str) -> BTreeSet<String> {
    assert!(
        template["Resources"][role_id]["Properties"]
            .get("ManagedPolicyArns")
            .is_none(),
        "role {role_id} attaches managed policies, whose actions this test cannot see"
    );
    allowed_actions(&permission_policies(template, role_id))
}

/// The IAM actions the code needs for calls made by `caller`, from the
/// catalogue as it is now (`None` means the call needs no permission).
fn catalogue_actions(caller: Caller) -> BTreeSet<String> {
    Api::ALL
        .iter()
        .filter(|api| api.caller() == caller)
        .filter_map(|api| api.iam_action())
        .collect()
}

/// The Organizations actions of the catalogue as it is now: what the org
/// reader role and the delegation policy must grant, and what the task role
/// holds only when it makes the Organizations reads itself.
fn organizations_actions() -> BTreeSet<String> {
    Api::ALL
        .iter()
        .filter(|api| api.service_and_operation().0 == "organizations")
        .filter_map(|api| api.iam_action())
        .collect()
}

fn assert_same_actions(what: &str, granted: &BTreeSet<String>, needed: &BTreeSet<String>) {
    let missing: Vec<_> = needed.difference(granted).collect();
    let extra: Vec<_> = granted.difference(needed).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what} does not match the code's catalogue (src/api.rs):\n  \
         needed by the code but not granted: {missing:?}\n  \
         granted but not needed by the code: {extra:?}"
    );
}

#[test]
fn member_role_grants_exactly_the_scanned_account_reads() {
    let template = member_role();
    let granted = role_actions(template, only_role_id(template));
    assert_same_actions(
        "member-role.yaml role",
        &granted,
        &catalogue_actions(Caller::ScannedAccount),
    );
}

#[test]
fn security_hub_role_grants_exactly_the_import_calls() {
    let template = security_hub_role();
    let granted = role_actions(template, only_role_id(template));
    let needed = catalogue_actions(Caller::SecurityHubImport);
    assert_eq!(
        needed,
        BTreeSet::from([
            "securityhub:BatchImportFindings".to_owned(),
            "securityhub:GetFindings".to_owned()
        ]),
        "the import needs no more (BatchUpdateFindings is the Security Hub users')"
    );
    assert_same_actions("member-securityhub-role.yaml role", &granted, &needed);
    // The read-only role stays read-only.
    let member = member_role();
    let read_only = role_actions(member, only_role_id(member));
    assert!(
        read_only
            .iter()
            .all(|action| !action.starts_with("securityhub:")),
        "member-role.yaml grants {read_only:?}"
    );
}

/// The task role's `sts:AssumeRole` resources and its command when
/// `SecurityHubImportRoleName` is set (`use_security_hub`) or not.
fn with_security_hub(use_security_hub: bool) -> (BTreeSet<String>, String) {
    let template = with_conditions(
        runner(),
        &BTreeMap::from([("UseSecurityHub", use_security_hub), ("UseOrgRole", false)]),
    )
    .expect("the template is not AWS::NoValue");
    let role_id = task_role_id(&template).to_owned();
    let resources = assume_role_statements(&template, &role_id)
        .iter()
        .map(|statement| statement["Resource"].to_string())
        .collect();
    let command = task_definition(&template)["ContainerDefinitions"][0]["Command"]["Fn::Split"][1]
        ["Fn::Sub"]
        .to_string();
    (resources, command)
}

#[test]
fn the_task_role_assumes_the_import_role_only_when_the_runner_imports() {
    let member =
        serde_json::json!({ "Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}" })
            .to_string();
    let import = serde_json::json!({
        "Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${SecurityHubImportRoleName}"
    })
    .to_string();
    let (resources, command) = with_security_hub(false);
    assert_eq!(resources, BTreeSet::from([member.clone()]));
    assert!(!command.contains("--security-hub"), "{command}");
    let (resources, command) = with_security_hub(true);
    assert_eq!(resources, BTreeSet::from([member, import]));
    assert!(
        command.contains("--security-hub --security-hub-role-name ${SecurityHubImportRoleName}"),
        "{command}"
    );
}

/// What the task role may do when `OrgRoleArn` is given (`use_org_role`) or
/// not; other conditions count with both branches.
fn task_role_actions(use_org_role: bool) -> BTreeSet<String> {
    let template = with_conditions(runner(), &BTreeMap::from([("UseOrgRole", use_org_role)]))
        .expect("the template is not AWS::NoValue");
    let role_id = task_role_id(&template).to_owned();
    role_actions(&template, &role_id)
}

/// The runner's calls and every scanned-account read (the runner's own
/// account is scanned with the task role's own credentials), with or
/// without the Organizations reads.
fn task_role_needs(with_organizations: bool) -> BTreeSet<String> {
    let mut needed = catalogue_actions(Caller::Runner);
    needed.extend(catalogue_actions(Caller::ScannedAccount));
    needed.insert(SSE_KMS_UPLOAD.to_owned());
    needed.insert(KMS_DECRYPT_VIA_SERVICE.to_owned());
    let organizations = organizations_actions();
    if with_organizations {
        needed.extend(organizations);
    } else {
        needed.retain(|action| !organizations.contains(action));
    }
    needed
}

#[test]
fn task_role_grants_exactly_the_runner_calls_and_the_reads() {
    assert_same_actions(
        "runner.yaml task role without OrgRoleArn",
        &task_role_actions(false),
        &task_role_needs(true),
    );
}

#[test]
fn task_role_with_an_org_role_leaves_the_organizations_reads_to_it() {
    assert_same_actions(
        "runner.yaml task role with OrgRoleArn",
        &task_role_actions(true),
        &task_role_needs(false),
    );
    // The only roles it may assume besides the member roles are the org
    // role and the Security Hub import role.
    let template = with_conditions(runner(), &BTreeMap::from([("UseOrgRole", true)]))
        .expect("the template is not AWS::NoValue");
    let role_id = task_role_id(&template).to_owned();
    let resources: BTreeSet<String> = assume_role_statements(&template, &role_id)
        .iter()
        .map(|statement| statement["Resource"].to_string())
        .collect();
    let expected = BTreeSet::from([
        serde_json::json!({ "Ref": "OrgRoleArn" }).to_string(),
        serde_json::json!({ "Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}" })
            .to_string(),
        serde_json::json!({
            "Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${SecurityHubImportRoleName}"
        })
        .to_string(),
    ]);
    assert_eq!(resources, expected, "roles the task role may assume");
}

/// The Allow statements of role `role_id` that grant `sts:AssumeRole`.
fn assume_role_statements(template: &Value, role_id: &str) -> Vec<Value> {
    fn collect(node: &Value, out: &mut Vec<Value>) {
        match node {
            Value::Object(map) => {
                let grants_assume_role = map.get("Effect") == Some(&Value::from("Allow"))
                    && match map.get("Action") {
                        Some(Value::Array(actions)) => actions.contains(&"sts:AssumeRole".into()),
                        Some(action) => action == "sts:AssumeRole",
                        None => false,
                    };
                if grants_assume_role {
                    out.push(node.clone());
                }
                map.values().for_each(|value| collect(value, out));
            }
            Value::Array(items) => items.iter().for_each(|item| collect(item, out)),
            _ => {}
        }
    }
    let mut statements = Vec::new();
    for document in permission_policies(template, role_id) {
        collect(document, &mut statements);
    }
    statements
}

#[test]
fn task_role_assumes_roles_only_in_its_own_organisation() {
    let template = runner();
    let statements = assume_role_statements(template, task_role_id(template));
    assert_eq!(
        statements.len(),
        3,
        "expected the member-role, org-role and Security Hub import role statements, found {statements:?}"
    );
    for statement in statements {
        assert_eq!(
            statement["Condition"]["StringEquals"]["aws:ResourceOrgID"],
            "${aws:PrincipalOrgID}",
            "sts:AssumeRole should be limited to roles of the task role's organisation: {statement}"
        );
    }
}

#[test]
fn org_reader_role_grants_exactly_the_organizations_reads() {
    let template = org_reader_role();
    let granted = role_actions(template, only_role_id(template));
    assert_same_actions(
        "org-reader-role.yaml role",
        &granted,
        &organizations_actions(),
    );
}

#[test]
fn delegation_policy_delegates_exactly_the_organizations_reads_to_the_runner_account() {
    let template = org_delegation_policy();
    let policies = resources_of_type(template, "AWS::Organizations::ResourcePolicy");
    let [(_, policy)] = policies.as_slice() else {
        panic!("org-delegation-policy.yaml should hold one resource policy, found {policies:?}");
    };
    let content = &policy["Properties"]["Content"];
    let statements = content["Statement"]
        .as_array()
        .expect("the delegation policy has a Statement list");
    let [statement] = statements.as_slice() else {
        panic!("the delegation policy should have one statement, has {statements:?}");
    };
    assert_eq!(
        statement["Principal"],
        serde_json::json!({ "AWS": { "Fn::Sub": "arn:${AWS::Partition}:iam::${RunnerAccountId}:root" } }),
        "the delegation should name the runner's account"
    );
    assert_same_actions(
        "org-delegation-policy.yaml",
        &allowed_actions(&[content]),
        &organizations_actions(),
    );
}

#[test]
fn no_role_is_granted_a_wildcard_action() {
    for (name, template) in all_templates() {
        for (policy_id, policy) in resources_of_type(template, "AWS::Organizations::ResourcePolicy")
        {
            let actions = allowed_actions(&[&policy["Properties"]["Content"]]);
            let wildcards: Vec<_> = actions.iter().filter(|a| a.contains('*')).collect();
            assert!(
                wildcards.is_empty(),
                "{name} delegation policy {policy_id} allows wildcard actions {wildcards:?}"
            );
        }
        for (role_id, _) in resources_of_type(template, "AWS::IAM::Role") {
            // Inline and attached policies only: the execution role's one
            // grant is the AWS managed AmazonECSTaskExecutionRolePolicy.
            let actions = allowed_actions(&permission_policies(template, role_id));
            let wildcards: Vec<_> = actions.iter().filter(|a| a.contains('*')).collect();
            assert!(
                wildcards.is_empty(),
                "{name} role {role_id} allows wildcard actions {wildcards:?}"
            );
        }
    }
}

#[test]
fn member_org_reader_and_import_roles_trust_only_the_scanner_with_the_external_id() {
    for (name, template) in [
        ("member-role.yaml", member_role()),
        ("member-securityhub-role.yaml", security_hub_role()),
        ("org-reader-role.yaml", org_reader_role()),
    ] {
        assert_trusts_only_the_scanner_with_the_external_id(name, template);
        assert_eq!(
            template["Parameters"]["ExternalId"]["NoEcho"], true,
            "{name}: the ExternalId parameter should be NoEcho"
        );
    }
}

fn assert_trusts_only_the_scanner_with_the_external_id(name: &str, template: &Value) {
    let role = &template["Resources"][only_role_id(template)]["Properties"];
    let statements = role["AssumeRolePolicyDocument"]["Statement"]
        .as_array()
        .expect("trust policy has a Statement list");
    let [statement] = statements.as_slice() else {
        panic!("{name}: the trust policy should have one statement, has {statements:?}");
    };
    assert_eq!(statement["Effect"], "Allow", "{name}");
    assert_eq!(statement["Action"], "sts:AssumeRole", "{name}");
    assert_eq!(
        statement["Principal"],
        serde_json::json!({ "AWS": { "Ref": "ScannerPrincipalArn" } }),
        "{name}"
    );
    assert_eq!(
        statement["Condition"]["StringEquals"]["sts:ExternalId"],
        serde_json::json!({ "Ref": "ExternalId" }),
        "{name}"
    );
}

/// The one container of the runner's task definition.
pub(crate) fn runner_container() -> &'static Value {
    let containers = task_definition(runner())["ContainerDefinitions"]
        .as_array()
        .expect("the task definition has ContainerDefinitions");
    let [container] = containers.as_slice() else {
        panic!("runner.yaml should run one container, found {containers:?}");
    };
    container
}

#[test]
fn the_external_id_reaches_the_container_from_secrets_manager_only() {
    let container = runner_container();
    let secrets = container["Secrets"]
        .as_array()
        .expect("the container has Secrets");
    assert!(
        secrets
            .iter()
            .any(|secret| secret["Name"] == "CMKSCAN_EXTERNAL_ID"
                && secret.get("ValueFrom").is_some()),
        "CMKSCAN_EXTERNAL_ID should come from the task definition's Secrets: {secrets:?}"
    );
    let environment = container["Environment"].as_array().into_iter().flatten();
    for variable in environment {
        assert_ne!(
            variable["Name"], "CMKSCAN_EXTERNAL_ID",
            "the external id must not be a plain environment variable"
        );
    }
    assert!(
        runner()["Parameters"].get("ExternalId").is_none(),
        "runner.yaml should take the external id's secret, not its value"
    );
}

#[test]
fn the_container_writes_only_to_its_scratch_volume() {
    let container = runner_container();
    assert_eq!(container["ReadonlyRootFilesystem"], true);
    let mounts: Vec<&str> = container["MountPoints"]
        .as_array()
        .expect("the container has MountPoints")
        .iter()
        .filter(|mount| mount["ReadOnly"] == false)
        .map(|mount| {
            mount["ContainerPath"]
                .as_str()
                .expect("a literal ContainerPath")
        })
        .collect();
    let writable = |path: &str| {
        mounts
            .iter()
            .any(|mount| path == *mount || path.starts_with(&format!("{mount}/")))
    };
    let tmpdir = container["Environment"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|variable| variable["Name"] == "TMPDIR")
        .and_then(|variable| variable["Value"].as_str())
        .expect("TMPDIR is set: /tmp is on the read-only root filesystem");
    assert!(
        writable(tmpdir),
        "TMPDIR {tmpdir} is not on a writable mount {mounts:?}"
    );
    // The command is one !Sub string split on spaces.
    let command = container["Command"]["Fn::Split"][1]["Fn::Sub"][0]
        .as_str()
        .expect("Command is !Split [\" \", !Sub [<string>, ...]]");
    let words: Vec<&str> = command.split(' ').collect();
    let output_dir = words
        .iter()
        .position(|word| *word == "--output-dir")
        .and_then(|at| words.get(at + 1))
        .expect("the command sets --output-dir");
    assert!(
        writable(output_dir),
        "--output-dir {output_dir} is not on a writable mount {mounts:?}"
    );
    // Fargate mounts an empty volume as root-owned unless the image declares
    // the path a VOLUME, whose owner (the nonroot user) the mount then takes.
    let dockerfile_path = project_root().join("deploy/Dockerfile");
    let dockerfile = std::fs::read_to_string(&dockerfile_path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dockerfile_path.display()));
    for mount in &mounts {
        let volume = format!("VOLUME [\"{mount}\"]");
        assert!(
            dockerfile.lines().any(|line| line.trim() == volume),
            "deploy/Dockerfile should declare `{volume}` so the nonroot user can write the mount"
        );
    }
}

/// Every `kms:ViaService` condition value in `node`.
fn via_service_values<'a>(node: &'a Value, out: &mut Vec<&'a Value>) {
    match node {
        Value::Object(map) => {
            if let Some(value) = map.get("kms:ViaService") {
                out.push(value);
            }
            map.values()
                .for_each(|value| via_service_values(value, out));
        }
        Value::Array(items) => items.iter().for_each(|item| via_service_values(item, out)),
        _ => {}
    }
}

#[test]
fn kms_via_service_holds_in_every_partition() {
    for (name, template) in all_templates() {
        let mut values = Vec::new();
        via_service_values(template, &mut values);
        for value in values {
            let text = value["Fn::Sub"].as_str().unwrap_or_default();
            assert!(
                text.ends_with(".${AWS::URLSuffix}"),
                "{name}: kms:ViaService {value} should end in ${{AWS::URLSuffix}} (amazonaws.com.cn in China)"
            );
        }
    }
}

#[test]
fn templates_pass_cfn_lint() {
    let dir = project_root().join("deploy/cloudformation");
    let mut templates: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    templates.sort();
    assert!(!templates.is_empty(), "no templates in {}", dir.display());
    let names: BTreeSet<String> = templates
        .iter()
        .filter_map(|path| path.file_name()?.to_str().map(str::to_owned))
        .collect();
    let checked: BTreeSet<String> = all_templates()
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    assert_eq!(
        names, checked,
        "every template is checked by all_templates()"
    );
    let mut cmd = Command::new(venv_tool("cfn-lint"));
    cmd.env_clear()
        .arg("--regions")
        .args(LINT_REGIONS)
        .arg("--")
        .args(&templates);
    let output = output_within(cmd, TOOL_TIMEOUT);
    assert!(
        output.status.success(),
        "cfn-lint {templates:?}: {}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Schedule group names are at most 64 characters, stack names up to 128:
/// the group's name must not grow with the stack's.
#[test]
fn schedule_group_name_fits_any_stack_name() {
    let groups = resources_of_type(runner(), "AWS::Scheduler::ScheduleGroup");
    let [(_, group)] = groups.as_slice() else {
        panic!("runner.yaml should hold one schedule group, found {groups:?}");
    };
    let name = &group["Properties"]["Name"];
    let uuid_of_stack = serde_json::json!({
        "Fn::Select": [2, { "Fn::Split": ["/", { "Ref": "AWS::StackId" }] }]
    });
    let parts = name["Fn::Join"][1].as_array().unwrap_or_else(|| {
        panic!("the group name should be a join of a prefix and the stack's UUID: {name}")
    });
    let [prefix, uuid] = parts.as_slice() else {
        panic!("the group name should join a prefix and the stack's UUID: {name}");
    };
    assert_eq!(*uuid, uuid_of_stack, "the group name's second part");
    let prefix = prefix.as_str().expect("a literal prefix");
    let separator = name["Fn::Join"][0].as_str().expect("a literal separator");
    // A stack id ends in a 36-character UUID.
    let length = prefix.len() + separator.len() + 36;
    assert!(length <= 64, "the group name takes {length} characters");
}

/// The member role, the Security Hub import role and the task role grant
/// exactly what each identity was seen doing: a scan of the sample
/// organisation (the management account seeded with everything a member
/// has, so that it makes every read too) with an exceptions file read from
/// S3, an upload and the Security Hub import, and the front's record of
/// whose credentials signed each request. The member role's grants are the
/// calls signed with the member role's credentials; the import role's,
/// those signed with the import role's (in the management account too);
/// the task role's (without `OrgRoleArn`), the calls signed by the runner's
/// own credentials, which scan its own account, plus the upload's KMS
/// action.
#[tokio::test(flavor = "multi_thread")]
async fn each_role_grants_exactly_what_its_identity_was_seen_calling() {
    let emulator = Emulator::start().await;
    let org = sample_org::seed(&emulator).await;
    let management = emulator.management().await;
    let mut trail = TrailSpec::multi_region("management-trail", "us-east-1");
    trail.log_group = Some("management-trail-logs");
    management.trail(trail).await;
    management
        .cis_alarm_chain("us-east-1", "management-trail-logs")
        .await;
    // A mute rule on that alarm, whose schedule is read.
    emulator.front.add_mute_rule(MuteRule {
        account: MANAGEMENT_ACCOUNT.into(),
        region: "us-east-1".into(),
        name: "maintenance".into(),
        status: "SCHEDULED".into(),
        expression: "cron(0 3 ? * SAT)".into(),
        duration: "PT1H".into(),
        expire: None,
        alarms: vec!["kms-disable-delete".into()],
    });
    management.bucket("us-east-1", "iam-reports").await;
    management
        .object(
            "us-east-1",
            "iam-reports",
            "exceptions.yaml",
            "exceptions: []\n",
        )
        .await;
    management.enable_security_hub("us-east-1").await;
    // A previous report to find (ListObjectsV2) and read (GetObject), and a
    // topic for the scan's summary (Publish).
    crate::changes::put_fixture_report(&management, "iam-reports", "cmkscan").await;
    let summary_topic = management.topic("us-east-1", "scan-summary", false).await;
    // An enabled rule with a target in a member, whose targets are read: a
    // topic encrypted with a key of the member (its policy read), and an
    // event bus of another member (read with that member's role).
    let prod = emulator.account(&org.prod).await;
    let key = prod
        .key_with_policy(
            "us-east-1",
            &format!(
                r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:root"}},"Action":"kms:*","Resource":"*"}}]}}"#,
                org.prod
            ),
        )
        .await;
    let topic = prod
        .topic_with(
            "us-east-1",
            "prod-alerts",
            true,
            &[("KmsMasterKeyId", &key)],
        )
        .await;
    prod.rule("us-east-1", "kms-alerts", CIS_RULE, true, Some(&topic))
        .await;
    let dev_bus = emulator
        .account(&org.dev)
        .await
        .event_bus("us-east-1", "dev-security", None)
        .await;
    prod.rule("us-east-1", "kms-to-dev", CIS_RULE, true, Some(&dev_bus))
        .await;
    prod.enable_security_hub("us-east-1").await;

    emulator.front.clear_log();
    let out_dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = cmkscan_command(emulator.endpoint());
    cmd.args(["scan", "--regions", "us-east-1,eu-west-1", "--output-dir"])
        .arg(out_dir.path())
        .args(["--s3-uri", "s3://iam-reports/cmkscan"])
        .args(["--exceptions", "s3://iam-reports/exceptions.yaml"])
        .args(["--external-id", "sample-external-id", "--security-hub"])
        .args(["--sns-topic-arn", &summary_topic])
        .args(["--heartbeat-namespace", "cmkscan/iam"])
        // The OU checks (DescribeOrganizationalUnit, ListParents) are made
        // only when OUs are named: an empty one left out changes nothing.
        .args(["--exclude-ous", &org.quarantine_ou]);
    assert_exit(&run(cmd).await, 0);

    let members: BTreeSet<&str> = [org.prod.as_str(), org.dev.as_str()].into();
    let mut by_members = BTreeSet::new();
    let mut by_import_role = BTreeSet::new();
    let mut by_runner = BTreeSet::new();
    for request in emulator.front.log() {
        let operation = format!("{}:{}", request.service, request.api);
        // The IAM action of the operation (s3:ListObjectsV2 is s3:ListBucket).
        let action = Api::ALL
            .iter()
            .find(|api| api.to_string() == operation)
            .and_then(|api| api.iam_action())
            .unwrap_or(operation);
        // The one call AWS allows without any permission.
        if action == "sts:GetCallerIdentity" {
            continue;
        }
        match request.caller_role.as_deref() {
            None => {
                assert_eq!(request.caller, MANAGEMENT_ACCOUNT, "{action}");
                by_runner.insert(action);
            }
            Some("CmkScanSecurityHubImport") => {
                by_import_role.insert(action);
            }
            Some(role) => {
                assert_eq!(role, "CmkScanReadOnly", "{action} signed by role {role}");
                assert!(
                    members.contains(request.caller.as_str()),
                    "{action} signed by {}, neither the runner nor a scanned member",
                    request.caller
                );
                by_members.insert(action);
            }
        }
    }
    by_runner.insert(SSE_KMS_UPLOAD.to_owned());
    by_runner.insert(KMS_DECRYPT_VIA_SERVICE.to_owned());
    let member_template = member_role();
    let import_template = security_hub_role();
    for (what, granted, seen) in [
        (
            "member-role.yaml role vs the calls signed with its credentials",
            role_actions(member_template, only_role_id(member_template)),
            by_members,
        ),
        (
            "member-securityhub-role.yaml role vs the calls signed with its credentials",
            role_actions(import_template, only_role_id(import_template)),
            by_import_role,
        ),
        (
            "runner.yaml task role (no OrgRoleArn) vs the calls the runner signed",
            task_role_actions(false),
            by_runner,
        ),
    ] {
        let missing: Vec<_> = seen.difference(&granted).collect();
        let extra: Vec<_> = granted.difference(&seen).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{what}:\n  called but not granted: {missing:?}\n  granted but never called: {extra:?}"
        );
    }
}

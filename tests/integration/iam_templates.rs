//! The IAM in `deploy/cloudformation/` answers to the code's catalogue of AWS
//! calls (`cmkscan::api::Api::ALL`): the member role grants exactly the reads
//! cmkscan makes in a scanned account, the task role exactly the runner's
//! calls plus those reads (the management account is scanned with the task
//! role's own credentials), nothing is a wildcard, and cfn-lint passes.
//!
//! The templates are read through cfn-lint's own decoder (pinned in
//! `.tools/venv` by `scripts/install-tools.sh`), which understands the short
//! intrinsic-function tags (`!Sub`, `!If`, ...) that plain YAML parsers reject.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use cmkscan::api::{Api, Caller};
use serde_json::Value;

const INSTALL_HINT: &str = "run scripts/install-tools.sh to install moto[server] and cfn-lint";

/// Not an API cmkscan calls: when the report is uploaded with SSE-KMS
/// (`--s3-kms-key-id`), S3 asks KMS for a data key on the uploader's behalf
/// and requires the uploader to hold this action on the key. Only the task
/// role uploads, so only the task role may have it.
const SSE_KMS_UPLOAD: &str = "kms:GenerateDataKey";

fn project_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn venv_tool(name: &str) -> PathBuf {
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
    let output = Command::new(venv_tool("python"))
        .arg("-c")
        .arg(DECODE_TEMPLATE)
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("running .tools/venv/bin/python: {e}; {INSTALL_HINT}"));
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

fn management() -> &'static Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE.get_or_init(|| decode_template("management.yaml"))
}

fn member_role() -> &'static Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE.get_or_init(|| decode_template("member-role.yaml"))
}

/// The template's resources of one type, by logical id.
fn resources_of_type<'a>(template: &'a Value, ty: &str) -> Vec<(&'a str, &'a Value)> {
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

/// The role the ECS task runs as: the TaskRoleArn of the one task definition.
fn task_role_id(template: &Value) -> &str {
    let task_definitions = resources_of_type(template, "AWS::ECS::TaskDefinition");
    let [(_, task_definition)] = task_definitions.as_slice() else {
        panic!("management.yaml should hold one task definition, found {task_definitions:?}");
    };
    let task_role_arn = &task_definition["Properties"]["TaskRoleArn"];
    get_att_arn_target(task_role_arn)
        .unwrap_or_else(|| panic!("TaskRoleArn should be !GetAtt <Role>.Arn, is {task_role_arn}"))
}

fn only_role_id(template: &Value) -> &str {
    let roles = resources_of_type(template, "AWS::IAM::Role");
    let [(id, _)] = roles.as_slice() else {
        panic!("member-role.yaml should hold one role, found {roles:?}");
    };
    id
}

/// Every policy document in the template that grants permissions to role
/// `role_id`: its inline policies and any policy resource attached to it by
/// `!Ref`. Its trust policy is not one of them, and neither are AWS managed
/// policies (`ManagedPolicyArns`), whose contents are not in the template.
fn permission_policies<'a>(template: &'a Value, role_id: &str) -> Vec<&'a Value> {
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

fn allowed_actions(documents: &[&Value]) -> BTreeSet<String> {
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
fn task_role_grants_exactly_the_runner_calls_and_the_reads() {
    let template = management();
    let granted = role_actions(template, task_role_id(template));
    let mut needed = catalogue_actions(Caller::Runner);
    // The management account is scanned with the task role's own
    // credentials, so it needs every read the member role has.
    needed.extend(catalogue_actions(Caller::ScannedAccount));
    needed.insert(SSE_KMS_UPLOAD.to_owned());
    assert_same_actions("management.yaml task role", &granted, &needed);
}

#[test]
fn no_role_is_granted_a_wildcard_action() {
    for (name, template) in [
        ("management.yaml", management()),
        ("member-role.yaml", member_role()),
    ] {
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
fn member_role_trusts_only_the_scanner_with_the_external_id() {
    let template = member_role();
    let role = &template["Resources"][only_role_id(template)]["Properties"];
    let statements = role["AssumeRolePolicyDocument"]["Statement"]
        .as_array()
        .expect("trust policy has a Statement list");
    let [statement] = statements.as_slice() else {
        panic!("the trust policy should have one statement, has {statements:?}");
    };
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(statement["Action"], "sts:AssumeRole");
    assert_eq!(
        statement["Principal"],
        serde_json::json!({ "AWS": { "Ref": "ScannerPrincipalArn" } })
    );
    assert_eq!(
        statement["Condition"]["StringEquals"]["sts:ExternalId"],
        serde_json::json!({ "Ref": "ExternalId" })
    );
    for (name, template) in [
        ("management.yaml", management()),
        ("member-role.yaml", member_role()),
    ] {
        assert_eq!(
            template["Parameters"]["ExternalId"]["NoEcho"], true,
            "{name}: the ExternalId parameter should be NoEcho"
        );
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
    let output = Command::new(venv_tool("cfn-lint"))
        .arg("--")
        .args(&templates)
        .output()
        .unwrap_or_else(|e| panic!("running cfn-lint: {e}; {INSTALL_HINT}"));
    assert!(
        output.status.success(),
        "cfn-lint {templates:?}: {}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

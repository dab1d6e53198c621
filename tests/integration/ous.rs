//! Organizational units: every row's `ou_path` from the tree walk, and
//! `--ous` / `--exclude-ous` scoping, on a seeded tree with nested OUs, an
//! account moved between OUs and an empty OU. Scoping runs through the
//! binary, as docs/operations.md describes it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::support::cli::{
    assert_exit, assert_one_line_reason, cmkscan_command, describe, read_json, run,
};
use crate::support::seed::TrailSpec;
use crate::support::{options, Emulator, MANAGEMENT_ACCOUNT, REGION};

/// ```text
/// Root                  management, direct
/// ├── Workloads
/// │   ├── Prod          prod
/// │   └── Dev           dev, moved (from Sandbox)
/// ├── Sandbox           sandbox
/// └── Empty
/// ```
/// The management account holds an organisation trail, which credits every
/// member even when the management account is scoped out.
struct Tree {
    emulator: Emulator,
    root: String,
    workloads: String,
    prod_ou: String,
    dev_ou: String,
    sandbox_ou: String,
    empty_ou: String,
    /// Account id → the OU path every row of it must carry.
    paths: BTreeMap<String, &'static str>,
    direct: String,
    prod: String,
    dev: String,
    moved: String,
    sandbox: String,
}

async fn tree() -> Tree {
    let emulator = Emulator::with_organization().await;
    let mut org_trail = TrailSpec::multi_region("org-trail", REGION);
    org_trail.organization = true;
    emulator.management().await.trail(org_trail).await;
    let root = emulator.root_id().await;
    let workloads = emulator.create_ou(&root, "Workloads").await;
    let prod_ou = emulator.create_ou(&workloads, "Prod").await;
    let dev_ou = emulator.create_ou(&workloads, "Dev").await;
    let sandbox_ou = emulator.create_ou(&root, "Sandbox").await;
    let empty_ou = emulator.create_ou(&root, "Empty").await;
    let direct = emulator.create_account("direct").await.id;
    let prod = emulator.create_account("prod").await.id;
    let dev = emulator.create_account("dev").await.id;
    let moved = emulator.create_account("moved").await.id;
    let sandbox = emulator.create_account("sandbox").await.id;
    emulator.move_account(&prod, &root, &prod_ou).await;
    emulator.move_account(&dev, &root, &dev_ou).await;
    emulator.move_account(&sandbox, &root, &sandbox_ou).await;
    emulator.move_account(&moved, &root, &sandbox_ou).await;
    emulator.move_account(&moved, &sandbox_ou, &dev_ou).await;
    let paths = [
        (MANAGEMENT_ACCOUNT.to_string(), "Root"),
        (direct.clone(), "Root"),
        (prod.clone(), "Root/Workloads/Prod"),
        (dev.clone(), "Root/Workloads/Dev"),
        (moved.clone(), "Root/Workloads/Dev"),
        (sandbox.clone(), "Root/Sandbox"),
    ]
    .into_iter()
    .collect();
    Tree {
        emulator,
        root,
        workloads,
        prod_ou,
        dev_ou,
        sandbox_ou,
        empty_ou,
        paths,
        direct,
        prod,
        dev,
        moved,
        sandbox,
    }
}

impl Tree {
    fn ids(&self, ids: &[&String]) -> BTreeSet<String> {
        ids.iter().map(|id| id.to_string()).collect()
    }

    /// `cmkscan scan` with `args` into `out_dir`; exits 0 and returns
    /// findings.json.
    async fn scan(&self, args: &[&str], out_dir: &Path) -> serde_json::Value {
        let mut cmd = cmkscan_command(self.emulator.endpoint());
        cmd.args(["scan", "--regions", REGION])
            .args(args)
            .arg("--output-dir")
            .arg(out_dir);
        let output = run(cmd).await;
        assert_exit(&output, 0);
        read_json(&out_dir.join("findings.json"))
    }

    /// The accounts with rows, each row's `ou_path` checked against the tree.
    fn accounts_in(&self, report: &serde_json::Value) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        for row in report["findings"].as_array().expect("findings") {
            let id = row["account_id"].as_str().expect("account id");
            assert_eq!(
                row["ou_path"].as_str(),
                Some(self.paths[id]),
                "ou_path of {id}: {row}"
            );
            seen.insert(id.to_string());
        }
        seen
    }
}

/// A member's trail row passes on the management account's organisation
/// trail, so that trail was fetched.
fn credits_org_trail(report: &serde_json::Value, member: &str) {
    let row = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|r| r["account_id"] == member && r["check_id"] == "cloudtrail.kms_events_logged")
        .unwrap_or_else(|| panic!("no trail row for {member}"));
    assert_eq!(row["status"], "PASS", "{row}");
    assert!(
        row["detail"]
            .as_str()
            .is_some_and(|d| d.contains("organisation trail")),
        "{row}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_row_carries_its_ou_path_and_the_summary_rolls_up_by_top_level_ou() {
    let tree = tree().await;
    let outcome = tree.emulator.scan(options(&[REGION])).await;
    let mut seen = BTreeSet::new();
    for finding in &outcome.findings {
        assert_eq!(
            finding.ou_path, tree.paths[&finding.account_id],
            "{finding:?}"
        );
        seen.insert(finding.account_id.clone());
    }
    assert_eq!(
        seen,
        tree.paths.keys().cloned().collect::<BTreeSet<_>>(),
        "every account scanned, the management account and those under the root included"
    );
    // The facts keep the parent's id.
    let parent_of: BTreeMap<&str, &str> = outcome
        .facts
        .accounts
        .iter()
        .map(|a| (a.id.as_str(), a.ou_id.as_str()))
        .collect();
    assert_eq!(parent_of[MANAGEMENT_ACCOUNT], tree.root);
    assert_eq!(parent_of[tree.direct.as_str()], tree.root);
    assert_eq!(parent_of[tree.prod.as_str()], tree.prod_ou);
    assert_eq!(parent_of[tree.moved.as_str()], tree.dev_ou);
    assert_eq!(parent_of[tree.sandbox.as_str()], tree.sandbox_ou);

    // The empty OU has no account, so no rows to roll up.
    let rolled: Vec<&str> = outcome
        .summary
        .by_top_level_ou
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(rolled, ["Root", "Root/Sandbox", "Root/Workloads"]);
    let rows_in = |ou: &str| -> usize { outcome.summary.by_top_level_ou[ou].total() };
    let rows_of = |ids: &[&str]| {
        outcome
            .findings
            .iter()
            .filter(|f| ids.contains(&f.account_id.as_str()))
            .count()
    };
    assert_eq!(
        rows_in("Root/Workloads"),
        rows_of(&[&tree.prod, &tree.dev, &tree.moved])
    );
    assert_eq!(
        rows_in("Root"),
        rows_of(&[MANAGEMENT_ACCOUNT, &tree.direct])
    );
    let rendered = outcome.summary.render();
    assert!(rendered.contains("\nRoot/Workloads "), "{rendered}");

    // The walk: one ListRoots, and for the root and each of the 5 OUs one
    // page of its accounts and one of its child OUs.
    let calls = &outcome.summary.api_calls;
    assert_eq!(calls.get("organizations:ListRoots"), Some(&1), "{calls:?}");
    assert_eq!(
        calls.get("organizations:ListAccountsForParent"),
        Some(&6),
        "{calls:?}"
    );
    assert_eq!(
        calls.get("organizations:ListOrganizationalUnitsForParent"),
        Some(&6),
        "{calls:?}"
    );
    // Unscoped, nothing is asked about OUs or parents.
    assert_eq!(calls.get("organizations:ListParents"), None, "{calls:?}");
    assert_eq!(
        calls.get("organizations:DescribeOrganizationalUnit"),
        None,
        "{calls:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ous_and_exclude_ous_scope_the_scan_to_subtrees() {
    let tree = tree().await;
    let out = tempfile::tempdir().unwrap();
    let dir = |name: &str| {
        let dir = out.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    };

    // A nested OU, recursively: Workloads holds Prod and Dev. The
    // management account is outside, so it is not scanned, and its
    // organisation trail still credits the members.
    let report = tree
        .scan(&["--ous", &tree.workloads], &dir("workloads"))
        .await;
    assert_eq!(
        tree.accounts_in(&report),
        tree.ids(&[&tree.prod, &tree.dev, &tree.moved])
    );
    credits_org_trail(&report, &tree.prod);
    let rolled: Vec<&String> = report["summary"]["by_top_level_ou"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(rolled, ["Root/Workloads"]);

    // A subtree left out of a selected one: Dev, with the moved account.
    let report = tree
        .scan(
            &["--ous", &tree.workloads, "--exclude-ous", &tree.dev_ou],
            &dir("prod"),
        )
        .await;
    assert_eq!(tree.accounts_in(&report), tree.ids(&[&tree.prod]));

    // Excluding a subtree keeps the rest, the management account included.
    let report = tree
        .scan(&["--exclude-ous", &tree.workloads], &dir("rest"))
        .await;
    let management = MANAGEMENT_ACCOUNT.to_string();
    assert_eq!(
        tree.accounts_in(&report),
        tree.ids(&[&management, &tree.direct, &tree.sandbox])
    );

    // The root selects everything; an empty OU selects nothing, and the
    // report says so rather than failing.
    let report = tree.scan(&["--ous", &tree.root], &dir("root")).await;
    assert_eq!(
        tree.accounts_in(&report),
        tree.paths.keys().cloned().collect::<BTreeSet<_>>()
    );
    let report = tree.scan(&["--ous", &tree.empty_ou], &dir("empty")).await;
    assert!(tree.accounts_in(&report).is_empty(), "{report}");
    assert_eq!(report["summary"]["accounts_scanned"], 0);

    // With account filters, an account must pass both.
    let report = tree
        .scan(
            &[
                "--ous",
                &format!("{},{}", tree.prod_ou, tree.sandbox_ou),
                "--accounts",
                &format!("{},{}", tree.prod, tree.dev),
            ],
            &dir("both"),
        )
        .await;
    assert_eq!(tree.accounts_in(&report), tree.ids(&[&tree.prod]));

    // The moved account is found where it is now, not where it was.
    let report = tree
        .scan(&["--ous", &tree.sandbox_ou], &dir("sandbox"))
        .await;
    assert_eq!(tree.accounts_in(&report), tree.ids(&[&tree.sandbox]));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_ou_is_a_usage_error_before_any_account_is_scanned() {
    let tree = tree().await;
    let out = tempfile::tempdir().unwrap();
    // Well-formed ids this organisation does not have: an OU, and a root.
    let ghost_ou = format!("{}-zzzzzzzz", &tree.workloads[..7]);
    for (flag, ids) in [
        ("--ous", format!("{},{ghost_ou}", tree.prod_ou)),
        ("--exclude-ous", "r-zzzz".to_string()),
    ] {
        tree.emulator.front.clear_log();
        let mut cmd = cmkscan_command(tree.emulator.endpoint());
        cmd.args(["scan", "--regions", REGION, flag, &ids, "--output-dir"])
            .arg(out.path());
        let output = run(cmd).await;
        assert_exit(&output, 2);
        let unknown = ids.rsplit(',').next().unwrap();
        let reason = assert_one_line_reason(&output, unknown);
        assert!(
            reason.contains("no such organizational unit or root"),
            "{reason}"
        );
        assert!(
            !reason.contains(&tree.prod_ou),
            "only the unknown id is named: {reason}"
        );
        let log = tree.emulator.front.log();
        let assumed: Vec<_> = log.iter().filter(|l| l.api == "AssumeRole").collect();
        assert!(assumed.is_empty(), "an account was entered: {assumed:?}");
        assert!(
            !log.iter().any(|l| l.api == "ListAccountsForParent"),
            "the listing started: {}",
            describe(&output)
        );
        assert!(!out.path().join("findings.csv").exists());
    }

    // Malformed ids never reach AWS.
    for bad in ["ou-xyz", "Workloads", "r-", "ou-ABCD-12345678"] {
        let mut cmd = cmkscan_command(tree.emulator.endpoint());
        cmd.args(["scan", "--ous", bad, "--output-dir"])
            .arg(out.path());
        let output = run(cmd).await;
        assert_exit(&output, 2);
        assert!(
            crate::support::cli::text(&output.stderr).contains("is not an organizational unit id"),
            "{}",
            describe(&output)
        );
    }
    // The same id both included and excluded is a conflict.
    let mut cmd = cmkscan_command(tree.emulator.endpoint());
    cmd.args([
        "scan",
        "--ous",
        &tree.prod_ou,
        "--exclude-ous",
        &tree.prod_ou,
        "--output-dir",
    ])
    .arg(out.path());
    let output = run(cmd).await;
    assert_exit(&output, 2);
    assert!(
        crate::support::cli::text(&output.stderr).contains("--ous and --exclude-ous both name"),
        "{}",
        describe(&output)
    );
}

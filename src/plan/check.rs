//! `--check`: the plan's changes applied to a copy of the facts, judged
//! again by the same checks and exceptions. Every row a step is about must
//! become what the step expects (PASS; WARN for a cancelled key deletion,
//! which comes back Disabled), and no other row may change. The checks are
//! pure functions over the facts, so this costs one evaluation.

use std::collections::BTreeMap;

use time::Date;

use super::model::{CheckOutcome, Plan, RowChange};
use crate::checks::catalog::{CheckId, Status};
use crate::checks::{self, Finding, ScanContext, Subject};
use crate::exceptions::{Exceptions, Judge};
use crate::facts::ScanFacts;

/// Every finding of `facts`, marked by `exceptions` as of `as_of` (the
/// scan's day), in report order: what the scan's report said.
pub fn findings_of(
    facts: &ScanFacts,
    exceptions: Option<&Exceptions>,
    as_of: Date,
) -> Vec<Finding> {
    let scan = ScanContext::of(facts);
    let mut judge = exceptions.map(|e| Judge::new(e.clone(), as_of));
    let mut all = Vec::new();
    for account in &facts.accounts {
        let mut findings = Vec::new();
        checks::evaluate_account(&scan, account, &mut findings);
        if let Some(judge) = &mut judge {
            judge.apply(account, &mut findings);
        }
        all.append(&mut findings);
    }
    checks::sort(&mut all);
    all
}

/// What identifies a row across the two evaluations.
type Key = (String, String, CheckId, String);

fn key(finding: &Finding) -> Key {
    let subject = match finding.subject() {
        Subject::Region => String::new(),
        Subject::Resource(resource) => resource.to_string(),
        Subject::Event { resource, detail } => format!("{resource}\n{detail}"),
    };
    (
        finding.account_id.clone(),
        finding.region.clone(),
        finding.check,
        subject,
    )
}

/// Runs the check and records its outcome in `plan`.
pub fn run<'a>(
    plan: &'a mut Plan,
    facts: &ScanFacts,
    exceptions: Option<&Exceptions>,
    as_of: Date,
) -> &'a CheckOutcome {
    let mut changed = facts.clone();
    let mut expected: BTreeMap<Key, Status> = BTreeMap::new();
    for step in plan.steps.iter().filter(|s| !s.effects.is_empty()) {
        for effect in &step.effects {
            effect.apply(&mut changed);
        }
        if let Some(status) = step.expected_status {
            for row in &step.rows {
                let finding_key = (
                    row.account_id.clone(),
                    row.region.clone(),
                    row.check_id,
                    match row.check_id.rows_per() {
                        crate::checks::catalog::RowsPer::Region => String::new(),
                        crate::checks::catalog::RowsPer::Resource => row.resource_id.clone(),
                        crate::checks::catalog::RowsPer::Event => {
                            format!("{}\n{}", row.resource_id, row.detail)
                        }
                    },
                );
                expected.insert(finding_key, status);
            }
        }
    }
    let index = |findings: Vec<Finding>| -> BTreeMap<Key, Finding> {
        findings.into_iter().map(|f| (key(&f), f)).collect()
    };
    let before = index(findings_of(facts, exceptions, as_of));
    let after = index(findings_of(&changed, exceptions, as_of));
    let mut outcome = CheckOutcome {
        passed: true,
        planned_rows: expected.len(),
        turned_pass: 0,
        turned_warn: 0,
        not_as_planned: Vec::new(),
        other_rows_changed: Vec::new(),
    };
    let keys: std::collections::BTreeSet<&Key> = before.keys().chain(after.keys()).collect();
    for k in keys {
        let (old, new) = (before.get(k), after.get(k));
        let change = || RowChange {
            account_id: k.0.clone(),
            region: k.1.clone(),
            check_id: k.2,
            resource_id: new
                .or(old)
                .map(|f| f.resource_id.clone())
                .unwrap_or_default(),
            before: old.map(|f| f.status),
            after: new.map(|f| f.status),
            expected: expected.get(k).copied(),
            detail_after: new.map(|f| f.detail.clone()),
        };
        match expected.get(k) {
            Some(want) => match new.map(|f| f.status) {
                Some(got) if got == *want => match got {
                    Status::Warn => outcome.turned_warn += 1,
                    _ => outcome.turned_pass += 1,
                },
                _ => outcome.not_as_planned.push(change()),
            },
            None if old != new => outcome.other_rows_changed.push(change()),
            None => {}
        }
    }
    outcome.passed = outcome.not_as_planned.is_empty() && outcome.other_rows_changed.is_empty();
    plan.check = Some(outcome);
    plan.check.as_ref().expect("just set")
}

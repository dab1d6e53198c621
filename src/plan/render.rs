//! plan.md: the plan for people, a change board first. What was refused
//! comes first, then the organisation-wide changes, then each OU's
//! accounts. Every value from AWS goes through [`markdown`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::markdown::{block, code, text};
use super::model::{Action, Plan, RowChange, Step};
use crate::checks::catalog::Status;

pub fn render(plan: &Plan) -> String {
    let mut s = String::new();
    head(plan, &mut s);
    refused(plan, &mut s);
    check(plan, &mut s);
    keys(plan, &mut s);
    let org_wide: Vec<&Step> = plan
        .steps
        .iter()
        .filter(|st| st.action != Action::Refused && st.org_wide)
        .collect();
    if !org_wide.is_empty() {
        s.push_str("\n## Organisation-wide changes\n");
        for step in org_wide {
            section(step, "###", &mut s);
        }
    }
    let mut by_ou: BTreeMap<&str, BTreeMap<(&str, &str), Vec<&Step>>> = BTreeMap::new();
    for step in plan
        .steps
        .iter()
        .filter(|st| st.action != Action::Refused && !st.org_wide)
    {
        by_ou
            .entry(&step.ou_path)
            .or_default()
            .entry((&step.account_id, &step.account_name))
            .or_default()
            .push(step);
    }
    for (ou, accounts) in by_ou {
        let _ = writeln!(
            s,
            "\n## OU {}\n",
            if ou.is_empty() {
                "(not recorded)".to_string()
            } else {
                text(ou)
            }
        );
        for ((id, name), steps) in accounts {
            let _ = writeln!(s, "### Account {} ({})", text(name), text(id));
            for step in steps {
                section(step, "####", &mut s);
            }
        }
    }
    alternatives(plan, &mut s);
    accepted(plan, &mut s);
    s
}

fn head(plan: &Plan, s: &mut String) {
    let scan = &plan.scan;
    let _ = writeln!(
        s,
        "# Change plan: monitoring of KMS key disabling and deletion\n"
    );
    let _ = writeln!(
        s,
        "Planned by {} at {} from scan {} ({}), evidence {} (sha256 {}), {} days old (--max-age {}). Partition {}, management account {}, organisation {}.\n",
        text(&plan.generated_by),
        text(&plan.generated_at),
        code(&scan.scan_id),
        text(&scan.scan_time),
        code(&scan.facts),
        code(&scan.facts_sha256),
        scan.age_days,
        plan.options.max_age_days,
        text(&scan.partition),
        text(&scan.management_account_id),
        text(if scan.organization_id.is_empty() {
            "(not recorded)"
        } else {
            &scan.organization_id
        }),
    );
    let mut counts: BTreeMap<Action, (usize, usize)> = BTreeMap::new();
    for step in &plan.steps {
        let entry = counts.entry(step.action).or_default();
        entry.0 += 1;
        entry.1 += step.rows.len();
    }
    s.push_str("| action | steps | rows |\n| --- | --- | --- |\n");
    for (action, (steps, rows)) in &counts {
        let _ = writeln!(s, "| {} | {steps} | {rows} |", action.as_str());
    }
    let _ = writeln!(
        s,
        "| accepted by an exception, not planned | – | {} |\n",
        plan.accepted.len()
    );
    s.push_str("**How to use it.** Take this plan to the change board. Run the `apply` steps in their order (each names the account, the role and the permissions it needs, and the steps it waits for); then re-scan, as each step's *Verify* line says. To undo a step, run its `backout` script; undo several in the reverse order. Every script first checks that its credentials are for the step's account, and that the live state is still what the scan saw (or, for a backout, what the apply made): otherwise it changes nothing. Scripts take `--profile NAME` (else the usual AWS credential chain) and need the AWS CLI and python3. `request` steps are for the team that owns the management account; `decide` steps are for an owner to weigh, with the commands they would run.\n\n");
    s.push_str("The control's own reference text quotes CLI lines that are illustrative, not commands (there is no `aws configservice record-configuration-changes`); the commands here are the AWS CLI's own.\n\n");
    s.push_str("Script exit codes:\n\n");
    for meaning in &plan.script_exit_codes {
        let _ = writeln!(s, "- {}: {}", meaning.code, meaning.meaning);
    }
    let _ = writeln!(s, "- any other: {}", super::script::OTHER_EXIT);
}

fn check(plan: &Plan, s: &mut String) {
    s.push_str("\n## Check\n\n");
    let Some(check) = &plan.check else {
        s.push_str("Not run: `cmkscan plan --check` applies the planned changes to a copy of the evidence and judges it again with the same checks.\n");
        return;
    };
    let _ = writeln!(
        s,
        "{}: the planned changes, applied to a copy of the evidence and judged again by the same checks: {} of {} planned rows become what their step expects ({} PASS, {} WARN: a cancelled key deletion leaves the key Disabled); {} other rows changed.\n",
        if check.passed { "**Passed**" } else { "**FAILED**" },
        check.turned_pass + check.turned_warn,
        check.planned_rows,
        check.turned_pass,
        check.turned_warn,
        check.other_rows_changed.len()
    );
    for (title, changes) in [
        ("Planned rows not as expected", &check.not_as_planned),
        ("Other rows that changed", &check.other_rows_changed),
    ] {
        if changes.is_empty() {
            continue;
        }
        let _ = writeln!(s, "{title}:\n");
        for change in changes {
            row_change(change, s);
        }
        s.push('\n');
    }
}

fn status(status: Option<Status>) -> &'static str {
    status.map_or("(none)", Status::as_str)
}

fn row_change(change: &RowChange, s: &mut String) {
    let _ = writeln!(
        s,
        "- {} {} {} {}: {} → {} (expected {}){}",
        code(change.check_id.as_str()),
        text(&change.account_id),
        text(&change.region),
        text(&change.resource_id),
        status(change.before),
        status(change.after),
        status(change.expected),
        change
            .detail_after
            .as_deref()
            .map(|d| format!(": {}", text(d)))
            .unwrap_or_default()
    );
}

fn anchors(step: &Step, s: &mut String) {
    let _ = write!(s, "<a id=\"{}\"></a>", step.id);
    for row in &step.rows {
        let _ = write!(s, "<a id=\"{}\"></a>", row.anchor);
    }
    s.push('\n');
}

fn refused(plan: &Plan, s: &mut String) {
    s.push_str("\n## Refused, and not planned\n\n");
    let refused: Vec<&Step> = plan
        .steps
        .iter()
        .filter(|st| st.action == Action::Refused)
        .collect();
    if refused.is_empty() {
        s.push_str("Nothing.\n");
        return;
    }
    s.push_str("Rows that are not planned, and why: what the evidence could not read (re-scan first), WARN rows (decide first), and FAIL rows that only someone else can fix or that the evidence cannot plan exactly.\n\n");
    for step in refused {
        anchors(step, s);
        let row = step.rows.first();
        let _ = writeln!(
            s,
            "- **{}** {} · {} ({}) · {} · {}{} — `{}`: {}\n",
            step.id,
            code(step.check_id.as_str()),
            text(&step.account_name),
            text(&step.account_id),
            text(&step.region),
            row.map(|r| r.status.as_str()).unwrap_or(""),
            row.filter(|r| !r.resource_id.is_empty())
                .map(|r| format!(" {}", code(&r.resource_id)))
                .unwrap_or_default(),
            step.reason_code.map_or("", |c| c.as_str()),
            text(&step.reason)
        );
    }
}

/// The keys pending deletion, soonest deletion first, each linked to its
/// decision.
fn keys(plan: &Plan, s: &mut String) {
    let mut keys: Vec<(&Step, &super::model::KeyDecision)> = plan
        .steps
        .iter()
        .filter_map(|st| st.key.as_ref().map(|k| (st, k)))
        .collect();
    if keys.is_empty() {
        return;
    }
    // Unknown dates last; RFC 3339 times in UTC sort as text.
    keys.sort_by(|a, b| {
        (a.1.deletion_date.is_none(), &a.1.deletion_date)
            .cmp(&(b.1.deletion_date.is_none(), &b.1.deletion_date))
    });
    s.push_str("\n## Keys pending deletion, soonest deletion first\n\nEach is a decision for the key's owner (its section has the command); a cancelled deletion leaves the key Disabled.\n\n");
    for (step, key) in keys {
        let _ = writeln!(
            s,
            "- {} · [{}](#{}) · {} ({}) · {} · {} {}{}",
            text(key.deletion_date.as_deref().unwrap_or("(no date reported)")),
            step.id,
            step.id,
            text(&step.account_name),
            text(&step.account_id),
            text(&step.region),
            code(&key.key_arn),
            text(&key.state),
            if key.aliases.is_empty() {
                String::new()
            } else {
                format!(" · {}", text(&key.aliases.join(", ")))
            }
        );
    }
}

fn section(step: &Step, level: &str, s: &mut String) {
    let _ = writeln!(
        s,
        "\n{level} {} · {} · {} ({}) · {} · {}\n",
        step.id,
        step.check_id.as_str(),
        text(&step.account_name),
        text(&step.account_id),
        text(&step.region),
        step.action.as_str()
    );
    anchors(step, s);
    let _ = writeln!(s, "\n**Why.** {}\n", text(&step.reason));
    if !step.rows.is_empty() {
        s.push_str("**Fixes.**\n\n");
        for row in &step.rows {
            let _ = writeln!(
                s,
                "- {} · {} ({}) · {} · {}{}: {}",
                code(row.check_id.as_str()),
                text(&row.account_name),
                text(&row.account_id),
                text(&row.region),
                row.status.as_str(),
                if row.resource_id.is_empty() {
                    String::new()
                } else {
                    format!(" {}", code(&row.resource_id))
                },
                text(&row.detail)
            );
        }
        s.push('\n');
    }
    if !step.evidence.is_empty() {
        s.push_str("**The evidence.**\n\n");
        for line in &step.evidence {
            let _ = writeln!(s, "- {}", text(line));
        }
        s.push('\n');
    }
    let _ = writeln!(s, "**Change.** {}\n", text(&step.change));
    if let Some(run_as) = &step.run_as {
        let _ = writeln!(
            s,
            "**Run by** {} in account {}, with: {}.\n",
            text(&run_as.principal),
            text(&run_as.account_id),
            run_as
                .permissions
                .iter()
                .map(|p| code(p))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(order) = step.order {
        let _ = writeln!(
            s,
            "**Order.** {order}{}.\n",
            if step.depends_on.is_empty() {
                String::new()
            } else {
                format!(
                    ", after {}",
                    step.depends_on
                        .iter()
                        .map(|d| format!("[{d}](#{d})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
    }
    if let Some(cost) = &step.cost {
        let _ = writeln!(s, "**Cost.** {}\n", text(cost));
    }
    if let Some(scripts) = &step.scripts {
        let _ = write!(s, "**Apply.** {}", code(&scripts.apply));
        if !step.templates.is_empty() {
            let _ = write!(
                s,
                " (deploys {})",
                step.templates
                    .iter()
                    .map(|t| code(t))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        s.push_str("\n\n");
    }
    if !step.commands.is_empty() {
        s.push_str("**Commands.**\n\n");
        s.push_str(&block("sh", &step.commands.join("\n")));
        s.push('\n');
    }
    if let Some(expected) = step.expected_status {
        let _ = writeln!(
            s,
            "**Expected.** the rows above become {}.\n",
            expected.as_str()
        );
    }
    if let Some(verify) = &step.verify {
        let _ = writeln!(s, "**Verify.** {}\n", code(verify));
    }
    if !step.backout.is_empty() {
        let _ = write!(s, "**Backout.** {}", text(&step.backout));
        if let Some(scripts) = &step.scripts {
            let _ = write!(s, ": {}", code(&scripts.backout));
        }
        s.push_str("\n\n");
    }
    if !step.backout_commands.is_empty() {
        s.push_str(&block("sh", &step.backout_commands.join("\n")));
        s.push('\n');
    }
    if !step.notes.is_empty() {
        s.push_str("**Notes.**\n\n");
        for note in &step.notes {
            let _ = writeln!(s, "- {}", text(note));
        }
        s.push('\n');
    }
}

fn alternatives(plan: &Plan, s: &mut String) {
    if plan.alternatives.is_empty() {
        return;
    }
    s.push_str("\n## Alternatives\n");
    for alternative in &plan.alternatives {
        let _ = writeln!(
            s,
            "\n### {} · {}\n\n<a id=\"{}\"></a>\n\n{} Instead of {}; in account {}, region {}, with {}.\n",
            alternative.id,
            text(&alternative.title),
            alternative.id,
            text(&alternative.description),
            alternative
                .instead_of
                .iter()
                .map(|d| format!("[{d}](#{d})"))
                .collect::<Vec<_>>()
                .join(", "),
            text(&alternative.account_id),
            text(&alternative.region),
            alternative
                .templates
                .iter()
                .map(|t| code(t))
                .collect::<Vec<_>>()
                .join(", ")
        );
        s.push_str(&block("sh", &alternative.commands.join("\n")));
        s.push_str("\nBackout:\n\n");
        s.push_str(&block("sh", &alternative.backout_commands.join("\n")));
    }
}

fn accepted(plan: &Plan, s: &mut String) {
    if plan.accepted.is_empty() {
        return;
    }
    s.push_str("\n## Accepted by an exception, not planned\n\n");
    for row in &plan.accepted {
        let _ = writeln!(
            s,
            "- <a id=\"{}\"></a>{} · {} ({}) · {}: {}",
            row.anchor,
            code(row.check_id.as_str()),
            text(&row.account_name),
            text(&row.account_id),
            text(&row.region),
            text(&row.detail)
        );
    }
}

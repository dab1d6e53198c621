//! All integration tests build into this one binary: each test binary links
//! the whole AWS SDK, and one link is much faster than many on two cores.

#[path = "../support/mod.rs"]
mod support;

mod access;
mod changes;
mod changes_golden;
mod checks_alerting;
mod checks_alerting_links;
mod checks_config;
mod checks_keys;
mod checks_trails;
mod cli;
mod diff;
mod event_pattern_vs_moto;
mod evidence;
mod exceptions;
mod failures;
mod faults;
mod first_run;
mod heartbeat;
mod iam_templates;
mod imports;
mod notify;
mod ocsf;
mod operations_doc;
mod org_role;
mod ous;
mod pagination;
mod plan_cli;
mod plan_e2e;
mod report_html;
mod runner_template;
mod sample_org_cli;
mod security_hub;

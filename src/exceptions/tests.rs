//! The exceptions file's every bad-input message, matching and expiry, and
//! what the judge marks and counts.

use time::{Date, Month};

use super::file::{Exception, ExceptionsError, DEFAULT_MAX_DAYS, MAX_FILE_BYTES};
use super::matching::{AccountPattern, CheckPattern, RegionPattern, ResourcePattern};
use super::*;
use crate::checks::catalog::CheckId;
use crate::checks::fixtures;

fn day(y: i32, m: Month, d: u8) -> Date {
    Date::from_calendar_date(y, m, d).expect("a date")
}

/// The day the tests read files on.
fn today() -> Date {
    day(2026, Month::November, 28)
}

const VALID: &str = "\
max_days: 400
exceptions:
  - id: sandbox-no-config
    accounts: [\"111122223333\", ou-ab12-workload]
    regions: [\"*\"]
    checks: [config.kms_key_recording]
    resources: [\"*\"]
    reason: Sandbox accounts are rebuilt nightly; no recorder by design
    approved_by: security-lead@example.com
    ticket: SEC-1234
    expires: 2027-03-31
  - id: migration.keys_2026
    accounts: [\"*\"]
    regions: [eu-west-1]
    checks: [kms.key_state]
    resources:
      - arn:aws:kms:eu-west-1:*:key/*
      - arn:aws:kms:us-east-1:111122223333:key/exact
    reason: >
      Keys retired during the database migration
    approved_by: cto@example.com
    expires: 2026-12-31
";

fn parse(text: &str) -> Result<Exceptions, ExceptionsError> {
    Exceptions::parse("exceptions.yaml", text.as_bytes(), today())
}

/// The message for `text`, asserting it names the file and `line`.
fn error(text: &str, line: Option<u32>) -> String {
    let err = parse(text).expect_err("the file must be refused");
    assert_eq!(err.file, "exceptions.yaml");
    assert_eq!(err.line, line, "{err}");
    let message = err.to_string();
    let at = match line {
        Some(line) => format!("exceptions file exceptions.yaml, line {line}: "),
        None => "exceptions file exceptions.yaml: ".to_string(),
    };
    assert!(message.starts_with(&at), "{message}");
    message
}

/// A one-exception file with `field: value` replacing (or, with an empty
/// value, removing) that field.
fn with(field: &str, value: &str) -> String {
    let fields = [
        ("id", "sandbox"),
        ("accounts", "[\"111122223333\"]"),
        ("regions", "[eu-west-1]"),
        ("checks", "[config.kms_key_recording]"),
        ("reason", "by design"),
        ("approved_by", "lead@example.com"),
        ("expires", "2027-01-31"),
    ];
    let mut text = String::from("exceptions:\n");
    let mut first = true;
    for (name, default) in fields {
        let value = if name == field { value } else { default };
        if value.is_empty() {
            continue;
        }
        text.push_str(if first { "  - " } else { "    " });
        first = false;
        text.push_str(&format!("{name}: {value}\n"));
    }
    if !fields.iter().any(|(name, _)| *name == field) {
        text.push_str(&format!("    {field}: {value}\n"));
    }
    text
}

#[test]
fn a_valid_file_reads_with_every_field_and_its_digest() {
    let file = parse(VALID).expect("valid");
    assert_eq!(file.max_days, 400);
    assert_eq!(file.source, "exceptions.yaml");
    assert_eq!(file.text, VALID);
    assert_eq!(file.sha256.len(), 64);
    assert_eq!(file.sha256, file::sha256_hex(VALID.as_bytes()));
    let [sandbox, migration] = &file.entries[..] else {
        panic!("two entries: {:?}", file.entries)
    };
    assert_eq!(sandbox.id, "sandbox-no-config");
    assert_eq!(sandbox.line, 3);
    assert_eq!(
        sandbox.accounts,
        [
            AccountPattern::Account("111122223333".into()),
            AccountPattern::Ou("ou-ab12-workload".into())
        ]
    );
    assert_eq!(sandbox.regions, [RegionPattern::Any]);
    assert_eq!(
        sandbox.checks,
        [CheckPattern::Check(CheckId::KmsKeyRecording)]
    );
    assert_eq!(sandbox.ticket.as_deref(), Some("SEC-1234"));
    assert_eq!(sandbox.expires, day(2027, Month::March, 31));
    assert_eq!(migration.line, 12);
    assert_eq!(
        migration.reason,
        "Keys retired during the database migration"
    );
    assert_eq!(migration.ticket, None);
    assert_eq!(
        migration.resources,
        [
            ResourcePattern::Glob("arn:aws:kms:eu-west-1:*:key/*".into()),
            ResourcePattern::Exact("arn:aws:kms:us-east-1:111122223333:key/exact".into())
        ]
    );
    // `resources` defaults to every resource.
    let file = parse(&with("ticket", "SEC-1")).expect("valid");
    assert_eq!(file.entries[0].resources, [ResourcePattern::Any]);
    assert_eq!(file.max_days, DEFAULT_MAX_DAYS);
    // An empty list accepts nothing and is no error.
    assert!(parse("exceptions: []\n").expect("valid").entries.is_empty());
}

#[test]
fn account_ids_read_as_text_quoted_or_not() {
    // A plain 12-digit scalar is a YAML integer; its leading zero must survive.
    let file = parse(&with("accounts", "[012345678901, 111122223333]")).expect("valid");
    assert_eq!(
        file.entries[0].accounts,
        [
            AccountPattern::Account("012345678901".into()),
            AccountPattern::Account("111122223333".into())
        ]
    );
}

#[test]
fn invalid_yaml_is_named_at_its_line() {
    let message = error(
        "exceptions:\n  - id: \"unterminated\n    reason: x\n",
        Some(2),
    );
    assert!(message.ends_with(": unclosed quote"), "{message}");
    let message = error("exceptions:\n  - id: a\n   reason: bad indent\n", Some(3));
    assert!(
        message.contains("did not find expected '-' indicator"),
        "{message}"
    );
    let message = error("exceptions:\n  - id: [unclosed\n", Some(2));
    assert!(message.ends_with(": expected string scalar"), "{message}");
    // The parser's own location and hints are not repeated.
    let message = error("exceptions:\n  - id: a\n    id: b\n", Some(3));
    assert!(
        message.ends_with(": duplicate mapping key: id"),
        "{message}"
    );
}

#[test]
fn unknown_fields_are_named_at_their_line() {
    let message = error(&with("approver", "someone"), Some(9));
    assert!(message.contains("`approver`"), "{message}");
    let message = error("exception:\n  - id: x\n", Some(1));
    // Every message names the "exceptions file": the field is quoted.
    assert!(message.contains("unknown field `exception`"), "{message}");
}

#[test]
fn a_file_without_a_list_or_of_the_wrong_shape_is_refused() {
    assert!(error("max_days: 10\n", Some(1)).ends_with("no `exceptions:` list"));
    let message = error("exceptions: sandbox\n", Some(1));
    assert!(
        message.contains("sequence") || message.contains("list"),
        "{message}"
    );
    let message = error(&with("accounts", "\"111122223333\""), Some(3));
    assert!(
        message.contains("sequence") || message.contains("list"),
        "{message}"
    );
}

#[test]
fn unknown_check_ids_are_named_with_the_known_ones() {
    let message = error(
        &with("checks", "[config.kms_key_recording, config.recorder]"),
        Some(5),
    );
    assert!(
        message.ends_with(
            "unknown check id \"config.recorder\"; the checks are scan.account_access, \
             cloudtrail.kms_events_logged, config.kms_key_recording, alerting.kms_disable_delete, \
             kms.key_state, kms.recent_disable_delete_events"
        ),
        "{message}"
    );
}

#[test]
fn malformed_accounts_ous_and_regions_are_named() {
    for bad in ["\"11112222333\"", "ou-ab12", "\"prod\"", "OU-AB12-CDEF3456"] {
        let message = error(&with("accounts", &format!("[{bad}]")), Some(3));
        assert!(
            message.ends_with(
                "is not an account id (12 digits), an OU id (ou-…-…), a root id (r-…) or \"*\""
            ),
            "{message}"
        );
    }
    let message = error(&with("regions", "[eu-west-1, Europe]"), Some(4));
    assert!(
        message.ends_with("\"Europe\" is not a region name (such as eu-west-1) or \"*\""),
        "{message}"
    );
    let message = error(&with("regions", "[]"), Some(4));
    assert!(
        message.ends_with("`regions` is an empty list: name at least one value, or \"*\""),
        "{message}"
    );
}

#[test]
fn missing_reason_approver_or_expiry_is_named_at_the_entry() {
    for field in [
        "id",
        "accounts",
        "regions",
        "checks",
        "reason",
        "approved_by",
        "expires",
    ] {
        let message = error(&with(field, ""), Some(2));
        assert!(
            message.ends_with(&format!("`{field}` is missing")),
            "{message}"
        );
    }
    let message = error(&with("reason", "\"  \""), Some(6));
    assert!(message.ends_with("`reason` is empty"), "{message}");
    let message = error(&with("approved_by", "\"a\\u0007b\""), Some(7));
    assert!(
        message.ends_with("`approved_by` contains a control character"),
        "{message}"
    );
    let message = error(&with("reason", "~"), Some(2));
    assert!(message.ends_with("`reason` is missing"), "{message}");
}

#[test]
fn ids_must_be_well_formed_and_unique() {
    let message = error(&with("id", "\"-sandbox\""), Some(2));
    assert!(
        message.contains("id \"-sandbox\" is not valid"),
        "{message}"
    );
    let message = error(&with("id", "\"has space\""), Some(2));
    assert!(message.contains("is not valid"), "{message}");
    let entry = with("ticket", "T-1");
    let twice = format!("{entry}{}", entry.trim_start_matches("exceptions:\n"));
    let message = error(&twice, Some(10));
    assert!(
        message.ends_with("id \"sandbox\" is used twice (first on line 2)"),
        "{message}"
    );
}

#[test]
fn expiry_must_be_a_date_within_the_window() {
    for bad in [
        "2027-02-30",
        "31/01/2027",
        "2027-1-31",
        "tomorrow",
        "2027-01-31T00:00:00Z",
    ] {
        let message = error(&with("expires", bad), Some(8));
        assert!(
            message.ends_with(&format!(
                "`expires` {bad:?} is not a date: write YYYY-MM-DD"
            )),
            "{message}"
        );
    }
    // 365 days after 2026-11-28 is 2027-11-28: allowed, the next day not.
    assert!(parse(&with("expires", "2027-11-28")).is_ok());
    let message = error(&with("expires", "2027-11-29"), Some(8));
    assert!(
        message.ends_with(
            "`expires` 2027-11-29 is more than 365 days after 2026-11-28, the latest allowed \
             is 2027-11-28; a longer window needs `max_days` at the top of the file"
        ),
        "{message}"
    );
    let longer = format!("max_days: 730\n{}", with("expires", "2028-11-27"));
    assert!(parse(&longer).is_ok());
    // A past date is an expired exception, not an error.
    assert!(parse(&with("expires", "2020-01-01")).is_ok());
    for days in ["0", "3651", "-5"] {
        let message = error(&format!("max_days: {days}\nexceptions: []\n"), Some(1));
        assert!(
            message.contains(&format!("`max_days` is {days}")),
            "{message}"
        );
    }
}

#[test]
fn files_that_are_not_text_or_too_large_are_refused_whole() {
    let err = Exceptions::parse("x.yaml", b"exceptions: [\xff]\n", today()).unwrap_err();
    assert_eq!(err.to_string(), "exceptions file x.yaml: not UTF-8 text");
    let big = vec![b'#'; MAX_FILE_BYTES + 1];
    let err = Exceptions::parse("x.yaml", &big, today()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "exceptions file x.yaml: larger than 1048576 bytes"
    );
}

fn exception(
    accounts: &[&str],
    regions: &[&str],
    checks: &[&str],
    resources: &[&str],
) -> Exception {
    Exception {
        id: "e".into(),
        line: 1,
        accounts: accounts
            .iter()
            .map(|a| AccountPattern::parse(a).unwrap())
            .collect(),
        regions: regions
            .iter()
            .map(|r| RegionPattern::parse(r).unwrap())
            .collect(),
        checks: checks
            .iter()
            .map(|c| CheckPattern::parse(c).unwrap())
            .collect(),
        resources: resources
            .iter()
            .map(|r| ResourcePattern::parse(r))
            .collect(),
        reason: "r".into(),
        approved_by: "a".into(),
        ticket: None,
        expires: today(),
    }
}

const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd";

fn subject<'a>(
    ou_ids: &'a [String],
    region: &'a str,
    check: CheckId,
    resource: &'a str,
) -> Subject<'a> {
    Subject {
        account_id: "111122223333",
        ou_ids,
        region,
        check,
        resource_id: resource,
    }
}

#[test]
fn matching_by_account_ou_region_check_and_resource() {
    let ous = vec![
        "r-ab12".to_string(),
        "ou-ab12-workload".to_string(),
        "ou-ab12-prod0001".to_string(),
    ];
    let row = subject(&ous, "eu-west-1", CheckId::KeyState, KEY);
    let all = ["*"];
    let fits = |e: Exception| e.matches(&row);
    assert!(fits(exception(&all, &all, &all, &all)));
    assert!(fits(exception(&["111122223333"], &all, &all, &all)));
    assert!(!fits(exception(&["444455556666"], &all, &all, &all)));
    // An OU matches every account under it, however deep; the root too.
    assert!(fits(exception(&["ou-ab12-workload"], &all, &all, &all)));
    assert!(fits(exception(&["r-ab12"], &all, &all, &all)));
    assert!(!fits(exception(&["ou-ab12-dev00001"], &all, &all, &all)));
    // Any entry of a list may fit.
    assert!(fits(exception(
        &["444455556666", "ou-ab12-prod0001"],
        &all,
        &all,
        &all
    )));
    assert!(fits(exception(&all, &["eu-west-1"], &all, &all)));
    assert!(!fits(exception(&all, &["us-east-1"], &all, &all)));
    assert!(fits(exception(&all, &all, &["kms.key_state"], &all)));
    assert!(!fits(exception(
        &all,
        &all,
        &["config.kms_key_recording"],
        &all
    )));
    assert!(fits(exception(&all, &all, &all, &[KEY])));
    assert!(fits(exception(
        &all,
        &all,
        &all,
        &["arn:aws:kms:*:111122223333:key/*"]
    )));
    assert!(fits(exception(
        &all,
        &all,
        &all,
        &["arn:aws:kms:eu-west-?:*"]
    )));
    assert!(!fits(exception(&all, &all, &all, &["arn:aws:kms:us-*"])));
    assert!(!fits(exception(
        &all,
        &all,
        &all,
        &["arn:aws:kms:eu-west-1:111122223333:key/1234"]
    )));
    // Every field must fit.
    assert!(!fits(exception(
        &["111122223333"],
        &["us-east-1"],
        &all,
        &all
    )));
    // A row without a resource fits only `*`.
    let regional = subject(&ous, "eu-west-1", CheckId::KmsKeyRecording, "");
    assert!(exception(&all, &all, &all, &all).matches(&regional));
    assert!(!exception(&all, &all, &all, &["arn:*"]).matches(&regional));
    // Account-wide rows (region `global`) fit only a `*` region.
    let access = subject(&ous, "global", CheckId::AccountAccess, "");
    assert!(exception(&all, &all, &all, &all).matches(&access));
    assert!(!exception(&all, &["eu-west-1"], &all, &all).matches(&access));
    // Facts written before OUs were listed: no OU fits.
    let no_ous = subject(&[], "eu-west-1", CheckId::KeyState, KEY);
    assert!(!exception(&["r-ab12"], &all, &all, &all).matches(&no_ous));
}

#[test]
fn expiry_is_inclusive_and_judged_in_utc_days() {
    let mut e = exception(&["*"], &["*"], &["*"], &["*"]);
    e.expires = day(2026, Month::November, 28);
    let yesterday = day(2026, Month::November, 27);
    let tomorrow = day(2026, Month::November, 29);
    assert_eq!(e.state_on(yesterday), ExceptionState::Active);
    assert_eq!(
        e.state_on(today()),
        ExceptionState::Active,
        "the expiry day itself counts"
    );
    assert_eq!(e.state_on(tomorrow), ExceptionState::Expired);
    // Expiring yesterday: expired today; tomorrow: active today.
    e.expires = yesterday;
    assert_eq!(e.state_on(today()), ExceptionState::Expired);
    e.expires = tomorrow;
    assert_eq!(e.state_on(today()), ExceptionState::Active);
    // The scan's day is read from its UTC scan time, whatever the clock says.
    assert_eq!(day_of("2026-11-28T23:59:59Z"), Some(today()));
    assert_eq!(day_of("2026-11-29T00:00:00Z"), Some(tomorrow));
    assert_eq!(day_of("garbage"), None);
}

fn finding(region: &str, check: CheckId, status: Status, resource: &str) -> Finding {
    Finding {
        region: region.into(),
        resource_id: resource.into(),
        ..fixtures::finding(check, status)
    }
}

fn entry(id: &str, accounts: &str, checks: &str, expires: &str) -> String {
    format!(
        "  - id: {id}\n    accounts: [{accounts}]\n    regions: [\"*\"]\n    checks: [{checks}]\n    \
         reason: r\n    approved_by: a\n    expires: {expires}\n"
    )
}

#[test]
fn the_judge_marks_rows_keeps_statuses_and_counts_apart() {
    let text = [
        "exceptions:\n".to_string(),
        // Expired: listed first, yet an active exception on the same row wins.
        entry("old-keys", "\"*\"", "kms.key_state", "2026-10-31"),
        entry(
            "workload-keys",
            "ou-ab12-workload",
            "kms.key_state",
            "2027-01-31",
        ),
        // Expired and alone on its row: flags it, accepts nothing.
        entry(
            "old-config",
            "\"111122223333\"",
            "config.kms_key_recording",
            "2026-11-27",
        ),
        // Matches only an ERROR row: reported, never accepted.
        entry(
            "alerting",
            "\"111122223333\"",
            "alerting.kms_disable_delete",
            "2026-12-31",
        ),
        // Matches nothing.
        entry("stale", "\"999999999999\"", "\"*\"", "2026-12-31"),
    ]
    .concat();
    let file = parse(&text).expect("valid");
    let mut judge = Judge::new(file, today());
    let account = fixtures::account(fixtures::empty_region());
    let mut findings = vec![
        finding("us-east-1", CheckId::KeyState, Status::Fail, KEY),
        finding("us-east-1", CheckId::KeyState, Status::Warn, KEY),
        finding("us-east-1", CheckId::KeyState, Status::Pass, KEY),
        finding("us-east-1", CheckId::KmsKeyRecording, Status::Fail, ""),
        finding(
            "us-east-1",
            CheckId::KmsDisableDeleteAlerting,
            Status::Error,
            "",
        ),
        finding("us-east-1", CheckId::KmsEventsLogged, Status::Fail, ""),
    ];
    let statuses: Vec<Status> = findings.iter().map(|f| f.status).collect();
    judge.apply(&account, &mut findings);
    assert_eq!(
        statuses,
        findings.iter().map(|f| f.status).collect::<Vec<_>>()
    );
    let marks: Vec<Option<(&str, ExceptionState)>> = findings
        .iter()
        .map(|f| f.exception.as_ref().map(|m| (m.id.as_str(), m.state)))
        .collect();
    use ExceptionState::{Active, Expired};
    assert_eq!(
        marks,
        [
            Some(("workload-keys", Active)),
            Some(("workload-keys", Active)),
            Some(("workload-keys", Active)),
            Some(("old-config", Expired)),
            None,
            None,
        ]
    );
    let summary = judge.finish();
    let counts = |c: &StatusCounts| Status::ALL.map(|s| c.get(s));
    assert_eq!(counts(&summary.accepted_rows), [1, 1, 1, 0]);
    assert_eq!(counts(&summary.expired_rows), [0, 1, 0, 0]);
    assert_eq!(summary.stale, ["stale"]);
    assert_eq!(summary.expired, ["old-keys", "old-config"]);
    assert_eq!(summary.matching_errors, ["alerting"]);
    assert_eq!(summary.as_of, today());
    // Each exception counts every row it matches, marked with it or not.
    assert_eq!(counts(&summary.exceptions[0].rows), [1, 1, 1, 0]);
    assert_eq!(counts(&summary.exceptions[3].rows), [0, 0, 0, 1]);
    let json = serde_json::to_value(&summary).expect("json");
    assert_eq!(json["as_of"], "2026-11-28");
    assert_eq!(json["exceptions"][0]["expires"], "2026-10-31");
    assert_eq!(json["exceptions"][0]["state"], "expired");
    assert_eq!(json["accepted_rows"]["FAIL"], 1);
}

#[test]
fn kept_exceptions_read_back_as_the_same_file() {
    let file = parse(VALID).expect("valid");
    let stored = file.stored();
    assert_eq!(stored.sha256, file.sha256);
    let back = Exceptions::from_stored(&stored, today()).expect("valid");
    assert_eq!(back, file);
    // A kept text that no longer has its recorded digest is refused.
    let altered = StoredExceptions {
        text: stored.text.replace("2027-03-31", "2027-06-30"),
        ..stored
    };
    let err = Exceptions::from_stored(&altered, today()).unwrap_err();
    assert!(!err.is_usage());
    assert!(
        err.to_string().starts_with(&format!(
            "the exceptions file exceptions.yaml kept in the facts has SHA-256 {}, but the scan recorded {}",
            file::sha256_hex(altered.text.as_bytes()),
            file.sha256
        )),
        "{err}"
    );
}

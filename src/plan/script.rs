//! The bash every script of a plan shares: a header that says what it
//! does, its options (the AWS profile and any value the plan could not
//! know), the guard that it runs in the right account, and the quoting of
//! every value from AWS.
//!
//! Everything from the evidence is untrusted (names, ARNs, account ids
//! from a facts file anyone may have edited): it reaches bash only inside
//! single quotes ([`sh_quote`]), and comments only on one line
//! ([`comment`]).

use std::fmt::Write as _;

/// The exit codes every script uses, as plan.md and plan.json state them.
pub const EXIT_CODES: [(u8, &str); 5] = [
    (0, "done, or nothing to do (already applied, or already backed out)"),
    (2, "usage: an unknown option, a missing value, or a missing tool (aws, python3)"),
    (3, "the credentials are for another account than the step's: nothing changed"),
    (4, "the live state is not what the plan expects (stale plan, or changed since): nothing changed"),
    (5, "changed, but the result does not read back as planned: see the message, then re-scan"),
];

/// What any other exit code means: the AWS CLI's own, after its message.
pub const OTHER_EXIT: &str =
    "an AWS call failed (the AWS CLI's message above): re-run it, or run the backout";

/// `value` as one bash word, taken literally: single quotes, with each
/// `'` written as `'\''`. Safe for any text without NUL.
pub fn sh_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// `value` on one comment line: control characters (line breaks among
/// them, and Unicode's line and paragraph separators) become `?`.
pub fn comment(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                '?'
            } else {
                c
            }
        })
        .collect()
}

/// Apply or backout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Apply,
    Backout,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Apply => "apply",
            Direction::Backout => "backout",
        }
    }
}

/// An option a script takes beside `--profile`.
#[derive(Debug, Clone)]
pub struct ScriptOption {
    /// e.g. `--alert-email`.
    pub flag: &'static str,
    /// The bash variable it sets.
    pub var: &'static str,
    /// `Some(help)` for an option with a value (`NAME` in the usage);
    /// `None` for a switch, which sets the variable to `true`.
    pub value: Option<&'static str>,
    /// The value when the option is not given (set by the plan).
    pub default: Option<String>,
    /// The script refuses to run without a value.
    pub required: bool,
}

/// What every script starts with.
pub struct Preamble<'a> {
    /// `scripts/<account>/<region>/<name>.<direction>.sh`.
    pub path: &'a str,
    pub direction: Direction,
    /// Step id and what it is, e.g. `s004: config.kms_key_recording in …`.
    pub title: String,
    /// The plan's provenance: scan id, scan time, facts digest.
    pub provenance: String,
    /// What the script does, in a few lines.
    pub what: Vec<String>,
    pub account_id: &'a str,
    pub region: &'a str,
    pub permissions: &'a [&'static str],
    pub options: Vec<ScriptOption>,
    /// With `--delegated-admin`, the script runs in a delegated
    /// administrator account for the management account (its StackSet
    /// calls say `--call-as DELEGATED_ADMIN`) and does not insist on
    /// `account_id`.
    pub delegated_admin: bool,
}

impl Preamble<'_> {
    pub fn render(&self) -> String {
        let mut options = self.options.clone();
        if self.direction == Direction::Backout {
            options.push(ScriptOption {
                flag: "--force",
                var: "force",
                value: None,
                default: None,
                required: false,
            });
        }
        if self.delegated_admin {
            options.push(ScriptOption {
                flag: "--delegated-admin",
                var: "delegated_admin",
                value: None,
                default: None,
                required: false,
            });
        }
        let usage: String = options
            .iter()
            .map(|o| match o.value {
                Some(name) if o.required && o.default.is_none() => format!(" {} {name}", o.flag),
                Some(name) => format!(" [{} {name}]", o.flag),
                None => format!(" [{}]", o.flag),
            })
            .collect();
        let mut s = String::new();
        let _ = writeln!(s, "#!/usr/bin/env bash");
        let _ = writeln!(s, "# cmkscan plan, {}", comment(&self.title));
        let _ = writeln!(
            s,
            "# {} script: {}",
            self.direction.as_str(),
            comment(self.path)
        );
        let _ = writeln!(s, "# {}", comment(&self.provenance));
        for line in &self.what {
            let _ = writeln!(s, "# {}", comment(line));
        }
        let _ = writeln!(
            s,
            "# Run with credentials of account {}{} allowed: {}.",
            comment(self.account_id),
            if self.delegated_admin {
                " (or, with --delegated-admin, of its delegated administrator)"
            } else {
                ""
            },
            self.permissions.join(", ")
        );
        let _ = writeln!(s, "# Usage: {} [--profile NAME]{usage}", comment(self.path));
        if self.direction == Direction::Backout {
            let _ = writeln!(
                s,
                "# --force puts the evidence's state back even over a state that is not the plan's."
            );
        }
        let _ = writeln!(s, "# Exit codes:");
        for (code, meaning) in EXIT_CODES {
            let _ = writeln!(s, "#   {code}  {meaning}");
        }
        let _ = writeln!(s, "#   other  {OTHER_EXIT}");
        s.push_str("set -euo pipefail\nexport AWS_PAGER=\"\"\n");
        let _ = writeln!(s, "ACCOUNT={}", sh_quote(self.account_id));
        let _ = writeln!(s, "REGION={}", sh_quote(self.region));
        s.push_str("profile=()\n");
        for option in &options {
            match (&option.value, &option.default) {
                (Some(_), Some(default)) => {
                    let _ = writeln!(s, "{}={}", option.var, sh_quote(default));
                }
                (Some(_), None) => {
                    let _ = writeln!(s, "{}=''", option.var);
                }
                (None, _) => {
                    let _ = writeln!(s, "{}=false", option.var);
                }
            }
        }
        let _ = writeln!(
            s,
            "usage() {{ echo \"usage: $0 [--profile NAME]{usage}\" >&2; exit 2; }}"
        );
        s.push_str("while [ $# -gt 0 ]; do\n  case \"$1\" in\n");
        s.push_str(
            "    --profile) [ $# -ge 2 ] || usage; profile=(--profile \"$2\"); shift 2 ;;\n",
        );
        for option in &options {
            match option.value {
                Some(_) => {
                    let _ = writeln!(
                        s,
                        "    {}) [ $# -ge 2 ] || usage; {}=\"$2\"; shift 2 ;;",
                        option.flag, option.var
                    );
                }
                None => {
                    let _ = writeln!(s, "    {}) {}=true; shift ;;", option.flag, option.var);
                }
            }
        }
        s.push_str("    *) usage ;;\n  esac\ndone\n");
        for option in options.iter().filter(|o| o.required) {
            let _ = writeln!(
                s,
                "[ -n \"${}\" ] || {{ echo \"{} is required\" >&2; usage; }}",
                option.var, option.flag
            );
        }
        s.push_str(
            "for tool in aws python3; do\n  command -v \"$tool\" >/dev/null 2>&1 || { echo \"$tool is needed and was not found\" >&2; exit 2; }\ndone\n",
        );
        s.push_str(
            "awsr() { aws ${profile[@]+\"${profile[@]}\"} --region \"$REGION\" --output json \"$@\"; }\n",
        );
        s.push_str("work=$(mktemp -d)\ntrap 'rm -rf \"$work\"' EXIT\n");
        s.push_str("caller=$(awsr sts get-caller-identity --query Account --output text)\n");
        let guard = "if [ \"$caller\" != \"$ACCOUNT\" ]; then\n  echo \"these credentials are for account $caller, not $ACCOUNT: nothing changed\" >&2\n  exit 3\nfi\n";
        if self.delegated_admin {
            s.push_str("call_as=()\nif [ \"$delegated_admin\" = true ]; then\n  call_as=(--call-as DELEGATED_ADMIN)\n  echo \"running as the delegated administrator $caller for the management account $ACCOUNT\"\nelse\n");
            for line in guard.lines() {
                let _ = writeln!(s, "  {line}");
            }
            s.push_str("fi\n");
        } else {
            s.push_str(guard);
        }
        s
    }
}

/// A bash function `same_as FILE` that compares the JSON state in
/// `$work/live.json` with the JSON in FILE: exit 0 when equal, else both
/// on stderr and exit 1. Both sides are written canonically (lists sorted
/// by the planner and by `normalize`), so this is JSON equality.
pub const SAME_AS: &str = r#"same_as() {
  python3 - "$work/live.json" "$1" <<'PY'
import json, sys
live, expected = (json.load(open(path)) for path in sys.argv[1:3])
if live != expected:
    print("expected: " + json.dumps(expected, sort_keys=True), file=sys.stderr)
    print("live:     " + json.dumps(live, sort_keys=True), file=sys.stderr)
    sys.exit(1)
PY
}
"#;

/// Writes `json` (a value the planner serialised) to `$work/<name>.json`
/// from a single-quoted literal.
pub fn write_json_file(name: &str, json: &str) -> String {
    format!(
        "printf '%s\\n' {} > \"$work/{name}.json\"\n",
        sh_quote(json)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `script` with bash and returns its stdout.
    fn bash(script: &str) -> String {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(script)
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn quoted_values_reach_bash_literally() {
        for hostile in [
            "plain",
            "it's",
            "$(touch /tmp/cmkscan-pwned)",
            "`id`",
            "a\nb",
            "'; rm -rf / #",
            "\\'",
            "",
        ] {
            let script = format!("printf '%s' {}", sh_quote(hostile));
            assert_eq!(bash(&script), hostile);
        }
        assert!(!std::path::Path::new("/tmp/cmkscan-pwned").exists());
    }

    #[test]
    fn comments_stay_on_one_line() {
        assert_eq!(comment("a\nrm -rf /\r\u{2028}b"), "a?rm -rf /??b");
    }

    #[test]
    fn the_preamble_parses_its_options_and_refuses_others() {
        let preamble = Preamble {
            path: "scripts/x.apply.sh",
            direction: Direction::Backout,
            title: "s001: test".into(),
            provenance: "scan x".into(),
            what: vec!["line\nbreak".into()],
            account_id: "111122223333",
            region: "eu-west-1",
            permissions: &["config:DescribeConfigurationRecorders"],
            options: vec![ScriptOption {
                flag: "--alert-email",
                var: "alert_email",
                value: Some("ADDRESS"),
                default: Some("it's@example.com".into()),
                required: true,
            }],
            delegated_admin: false,
        }
        .render();
        assert!(preamble.contains("# line?break\n"), "{preamble}");
        // Everything up to the AWS calls, with the options parsed.
        let head = preamble.split("for tool in").next().unwrap();
        let run = |args: &str| {
            std::process::Command::new("bash")
                .arg("-c")
                .arg(format!(
                    "set -- {args}\n{head}\necho \"$alert_email|$force|${{profile[*]-}}\""
                ))
                .output()
                .unwrap()
        };
        let out = run("--profile p --force");
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "it's@example.com|true|--profile p\n"
        );
        assert_eq!(run("--bogus").status.code(), Some(2));
        assert_eq!(run("--profile").status.code(), Some(2));
    }
}

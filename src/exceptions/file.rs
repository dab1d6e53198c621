//! The exceptions file: YAML read into validated [`Exceptions`], or an
//! [`ExceptionsError`] naming the file, the line and what is wrong. Nothing
//! here calls AWS, so a bad file stops a scan before its first request.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;
use sha2::{Digest, Sha256};
use time::Date;

use super::matching::{AccountPattern, CheckPattern, RegionPattern, ResourcePattern};
use crate::checks::catalog::CheckId;

/// The window `expires` may reach into, in days after the day the file is
/// read, unless the file's `max_days` says otherwise: an accepted risk is
/// reviewed at least once a year.
pub const DEFAULT_MAX_DAYS: u32 = 365;
/// The most `max_days` may allow.
pub const MAX_MAX_DAYS: u32 = 3650;
/// A reviewed list of accepted risks is small; anything larger is a mistake
/// (or an attempt to make the parser work hard).
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// Longest `reason`, `approved_by` or `ticket`.
const MAX_TEXT_CHARS: usize = 2000;
/// Longest resource pattern: an ARN is at most 2,048 characters.
const MAX_RESOURCE_CHARS: usize = 2048;
/// Longest exception id: ids land in every matched row.
const MAX_ID_CHARS: usize = 64;

/// A validated exceptions file, with the text it was read from (kept with
/// the evidence) and that text's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceptions {
    /// Where it was read from, as given: a path or `s3://bucket/key`.
    pub source: String,
    /// SHA-256 of `text`, lowercase hex.
    pub sha256: String,
    pub max_days: u32,
    /// In file order: a row several exceptions match takes the first.
    pub entries: Vec<Exception>,
    /// The file as read, byte for byte.
    pub text: String,
}

/// One accepted risk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    pub id: String,
    /// Where its entry starts in the file.
    pub line: u32,
    pub accounts: Vec<AccountPattern>,
    pub regions: Vec<RegionPattern>,
    pub checks: Vec<CheckPattern>,
    pub resources: Vec<ResourcePattern>,
    pub reason: String,
    pub approved_by: String,
    pub ticket: Option<String>,
    /// The last day (UTC) it accepts anything.
    pub expires: Date,
}

/// What is wrong with an exceptions file, and where.
#[derive(Debug, thiserror::Error)]
#[error("exceptions file {file}{}: {problem}", .line.map(|l| format!(", line {l}")).unwrap_or_default())]
pub struct ExceptionsError {
    pub file: String,
    /// 1-based; `None` when the problem is the file as a whole.
    pub line: Option<u32>,
    pub problem: Problem,
}

/// The ways an exceptions file can be wrong. The messages are the contract
/// users read on stderr (docs/report-format.md).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    #[error("cannot read it: {0}")]
    Unreadable(String),
    #[error("larger than {MAX_FILE_BYTES} bytes")]
    TooLarge,
    #[error("not UTF-8 text")]
    NotUtf8,
    /// Not valid YAML, an unknown field, a value of the wrong type: the
    /// parser's own words.
    #[error("{0}")]
    Yaml(String),
    #[error("no `exceptions:` list")]
    NoList,
    #[error("`max_days` is {0}: it must be 1 to {MAX_MAX_DAYS}")]
    MaxDays(i64),
    #[error("`{field}` is missing")]
    Missing { field: &'static str },
    #[error("`{field}` is an empty list: name at least one value, or \"*\"")]
    EmptyList { field: &'static str },
    #[error("`{field}` is empty")]
    Blank { field: &'static str },
    #[error("`{field}` contains a control character")]
    ControlCharacter { field: &'static str },
    #[error("`{field}` is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("id {0:?} is not valid: 1 to {MAX_ID_CHARS} letters, digits, '.', '_' or '-', starting with a letter or a digit")]
    Id(String),
    #[error("id {id:?} is used twice (first on line {first})")]
    DuplicateId { id: String, first: u32 },
    #[error("{0:?} is not an account id (12 digits), an OU id (ou-…-…), a root id (r-…) or \"*\"")]
    Account(String),
    #[error("{0:?} is not a region name (such as eu-west-1) or \"*\"")]
    Region(String),
    #[error("unknown check id {value:?}; the checks are {known}")]
    Check { value: String, known: String },
    #[error("`expires` {0:?} is not a date: write YYYY-MM-DD")]
    Date(String),
    #[error("`expires` {expires} is more than {max_days} days after {today}, the latest allowed is {latest}; a longer window needs `max_days` at the top of the file")]
    BeyondWindow {
        expires: Date,
        max_days: u32,
        today: Date,
        latest: Date,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    max_days: Option<Spanned<i64>>,
    exceptions: Option<Vec<Spanned<RawException>>>,
}

/// Every field optional here, so that a missing one is reported by name at
/// its entry's line rather than by the parser at the end of the mapping.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawException {
    id: Option<Spanned<String>>,
    accounts: Option<Spanned<Vec<Spanned<String>>>>,
    regions: Option<Spanned<Vec<Spanned<String>>>>,
    checks: Option<Spanned<Vec<Spanned<String>>>>,
    resources: Option<Spanned<Vec<Spanned<String>>>>,
    reason: Option<Spanned<String>>,
    approved_by: Option<Spanned<String>>,
    ticket: Option<Spanned<String>>,
    expires: Option<Spanned<String>>,
}

/// A problem at a line, before the file name is attached.
type Located = (Option<u32>, Problem);

/// The line a value starts on; `None` where the parser could not tell.
fn at<T>(spanned: &Spanned<T>) -> Option<u32> {
    u32::try_from(spanned.referenced.line())
        .ok()
        .filter(|line| *line > 0)
}

impl Exceptions {
    /// Reads and validates a file. `source` names it in messages and in the
    /// report; `today` (UTC) is the day the `expires` window counts from.
    pub fn parse(source: &str, bytes: &[u8], today: Date) -> Result<Exceptions, ExceptionsError> {
        let fail = |(line, problem): Located| ExceptionsError {
            file: source.to_string(),
            line,
            problem,
        };
        if bytes.len() > MAX_FILE_BYTES {
            return Err(fail((None, Problem::TooLarge)));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| fail((None, Problem::NotUtf8)))?;
        let (max_days, entries) = validate(text, today).map_err(fail)?;
        Ok(Exceptions {
            source: source.to_string(),
            sha256: sha256_hex(bytes),
            max_days,
            entries,
            text: text.to_string(),
        })
    }
}

/// Lowercase hex SHA-256.
pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn validate(text: &str, today: Date) -> Result<(u32, Vec<Exception>), Located> {
    let raw: RawFile = serde_saphyr::from_str(text).map_err(yaml_problem)?;
    let max_days = match &raw.max_days {
        None => DEFAULT_MAX_DAYS,
        Some(days) => u32::try_from(days.value)
            .ok()
            .filter(|d| (1..=MAX_MAX_DAYS).contains(d))
            .ok_or((at(days), Problem::MaxDays(days.value)))?,
    };
    let Some(raw_entries) = raw.exceptions else {
        return Err((Some(1), Problem::NoList));
    };
    let mut first_line: BTreeMap<String, u32> = BTreeMap::new();
    let mut entries = Vec::with_capacity(raw_entries.len());
    for raw in &raw_entries {
        let entry = exception(raw, today, max_days)?;
        if let Some(&first) = first_line.get(&entry.id) {
            return Err((
                Some(entry.line),
                Problem::DuplicateId {
                    id: entry.id,
                    first,
                },
            ));
        }
        first_line.insert(entry.id.clone(), entry.line);
        entries.push(entry);
    }
    Ok((max_days, entries))
}

/// The parser's message, on one line, without the location it appends (the
/// error names the line once) or its hint to programmers.
fn yaml_problem(err: serde_saphyr::Error) -> Located {
    let line = err
        .location()
        .and_then(|l| u32::try_from(l.line()).ok())
        .filter(|l| *l > 0);
    let message = err.without_snippet().to_string();
    let mut message = message.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(at) = message.rfind(" at line ") {
        message.truncate(at);
    }
    let message = message.replace(", set DuplicateKeyPolicy in Options if acceptable", "");
    (line, Problem::Yaml(message))
}

fn exception(
    raw: &Spanned<RawException>,
    today: Date,
    max_days: u32,
) -> Result<Exception, Located> {
    let line = at(raw).unwrap_or(1);
    let entry = &raw.value;
    let missing = |field| (Some(line), Problem::Missing { field });
    let id = entry.id.as_ref().ok_or_else(|| missing("id"))?;
    if !valid_id(&id.value) {
        return Err((at(id), Problem::Id(id.value.clone())));
    }
    let accounts = list("accounts", &entry.accounts, line)?
        .iter()
        .map(|v| {
            AccountPattern::parse(&v.value)
                .ok_or_else(|| (at(v), Problem::Account(v.value.clone())))
        })
        .collect::<Result<_, _>>()?;
    let regions = list("regions", &entry.regions, line)?
        .iter()
        .map(|v| {
            RegionPattern::parse(&v.value).ok_or_else(|| (at(v), Problem::Region(v.value.clone())))
        })
        .collect::<Result<_, _>>()?;
    let checks = list("checks", &entry.checks, line)?
        .iter()
        .map(|v| {
            CheckPattern::parse(&v.value).ok_or_else(|| {
                (
                    at(v),
                    Problem::Check {
                        value: v.value.clone(),
                        known: CheckId::ALL.map(CheckId::as_str).join(", "),
                    },
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let resources = match &entry.resources {
        None => vec![ResourcePattern::Any],
        Some(_) => list("resources", &entry.resources, line)?
            .iter()
            .map(|v| {
                Ok(ResourcePattern::parse(&text(
                    "resources",
                    v,
                    MAX_RESOURCE_CHARS,
                )?))
            })
            .collect::<Result<_, Located>>()?,
    };
    let reason = entry.reason.as_ref().ok_or_else(|| missing("reason"))?;
    let approved_by = entry
        .approved_by
        .as_ref()
        .ok_or_else(|| missing("approved_by"))?;
    let expires = entry.expires.as_ref().ok_or_else(|| missing("expires"))?;
    let expires_on = parse_date(&expires.value)
        .ok_or_else(|| (at(expires), Problem::Date(expires.value.clone())))?;
    let latest = today.saturating_add(time::Duration::days(max_days.into()));
    if expires_on > latest {
        return Err((
            at(expires),
            Problem::BeyondWindow {
                expires: expires_on,
                max_days,
                today,
                latest,
            },
        ));
    }
    Ok(Exception {
        id: id.value.clone(),
        line,
        accounts,
        regions,
        checks,
        resources,
        reason: text("reason", reason, MAX_TEXT_CHARS)?,
        approved_by: text("approved_by", approved_by, MAX_TEXT_CHARS)?,
        ticket: entry
            .ticket
            .as_ref()
            .map(|t| text("ticket", t, MAX_TEXT_CHARS))
            .transpose()?,
        expires: expires_on,
    })
}

/// A list field of the exception starting at `line`: present and not empty.
fn list<'a>(
    field: &'static str,
    value: &'a Option<Spanned<Vec<Spanned<String>>>>,
    line: u32,
) -> Result<&'a [Spanned<String>], Located> {
    let list = value
        .as_ref()
        .ok_or((Some(line), Problem::Missing { field }))?;
    if list.value.is_empty() {
        return Err((at(list).or(Some(line)), Problem::EmptyList { field }));
    }
    Ok(&list.value)
}

fn valid_id(id: &str) -> bool {
    id.chars().count() <= MAX_ID_CHARS
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A free-text field, trimmed: present, not blank, without control
/// characters other than line breaks (it is shown in reports and on
/// terminals), and of a reasonable length.
fn text(field: &'static str, value: &Spanned<String>, max: usize) -> Result<String, Located> {
    let trimmed = value.value.trim();
    if trimmed.is_empty() {
        return Err((at(value), Problem::Blank { field }));
    }
    if trimmed.chars().any(|c| c.is_control() && c != '\n') {
        return Err((at(value), Problem::ControlCharacter { field }));
    }
    if trimmed.chars().count() > max {
        return Err((at(value), Problem::TooLong { field, max }));
    }
    Ok(trimmed.to_string())
}

/// `YYYY-MM-DD`, a real calendar day; nothing else.
pub fn parse_date(value: &str) -> Option<Date> {
    let bytes = value.as_bytes();
    let shaped = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shaped {
        return None;
    }
    let year = value[..4].parse().ok()?;
    let month = time::Month::try_from(value[5..7].parse::<u8>().ok()?).ok()?;
    let day = value[8..].parse().ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

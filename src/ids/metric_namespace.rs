//! A CloudWatch metric namespace (`--heartbeat-namespace`).

use std::fmt;
use std::str::FromStr;

use super::InputError;

/// A namespace for cmkscan's own metrics, by CloudWatch's rules for
/// `PutMetricData`: 1 to 255 ASCII letters, digits, `.`, `-`, `_`, `/`,
/// `#`, `:` or spaces, at least one of them not a space, not starting with
/// `:`, and not `AWS/…`, which is reserved for AWS's own metrics
/// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html>).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricNamespace(String);

impl MetricNamespace {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for MetricNamespace {
    type Err = InputError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let fail = |why: &'static str| InputError::MetricNamespace {
            value: value.to_string(),
            why,
        };
        if value.is_empty() || value.len() > 255 {
            return Err(fail("1 to 255 characters"));
        }
        if !value.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'/' | b'#' | b':' | b' ')
        }) {
            return Err(fail(
                "only letters, digits, spaces and . - _ / # : are allowed",
            ));
        }
        if value.trim().is_empty() {
            return Err(fail("not only spaces"));
        }
        if value.starts_with(':') {
            return Err(fail("it must not start with :"));
        }
        if value.starts_with("AWS/") {
            return Err(fail("AWS/ namespaces are reserved for AWS services"));
        }
        Ok(MetricNamespace(value.to_string()))
    }
}

impl fmt::Display for MetricNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_cloudwatch_accepts_parses() {
        for ok in [
            "cmkscan/security-runner",
            "Custom:Ops #1",
            "a",
            &"n".repeat(255),
        ] {
            assert_eq!(ok.parse::<MetricNamespace>().unwrap().as_str(), ok);
        }
    }

    #[test]
    fn what_cloudwatch_refuses_is_refused_with_why() {
        for (bad, why) in [
            ("", "1 to 255 characters"),
            (&"n".repeat(256), "1 to 255 characters"),
            ("cmkscan/é", "only letters"),
            ("cmkscan\n", "only letters"),
            ("   ", "not only spaces"),
            (":cmkscan", "must not start with :"),
            ("AWS/ECS", "reserved"),
        ] {
            let err = bad.parse::<MetricNamespace>().unwrap_err().to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }
}

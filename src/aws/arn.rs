//! ARNs, read and written in one place:
//! `arn:partition:service:region:account-id:resource`.
//!
//! The partition (`aws`, `aws-cn`, `aws-us-gov`, …) is part of every ARN, so
//! nothing here assumes the commercial one: a region or account is taken from
//! the ARN itself, or its absence is reported, never guessed.

use std::fmt;

/// An ARN's six fields, borrowed from the text it was read from (or from
/// the values it is built of: `to_string()` writes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    /// Empty for global resources (IAM roles, S3 buckets).
    pub region: &'a str,
    /// Empty for S3 buckets.
    pub account: &'a str,
    /// Everything after the fifth `:`, which may itself hold `:` and `/`
    /// (`log-group:name:*`, `role/path/name`).
    pub resource: &'a str,
}

/// Text that is not an ARN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an ARN: {why}")]
pub struct ArnError {
    pub text: String,
    pub why: &'static str,
}

impl<'a> Arn<'a> {
    pub fn parse(text: &'a str) -> Result<Self, ArnError> {
        let fail = |why| ArnError {
            text: text.to_string(),
            why,
        };
        let rest = text
            .strip_prefix("arn:")
            .ok_or_else(|| fail("no arn: prefix"))?;
        let mut fields = rest.splitn(5, ':');
        let (Some(partition), Some(service), Some(region), Some(account), Some(resource)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err(fail("fewer than six fields"));
        };
        let is_name = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if !is_name(partition) {
            return Err(fail("no partition"));
        }
        if !is_name(service) {
            return Err(fail("no service"));
        }
        if resource.is_empty() {
            return Err(fail("no resource"));
        }
        Ok(Arn {
            partition,
            service,
            region,
            account,
            resource,
        })
    }

    /// The region, unless the resource is global.
    pub fn region(&self) -> Option<&'a str> {
        Some(self.region).filter(|r| !r.is_empty())
    }

    /// The owning account, unless the ARN names none.
    pub fn account(&self) -> Option<&'a str> {
        Some(self.account).filter(|a| !a.is_empty())
    }

    /// The name of a CloudWatch Logs log group
    /// (`…:log-group:<name>` or `…:log-group:<name>:*`).
    pub fn log_group_name(&self) -> Option<&'a str> {
        let name = self.resource.strip_prefix("log-group:")?;
        let name = name.strip_suffix(":*").unwrap_or(name);
        Some(name).filter(|n| !n.is_empty())
    }
}

impl fmt::Display for Arn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Arn {
            partition,
            service,
            region,
            account,
            resource,
        } = self;
        write!(f, "arn:{partition}:{service}:{region}:{account}:{resource}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fields_in_every_partition() {
        for (text, partition, region) in [
            (
                "arn:aws:sns:eu-west-1:111122223333:alerts",
                "aws",
                "eu-west-1",
            ),
            (
                "arn:aws-cn:sns:cn-north-1:111122223333:alerts",
                "aws-cn",
                "cn-north-1",
            ),
            (
                "arn:aws-us-gov:sns:us-gov-west-1:111122223333:alerts",
                "aws-us-gov",
                "us-gov-west-1",
            ),
        ] {
            let arn = Arn::parse(text).expect(text);
            assert_eq!(arn.partition, partition);
            assert_eq!(arn.service, "sns");
            assert_eq!(arn.region(), Some(region));
            assert_eq!(arn.account(), Some("111122223333"));
            assert_eq!(arn.resource, "alerts");
            assert_eq!(arn.to_string(), text);
        }
    }

    #[test]
    fn the_resource_keeps_its_colons_and_slashes() {
        let arn = Arn::parse("arn:aws-cn:logs:cn-northwest-1:111122223333:log-group:a:b/c:*")
            .expect("log group arn");
        assert_eq!(arn.resource, "log-group:a:b/c:*");
        assert_eq!(arn.log_group_name(), Some("a:b/c"));
        let arn = Arn::parse("arn:aws:sns:us-east-1:1:topic:6f1e-uuid").expect("subscription");
        assert_eq!(arn.resource, "topic:6f1e-uuid");
        let arn =
            Arn::parse("arn:aws-us-gov:iam::111122223333:role/team/ops/Scan").expect("role arn");
        assert_eq!(arn.region(), None);
        assert_eq!(arn.resource, "role/team/ops/Scan");
    }

    #[test]
    fn global_and_account_less_fields_are_absent() {
        let bucket = Arn::parse("arn:aws:s3:::bucket").expect("bucket arn");
        assert_eq!((bucket.region(), bucket.account()), (None, None));
        assert_eq!(bucket.resource, "bucket");
    }

    #[test]
    fn builds_what_it_reads() {
        let role = Arn {
            partition: "aws-us-gov",
            service: "iam",
            region: "",
            account: "111122223333",
            resource: "role/CmkScanReadOnly",
        };
        let text = role.to_string();
        assert_eq!(
            text,
            "arn:aws-us-gov:iam::111122223333:role/CmkScanReadOnly"
        );
        assert_eq!(Arn::parse(&text), Ok(role));
    }

    #[test]
    fn log_group_names() {
        let name = |text| Arn::parse(text).ok().and_then(|a| a.log_group_name());
        assert_eq!(
            name("arn:aws:logs:eu-west-1:111122223333:log-group:trail-logs"),
            Some("trail-logs")
        );
        assert_eq!(name("arn:aws:logs:eu-west-1:1:log-group::*"), None);
        assert_eq!(name("arn:aws:logs:eu-west-1:1:metric-filter:x"), None);
    }

    #[test]
    fn malformed_text_is_refused_with_the_reason() {
        for (text, why) in [
            ("", "no arn: prefix"),
            ("not-an-arn", "no arn: prefix"),
            ("ARN:aws:sns:us-east-1:1:t", "no arn: prefix"),
            ("arn:aws:sns:us-east-1:1", "fewer than six fields"),
            ("arn:aws:sns", "fewer than six fields"),
            ("arn::sns:us-east-1:1:t", "no partition"),
            ("arn:AWS:sns:us-east-1:1:t", "no partition"),
            ("arn:aws::us-east-1:1:t", "no service"),
            ("arn:aws:sns:us-east-1:1:", "no resource"),
        ] {
            let err = Arn::parse(text).expect_err(text);
            assert_eq!(err.why, why, "{text}");
            assert_eq!(err.text, text);
        }
        // Untrusted text stays one escaped token in the message.
        let err = Arn::parse("arn:aws\n:x").expect_err("line break");
        assert_eq!(
            err.to_string(),
            "\"arn:aws\\n:x\" is not an ARN: fewer than six fields"
        );
    }
}

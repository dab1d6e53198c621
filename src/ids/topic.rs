//! An SNS topic ARN (`--sns-topic-arn`).

use std::fmt;
use std::str::FromStr;

use super::InputError;
use crate::aws::arn::Arn;

/// An SNS topic ARN: `arn:<partition>:sns:<region>:<account>:<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicArn {
    arn: String,
    region: String,
    fifo: bool,
}

impl TopicArn {
    pub fn as_str(&self) -> &str {
        &self.arn
    }

    /// The topic's region, where it is published to.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// A FIFO topic (`….fifo`) takes a message group and a deduplication id.
    pub fn is_fifo(&self) -> bool {
        self.fifo
    }
}

impl FromStr for TopicArn {
    type Err = InputError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let fail = |why: &'static str| InputError::TopicArn {
            value: value.to_string(),
            why,
        };
        let arn = Arn::parse(value).map_err(|err| fail(err.why))?;
        if arn.service != "sns" {
            return Err(fail("not an sns ARN"));
        }
        if arn.region.is_empty() {
            return Err(fail("no region"));
        }
        if arn.account.len() != 12 || !arn.account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(fail("the account is not 12 digits"));
        }
        // Topic names: 1 to 256 letters, digits, `-` and `_`; `.fifo` ends
        // a FIFO topic's.
        let fifo = arn.resource.ends_with(".fifo");
        let name = arn.resource.strip_suffix(".fifo").unwrap_or(arn.resource);
        if name.is_empty()
            || arn.resource.len() > 256
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(fail(
                "the topic name must be 1 to 256 letters, digits, - or _ (and .fifo)",
            ));
        }
        Ok(TopicArn {
            region: arn.region.to_string(),
            arn: value.to_string(),
            fifo,
        })
    }
}

impl fmt::Display for TopicArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_arns_are_checked() {
        let topic: TopicArn = "arn:aws:sns:eu-west-1:111122223333:security-alerts"
            .parse()
            .expect("a topic");
        assert_eq!((topic.region(), topic.is_fifo()), ("eu-west-1", false));
        let fifo: TopicArn = "arn:aws-cn:sns:cn-north-1:111122223333:alerts.fifo"
            .parse()
            .expect("a FIFO topic");
        assert!(fifo.is_fifo());
        for bad in [
            "security-alerts",
            "arn:aws:sqs:eu-west-1:111122223333:q",
            "arn:aws:sns::111122223333:t",
            "arn:aws:sns:eu-west-1:1111:t",
            "arn:aws:sns:eu-west-1:111122223333:bad name",
            "arn:aws:sns:eu-west-1:111122223333:.fifo",
        ] {
            assert!(bad.parse::<TopicArn>().is_err(), "{bad}");
        }
    }
}

//! The external id the member roles' trust policies require: a secret,
//! which never appears in a message, a log line or a report.

use std::fmt;

/// `sts:AssumeRole`'s `ExternalId`, checked against AWS's rule. Its
/// `Debug` hides the value, so that no log or error can show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ExternalId(String);

impl ExternalId {
    /// AWS's rule for `ExternalId`: 2 to 1224 characters of letters,
    /// digits and `_+=,.@:/-`. The reason never quotes the value.
    pub fn new(value: String) -> Result<Self, &'static str> {
        if !(2..=1224).contains(&value.chars().count()) {
            return Err("must be 2 to 1224 characters");
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c))
        {
            return Err("only letters, digits and _+=,.@:/- are allowed");
        }
        Ok(ExternalId(value))
    }

    /// The value, for the one place that sends it: the AssumeRole request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExternalId(<not shown>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_ids_follow_aws_rule_and_never_show() {
        assert!(ExternalId::new("demo-external-id".into()).is_ok());
        assert!(ExternalId::new("a:b/c=d+e,f.g@h_i-j".into()).is_ok());
        assert!(ExternalId::new("x".repeat(1225)).is_err());
        assert!(ExternalId::new("x".into()).is_err());
        assert!(ExternalId::new("has space".into()).is_err());
        let id = ExternalId::new("secret-value".into()).unwrap();
        assert!(!format!("{id:?}").contains("secret"));
        assert_eq!(id.expose(), "secret-value");
    }
}

//! A KMS key as SSE-KMS takes it (`--s3-kms-key-id`).

use std::fmt;
use std::str::FromStr;

use super::InputError;
use crate::aws::arn::Arn;

/// A KMS key id, key ARN, alias name or alias ARN: the forms S3's SSE-KMS
/// accepts for `SSEKMSKeyId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsKeyId(String);

impl KmsKeyId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for KmsKeyId {
    type Err = InputError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let id_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 256
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-/:".contains(c))
        };
        let shaped = if value.starts_with("arn:") {
            // arn:partition:kms:region:account:key/id or …:alias/name
            Arn::parse(value).is_ok_and(|arn| {
                let id = arn
                    .resource
                    .strip_prefix("key/")
                    .or_else(|| arn.resource.strip_prefix("alias/"));
                arn.service == "kms" && id.is_some_and(id_ok)
            })
        } else {
            match value.strip_prefix("alias/") {
                Some(alias) => id_ok(alias),
                None => id_ok(value) && !value.contains('/') && !value.contains(':'),
            }
        };
        if shaped {
            Ok(KmsKeyId(value.to_string()))
        } else {
            Err(InputError::KmsKeyId(value.to_string()))
        }
    }
}

impl fmt::Display for KmsKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_arns_and_aliases() {
        for key in [
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "mrk-1234abcd12ab34cd56ef1234567890ab",
            "alias/reports",
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/reports",
        ] {
            assert_eq!(key.parse::<KmsKeyId>().map(|k| k.0), Ok(key.to_string()));
        }
        for key in [
            "",
            "alias/",
            "arn:aws:s3:::bucket",
            "arn:aws:kms:us-east-1:1:user/x",
        ] {
            assert!(key.parse::<KmsKeyId>().is_err(), "{key}");
        }
    }
}

//! `--security-hub`: every finding imported into AWS Security Hub in the
//! account and region it is about. `asff` maps a finding to the AWS
//! Security Finding Format; docs/security-hub.md describes it.

pub mod asff;

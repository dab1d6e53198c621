//! `--security-hub`: every finding imported into AWS Security Hub in the
//! account and region it is about, after the report files are written (and
//! uploaded). `asff` maps a finding to the AWS Security Finding Format;
//! `import` sends them through each account's import role and archives
//! what cmkscan sent before and no longer reports. docs/security-hub.md
//! describes both.

pub mod asff;
mod import;

pub use import::{import, Import};

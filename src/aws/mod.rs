//! What every stage shares to talk to AWS, and nothing of facts, checks or
//! reports: the runner's configuration ([`config`]), the catalogue of
//! operations ([`api`]), the pacer every request goes through
//! ([`throttle`]), ARNs ([`arn`]), an account's clients ([`session`]),
//! getting credentials for an account ([`access`]) with the secret
//! AssumeRole sends ([`external_id`]), and reading one S3 object
//! ([`s3_object`]).

pub mod access;
pub mod api;
pub mod arn;
pub mod config;
pub mod external_id;
pub mod s3_object;
pub mod session;
pub mod throttle;

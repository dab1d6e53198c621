//! The message `--sns-topic-arn` publishes at the end of a scan, once the
//! report is written and uploaded: the counts, the coverage, what changed,
//! every key pending deletion with its date, the recent DisableKey /
//! ScheduleKeyDeletion events, and where the report is. Plain text, for the
//! people subscribed by email; a few message attributes for subscription
//! filter policies. Within SNS's limits: a subject of fewer than 100 ASCII
//! characters, and a message whose lists are cut, with a count of what was
//! left out, so that it stays under [`MESSAGE_LIMIT`].

mod message;
mod publish;

pub use message::{Notice, ReportLocation, Scan};
pub use publish::publish;

//! Facts shared by the checks' unit tests.

use crate::facts::{EventSelectors, TrailFacts, TrailStatus};

/// A logging multi-region trail with an S3 bucket and default selectors, no
/// log group; tests change the field they are about.
pub fn logging_trail() -> TrailFacts {
    TrailFacts {
        arn: "arn:aws:cloudtrail:us-east-1:111122223333:trail/main".into(),
        name: "main".into(),
        home_region: "us-east-1".into(),
        is_multi_region: true,
        is_organization_trail: false,
        s3_bucket: Some("trail-bucket".into()),
        log_group_arn: None,
        status: Ok(TrailStatus {
            is_logging: true,
            ..Default::default()
        }),
        selectors: Ok(EventSelectors::Default),
        metric_filters: None,
    }
}

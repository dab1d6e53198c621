//! The heartbeat (`--heartbeat-namespace`): one `cloudwatch:PutMetricData`
//! in the runner's region once the report is where it belongs, so that an
//! alarm can notice the runs that never deliver one: a schedule that stopped
//! firing, a task that never started, a scan that hung. Such an alarm has
//! only the silence to go on, so it treats missing data as breaching
//! (`NoReportAlarm` in `deploy/cloudformation/runner.yaml`).
//!
//! CloudWatch evaluates an alarm over at most 7 days
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html>:
//! `Period` × `EvaluationPeriods` cannot exceed 604,800 seconds), exactly
//! the interval between two weekly reports: a report that lands a few
//! minutes later in its day than last week's would leave that window empty
//! for those minutes and raise the alarm. So each delivery writes two
//! datapoints, now and [`LEAD`] ahead (PutMetricData accepts timestamps up
//! to two hours in the future), and a report counts for 7 days and almost 2
//! hours: a run that delivers up to that much later than the previous one
//! raises nothing.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::{MetricDatum, StandardUnit};
use aws_smithy_types::DateTime;

use crate::aws::api::Api;
use crate::aws::session::AccountSession;
use crate::aws::throttle::CallError;
use crate::ids::MetricNamespace;

/// The metric, in the namespace given: 1 for each delivered report.
pub const METRIC_NAME: &str = "ReportDelivered";

/// How far ahead the second datapoint is dated: under PutMetricData's two
/// hours, with room for the runner's clock to be a little ahead of
/// CloudWatch's.
pub const LEAD: Duration = Duration::from_secs(115 * 60);

/// Publishes the heartbeat to `namespace` in `region`, dated `now` and
/// [`LEAD`] later.
pub async fn publish(
    session: &AccountSession,
    region: &str,
    namespace: &MetricNamespace,
    now: SystemTime,
) -> Result<(), CallError> {
    let client = session.cloudwatch(region);
    let datum = |at: SystemTime| {
        MetricDatum::builder()
            .metric_name(METRIC_NAME)
            .unit(StandardUnit::Count)
            .value(1.0)
            .timestamp(DateTime::from(at))
            .build()
    };
    let data = vec![datum(now), datum(now + LEAD)];
    session
        .throttle
        .call(Api::CloudWatchPutMetricData, &session.scope(region), || {
            client
                .put_metric_data()
                .namespace(namespace.as_str())
                .set_metric_data(Some(data.clone()))
                .send()
        })
        .await?;
    Ok(())
}

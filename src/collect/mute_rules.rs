//! CloudWatch alarm mute rules: while a rule's window is open, the alarms it
//! targets keep changing state but run no actions ("When a mute rule is
//! active, targeted alarms continue to evaluate metrics and transition
//! between states, but their configured actions … are muted",
//! https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutAlarmMuteRule.html).
//!
//! `ListAlarmMuteRules` and `GetAlarmMuteRule` are newer than the pinned
//! `aws-sdk-cloudwatch` (1.99.0 has neither), and CloudWatch still answers
//! them in the Query protocol (their model keeps `resultWrapper`s), so they
//! are hand-signed like EC2's `DescribeRegions` ([`super::query`]).

use aws_smithy_xml::decode::{Document, XmlDecodeError};

use super::query::{self, form_encode, text_of};
use crate::aws::api::Api;
use crate::aws::session::AccountSession;
use crate::facts::{Fetched, MuteRuleFacts, MuteSchedule};
use crate::ids::partition_of;

const VERSION: &str = "2010-08-01";

/// The mute rules that target the alarm `alarm_name` in `region`, each
/// with its schedule unless it has expired.
pub async fn targeting(
    session: &AccountSession,
    region: &str,
    alarm_name: &str,
) -> Fetched<Vec<MuteRuleFacts>> {
    let partition = partition_of(region);
    let mut rules = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = format!(
            "Action=ListAlarmMuteRules&Version={VERSION}&AlarmName={}&MaxRecords=100",
            form_encode(alarm_name)
        );
        if let Some(token) = &token {
            body.push_str(&format!("&NextToken={}", form_encode(token)));
        }
        let page = query::call(
            session,
            Api::CloudWatchListAlarmMuteRules,
            query::CLOUDWATCH,
            region,
            partition,
            body,
            parse_list,
        )
        .await?;
        rules.extend(page.rules);
        match page.next_token {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => break,
        }
    }
    for rule in &mut rules {
        // An expired rule mutes nothing any more: its schedule is not asked.
        if rule.status != "EXPIRED" {
            rule.schedule = Some(schedule(session, region, partition, &rule.name).await);
        }
    }
    Ok(rules)
}

async fn schedule(
    session: &AccountSession,
    region: &str,
    partition: &str,
    name: &str,
) -> Fetched<MuteSchedule> {
    query::call(
        session,
        Api::CloudWatchGetAlarmMuteRule,
        query::CLOUDWATCH,
        region,
        partition,
        format!(
            "Action=GetAlarmMuteRule&Version={VERSION}&AlarmMuteRuleName={}",
            form_encode(name)
        ),
        parse_get,
    )
    .await
}

#[derive(Debug, Default)]
struct ListPage {
    rules: Vec<MuteRuleFacts>,
    next_token: Option<String>,
}

/// The rule's name: the last part of its ARN,
/// `arn:aws:cloudwatch:<region>:<account>:alarm-mute-rule:<name>`.
fn name_of(arn: &str) -> String {
    arn.splitn(7, ':').nth(6).unwrap_or(arn).to_string()
}

fn parse_list(xml: &str) -> Result<ListPage, XmlDecodeError> {
    let mut doc = Document::new(xml);
    let mut root = doc.root_element()?;
    let mut page = ListPage::default();
    while let Some(mut result) = root.next_tag() {
        if !result.start_el().matches("ListAlarmMuteRulesResult") {
            continue;
        }
        while let Some(mut field) = result.next_tag() {
            if field.start_el().matches("NextToken") {
                page.next_token = Some(text_of(&mut field)?);
            } else if field.start_el().matches("AlarmMuteRuleSummaries") {
                while let Some(mut member) = field.next_tag() {
                    let mut rule = MuteRuleFacts::default();
                    while let Some(mut value) = member.next_tag() {
                        let tag = value.start_el().local().to_string();
                        let text = text_of(&mut value)?;
                        match tag.as_str() {
                            "AlarmMuteRuleArn" => {
                                rule.name = name_of(&text);
                                rule.arn = text;
                            }
                            "Status" => rule.status = text,
                            "MuteType" => rule.mute_type = Some(text),
                            "ExpireDate" => rule.expire = Some(text),
                            _ => {}
                        }
                    }
                    page.rules.push(rule);
                }
            }
        }
    }
    Ok(page)
}

fn parse_get(xml: &str) -> Result<MuteSchedule, XmlDecodeError> {
    let mut doc = Document::new(xml);
    let mut root = doc.root_element()?;
    let mut schedule = MuteSchedule::default();
    let mut found = false;
    while let Some(mut result) = root.next_tag() {
        if !result.start_el().matches("GetAlarmMuteRuleResult") {
            continue;
        }
        found = true;
        while let Some(mut field) = result.next_tag() {
            if field.start_el().matches("StartDate") {
                schedule.start = Some(text_of(&mut field)?);
            } else if field.start_el().matches("Rule") {
                while let Some(mut inner) = field.next_tag() {
                    if !inner.start_el().matches("Schedule") {
                        continue;
                    }
                    while let Some(mut value) = inner.next_tag() {
                        let tag = value.start_el().local().to_string();
                        let text = text_of(&mut value)?;
                        match tag.as_str() {
                            "Expression" => schedule.expression = Some(text),
                            "Duration" => schedule.duration = Some(text),
                            "Timezone" => schedule.timezone = Some(text),
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    if !found {
        return Err(XmlDecodeError::custom("no GetAlarmMuteRuleResult"));
    }
    Ok(schedule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_listing_page() {
        let xml = r#"<ListAlarmMuteRulesResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">
          <ListAlarmMuteRulesResult>
            <AlarmMuteRuleSummaries>
              <member><AlarmMuteRuleArn>arn:aws:cloudwatch:us-east-1:111122223333:alarm-mute-rule:weekly</AlarmMuteRuleArn>
                <Status>SCHEDULED</Status><MuteType>RECURRING</MuteType><LastUpdatedTimestamp>2026-11-01T00:00:00Z</LastUpdatedTimestamp></member>
              <member><AlarmMuteRuleArn>arn:aws:cloudwatch:us-east-1:111122223333:alarm-mute-rule:old</AlarmMuteRuleArn>
                <Status>EXPIRED</Status><ExpireDate>2026-01-01T00:00:00Z</ExpireDate><MuteType>ONE_TIME</MuteType></member>
            </AlarmMuteRuleSummaries>
            <NextToken>abc</NextToken>
          </ListAlarmMuteRulesResult>
          <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>
        </ListAlarmMuteRulesResponse>"#;
        let page = parse_list(xml).unwrap();
        assert_eq!(page.next_token.as_deref(), Some("abc"));
        assert_eq!(page.rules.len(), 2);
        assert_eq!(page.rules[0].name, "weekly");
        assert_eq!(page.rules[0].status, "SCHEDULED");
        assert_eq!(page.rules[0].mute_type.as_deref(), Some("RECURRING"));
        assert_eq!(page.rules[0].expire, None);
        assert_eq!(page.rules[1].name, "old");
        assert_eq!(
            page.rules[1].expire.as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        assert!(parse_list("<ListAlarmMuteRulesResponse/>")
            .unwrap()
            .rules
            .is_empty());
    }

    #[test]
    fn reads_a_rule_schedule() {
        let xml = r#"<GetAlarmMuteRuleResponse><GetAlarmMuteRuleResult>
            <Name>weekly</Name><AlarmMuteRuleArn>arn:aws:cloudwatch:us-east-1:111122223333:alarm-mute-rule:weekly</AlarmMuteRuleArn>
            <Rule><Schedule><Expression>cron(0 2 ? * SUN)</Expression><Duration>PT4H</Duration><Timezone>Europe/Paris</Timezone></Schedule></Rule>
            <MuteTargets><AlarmNames><member>kms-alarm</member></AlarmNames></MuteTargets>
            <StartDate>2026-11-01T00:00:00Z</StartDate><Status>SCHEDULED</Status><MuteType>RECURRING</MuteType>
          </GetAlarmMuteRuleResult></GetAlarmMuteRuleResponse>"#;
        assert_eq!(
            parse_get(xml).unwrap(),
            MuteSchedule {
                expression: Some("cron(0 2 ? * SUN)".into()),
                duration: Some("PT4H".into()),
                timezone: Some("Europe/Paris".into()),
                start: Some("2026-11-01T00:00:00Z".into()),
            }
        );
    }

    #[test]
    fn a_rule_is_named_by_the_end_of_its_arn() {
        assert_eq!(
            name_of("arn:aws:cloudwatch:us-east-1:111122223333:alarm-mute-rule:nightly-patch"),
            "nightly-patch"
        );
        assert_eq!(name_of("odd"), "odd");
    }
}

//! `report.html`: the page from the committed facts fixture, pinned like
//! the CSV and JSON; opened in headless Chromium with no console message;
//! its filter working from the address; and names from AWS that are
//! markup staying text, in the file and in the browser.
//!
//! Accept an intended change with
//! `INSTA_UPDATE=always cargo test --test integration report_html`, then
//! review the snapshot's diff.

use std::path::{Path, PathBuf};

use crate::evidence::{documented_exceptions, evaluate, evaluate_with, fixture};
use crate::support::chromium;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("read {}: {err}", path.display()))
}

/// `evaluate` of `facts` into a fresh directory: the page's path and the
/// directory, which must outlive it.
fn page_of(facts: &Path) -> (PathBuf, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    evaluate(facts, out.path());
    (out.path().join("report.html"), out)
}

#[test]
fn evaluate_of_the_fixture_gives_the_pinned_page() {
    let (page, _dir) = page_of(&fixture());
    let html = read(&page);
    insta::assert_snapshot!("report_html", html);
}

#[test]
fn the_page_loads_nothing_from_elsewhere() {
    let (page, _dir) = page_of(&fixture());
    let html = read(&page);
    for outside in [
        "src=", "<link", "@import", "url(", "http://", "https://", "//cdn",
    ] {
        assert!(!html.contains(outside), "the page has {outside:?}");
    }
    // Only its own style and script may run, named by their hashes.
    assert!(
        html.contains("content=\"default-src 'none'; img-src 'none'; base-uri 'none'; form-action 'none'; style-src 'sha256-"),
        "no Content-Security-Policy"
    );
    assert_eq!(html.matches("<script").count(), 1);
    assert_eq!(html.matches("<style").count(), 1);
}

#[test]
fn the_page_has_every_section_and_the_keys_and_events_of_the_fixture() {
    let (page, _dir) = page_of(&fixture());
    let html = read(&page);
    let sections = [
        "id=\"coverage\"",
        "id=\"posture\"",
        "id=\"organisation\"",
        "id=\"pending\"",
        "id=\"events\"",
        "id=\"changes\"",
        "id=\"findings\"",
    ];
    let at: Vec<usize> = sections
        .iter()
        .map(|s| html.find(s).unwrap_or_else(|| panic!("no {s}")))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "sections out of order");
    // The fixture's one key pending deletion, 7 days after the scan.
    let pending = &html[at[3]..at[4]];
    assert!(
        pending.contains("2026-12-05T15:56:26.486335Z</td><td class=\"num\">7</td>"),
        "{pending}"
    );
    assert!(pending.contains("alias/legacy-db"), "{pending}");
    // Its two events, newest first, with who and from where.
    let events = &html[at[4]..at[5]];
    let schedule = events
        .find("ScheduleKeyDeletion</td>")
        .expect("the schedule event");
    let disable = events.find("DisableKey</td>").expect("the disable event");
    assert!(schedule < disable, "newest first");
    assert!(events.contains("assumed-role/Admin/alice"), "{events}");
    assert!(events.contains("203.0.113.5"), "{events}");
    assert!(
        html[at[5]..at[6]].contains("No comparison was made"),
        "the changes section without a comparison"
    );
    // The unreachable account is named with why.
    let coverage = &html[at[0]..at[1]];
    assert!(coverage.contains("026026599888"), "{coverage}");
    assert!(
        coverage.contains("sts:AssumeRole failed: AccessDenied"),
        "{coverage}"
    );
}

#[test]
fn chromium_opens_the_page_with_no_console_message_and_runs_its_script() {
    // The console is really read: a page that logs is caught.
    let probe_dir = tempfile::tempdir().unwrap();
    let probe = probe_dir.path().join("probe.html");
    std::fs::write(
        &probe,
        "<!DOCTYPE html><title>probe</title><script>console.error('probe-message')</script>",
    )
    .unwrap();
    let loaded = chromium::open(&probe, "");
    assert!(
        loaded.console.iter().any(|m| m.contains("probe-message")),
        "a console message went unseen: {:?}",
        loaded.console
    );

    let (page, _dir) = page_of(&fixture());
    let loaded = chromium::open(&page, "");
    assert!(loaded.console.is_empty(), "console: {:#?}", loaded.console);
    // The script ran: it shows the filter form the page hides without it.
    assert!(
        loaded.dom.contains("<form id=\"filters\">"),
        "the filter form stayed hidden"
    );
    assert!(loaded.dom.contains("<svg"), "no chart");

    // A fragment that does not decode is ignored, the rest applied.
    let loaded = chromium::open(&page, "#status=%E0&check=kms.key_state");
    assert!(loaded.console.is_empty(), "console: {:#?}", loaded.console);
    assert!(
        loaded.dom.contains(" matching findings<"),
        "the filter did not run"
    );
    let loaded = chromium::open(&page, "#acct-%E0");
    assert!(loaded.console.is_empty(), "console: {:#?}", loaded.console);
}

#[test]
fn a_filter_in_the_address_shows_only_the_matching_rows() {
    let (page, _dir) = page_of(&fixture());
    let loaded = chromium::open(&page, "#check=kms.key_state&status=FAIL");
    assert!(loaded.console.is_empty(), "console: {:#?}", loaded.console);
    let findings = &loaded.dom[loaded.dom.find("id=\"findings\"").unwrap()..];
    // Each finding row, from its attributes to its end; header rows left out.
    let rows: Vec<&str> = findings
        .split("<tr")
        .skip(1)
        .map(|row| &row[..row.find("</tr>").unwrap()])
        .filter(|row| !row.starts_with("><th"))
        .collect();
    assert!(rows.len() > 30, "{} rows", rows.len());
    let shown: Vec<&&str> = rows
        .iter()
        .filter(|row| !row.starts_with(" hidden"))
        .collect();
    assert_eq!(shown.len(), 1, "{shown:#?}");
    assert!(
        shown[0].contains("<td>kms.key_state</td><td class=\"FAIL\">FAIL</td>"),
        "{}",
        shown[0]
    );
    assert!(
        loaded.dom.contains(">1 matching findings<"),
        "no match count"
    );
}

/// Markup in every kind of text that comes from AWS and reaches the page.
const HOSTILE_NAME: &str = "<img src=x onerror=alert(1)>";
const HOSTILE_OU: &str = "Root/</script><script>console.error('ou')</script>";
const HOSTILE_ALIAS: &str = "alias/\"><svg onload=console.error('alias')>";
const HOSTILE_ACTOR: &str = "arn:aws:sts::326604603045:assumed-role/<b>mallory</b>";
const HOSTILE_IP: &str = "' onmouseover='console.error(1)";
/// Replaces the prod trail's ARN (name) and a pending key's id wherever
/// the facts hold them, so that the checks still tie them together.
const PROD_TRAIL: &str = "trail/prod-trail";
const HOSTILE_TRAIL: &str = "trail/prod-<i>trail</i>";
const PENDING_KEY: &str = "key/865ba95d-0bcf-4915-8068-476e99d1d248";
const HOSTILE_KEY: &str = "key/<u>865ba95d</u>";
const HOSTILE_PATTERN: &str = "{ $.eventName = <svg/onload=console.error(2)> }";
/// In the exceptions file: the reason and approver of the exception that
/// accepts the pending key.
const HOSTILE_REASON: &str = "<a href=x>The legacy</a> database key";
const HOSTILE_APPROVER: &str = "cto@example.com<script>console.error('approver')</script>";

/// The fixture with the `prod` account's name, OU path, trail name, metric
/// filter pattern, a key's id, key aliases and event fields replaced by
/// markup.
fn hostile_facts(dir: &Path) -> PathBuf {
    let text = read(&fixture())
        .replace(PROD_TRAIL, HOSTILE_TRAIL)
        .replace(PENDING_KEY, HOSTILE_KEY);
    let mut facts: serde_json::Value = serde_json::from_str(&text).unwrap();
    let prod = facts["accounts"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|a| a["id"] == "326604603045")
        .expect("the fixture's prod account");
    prod["name"] = HOSTILE_NAME.into();
    prod["ou_path"] = HOSTILE_OU.into();
    for trail in prod["trails"].as_array_mut().unwrap() {
        for filter in trail["metric_filters"]["Ok"].as_array_mut().unwrap() {
            filter["pattern"] = HOSTILE_PATTERN.into();
        }
    }
    for region in prod["regions"].as_array_mut().unwrap() {
        if let Some(keys) = region["keys"]["Ok"]["customer_keys"].as_array_mut() {
            for key in keys {
                key["aliases"] = serde_json::json!([HOSTILE_ALIAS]);
            }
        }
        if let Some(events) = region["recent_events"]["Ok"].as_array_mut() {
            for event in events {
                event["actor"] = HOSTILE_ACTOR.into();
                event["source_ip"] = HOSTILE_IP.into();
            }
        }
    }
    let path = dir.join("hostile.json");
    std::fs::write(&path, serde_json::to_vec(&facts).unwrap()).unwrap();
    path
}

#[test]
fn names_from_aws_that_are_markup_stay_text() {
    let dir = tempfile::tempdir().unwrap();
    let exceptions = dir.path().join("exceptions.yaml");
    let file = documented_exceptions()
        .replace("The legacy database key", HOSTILE_REASON)
        .replace(
            "approved_by: cto@example.com",
            &format!("approved_by: {HOSTILE_APPROVER}"),
        );
    assert!(file.contains(HOSTILE_REASON) && file.contains(HOSTILE_APPROVER));
    std::fs::write(&exceptions, file).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    evaluate_with(&hostile_facts(dir.path()), &out, Some(&exceptions));
    let page = out.join("report.html");
    let html = read(&page);
    for hostile in [
        HOSTILE_NAME,
        HOSTILE_OU,
        HOSTILE_ALIAS,
        HOSTILE_ACTOR,
        HOSTILE_IP,
        HOSTILE_TRAIL,
        HOSTILE_KEY,
        HOSTILE_PATTERN,
        HOSTILE_REASON,
        HOSTILE_APPROVER,
    ] {
        assert!(
            !html.contains(hostile),
            "{hostile} is in the page unescaped"
        );
    }
    for escaped in [
        "&lt;img src=x onerror=alert(1)&gt;",
        "Root/&lt;/script&gt;&lt;script&gt;console.error(&#39;ou&#39;)&lt;/script&gt;",
        "alias/&quot;&gt;&lt;svg onload=console.error(&#39;alias&#39;)&gt;",
        "assumed-role/&lt;b&gt;mallory&lt;/b&gt;",
        "&#39; onmouseover=&#39;console.error(1)",
        "trail/prod-&lt;i&gt;trail&lt;/i&gt;",
        "key/&lt;u&gt;865ba95d&lt;/u&gt;",
        "&lt;svg/onload=console.error(2)&gt;",
        "&lt;a href=x&gt;The legacy&lt;/a&gt; database key",
        "cto@example.com&lt;script&gt;console.error(&#39;approver&#39;)&lt;/script&gt;",
    ] {
        assert!(html.contains(escaped), "{escaped} is not in the page");
    }
    // The key and event tables show the key (and the key table its
    // exception) as text too.
    let pending = &html[html.find("id=\"pending\"").unwrap()..html.find("id=\"events\"").unwrap()];
    assert!(
        pending.contains("key/&lt;u&gt;865ba95d&lt;/u&gt;<div class=\"exc\">Accepted by exception <b>legacy-db-key-retirement</b>: &lt;a href=x&gt;"),
        "{pending}"
    );

    let loaded = chromium::open(&page, "");
    // Had any of it become markup, its script would have run or been
    // refused by the page's policy: either is a console message.
    assert!(loaded.console.is_empty(), "console: {:#?}", loaded.console);
    assert!(!loaded.dom.contains("<img"), "an <img> element was made");
    assert!(
        !loaded.dom.contains("<svg onload"),
        "an <svg onload> element was made"
    );
    assert!(!loaded.dom.contains("<b>mallory"), "a <b> element was made");
    for made in ["<i>trail", "<u>865ba95d", "<svg/onload", "<a href=x"] {
        assert!(!loaded.dom.contains(made), "{made} became an element");
    }
    assert!(
        !loaded.dom.contains("onmouseover=\""),
        "an attribute was made"
    );
    assert_eq!(
        loaded.dom.matches("<script").count(),
        1,
        "a script element was made"
    );
    // …and the names are there, as text.
    assert!(loaded.dom.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(loaded
        .dom
        .contains("assumed-role/&lt;b&gt;mallory&lt;/b&gt;"));
}

#[test]
fn accepted_rows_show_as_accepted_with_reason_and_approver_and_expired_ones_as_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let exceptions = dir.path().join("exceptions.yaml");
    std::fs::write(&exceptions, documented_exceptions()).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    evaluate_with(&fixture(), &out, Some(&exceptions));
    let page = out.join("report.html");
    let html = read(&page);
    let report: serde_json::Value =
        serde_json::from_str(&read(&out.join("findings.json"))).unwrap();
    let rows = report["findings"].as_array().unwrap();
    let with_state = |state: &str| {
        rows.iter()
            .filter(|r| r["exception_state"] == state)
            .count()
    };
    let (accepted, expired) = (with_state("active"), with_state("expired"));
    assert!(
        accepted > 0 && expired > 0,
        "the example accepts and flags rows"
    );
    // Every accepted row is listed, marked, with why and by whom.
    assert_eq!(html.matches("<tr class=\"accepted\">").count(), accepted);
    assert_eq!(html.matches("<tr class=\"expired\">").count(), expired);
    assert!(html.contains(
        "Accepted by exception <b>legacy-db-key-retirement</b>: The legacy database key is retired \
         by the migration (CHG-88) — approved by cto@example.com, until 2026-12-31"
    ));
    assert!(html.contains(
        "Not accepted: exception <b>alerting-rollout-2025</b> has expired: Alerting was rolled out \
         during 2025 — approved by ciso@example.com, expired after 2025-12-31"
    ));
    // The section lists every exception of the file.
    let section =
        &html[html.find("id=\"exceptions\"").unwrap()..html.find("id=\"changes\"").unwrap()];
    for id in [
        "dev-no-config",
        "legacy-db-key-retirement",
        "legacy-decommission",
        "alerting-rollout-2025",
    ] {
        assert!(
            section.contains(&format!("<td class=\"id\">{id}</td>")),
            "{id}: {section}"
        );
    }
    assert!(section.contains("Expired (accept nothing, flag their rows): alerting-rollout-2025"));

    // In the browser: no console message, and the filter finds them all.
    let loaded = chromium::open(&page, "#exception=accepted");
    assert!(loaded.console.is_empty(), "console: {:#?}", loaded.console);
    let findings = &loaded.dom[loaded.dom.find("id=\"findings\"").unwrap()..];
    let shown = findings
        .split("<tr")
        .skip(1)
        .filter(|row| !row.starts_with("><th") && !row.contains("hidden=\"\""))
        .count();
    assert_eq!(shown, accepted);
}

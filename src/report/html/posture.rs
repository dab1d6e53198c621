//! The posture section: each check's rows by status, as stacked SVG bars
//! and a table.

use super::*;

impl HtmlPage<'_> {
    pub(super) fn posture(&self, page: &mut Markup<'_>) -> io::Result<()> {
        let summary = self.report.summary;
        page.raw("<section id=\"posture\"><h2>Posture per check</h2>\n<p class=\"legend\">")?;
        for status in Status::ALL {
            page.raw("<span><span class=\"badge ")?;
            page.raw(status.as_str())?;
            page.raw("\">")?;
            page.raw(status.as_str())?;
            page.raw("</span></span>")?;
        }
        page.raw("</p>\n")?;
        let mut bars: Vec<(&str, &StatusCounts)> = summary
            .by_check
            .iter()
            .map(|(check, counts)| (check.as_str(), counts))
            .collect();
        bars.push(("all checks", &summary.by_status));
        stacked_bars(page, &bars)?;
        page.raw("<table>\n<thead><tr><th>Check</th><th>What PASS means</th><th>Severity</th><th class=\"num\">PASS</th><th class=\"num\">FAIL</th><th class=\"num\">WARN</th><th class=\"num\">ERROR</th><th>Controls</th></tr></thead>\n<tbody>\n")?;
        for (check, counts) in &summary.by_check {
            page.raw("<tr><td><a class=\"id\" href=\"#check=")?;
            page.raw(check.as_str())?;
            page.raw("\">")?;
            page.raw(check.as_str())?;
            page.raw("</a></td><td>")?;
            page.text(check.title())?;
            page.raw("</td><td>")?;
            page.raw(check.severity().as_str())?;
            page.raw("</td>")?;
            for status in Status::ALL {
                page.raw("<td class=\"num\">")?;
                page.count(counts.get(status))?;
                page.raw("</td>")?;
            }
            page.raw("<td>")?;
            page.text(&check.controls())?;
            page.raw("</td></tr>\n")?;
        }
        page.raw("</tbody>\n</table>\n</section>\n")
    }
}

/// One horizontal bar per entry, its PASS / FAIL / WARN / ERROR shares
/// stacked, each labelled with its count where it is wide enough.
pub(super) fn stacked_bars(
    page: &mut Markup<'_>,
    bars: &[(&str, &StatusCounts)],
) -> io::Result<()> {
    const LABEL: f64 = 250.0;
    const BAR: f64 = 540.0;
    const ROW: f64 = 28.0;
    let height = ROW * bars.len() as f64 + 6.0;
    page.raw("<svg role=\"img\" aria-label=\"Findings by status for each check\" width=\"1120\" height=\"")?;
    page.decimal(height)?;
    page.raw("\" viewBox=\"0 0 1120 ")?;
    page.decimal(height)?;
    page.raw("\">\n")?;
    for (row, (name, counts)) in bars.iter().enumerate() {
        let y = ROW * row as f64 + 4.0;
        let total = counts.total();
        page.raw("<text x=\"0\" y=\"")?;
        page.decimal(y + 15.0)?;
        page.raw("\">")?;
        page.text(name)?;
        page.raw("</text>\n")?;
        let mut x = LABEL;
        for status in Status::ALL {
            let n = counts.get(status);
            if n == 0 || total == 0 {
                continue;
            }
            let width = BAR * n as f64 / total as f64;
            page.raw("<rect x=\"")?;
            page.decimal(x)?;
            page.raw("\" y=\"")?;
            page.decimal(y)?;
            page.raw("\" width=\"")?;
            page.decimal(width)?;
            page.raw("\" height=\"20\" fill=\"")?;
            page.raw(colour(status))?;
            page.raw("\"><title>")?;
            page.text(name)?;
            page.raw(": ")?;
            page.count(n)?;
            page.raw(" ")?;
            page.raw(status.as_str())?;
            page.raw("</title></rect>\n")?;
            // A digit is about 7 units wide at this size.
            if width >= 8.0 + 7.0 * digits(n) as f64 {
                page.raw("<text class=\"in\" x=\"")?;
                page.decimal(x + 4.0)?;
                page.raw("\" y=\"")?;
                page.decimal(y + 15.0)?;
                page.raw("\">")?;
                page.count(n)?;
                page.raw("</text>\n")?;
            }
            x += width;
        }
        page.raw("<text x=\"")?;
        page.decimal(LABEL + BAR + 10.0)?;
        page.raw("\" y=\"")?;
        page.decimal(y + 15.0)?;
        page.raw("\">")?;
        for (i, status) in Status::ALL.into_iter().enumerate() {
            if i > 0 {
                page.raw(" · ")?;
            }
            page.count(counts.get(status))?;
            page.raw(" ")?;
            page.raw(status.as_str())?;
        }
        page.raw("</text>\n")?;
    }
    page.raw("</svg>\n")
}

pub(super) fn digits(n: usize) -> usize {
    n.checked_ilog10().unwrap_or(0) as usize + 1
}

pub(super) fn colour(status: Status) -> &'static str {
    match status {
        Status::Pass => "#2e7d32",
        Status::Fail => "#c62828",
        Status::Warn => "#b26a00",
        Status::Error => "#6a1b9a",
    }
}

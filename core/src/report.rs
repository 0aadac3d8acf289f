//! A sync run's report by email, as a pure function: who gets one ([`report_wanted`]) and what
//! it says ([`compose`]): a one-line subject, a plain-text body and an HTML body with the
//! counts, the warnings, the error and what to do about it, the first changes and the run's link.
//!
//! Everything that comes from the directory (addresses, names, warnings, Microsoft's error
//! text) is untrusted: the HTML body escapes it (`html-escape`), and the subject keeps no
//! control character, so no CR/LF reaches a header.

use std::fmt::Write as _;

use crate::run::{ChangeKind, RunTrigger, RENAMED_LABEL};
use crate::sync::{summary, thousands, LimitExceeded, PlannedCounts};

/// How many changes a report lists; the rest are on the run's page.
pub const REPORT_MAX_CHANGES: usize = 50;
/// How many warnings a report lists.
pub const REPORT_MAX_WARNINGS: usize = 20;
/// Longest failure reason kept in a subject (in characters).
const SUBJECT_REASON_MAX: usize = 120;

/// Whether a run that ended gets a report: a scheduled run when Sync Notifications are on, a
/// Manual Sync when recipients are listed; never a Test Sync, never without recipients.
pub fn report_wanted(
    trigger: RunTrigger,
    test: bool,
    notifications_enabled: bool,
    has_recipients: bool,
) -> bool {
    if test || !has_recipients {
        return false;
    }
    match trigger {
        RunTrigger::Manual => true,
        RunTrigger::Schedule => notifications_enabled,
    }
}

/// How the run ended, as far as the report tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportOutcome {
    Applied(PlannedCounts),
    /// A Test Sync's plan (reports are not sent for these; composed for completeness).
    Planned(PlannedCounts),
    LimitExceeded(PlannedCounts, Vec<LimitExceeded>),
    Failed {
        message: String,
        code: Option<String>,
    },
}

/// One change, as the run's page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportChange {
    pub kind: ChangeKind,
    pub address: String,
    /// The alias or member, for alias and member changes.
    pub item: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    /// For a rename (an `account_update` of the same directory object whose primary address
    /// changes): the new primary address; `address` is the old one.
    pub new_address: Option<String>,
}

/// Everything a report is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    pub domain: String,
    pub outcome: ReportOutcome,
    /// The first warnings (at most [`REPORT_MAX_WARNINGS`] are listed) and how many there are.
    pub warnings: Vec<String>,
    pub warnings_total: u64,
    /// The first changes (at most [`REPORT_MAX_CHANGES`] are listed) and how many there are.
    pub changes: Vec<ReportChange>,
    pub changes_total: u64,
    /// The run's page: `ROSTER_PUBLIC_URL` + `/domains/{id}/sync/runs/{run}`.
    pub run_url: String,
}

/// A composed message (multipart/alternative: `text` and `html`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposedReport {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// One line of text with no control characters (CR, LF, tabs, …): safe in a header.
pub fn single_line(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// "+a −d accounts, +x −y aliases"
fn short_counts(c: &PlannedCounts) -> String {
    format!(
        "+{} −{} accounts, +{} −{} aliases",
        thousands(c.accounts_added),
        thousands(c.accounts_deleted),
        thousands(c.aliases_added),
        thousands(c.aliases_deleted)
    )
}

/// The subject line: "<domain>: sync succeeded — +a −d accounts, +x −y aliases",
/// "<domain>: sync failed: <reason>" or "<domain>: sync stopped: Operations Limit exceeded".
pub fn subject(report: &RunReport) -> String {
    let domain = single_line(&report.domain);
    let text = match &report.outcome {
        ReportOutcome::Applied(c) => format!("{domain}: sync succeeded — {}", short_counts(c)),
        ReportOutcome::Planned(c) => format!("{domain}: test sync planned — {}", short_counts(c)),
        ReportOutcome::LimitExceeded(..) => {
            format!("{domain}: sync stopped: Operations Limit exceeded")
        }
        ReportOutcome::Failed { message, .. } => format!(
            "{domain}: sync failed: {}",
            truncate_chars(&single_line(message), SUBJECT_REASON_MAX)
        ),
    };
    single_line(&text)
}

/// The opening sentence and what to do, per outcome.
fn headline(report: &RunReport) -> (String, Option<&'static str>) {
    let domain = &report.domain;
    match &report.outcome {
        ReportOutcome::Applied(c) => (
            format!("The sync of {domain} succeeded: {}.", summary(c)),
            None,
        ),
        ReportOutcome::Planned(c) => (
            format!("The Test Sync of {domain} planned: {}. Nothing was applied.", summary(c)),
            None,
        ),
        ReportOutcome::LimitExceeded(..) => (
            format!("The sync of {domain} stopped: its changes go beyond the Operations Limit. Nothing was applied."),
            Some("Review the planned changes on the run's page. If they are expected, use \"Apply these changes\" there; otherwise check the directory, or change the Operations Limit on the Office 365 Sync page."),
        ),
        ReportOutcome::Failed { .. } => (
            format!("The sync of {domain} failed. Nothing was changed."),
            Some("Correct the cause described above (the Office 365 Sync page shows the domain's connection and settings), then run Manual Sync again. The run's page has the details."),
        ),
    }
}

fn change_text(change: &ReportChange) -> String {
    let mut line = match &change.new_address {
        // "Account renamed: old@contoso.com → new@contoso.com"
        Some(new) => format!("{RENAMED_LABEL}: {} → {new}", change.address),
        None => format!("{}: {}", change.kind.label(), change.address),
    };
    if let Some(item) = &change.item {
        let _ = write!(line, " — {item}");
    }
    match (&change.before, &change.after) {
        // A rename that keeps the name and kind.
        (Some(b), Some(a)) if a == b => {
            let _ = write!(line, " ({a})");
        }
        (Some(b), Some(a)) => {
            let _ = write!(line, " ({b} → {a})");
        }
        (None, Some(a)) => {
            let _ = write!(line, " ({a})");
        }
        (Some(b), None) => {
            let _ = write!(line, " (was {b})");
        }
        (None, None) => {}
    }
    single_line(&line)
}

/// Subject, plain text and HTML of a run's report.
pub fn compose(report: &RunReport) -> ComposedReport {
    ComposedReport {
        subject: subject(report),
        text: text_body(report),
        html: html_body(report),
    }
}

fn counts_of(outcome: &ReportOutcome) -> Option<&PlannedCounts> {
    match outcome {
        ReportOutcome::Applied(c)
        | ReportOutcome::Planned(c)
        | ReportOutcome::LimitExceeded(c, _) => Some(c),
        ReportOutcome::Failed { .. } => None,
    }
}

fn more_changes(report: &RunReport) -> u64 {
    report
        .changes_total
        .saturating_sub(report.changes.len().min(REPORT_MAX_CHANGES) as u64)
}

fn more_warnings(report: &RunReport) -> u64 {
    report
        .warnings_total
        .saturating_sub(report.warnings.len().min(REPORT_MAX_WARNINGS) as u64)
}

fn text_body(report: &RunReport) -> String {
    let mut out = String::new();
    let (head, todo) = headline(report);
    let _ = writeln!(out, "{head}\n");
    if let ReportOutcome::Failed { message, code } = &report.outcome {
        let _ = writeln!(out, "Error: {}", single_line(message));
        if let Some(code) = code {
            let _ = writeln!(out, "Microsoft's code: {}", single_line(code));
        }
        out.push('\n');
    }
    if let ReportOutcome::LimitExceeded(_, exceeded) = &report.outcome {
        let _ = writeln!(out, "Operations Limit exceeded:");
        for e in exceeded {
            let _ = writeln!(out, "- {e}");
        }
        out.push('\n');
    }
    if let Some(todo) = todo {
        let _ = writeln!(out, "What to do: {todo}\n");
    }
    if let Some(c) = counts_of(&report.outcome) {
        let _ = writeln!(out, "Changes by kind:");
        for (label, n) in c.labelled() {
            let _ = writeln!(out, "  {label}: {}", thousands(n));
        }
        out.push('\n');
    }
    if report.warnings_total > 0 {
        let _ = writeln!(
            out,
            "Warnings ({}): these objects of the directory were skipped.",
            thousands(report.warnings_total)
        );
        for w in report.warnings.iter().take(REPORT_MAX_WARNINGS) {
            let _ = writeln!(out, "- {}", single_line(w));
        }
        if more_warnings(report) > 0 {
            let _ = writeln!(out, "…and {} more", thousands(more_warnings(report)));
        }
        out.push('\n');
    }
    if !report.changes.is_empty() {
        let _ = writeln!(out, "Changes:");
        for c in report.changes.iter().take(REPORT_MAX_CHANGES) {
            let _ = writeln!(out, "- {}", change_text(c));
        }
        if more_changes(report) > 0 {
            let _ = writeln!(out, "…and {} more", thousands(more_changes(report)));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "The whole run: {}", single_line(&report.run_url));
    out
}

fn html_body(report: &RunReport) -> String {
    use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
    let mut out =
        String::from("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n");
    let (head, todo) = headline(report);
    let _ = writeln!(out, "<p>{}</p>", text(&head));
    if let ReportOutcome::Failed { message, code } = &report.outcome {
        let _ = writeln!(out, "<p><strong>Error:</strong> {}</p>", text(message));
        if let Some(code) = code {
            let _ = writeln!(out, "<p>Microsoft's code: {}</p>", text(code));
        }
    }
    if let ReportOutcome::LimitExceeded(_, exceeded) = &report.outcome {
        let _ = writeln!(
            out,
            "<p><strong>Operations Limit exceeded:</strong></p>\n<ul>"
        );
        for e in exceeded {
            let _ = writeln!(out, "<li>{}</li>", text(&e.to_string()));
        }
        out.push_str("</ul>\n");
    }
    if let Some(todo) = todo {
        let _ = writeln!(out, "<p><strong>What to do:</strong> {}</p>", text(todo));
    }
    if let Some(c) = counts_of(&report.outcome) {
        out.push_str("<h2>Changes by kind</h2>\n<table>\n");
        for (label, n) in c.labelled() {
            let _ = writeln!(
                out,
                "<tr><th scope=\"row\" align=\"left\">{}</th><td align=\"right\">{}</td></tr>",
                text(label),
                thousands(n)
            );
        }
        out.push_str("</table>\n");
    }
    if report.warnings_total > 0 {
        let _ = writeln!(
            out,
            "<h2>Warnings ({})</h2>\n<p>These objects of the directory were skipped.</p>\n<ul>",
            thousands(report.warnings_total)
        );
        for w in report.warnings.iter().take(REPORT_MAX_WARNINGS) {
            let _ = writeln!(out, "<li>{}</li>", text(w));
        }
        out.push_str("</ul>\n");
        if more_warnings(report) > 0 {
            let _ = writeln!(out, "<p>…and {} more</p>", thousands(more_warnings(report)));
        }
    }
    if !report.changes.is_empty() {
        out.push_str("<h2>Changes</h2>\n<ul>\n");
        for c in report.changes.iter().take(REPORT_MAX_CHANGES) {
            let _ = writeln!(out, "<li>{}</li>", text(&change_text(c)));
        }
        out.push_str("</ul>\n");
        if more_changes(report) > 0 {
            let _ = writeln!(out, "<p>…and {} more</p>", thousands(more_changes(report)));
        }
    }
    let _ = writeln!(
        out,
        "<p><a href=\"{}\">Open this run in Roster</a></p>\n</body></html>",
        attr(&report.run_url)
    );
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::limits::LimitKind;

    fn counts() -> PlannedCounts {
        PlannedCounts {
            accounts_added: 3,
            accounts_deleted: 1,
            aliases_added: 2,
            aliases_deleted: 0,
            ..PlannedCounts::default()
        }
    }

    fn report(outcome: ReportOutcome) -> RunReport {
        RunReport {
            domain: "contoso.com".into(),
            outcome,
            warnings: vec![],
            warnings_total: 0,
            changes: vec![],
            changes_total: 0,
            run_url: "https://roster.example/domains/d/sync/runs/r".into(),
        }
    }

    fn change(n: usize) -> ReportChange {
        ReportChange {
            kind: ChangeKind::AccountAdd,
            address: format!("user{n}@contoso.com"),
            item: None,
            before: None,
            after: Some("User, mailbox".into()),
            new_address: None,
        }
    }

    #[test]
    fn who_gets_a_report() {
        use RunTrigger::*;
        // Manual Sync: whenever recipients are listed, notifications switch or not.
        assert!(report_wanted(Manual, false, false, true));
        assert!(!report_wanted(Manual, false, true, false));
        // Scheduled: only with Sync Notifications on.
        assert!(report_wanted(Schedule, false, true, true));
        assert!(!report_wanted(Schedule, false, false, true));
        // Test Sync: never.
        assert!(!report_wanted(Manual, true, true, true));
        assert!(!report_wanted(Schedule, true, true, true));
    }

    #[test]
    fn subjects_of_each_outcome() {
        assert_eq!(
            subject(&report(ReportOutcome::Applied(counts()))),
            "contoso.com: sync succeeded — +3 −1 accounts, +2 −0 aliases"
        );
        let exceeded = vec![LimitExceeded {
            kind: LimitKind::AccountDelete,
            planned: 150,
            limit: 100,
        }];
        assert_eq!(
            subject(&report(ReportOutcome::LimitExceeded(counts(), exceeded))),
            "contoso.com: sync stopped: Operations Limit exceeded"
        );
        assert_eq!(
            subject(&report(ReportOutcome::Failed {
                message: "Permission was revoked.".into(),
                code: None
            })),
            "contoso.com: sync failed: Permission was revoked."
        );
    }

    #[test]
    fn no_line_break_from_an_error_reaches_the_subject() {
        let s = subject(&report(ReportOutcome::Failed {
            message: "bad\r\nBcc: victim@example.com\n".into(),
            code: None,
        }));
        assert!(!s.contains('\r') && !s.contains('\n'), "{s:?}");
        assert_eq!(s, "contoso.com: sync failed: bad Bcc: victim@example.com");
        let long = subject(&report(ReportOutcome::Failed {
            message: "x".repeat(500),
            code: None,
        }));
        assert!(long.chars().count() < 200, "{long}");
        assert!(long.ends_with('…'));
    }

    #[test]
    fn directory_text_is_escaped_in_html_and_kept_in_text() {
        let mut r = report(ReportOutcome::Applied(counts()));
        r.changes = vec![ReportChange {
            kind: ChangeKind::AccountAdd,
            address: "a@contoso.com".into(),
            item: None,
            before: None,
            after: Some("<script>alert(1)</script> & co".into()),
            new_address: None,
        }];
        r.changes_total = 1;
        r.warnings = vec!["<img src=x onerror=alert(1)>".into()];
        r.warnings_total = 1;
        r.run_url = "https://roster.example/x?a=\"><b>".into();
        let c = compose(&r);
        assert!(!c.html.contains("<script>"), "{}", c.html);
        assert!(!c.html.contains("<img"), "{}", c.html);
        assert!(c
            .html
            .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
        assert!(!c.html.contains("\"><b>"), "{}", c.html);
        assert!(c.text.contains("<script>alert(1)</script> & co"));
    }

    #[test]
    fn lists_the_first_50_changes_and_says_how_many_more() {
        let mut r = report(ReportOutcome::Applied(counts()));
        r.changes = (0..60).map(change).collect();
        r.changes_total = 1234;
        let c = compose(&r);
        assert!(c.text.contains("user49@contoso.com"));
        assert!(!c.text.contains("user50@contoso.com"));
        assert!(c.text.contains("…and 1,184 more"));
        assert!(c.html.contains("…and 1,184 more"));
        // No "more" when all are listed.
        r.changes = (0..3).map(change).collect();
        r.changes_total = 3;
        assert!(!compose(&r).text.contains("more"));
    }

    #[test]
    fn a_rename_reads_as_one_change_from_the_old_address_to_the_new() {
        let renamed = PlannedCounts {
            accounts_renamed: 1,
            ..PlannedCounts::default()
        };
        let mut r = report(ReportOutcome::Applied(renamed));
        r.changes = vec![
            ReportChange {
                kind: ChangeKind::AccountUpdate,
                address: "adele@contoso.com".into(),
                item: None,
                before: Some("Adele Vance, mailbox".into()),
                after: Some("Adele Vance, mailbox".into()),
                new_address: Some("adele.vance@contoso.com".into()),
            },
            ReportChange {
                kind: ChangeKind::AccountUpdate,
                address: "bob@contoso.com".into(),
                item: None,
                before: Some("Bob, mailbox".into()),
                after: Some("Robert, mailbox".into()),
                new_address: Some("robert@contoso.com".into()),
            },
        ];
        r.changes_total = 2;
        let c = compose(&r);
        assert!(
            c.text.contains(
                "- Account renamed: adele@contoso.com → adele.vance@contoso.com (Adele Vance, mailbox)\n"
            ),
            "{}",
            c.text
        );
        assert!(
            c.text.contains(
                "- Account renamed: bob@contoso.com → robert@contoso.com (Bob, mailbox → Robert, mailbox)"
            ),
            "{}",
            c.text
        );
        assert!(c.text.contains("Email accounts renamed: 1"));
        assert!(c
            .html
            .contains("<li>Account renamed: adele@contoso.com → adele.vance@contoso.com"));
    }

    #[test]
    fn an_account_disabled_or_enabled_again_reads_as_a_change_saying_so() {
        use crate::account::{DISABLED_IN_DIRECTORY, ENABLED_AGAIN};
        let updated = PlannedCounts {
            accounts_updated: 2,
            ..PlannedCounts::default()
        };
        let mut r = report(ReportOutcome::Applied(updated));
        let change = |address: &str, before: String, after: String| ReportChange {
            kind: ChangeKind::AccountUpdate,
            address: address.into(),
            item: None,
            before: Some(before),
            after: Some(after),
            new_address: None,
        };
        r.changes = vec![
            change(
                "bob@contoso.com",
                "Bob, mailbox".into(),
                format!("Bob, mailbox, {DISABLED_IN_DIRECTORY}"),
            ),
            change(
                "support@contoso.com",
                format!("Support, mailbox, {DISABLED_IN_DIRECTORY}"),
                format!("Support, mailbox, {ENABLED_AGAIN}"),
            ),
        ];
        r.changes_total = 2;
        let c = compose(&r);
        assert!(
            c.text.contains("- Account changed: bob@contoso.com (Bob, mailbox → Bob, mailbox, disabled in the directory)\n"),
            "{}",
            c.text
        );
        assert!(
            c.text.contains("- Account changed: support@contoso.com (Support, mailbox, disabled in the directory → Support, mailbox, enabled again)"),
            "{}",
            c.text
        );
        assert!(c.text.contains("2 accounts updated"), "{}", c.text);
        assert!(c.html.contains("Bob, mailbox, disabled in the directory"));
    }

    #[test]
    fn bodies_hold_counts_error_advice_and_the_link() {
        let failed = compose(&report(ReportOutcome::Failed {
            message: "Consent was revoked.".into(),
            code: Some("AADSTS65001".into()),
        }));
        for body in [&failed.text, &failed.html] {
            assert!(body.contains("Consent was revoked."));
            assert!(body.contains("AADSTS65001"));
            assert!(body.contains("What to do"));
            assert!(body.contains("https://roster.example/domains/d/sync/runs/r"));
        }
        let applied = compose(&report(ReportOutcome::Applied(counts())));
        assert!(applied.text.contains("Email accounts added: 3"));
        assert!(applied
            .html
            .contains("<a href=\"https://roster.example/domains/d/sync/runs/r\">"));
        assert!(!applied.text.contains("What to do"));
    }
}

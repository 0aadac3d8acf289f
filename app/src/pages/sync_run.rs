//! A sync run's page: status, trigger, duration, counts by kind, exceeded limits, warnings, the
//! error if any, "Apply these changes" for a plan kept at the Operations Limit, and every
//! change — filtered by kind and address (a GET form), a page at a time, and as CSV.

use crate::api::sync_runs::{get_sync_run, list_run_changes, ApplyKeptPlan};
use crate::components::confirm::{CancelButton, Dialog};
use crate::components::forms::{action_error, FormError, GetForm};
use crate::components::layout::sync_slug;
use crate::components::pager::{urlencode, Pager};
use crate::components::status::{format_time, EmptyRow, ErrorPanel, Loading};
use crate::error::AppError;
use crate::model::{thousands, RunDetail};
use crate::pages::domain_layout::use_domain;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use roster_core::{ChangeKind, RunState};
use uuid::Uuid;

#[component]
pub fn SyncRunPage() -> impl IntoView {
    let domain = use_domain();
    let domain_id = domain.id;
    let params = use_params_map();
    let run_id = move || {
        params
            .read()
            .get("run_id")
            .and_then(|id| Uuid::parse_str(&id).ok())
            .unwrap_or_default()
    };
    let apply = ServerAction::<ApplyKeptPlan>::new();
    let detail = Resource::new(run_id, move |run_id| get_sync_run(domain_id, run_id));
    // An applied plan runs as a new run: go to its page.
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(new_run)) = apply.value().get() {
            navigate(
                &format!("/domains/{domain_id}/sync/runs/{new_run}"),
                Default::default(),
            );
        }
    });
    view! {
        <Title text=format!("Sync run · {}", domain.name) />
        {sync_slug(domain.server_type).zip(domain.server_type.sync_menu_label()).map(|(slug, label)| view! {
            <p><A href=format!("/domains/{domain_id}/sync/{slug}")>{format!("← {label}")}</A></p>
        })}
        <div class="async">
        <Transition fallback=|| view! { <Loading what="Loading the run…" /> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(d) => view! { <RunView detail=d apply /> }.into_any(),
                }
            })}
        </Transition>
        </div>
        // A sibling, not a child, of the run's Transition: nested Suspense is what Leptos 0.8
        // hydrates least reliably.
        {move || view! { <Changes domain_id run_id=run_id() /> }}
    }
}

#[component]
fn RunView(detail: RunDetail, apply: ServerAction<ApplyKeptPlan>) -> impl IntoView {
    let run = detail.run.clone();
    let domain_id = detail.domain_id;
    let title = if run.test { "Test Sync" } else { "Sync" };
    let duration = match (detail.started_at, run.finished_at) {
        (Some(s), Some(f)) => {
            let secs = (f - s).num_seconds().max(0);
            if secs >= 60 {
                format!("{} min {} s", secs / 60, secs % 60)
            } else if secs == 0 {
                "less than a second".to_owned()
            } else {
                format!("{secs} s")
            }
        }
        _ => "—".to_owned(),
    };
    let trigger = match detail.requested_by.as_deref() {
        Some(who) => format!("Manual, by {who}"),
        None => crate::model::synced_by(None, detail.attempt),
    };
    let apply_error = action_error(apply);
    let counts = detail.counts.map(|c| c.labelled());
    let kept_note = match run.status {
        RunState::LimitExceeded => Some("Nothing was applied: the plan goes beyond the Operations Limit. The changes below are what this sync would have made."),
        RunState::Planned => Some("Test Sync: nothing was applied. The changes below are what a Manual Sync would make now."),
        RunState::Failed => Some("Nothing was changed."),
        _ => None,
    };
    view! {
        <h1>{format!("{title} of {}", format_time(&run.queued_at))}</h1>
        <section class="panel" aria-labelledby="run-facts">
            <h2 id="run-facts" class="visually-hidden">"About this run"</h2>
            <dl class="facts">
                <dt>"Status"</dt><dd>{run.status_label()}</dd>
                <dt>"Started by"</dt><dd>{trigger}</dd>
                <dt>"Queued"</dt><dd>{format_time(&run.queued_at)}</dd>
                <dt>"Duration"</dt><dd>{duration}</dd>
                {detail.read_kind.map(|k| view! { <dt>"Read from the directory"</dt><dd>{k.describe()}</dd> })}
                <dt>"Directory objects read"</dt><dd>{thousands(run.objects_read)}</dd>
                <dt>"Accounts of this domain"</dt><dd>{thousands(run.accounts_read)}</dd>
            </dl>
            {run.summary.clone().map(|s| view! { <p><strong>"Summary: "</strong>{s}</p> })}
            {kept_note.map(|n| view! { <p class="muted">{n}</p> })}
            {run.is_active().then(|| view! { <p role="status">{run.phase_text()}" — follow it live on the domain's sync page."</p> })}
            {detail.error.clone().map(|e| view! {
                <div class="notice error" role="alert">
                    <p>{e}</p>
                    {detail.error_code.clone().map(|c| view! { <p class="muted">{format!("Microsoft's code: {c}")}</p> })}
                </div>
            })}
            {(!detail.exceeded.is_empty()).then(|| view! {
                <div class="notice error" role="alert">
                    <p><strong>"Operations Limit exceeded"</strong></p>
                    <ul>{detail.exceeded.iter().map(|e| view! { <li>{e.clone()}</li> }).collect_view()}</ul>
                </div>
            })}
            {detail.report.clone().map(|report| {
                let failed = report.status == "failed";
                let sentence = report.sentence(format_time);
                if failed {
                    view! { <div class="notice error" role="alert"><p>{sentence}</p></div> }.into_any()
                } else {
                    view! { <p class="report-email">{sentence}</p> }.into_any()
                }
            })}
            {detail.applies_run_id.map(|kept| view! {
                <p>"This run applied the plan of "<A href=format!("/domains/{domain_id}/sync/runs/{kept}")>"an earlier sync stopped by the Operations Limit"</A>"."</p>
            })}
            {detail.applied_by_run_id.map(|by| view! {
                <p>"These changes were applied by "<A href=format!("/domains/{domain_id}/sync/runs/{by}")>"a later run"</A>"."</p>
            })}
            {detail.can_apply.then(|| view! {
                <FormError error=apply_error />
                <button type="button" class="button primary" popovertarget="apply-dialog">"Apply these changes"</button>
                <Dialog id="apply-dialog".to_owned() title="Apply these changes?".to_owned()>
                    <p>"The changes below go beyond your Operations Limit. Apply them once, as they are? Roster first checks that this domain's recipients have not changed since the plan was made, and refuses if they have."</p>
                    <ActionForm action=apply>
                        <input type="hidden" name="domain_id" value=domain_id.to_string() />
                        <input type="hidden" name="run_id" value=run.id.to_string() />
                        <div class="actions">
                            <button type="submit" class="button primary">"Apply"</button>
                            <CancelButton dialog="apply-dialog".to_owned() />
                        </div>
                    </ActionForm>
                </Dialog>
            })}
        </section>
        {counts.map(|rows| view! {
            <section class="section" aria-labelledby="counts-title">
                <h2 id="counts-title">"Changes by kind"</h2>
                <table class="table compact">
                    <tbody>
                        {rows.into_iter().map(|(label, n)| view! {
                            <tr><th scope="row">{label}</th><td class="num">{thousands(i64::try_from(n).unwrap_or(i64::MAX))}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
        })}
        {(detail.warnings_total > 0).then(|| view! {
            <section class="section" aria-labelledby="warnings-title">
                <h2 id="warnings-title">{format!("Warnings ({})", thousands(detail.warnings_total))}</h2>
                <p class="muted">"These objects of the directory were skipped; the rest of the sync went ahead."</p>
                <ul class="warnings">
                    {detail.warnings.iter().map(|w| view! { <li>{w.message.clone()}</li> }).collect_view()}
                </ul>
                {(detail.warnings_total > i64::try_from(detail.warnings.len()).unwrap_or(0)).then(|| view! {
                    <p class="muted">"Only the first 200 are listed."</p>
                })}
            </section>
        })}
    }
}

/// The run's changes: kind and address filters (`?kind=…&q=…`), pages (`?page=N`), CSV.
#[component]
fn Changes(domain_id: Uuid, run_id: Uuid) -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        let q = query.read();
        (
            q.get("kind").unwrap_or_default(),
            q.get("q").unwrap_or_default(),
            q.get("page")
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(1),
        )
    };
    let changes = Resource::new(filter, move |(kind, search, page)| {
        list_run_changes(domain_id, run_id, kind, search, page)
    });
    let csv = format!("/domains/{domain_id}/sync/runs/{run_id}/changes.csv");
    view! {
        <section class="section" aria-labelledby="changes-title">
            <div class="page-head">
                <h2 id="changes-title">"Changes"</h2>
                <a class="button" href=csv download="">"Download CSV"</a>
            </div>
            <GetForm class="filters">
                <div class="field">
                    <label for="change-kind">"Kind"</label>
                    <select id="change-kind" name="kind">
                        <option value="" selected=move || filter().0.is_empty()>"All changes"</option>
                        {ChangeKind::ALL.iter().map(|&k| view! {
                            <option value=k.as_str() selected=move || filter().0 == k.as_str()>{k.label()}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="change-search">"Address contains"</label>
                    <input id="change-search" type="search" name="q" autocomplete="off" spellcheck="false"
                        prop:value=move || filter().1 />
                </div>
                <button type="submit" class="button">"Filter"</button>
            </GetForm>
            <div class="async">
            <Transition fallback=|| view! { <Loading what="Loading the changes…" /> }>
                {move || Suspend::new(async move {
                    match changes.await {
                        // The run's own panel above says so.
                        Err(AppError::NotFound) => ().into_any(),
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(p) => {
                            let (kind, search, _) = filter();
                            let pages = p.pages();
                            let empty = p.rows.is_empty();
                            view! {
                                <p class="count" role="status">{format!("{} change{}", thousands(p.total), if p.total == 1 { "" } else { "s" })}</p>
                                <table class="table">
                                    <thead>
                                        <tr>
                                            <th scope="col">"Kind"</th>
                                            <th scope="col">"Address"</th>
                                            <th scope="col">"Alias or member"</th>
                                            <th scope="col">"Before"</th>
                                            <th scope="col">"After"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {empty.then(|| view! { <EmptyRow colspan=5>"No changes."</EmptyRow> })}
                                        {p.rows.into_iter().map(|c| view! {
                                            <tr>
                                                <td>{c.label()}</td>
                                                <td>{c.address_text()}</td>
                                                <td>{c.item.unwrap_or_default()}</td>
                                                <td>{c.before.unwrap_or_default()}</td>
                                                <td>{c.after.unwrap_or_default()}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                <Pager page=p.page pages href=move |n| format!("?kind={}&q={}&page={n}", urlencode(&kind), urlencode(&search)) />
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            </div>
        </section>
    }
}

//! The sync part of every directory's sync page (`directory_sync`): Manual Sync and Test Sync, the latest run with
//! its live progress (Server-Sent Events from `/domains/{id}/sync/events`), and Sync History.

use crate::api::sync_runs::{get_sync_overview, list_sync_history, StartSync};
use crate::components::forms::{action_error, successes, FormError};
use crate::components::pager::Pager;
use crate::components::status::{format_time, EmptyRow, ErrorPanel, Loading, Time};
use crate::model::RunStatus;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;
use roster_core::RunState;
use uuid::Uuid;

/// Bumped whenever a run starts or ends, so Sync History reloads.
#[derive(Clone, Copy)]
pub struct HistoryVersion(pub RwSignal<u32>);

/// The latest run as the progress stream last pushed it (`None` before the first event):
/// Sync History shows that run's row from it, so the row follows the run even when history
/// reloads answer out of order or a reload's page was rendered while the run was ending.
#[derive(Clone, Copy)]
pub struct LiveRun(pub RwSignal<Option<Option<RunStatus>>>);

#[component]
pub fn SyncPanel(domain_id: Uuid) -> impl IntoView {
    let start = ServerAction::<StartSync>::new();
    let started = successes(start);
    let history = use_context::<HistoryVersion>();
    // The latest run as pushed by the server; `None` until the first event.
    let live = use_context::<LiveRun>()
        .map(|l| l.0)
        .unwrap_or_else(|| RwSignal::new(None));
    let overview = Resource::new(move || started.get(), move |_| get_sync_overview(domain_id));
    Effect::new(move |_| {
        if started.get() > 0 {
            live.set(None);
            if let Some(HistoryVersion(v)) = history {
                v.update(|v| *v += 1);
            }
        }
    });
    subscribe(domain_id, live, history);
    let error = action_error(start);
    view! {
        <section class="panel" aria-labelledby="sync-title">
            <h2 id="sync-title">"Synchronize"</h2>
            <div class="async">
            <Transition fallback=|| view! { <Loading what="Loading the latest sync…" /> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(o) if o.unavailable.is_some() => view! {
                            <p class="muted">{o.unavailable}</p>
                        }.into_any(),
                        Ok(o) => {
                            let initial = o.latest;
                            let latest = Signal::derive(move || live.get().unwrap_or_else(|| initial.clone()));
                            let verified = o.ownership_verified;
                            view! { <SyncControls domain_id start latest error verified /> }.into_any()
                        }
                    }
                })}
            </Transition>
            </div>
        </section>
    }
}

#[component]
fn SyncControls(
    domain_id: Uuid,
    start: ServerAction<StartSync>,
    latest: Signal<Option<RunStatus>>,
    error: Signal<Option<crate::error::AppError>>,
    /// The domain's ownership is proven; syncs are refused until it is.
    verified: bool,
) -> impl IntoView {
    let active = move || latest.with(|l| l.as_ref().is_some_and(RunStatus::is_active));
    let busy = move || !verified || active() || start.pending().get();
    view! {
        <p>"Manual Sync makes this domain's recipients match your directory now. Test Sync computes the same changes and applies none of them: use it to check your settings first."</p>
        {(!verified).then(|| view! {
            <p class="notice error" id="sync-unavailable">
                "Manual Sync and Test Sync are unavailable: Ownership not verified. The domain's DNS record has not been checked (an Office 365 domain is also proven when its connected Microsoft 365 tenant lists it as a verified domain). Prove it on the "
                <a href=format!("/domains/{domain_id}")>"Inbound Servers"</a>
                " page."
            </p>
        })}
        <FormError error />
        <div class="actions">
            <ActionForm action=start>
                <input type="hidden" name="domain_id" value=domain_id.to_string() />
                <input type="hidden" name="mode" value="manual" />
                <button type="submit" class="button primary" disabled=busy aria-describedby=(!verified).then_some("sync-unavailable")>"Manual Sync"</button>
            </ActionForm>
            <ActionForm action=start>
                <input type="hidden" name="domain_id" value=domain_id.to_string() />
                <input type="hidden" name="mode" value="test" />
                <button type="submit" class="button" disabled=busy aria-describedby=(!verified).then_some("sync-unavailable")>"Test Sync"</button>
            </ActionForm>
        </div>
        {move || latest.get().map(|run| view! { <RunProgress run domain_id /> })}
    }
}

/// The latest run: a progress bar while it runs, its summary once it ended.
#[component]
fn RunProgress(run: RunStatus, domain_id: Uuid) -> impl IntoView {
    let href = format!("/domains/{domain_id}/sync/runs/{}", run.id);
    let kind = if run.test { "Test Sync" } else { "Sync" };
    if run.is_active() {
        let percent = run.percent();
        let text = run.phase_text();
        view! {
            <div class="sync-progress">
                <div class="progress" role="progressbar" aria-label="Sync progress"
                    aria-valuemin="0" aria-valuemax="100" aria-valuenow=percent.to_string() aria-valuetext=text.clone()>
                    // An SVG bar: its width is an attribute, not an inline style, which the
                    // Content-Security-Policy (style-src 'self') would block.
                    <svg class="progress-fill" viewBox="0 0 100 1" preserveAspectRatio="none" aria-hidden="true">
                        <rect width=percent.to_string() height="1"></rect>
                    </svg>
                </div>
                <p role="status" aria-live="polite">{format!("{kind} running: {text}")}</p>
            </div>
        }
        .into_any()
    } else {
        let failed = matches!(run.status, RunState::Failed | RunState::LimitExceeded);
        let when = run
            .finished_at
            .as_ref()
            .map(format_time)
            .unwrap_or_default();
        let summary = run.summary.clone().unwrap_or_default();
        view! {
            <p class=if failed { "notice error" } else { "notice success" } role="status">
                <strong>{format!("Last {} ({when}): ", kind.to_lowercase())}</strong>
                {summary}" "
                <A href=href>"See the changes and details of this run"</A>
            </p>
        }
        .into_any()
    }
}

/// Follows the domain's runs live (in the browser only): each event is the latest run.
#[allow(unused_variables)]
fn subscribe(
    domain_id: Uuid,
    live: RwSignal<Option<Option<RunStatus>>>,
    history: Option<HistoryVersion>,
) {
    #[cfg(feature = "hydrate")]
    {
        use send_wrapper::SendWrapper;
        use wasm_bindgen::prelude::*;
        use wasm_bindgen::JsCast;
        let Ok(source) = web_sys::EventSource::new(&format!("/domains/{domain_id}/sync/events"))
        else {
            return;
        };
        let on_progress =
            Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
                let Some(text) = event.data().as_string() else {
                    return;
                };
                let Ok(latest) = serde_json::from_str::<Option<RunStatus>>(&text) else {
                    return;
                };
                let was = live.get_untracked().flatten();
                let changed_run = was.as_ref().map(|r| (r.id, r.is_active()))
                    != latest.as_ref().map(|r| (r.id, r.is_active()));
                live.set(Some(latest));
                if changed_run {
                    if let Some(HistoryVersion(v)) = history {
                        v.update(|v| *v += 1);
                    }
                }
            });
        let _ = source
            .add_event_listener_with_callback("progress", on_progress.as_ref().unchecked_ref());
        let held = SendWrapper::new((source, on_progress));
        on_cleanup(move || {
            let (source, _closure) = held.take();
            source.close();
        });
    }
}

/// Sync History: newest first, a page at a time (`?history=N`).
#[component]
pub fn SyncHistory(domain_id: Uuid) -> impl IntoView {
    let query = use_query_map();
    let version = use_context::<HistoryVersion>().map(|v| v.0);
    let live = use_context::<LiveRun>().map(|l| l.0);
    // The pushed state of a run, when it is the one the stream follows.
    let pushed = move |id: Uuid| {
        live.and_then(|l| l.get().flatten())
            .filter(|latest| latest.id == id)
    };
    let page = move || {
        query
            .read()
            .get("history")
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(1)
    };
    let runs = Resource::new(
        move || (page(), version.map(|v| v.get())),
        move |(page, _)| list_sync_history(domain_id, page),
    );
    view! {
        <section class="section" aria-labelledby="history-title">
            <h2 id="history-title">"Sync History"</h2>
            <div class="async">
            <Transition fallback=|| view! { <Loading what="Loading the history…" /> }>
                {move || Suspend::new(async move {
                    match runs.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(p) => {
                            let pages = p.pages();
                            let empty = p.rows.is_empty();
                            view! {
                                <table class="table">
                                    <thead>
                                        <tr>
                                            <th scope="col">"Synced"</th>
                                            <th scope="col">"Synced By"</th>
                                            <th scope="col">"Test Sync"</th>
                                            <th scope="col">"Summary"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {empty.then(|| view! { <EmptyRow colspan=4>"Nothing found"</EmptyRow> })}
                                        {p.rows.into_iter().map(|r| {
                                            let href = format!("/domains/{domain_id}/sync/runs/{}", r.id);
                                            let (id, test) = (r.id, r.test);
                                            let (stored_status, stored_summary) = (r.status, r.summary.clone());
                                            let status = move || pushed(id).map(|l| l.status).unwrap_or(stored_status);
                                            let summary = move || match pushed(id) {
                                                Some(l) => l.summary.unwrap_or_else(|| {
                                                    l.status.label(test).to_owned() + "…"
                                                }),
                                                None => stored_summary.clone(),
                                            };
                                            let class = move || match status() {
                                                RunState::Failed | RunState::LimitExceeded => "summary bad",
                                                _ => "summary",
                                            };
                                            view! {
                                                <tr>
                                                    <td><A href=href><Time time=r.queued_at /></A></td>
                                                    <td>{r.synced_by()}</td>
                                                    <td>{if r.test { "Yes" } else { "No" }}</td>
                                                    <td class=class>{summary}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                <Pager page=p.page pages href=move |n| format!("?history={n}") />
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            </div>
        </section>
    }
}

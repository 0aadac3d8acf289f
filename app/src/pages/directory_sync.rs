//! The sync page every directory connector shares (Office 365 Sync, AD/LDAP Sync): the
//! connector's own connection section, then Manual Sync and Test Sync with live progress,
//! Automatic Synchronization (with Exclude Records and the report's recipients), the
//! Operations Limit, and Sync History.

use crate::api::sync_settings::{get_sync_settings, SaveAutoSync, SaveOperationLimits};
use crate::components::forms::{
    action_error, action_succeeded, successes, FieldError, FormError, SavedNotice, SubmitButton,
};
use crate::components::status::{ErrorPanel, Loading, LocalTime};
use crate::model::{ScheduleAlert, SyncSettings};
use crate::pages::domain_layout::use_domain;
use crate::pages::sync_panel::{HistoryVersion, LiveRun, SyncHistory, SyncPanel};
use leptos::prelude::*;
use leptos_meta::Title;
use roster_core::{LimitKind, ServerType};
use uuid::Uuid;

/// A domain's sync page: the children are the connector's own connection section (how Roster
/// reaches the directory), shown for domains of `server_type`; the rest is the same engine's.
#[component]
pub fn DirectorySyncPage(
    /// The server type this page is for; another domain gets a notice.
    server_type: ServerType,
    title: &'static str,
    intro: &'static str,
    children: Children,
) -> impl IntoView {
    let domain = use_domain();
    let domain_id = domain.id;
    if domain.server_type != server_type {
        return view! {
            <Title text=title />
            <h1>{title}</h1>
            <section class="panel notice">
                <p>{format!("{} is set up as “{}”. Change its server type to {} on the Inbound Servers page to sync it this way.", domain.name, domain.server_type.label(), server_type.label())}</p>
            </section>
        }
        .into_any();
    }
    let save_auto = ServerAction::<SaveAutoSync>::new();
    let save_limits = ServerAction::<SaveOperationLimits>::new();
    let auto_saved = successes(save_auto);
    let limits_saved = successes(save_limits);
    provide_context(HistoryVersion(RwSignal::new(0)));
    provide_context(LiveRun(RwSignal::new(None)));
    let settings = Resource::new(
        move || (auto_saved.get(), limits_saved.get()),
        move |_| get_sync_settings(domain_id),
    );
    view! {
        <Title text=format!("{title} · {}", domain.name) />
        <h1>{title}</h1>
        <p class="intro">{intro}</p>
        {children()}
        <SyncPanel domain_id />
        <div class="async">
        <Transition fallback=|| view! { <Loading what="Loading settings…" /> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(s) => view! {
                        {s.schedule_alert.clone().map(|alert| view! { <ScheduleAlertNotice alert domain_id /> })}
                        <AutoSyncForm settings=s.clone() domain_id action=save_auto />
                        <LimitsForm settings=s domain_id action=save_limits />
                    }.into_any(),
                }
            })}
        </Transition>
        </div>
        <SyncHistory domain_id />
    }
    .into_any()
}

#[component]
fn AutoSyncForm(
    settings: SyncSettings,
    domain_id: Uuid,
    action: ServerAction<SaveAutoSync>,
) -> impl IntoView {
    let error = action_error(action);
    let fields: &'static [&'static str] = &[
        "times_per_day",
        "notification_recipients",
        "exclude_patterns",
    ];
    view! {
        <section class="panel" aria-labelledby="auto-title">
            <h2 id="auto-title">"Automatic Synchronization"</h2>
            <NextSync next=settings.next_run_at />
            <ActionForm action>
                <input type="hidden" name="domain_id" value=domain_id.to_string() />
                <FormError error fields />
                <div class="field check">
                    <input id="auto-enabled" type="checkbox" name="auto_sync_enabled" value="on" checked=settings.auto_sync_enabled
                        aria-describedby="auto-enabled-hint" />
                    <label for="auto-enabled">"Auto sync enabled"</label>
                    <p class="hint" id="auto-enabled-hint">"Enable auto sync only if you are sure that all settings are correct."</p>
                </div>
                <div class="field">
                    <label for="auto-schedule">"Schedule"</label>
                    <div class="input-suffix">
                        <select id="auto-schedule" name="times_per_day" aria-describedby="auto-schedule-hint auto-schedule-error">
                            {(1u8..=4).map(|n| view! { <option value=n.to_string() selected=n == settings.times_per_day>{n.to_string()}</option> }).collect_view()}
                        </select>
                        <span>"times per day"</span>
                    </div>
                    <p class="hint" id="auto-schedule-hint">"How many times a day to sync: once (every 24 hours), twice (every 12 hours), 3 times (every 8 hours) or 4 times (every 6 hours)."</p>
                    <FieldError error field="times_per_day" id="auto-schedule" />
                </div>
                <div class="field check">
                    <input id="auto-notify" type="checkbox" name="notifications_enabled" value="on" checked=settings.notifications_enabled
                        aria-describedby="auto-notify-hint" />
                    <label for="auto-notify">"Sync notifications enabled"</label>
                    <p class="hint" id="auto-notify-hint">"Email a report after each synchronization attempt."</p>
                </div>
                <div class="field">
                    <label for="auto-recipients">"Notification recipients"</label>
                    <textarea id="auto-recipients" name="notification_recipients" rows="3" spellcheck="false"
                        aria-describedby="auto-recipients-hint auto-recipients-error">{settings.notification_recipients.clone()}</textarea>
                    <p class="hint" id="auto-recipients-hint">"Who receives the report after each sync: one email address per line, or separated by commas; up to 20."</p>
                    <FieldError error field="notification_recipients" id="auto-recipients" />
                </div>
                <div class="field">
                    <label for="auto-exclude">"Exclude Records"</label>
                    <textarea id="auto-exclude" name="exclude_patterns" rows="4" spellcheck="false"
                        aria-describedby="auto-exclude-hint auto-exclude-error">{settings.exclude_patterns.clone()}</textarea>
                    <div class="hint" id="auto-exclude-hint">
                        <p>"One pattern per line, applied to addresses and aliases. E.g. test*@example.com excludes every address that starts with test and ends with @example.com; a matching alias is left out the same way."</p>
                        <p>"* matches everything · ? matches any single character · [seq] matches any character in seq · [!seq] matches any character not in seq"</p>
                    </div>
                    <FieldError error field="exclude_patterns" id="auto-exclude" />
                </div>
                <div class="actions">
                    <SubmitButton pending=action.pending() label="Save" pending_label="Saving…" />
                    <SavedNotice show=action_succeeded(action) text="Saved" />
                </div>
            </ActionForm>
        </section>
    }
}

/// "Next sync: <time>" (UTC from the server, the browser's zone once hydrated), or that
/// Automatic Synchronization is off.
#[component]
fn NextSync(next: Option<chrono::DateTime<chrono::Utc>>) -> impl IntoView {
    match next {
        Some(time) => view! {
            <p class="next-sync">"Next sync: "<LocalTime time /></p>
        }
        .into_any(),
        None => view! {
            <p class="next-sync muted">"Automatic Synchronization is off."</p>
        }
        .into_any(),
    }
}

/// The domain's last scheduled sync failed or stopped at the limit: what to do.
#[component]
pub fn ScheduleAlertNotice(alert: ScheduleAlert, domain_id: Uuid) -> impl IntoView {
    view! {
        <div class="notice error" role="alert">
            <p><strong>{alert.label()}"."</strong>" "{alert.advice()}</p>
            <p><a href=format!("/domains/{domain_id}/sync/runs/{}", alert.run_id)>"See the run"</a></p>
        </div>
    }
}

#[component]
fn LimitsForm(
    settings: SyncSettings,
    domain_id: Uuid,
    action: ServerAction<SaveOperationLimits>,
) -> impl IntoView {
    let error = action_error(action);
    let limits = [
        (LimitKind::AccountAdd, settings.account_add_limit, "Most email accounts one sync may add."),
        (LimitKind::AccountDelete, settings.account_delete_limit, "Most email accounts one sync may delete."),
        (LimitKind::AliasAdd, settings.alias_add_limit, "Most aliases one sync may add."),
        (LimitKind::AliasDelete, settings.alias_delete_limit, "Most aliases one sync may delete."),
        (
            LimitKind::Total,
            settings.total_limit,
            "Limit of total number of operations on the combined list of email accounts and aliases. If this number is exceeded, the sync operation will be stopped and no changes will be applied.",
        ),
    ];
    let fields: &'static [&'static str] = &[
        "account_add_limit",
        "account_delete_limit",
        "alias_add_limit",
        "alias_delete_limit",
        "total_limit",
    ];
    view! {
        <section class="panel" aria-labelledby="limits-title">
            <h2 id="limits-title">"Operations Limit"</h2>
            <p class="intro">"You may place limits on the number of potential changes (additions or deletions) of records via the synchronization process. If any of limits are exceeded, no changes will be saved, and the error(s) will be reported in the directory sync history report. To remove all limits, leave the settings empty."</p>
            <ActionForm action>
                <input type="hidden" name="domain_id" value=domain_id.to_string() />
                <FormError error fields />
                {limits.into_iter().map(|(kind, value, hint)| {
                    let id = format!("limit-{}", kind.field_name());
                    view! {
                        <div class="field">
                            <label for=id.clone()>{kind.label()}</label>
                            <input id=id.clone() name=kind.field_name() type="text" inputmode="numeric" autocomplete="off"
                                value=value.map(|v| v.to_string()).unwrap_or_default()
                                aria-describedby=format!("{id}-hint {id}-error") />
                            <p class="hint" id=format!("{id}-hint")>{hint}" Empty: no limit."</p>
                            <FieldError error field=kind.field_name() id=id.clone() />
                        </div>
                    }
                }).collect_view()}
                <div class="actions">
                    <SubmitButton pending=action.pending() label="Save" pending_label="Saving…" />
                    <SavedNotice show=action_succeeded(action) text="Saved" />
                </div>
            </ActionForm>
        </section>
    }
}

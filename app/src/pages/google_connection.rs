//! The Google Workspace part of the Google Workspace Sync page: "Grant permission" (Google's
//! OAuth grant by a super admin), the connected state with who granted it, "Skip suspended
//! users", Disconnect (revokes the grant at Google) and Grant again, what came back from
//! Google's consent screen, and Test Connection (every connector's: `pages::connection_test`).

use crate::api::connection::test_connection;
use crate::api::google::{get_google_connection, DisconnectGoogle, GrantGoogle, SaveGoogleOptions};
use crate::components::confirm::{hide_popover, CancelButton, Dialog};
use crate::components::forms::{
    action_error, action_succeeded, successes, FormError, SavedNotice, SubmitButton,
};
use crate::components::status::{format_time, ErrorPanel, Loading};
use crate::model::{GoogleConnection, GOOGLE_NOT_CONFIGURED};
use crate::pages::connection_test::TestConnection;
use crate::pages::sync_panel::ConnectionVersion;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

#[component]
pub fn GoogleConnectionPanel(domain_id: Uuid) -> impl IntoView {
    let grant = ServerAction::<GrantGoogle>::new();
    let disconnect = ServerAction::<DisconnectGoogle>::new();
    let options = ServerAction::<SaveGoogleOptions>::new();
    let disconnected = successes(disconnect);
    let panel = Resource::new(
        move || disconnected.get(),
        move |_| get_google_connection(domain_id),
    );
    let query = use_query_map();
    let test = Resource::new(
        move || query.read().get("test").filter(|v| !v.is_empty()),
        move |requested| async move {
            match requested {
                Some(_) => Some(test_connection(domain_id).await),
                None => None,
            }
        },
    );
    let connection_version = use_context::<ConnectionVersion>();
    Effect::new(move |_| {
        if matches!(disconnect.value().get(), Some(Ok(()))) {
            hide_popover("google-disconnect-dialog");
            // The Synchronize panel offers Manual Sync only to a connected domain.
            if let Some(ConnectionVersion(v)) = connection_version {
                v.update(|n| *n += 1);
            }
        }
    });
    let grant_notice = move || {
        query
            .read()
            .get("grant")
            .map(|outcome| grant_message(&outcome))
    };
    let (pending, set_pending) = signal(false);
    view! {
        <section class="panel" aria-labelledby="google-grant-title">
            <h2 id="google-grant-title">"Google Workspace connection"</h2>
            {move || grant_notice().map(|(ok, text)| view! {
                <p class=if ok { "notice success" } else { "notice error" } role=if ok { "status" } else { "alert" }>{text}</p>
            })}
            <div class="async">
            <Transition fallback=|| view! { <Loading what="Loading the connection…" /> } set_pending>
                {move || Suspend::new(async move {
                    // Both in one Suspend: a Suspense nested in another one is what Leptos 0.8
                    // hydrates least reliably.
                    let (panel, tested) = (panel.await, test.await);
                    match panel {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(p) if !p.configured => view! {
                            <p>{GOOGLE_NOT_CONFIGURED}</p>
                        }.into_any(),
                        Ok(p) => match p.connection {
                            None => view! {
                                <p>"Before you proceed you need to grant Roster permission to read your Google Workspace's user list. You will be redirected to Google."</p>
                                <p class="muted">"Sign in there as a super admin of the Google Workspace that owns this domain. Roster asks only to read users, groups, their members and the Workspace's domains."</p>
                                <GrantForm action=grant domain_id label="Grant permission" primary=true />
                            }.into_any(),
                            Some(c) => view! {
                                <Connected connection=c domain_id grant disconnect options />
                                <TestConnection tested query pending
                                    description="Reads the Workspace's domains and the first page of users and of groups: the first accounts as Roster would store them for this domain. Nothing is stored."
                                    empty_hint="None of the users or groups read has an address at this domain. Check that the domain is a verified domain or domain alias of this Google Workspace." />
                            }.into_any(),
                        },
                    }
                })}
            </Transition>
            </div>
        </section>
    }
}

#[component]
fn GrantForm(
    action: ServerAction<GrantGoogle>,
    domain_id: Uuid,
    label: &'static str,
    #[prop(optional)] primary: bool,
) -> impl IntoView {
    let error = action_error(action);
    let pending = action.pending();
    view! {
        <ActionForm action attr:class="inline-form">
            <input type="hidden" name="domain_id" value=domain_id.to_string() />
            <FormError error />
            {if primary {
                view! { <SubmitButton pending label pending_label="Redirecting to Google…" /> }.into_any()
            } else {
                view! {
                    <button type="submit" class="button" disabled=move || pending.get()>
                        {move || if pending.get() { "Redirecting to Google…" } else { label }}
                    </button>
                }.into_any()
            }}
        </ActionForm>
    }
}

#[component]
fn Connected(
    connection: GoogleConnection,
    domain_id: Uuid,
    grant: ServerAction<GrantGoogle>,
    disconnect: ServerAction<DisconnectGoogle>,
    options: ServerAction<SaveGoogleOptions>,
) -> impl IntoView {
    let disconnect_error = action_error(disconnect);
    let options_error = action_error(options);
    let options_saved = action_succeeded(options);
    let options_pending = options.pending();
    let workspace = connection.hosted_domain.clone();
    view! {
        <p class="connected" role="status">{connected_text(&connection)}</p>
        <ActionForm action=options>
            <input type="hidden" name="domain_id" value=domain_id.to_string() />
            <FormError error=options_error />
            <div class="field check">
                <input id="google-skip-suspended" type="checkbox" name="skip_suspended" value="on"
                    checked=connection.skip_suspended aria-describedby="google-skip-suspended-hint" />
                <label for="google-skip-suspended">"Skip suspended users"</label>
                <p class="hint" id="google-skip-suspended-hint">"Google bounces mail to suspended users. By default Roster keeps them as disabled accounts; skipped, they are removed from this domain at the next sync (and added back when they are restored)."</p>
            </div>
            <div class="actions">
                <SubmitButton pending=options_pending label="Save" pending_label="Saving…" />
                <SavedNotice show=options_saved text="Saved. It applies from the next sync." />
            </div>
        </ActionForm>
        <FormError error=disconnect_error />
        <div class="actions">
            <GrantForm action=grant domain_id label="Grant again" />
            <button type="button" class="button danger" popovertarget="google-disconnect-dialog">"Disconnect"</button>
        </div>
        <Dialog id="google-disconnect-dialog" title=format!("Disconnect from the Google Workspace {workspace}?")>
            <p>"Roster revokes its permission at Google and forgets this Google Workspace for this domain. The domain's email accounts stay as they are, and syncs stop until permission is granted again."</p>
            <ActionForm action=disconnect>
                <input type="hidden" name="domain_id" value=domain_id.to_string() />
                <div class="actions">
                    <button type="submit" class="button danger">"Disconnect"</button>
                    <CancelButton dialog="google-disconnect-dialog" />
                </div>
            </ActionForm>
        </Dialog>
    }
}

/// "Connected to …": the Workspace, who granted permission and when.
fn connected_text(c: &GoogleConnection) -> String {
    format!(
        "Connected to the Google Workspace {} ({}), permission granted by {} on {}, at the request of {}.",
        c.hosted_domain,
        c.customer_id,
        c.granted_by,
        format_time(&c.granted_at),
        c.requested_by
    )
}

/// What came back from Google's consent screen (`?grant=…`), in plain words. Only Roster's own
/// sentences are shown: the URL can be typed by anyone.
fn grant_message(outcome: &str) -> (bool, String) {
    let text = match outcome {
        "granted" => return (true, "Permission granted: Roster can now read this Google Workspace's users and groups.".to_owned()),
        "cancelled" => "Permission was not granted: the consent screen was cancelled at Google. Nothing changed; grant permission again when you are ready.",
        "not_owned" => "The Google Workspace that granted permission does not own this domain (it is neither one of its verified domains nor a domain alias), so Roster gave the permission back and stored nothing. Grant permission as a super admin of the Workspace that owns this domain.",
        "not_admin" => "Google did not let the account used there read the directory: it is not a super admin of the Workspace, or not every permission was granted. Nothing was stored; grant permission again as a super admin.",
        "api_not_enabled" => "The Admin SDK API is not enabled in the Google Cloud project of Roster's OAuth client, so nothing was stored. Ask your Roster operator to enable it, then grant permission again.",
        "unproven" => "Roster could not confirm who granted permission at Google (the sign-in proof was not valid), so nothing was stored. Grant permission again.",
        "no_refresh_token" => "Google did not hand Roster a lasting permission, so nothing was stored. Grant permission again; if it keeps happening, remove Roster's access in your Google account's security settings first.",
        "client_rejected" => "Google refused Roster's OAuth client, so nothing was stored. Ask your Roster operator to check Roster's Google settings.",
        "unconfirmed" => "Google answered, but Roster could not confirm the permission with it, so nothing was stored. Try again in a minute.",
        _ => "Google could not grant permission. Nothing was stored; try again, and if it keeps failing contact your Roster operator.",
    };
    (false, text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_messages() {
        assert!(grant_message("granted").0);
        let (ok, text) = grant_message("not_owned");
        assert!(!ok);
        assert!(text.contains("does not own this domain"), "{text}");
        let (ok, text) = grant_message("<script>alert(1)</script>");
        assert!(!ok);
        assert!(!text.contains("<script>"));
    }
}

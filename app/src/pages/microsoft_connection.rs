//! The Microsoft 365 part of the Office 365 Sync page: "Grant permission" (admin consent), the
//! connected state with Disconnect and Grant again, what came back from Microsoft's consent
//! screen, and Test Connection.
//! Test Connection is every connector's (`pages::connection_test`).

use crate::api::connection::test_connection;
use crate::api::microsoft::{get_microsoft_connection, DisconnectMicrosoft, GrantMicrosoftConsent};
use crate::components::confirm::{hide_popover, CancelButton, Dialog};
use crate::components::forms::{action_error, successes, FormError, SubmitButton};
use crate::components::status::{format_time, ErrorPanel, Loading};
use crate::model::{DomainInfo, MicrosoftConnection};
use crate::pages::connection_test::TestConnection;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

#[component]
pub fn MicrosoftConnectionPanel(domain: DomainInfo) -> impl IntoView {
    let domain_id = domain.id;
    let grant = ServerAction::<GrantMicrosoftConsent>::new();
    let disconnect = ServerAction::<DisconnectMicrosoft>::new();
    let disconnected = successes(disconnect);
    let panel = Resource::new(
        move || disconnected.get(),
        move |_| get_microsoft_connection(domain_id),
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
    Effect::new(move |_| {
        if matches!(disconnect.value().get(), Some(Ok(()))) {
            hide_popover("disconnect-dialog");
        }
    });
    let consent_notice = move || {
        let q = query.read();
        q.get("consent")
            .map(|outcome| consent_message(&outcome, q.get("code").as_deref()))
    };
    let domain_name = domain.name.clone();

    let (pending, set_pending) = signal(false);
    view! {
        <section class="panel" aria-labelledby="grant-title">
            <h2 id="grant-title">"Microsoft 365 connection"</h2>
            {move || consent_notice().map(|(ok, text)| view! {
                <p class=if ok { "notice success" } else { "notice error" } role=if ok { "status" } else { "alert" }>{text}</p>
            })}
            <div class="async">
            <Transition fallback=|| view! { <Loading what="Loading the connection…" /> } set_pending>
                {move || {
                    let domain_name = domain_name.clone();
                    Suspend::new(async move {
                        // Both in one Suspend: a Suspense nested in another one is what
                        // Leptos 0.8 hydrates least reliably.
                        let (panel, tested) = (panel.await, test.await);
                        match panel {
                            Err(error) => view! { <ErrorPanel error /> }.into_any(),
                            Ok(p) if !p.configured => view! {
                                <p>"Before the first sync, Roster needs permission to read your Office 365 organization's user list. The Microsoft 365 connection is not configured on this Roster installation yet, so permission can't be granted. Ask your Roster operator to set it up."</p>
                            }.into_any(),
                            Ok(p) => match p.connection {
                                None => view! {
                                    <p>"Before you proceed you need to grant Roster permission to read your Office 365 organization's user list. You will be redirected to Microsoft."</p>
                                    <p class="muted">"Sign in there as a Global Administrator of your Microsoft 365 organization. Roster asks only to read users, groups and their members."</p>
                                    <GrantForm action=grant domain_id label="Grant permission" primary=true />
                                }.into_any(),
                                Some(c) => view! {
                                    <Connected connection=c domain_name=domain_name.clone() domain_id grant disconnect />
                                    <TestConnection tested query pending
                                        description="Signs in to Microsoft 365 and reads the first page of users and of groups: the first accounts as Roster would store them for this domain. Nothing is stored."
                                        empty_hint="None of the objects read has an address at this domain. Check that the domain is verified in Microsoft 365 and that its users have mailboxes." />
                                }.into_any(),
                            },
                        }
                    })
                }}
            </Transition>
            </div>
        </section>
    }
}

#[component]
fn GrantForm(
    action: ServerAction<GrantMicrosoftConsent>,
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
                view! { <SubmitButton pending label pending_label="Redirecting to Microsoft…" /> }.into_any()
            } else {
                view! {
                    <button type="submit" class="button" disabled=move || pending.get()>
                        {move || if pending.get() { "Redirecting to Microsoft…" } else { label }}
                    </button>
                }.into_any()
            }}
        </ActionForm>
    }
}

#[component]
fn Connected(
    connection: MicrosoftConnection,
    domain_name: String,
    domain_id: Uuid,
    grant: ServerAction<GrantMicrosoftConsent>,
    disconnect: ServerAction<DisconnectMicrosoft>,
) -> impl IntoView {
    let disconnect_error = action_error(disconnect);
    let warning = (!connection.domain_verified).then(|| {
        let domains = if connection.tenant_domains.is_empty() {
            "none".to_owned()
        } else {
            connection.tenant_domains.join(", ")
        };
        format!(
            "{domain_name} is not a verified domain of {} (its verified domains: {domains}). A sync finds accounts only at {domain_name}: check that this is the right Microsoft 365 organization, or verify the domain in Microsoft 365.",
            connection.tenant_name
        )
    });
    let unproven = (!connection.granter_proven).then(|| {
        format!(
            "Roster has no proof that an administrator of {} granted this permission: it was recorded before Roster asked for a Microsoft sign-in. Grant again to confirm it.",
            connection.tenant_name
        )
    });
    view! {
        <p class="connected" role="status">{connected_text(&connection)}</p>
        {unproven.map(|w| view! { <p class="notice warning" role="note">{w}</p> })}
        {warning.map(|w| view! { <p class="notice warning" role="note">{w}</p> })}
        <FormError error=disconnect_error />
        <div class="actions">
            <GrantForm action=grant domain_id label="Grant again" />
            <button type="button" class="button danger" popovertarget="disconnect-dialog">"Disconnect"</button>
        </div>
        <Dialog id="disconnect-dialog" title=format!("Disconnect from {}?", connection.tenant_name)>
            <p>"Roster forgets this Microsoft 365 organization for this domain. The domain's email accounts stay as they are, and syncs stop until permission is granted again."</p>
            <ActionForm action=disconnect>
                <input type="hidden" name="domain_id" value=domain_id.to_string() />
                <div class="actions">
                    <button type="submit" class="button danger">"Disconnect"</button>
                    <CancelButton dialog="disconnect-dialog" />
                </div>
            </ActionForm>
        </Dialog>
    }
}

/// "Connected to …": who granted permission, with their role when the sign-in proved it.
fn connected_text(c: &MicrosoftConnection) -> String {
    let when = format_time(&c.granted_at);
    if !c.granter_proven {
        return format!(
            "Connected to {} ({}) on {when}, at the request of {}.",
            c.tenant_name, c.tenant_id, c.granted_by
        );
    }
    let role = if c.granted_by_global_admin {
        format!(", Global Administrator of {}", c.tenant_name)
    } else {
        String::new()
    };
    format!(
        "Connected to {} ({}), permission granted by {}{role} on {when}.",
        c.tenant_name, c.tenant_id, c.granted_by
    )
}

/// What came back from Microsoft's consent screen (`?consent=…&code=…`), in plain words.
fn consent_message(outcome: &str, code: Option<&str>) -> (bool, String) {
    // Only codes that look like codes are shown: the URL can be typed by anyone.
    let code = code
        .filter(|c| c.len() <= 64 && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
        .map(|c| format!(" (Microsoft: {c})"))
        .unwrap_or_default();
    match outcome {
        "granted" => (true, "Permission granted: Roster can now read this organization's users and groups.".to_owned()),
        "cancelled" => (false, format!("Permission was not granted: the consent screen was cancelled at Microsoft. Nothing changed; grant permission again when you are ready.{code}")),
        "denied" => (false, format!("Microsoft refused: the account used there can't grant permission for the whole organization. Sign in at Microsoft as a Global Administrator and grant permission again.{code}")),
        "unproven" => (false, format!("Roster could not confirm that permission was granted in that Microsoft 365 organization: the Microsoft sign-in that proves it did not succeed, so nothing was stored. Grant permission again and sign in at Microsoft with the administrator account that grants it.{code}")),
        "unconfirmed" => (false, format!("Microsoft reported permission as granted, but Roster could not confirm it by signing in to the organization, so nothing was stored. New permissions can take a minute to apply: try again shortly.{code}")),
        _ => (false, format!("Microsoft could not grant permission. Nothing was stored; try again, and if it keeps failing contact your Roster operator.{code}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_messages() {
        assert!(consent_message("granted", None).0);
        let (ok, text) = consent_message("cancelled", Some("AADSTS65004"));
        assert!(!ok);
        assert!(text.ends_with("(Microsoft: AADSTS65004)"));
        let (_, text) = consent_message("failed", Some("<b>x</b>"));
        assert!(!text.contains("<b>"));
    }
}

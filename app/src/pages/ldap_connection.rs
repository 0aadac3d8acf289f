//! The LDAP part of the AD/LDAP Sync page: the connection settings form (the vendor's:
//! presets, servers, security, port, certificate check, user, password, base DNs, search
//! string, attributes) and Test Connection with the saved settings.
//!
//! The presets fill the attribute fields, the search string and the port in the browser
//! (JavaScript only); every other part works without JavaScript. The saved password is never
//! sent back: the field says whether one is saved, and left empty keeps it.

use crate::api::connection::test_connection;
use crate::api::ldap::{get_ldap_settings, SaveLdapSettings};
use crate::components::forms::{
    action_error, action_succeeded, successes, FieldError, FormError, SavedNotice, SubmitButton,
};
use crate::components::status::{format_time, ErrorPanel, Loading};
use crate::model::{LdapForm, LDAP_NOT_CONFIGURED};
use crate::pages::connection_test::TestConnection;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use roster_core::ldap::{LdapPreset, LdapSecurity, LdapSettingsInput, DEFAULT_EXCHANGE_FILTER};
use uuid::Uuid;

/// Every field the form shows an error at.
const FIELDS: &[&str] = &[
    "servers",
    "port",
    "ca_pem",
    "bind_user",
    "password",
    "base_dns",
    "filter",
    "attributes",
    "list_value",
];

#[component]
pub fn LdapConnectionPanel(domain_id: Uuid) -> impl IntoView {
    let save = ServerAction::<SaveLdapSettings>::new();
    let saved = successes(save);
    let panel = Resource::new(move || saved.get(), move |_| get_ldap_settings(domain_id));
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
    let (pending, set_pending) = signal(false);
    view! {
        <section class="panel" aria-labelledby="ldap-title">
            <h2 id="ldap-title">"Directory connection"</h2>
            <div class="async">
            <Transition fallback=|| view! { <Loading what="Loading the connection settings…" /> } set_pending>
                {move || Suspend::new(async move {
                    // Both in one Suspend: a Suspense nested in another one is what Leptos
                    // 0.8 hydrates least reliably.
                    let (panel, tested) = (panel.await, test.await);
                    match panel {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(p) if !p.configured => view! {
                            <p class="notice warning" role="note">{LDAP_NOT_CONFIGURED}</p>
                        }.into_any(),
                        Ok(p) => {
                            let has_saved = p.saved.is_some();
                            view! {
                                <LdapSettingsForm saved=p.saved domain_id action=save />
                                {has_saved.then(|| view! {
                                    <TestConnection tested query pending
                                        description="Signs in to the first server that answers with the saved settings and searches the base DNs: the first accounts as Roster would store them for this domain. Nothing is stored."
                                        empty_hint="None of the entries read has an address at this domain. Check the base DNs, the search string and the email and alias attributes." />
                                })}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            </div>
        </section>
    }
}

#[component]
fn LdapSettingsForm(
    saved: Option<LdapForm>,
    domain_id: Uuid,
    action: ServerAction<SaveLdapSettings>,
) -> impl IntoView {
    let error = action_error(action);
    let password_saved = saved.is_some();
    let saved_by = saved.as_ref().map(|s| {
        format!(
            "Saved by {} on {}.",
            s.updated_by,
            format_time(&s.updated_at)
        )
    });
    // A new form starts from the Active Directory defaults, with LDAPS and a checked
    // certificate.
    let input = saved
        .as_ref()
        .map(|s| s.settings.clone())
        .unwrap_or_else(|| {
            let d = LdapPreset::ActiveDirectory.defaults();
            LdapSettingsInput {
                security: LdapSecurity::Ldaps.as_str().to_owned(),
                verify_certificate: true,
                filter: d.filter.to_owned(),
                email_attribute: d.email_attribute.to_owned(),
                alias_attributes: d.alias_attributes.to_owned(),
                list_attribute: d.list_attribute.to_owned(),
                list_value: d.list_value.to_owned(),
                ..LdapSettingsInput::default()
            }
        });
    let preset = RwSignal::new(saved.as_ref().map(|s| s.preset.clone()).unwrap_or_default());
    let security = RwSignal::new(input.security.clone());
    let verify = RwSignal::new(input.verify_certificate);
    let port = RwSignal::new(input.port.clone());
    let filter = RwSignal::new(input.filter.clone());
    let email = RwSignal::new(input.email_attribute.clone());
    let aliases = RwSignal::new(input.alias_attributes.clone());
    let list_attribute = RwSignal::new(input.list_attribute.clone());
    let list_value = RwSignal::new(input.list_value.clone());
    let fill = move |p: LdapPreset| {
        let d = p.defaults();
        preset.set(p.as_str().to_owned());
        filter.set(d.filter.to_owned());
        email.set(d.email_attribute.to_owned());
        aliases.set(d.alias_attributes.to_owned());
        list_attribute.set(d.list_attribute.to_owned());
        list_value.set(d.list_value.to_owned());
        let security =
            LdapSecurity::parse(&security.get_untracked()).unwrap_or(LdapSecurity::Ldaps);
        port.set(security.default_port().to_string());
    };
    let port_hint = move || {
        let s = LdapSecurity::parse(&security.get()).unwrap_or(LdapSecurity::Ldaps);
        s.default_port().to_string()
    };
    let text = |signal: RwSignal<String>| move |ev| signal.set(event_target_value(&ev));
    view! {
        <ActionForm action>
            <input type="hidden" name="domain_id" value=domain_id.to_string() />
            <input type="hidden" name="preset" value=preset.get_untracked() prop:value=preset />
            <FormError error fields=FIELDS />
            {saved_by.map(|s| view! { <p class="muted small">{s}</p> })}
            <div class="field" role="group" aria-labelledby="ldap-presets-label">
                <span id="ldap-presets-label">"Fill defaults for:"</span>
                <div class="actions">
                    {LdapPreset::ALL.into_iter().map(|p| view! {
                        <button type="button" class="button" aria-describedby="ldap-presets-hint"
                            on:click=move |_| fill(p)>{p.label()}</button>
                    }).collect_view()}
                </div>
                <p class="hint" id="ldap-presets-hint">"Fills the search string, the attributes and the port with what this directory usually needs (needs JavaScript)."</p>
            </div>
            <div class="field">
                <label for="ldap-servers">"Active Directory/LDAP Servers"</label>
                <input id="ldap-servers" name="servers" type="text" autocomplete="off" spellcheck="false"
                    value=input.servers.clone() aria-describedby="ldap-servers-hint ldap-servers-error" />
                <p class="hint" id="ldap-servers-hint">"Host names or IP addresses, separated by commas (no ldap://, no port), e.g. dc1.example.com, dc2.example.com. Tried in order: the first that answers serves the sync."</p>
                <FieldError error field="servers" id="ldap-servers" />
            </div>
            <div class="field">
                <label for="ldap-security">"Security"</label>
                <select id="ldap-security" name="security" aria-describedby="ldap-security-hint"
                    on:change=move |ev| security.set(event_target_value(&ev))>
                    {LdapSecurity::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=input.security == s.as_str()>{s.label()}</option>
                    }).collect_view()}
                </select>
                <p class="hint" id="ldap-security-hint">"SSL (LDAPS) is recommended. StartTLS upgrades a plain connection before signing in."</p>
                {move || (security.get() == LdapSecurity::None.as_str()).then(|| view! {
                    <p class="notice warning" role="note">"Without SSL or StartTLS, the password and every address travel in clear text: anyone on the network path can read them."</p>
                })}
            </div>
            <div class="field">
                <label for="ldap-port">"Port"</label>
                <input id="ldap-port" name="port" type="text" inputmode="numeric" autocomplete="off"
                    value=input.port.clone() prop:value=port on:input=text(port) placeholder=port_hint
                    aria-describedby="ldap-port-hint ldap-port-error" />
                <p class="hint" id="ldap-port-hint">"Empty: 389, or 636 with SSL (LDAPS)."</p>
                <FieldError error field="port" id="ldap-port" />
            </div>
            <div class="field check">
                <input id="ldap-verify" type="checkbox" name="verify_certificate" value="on" checked=input.verify_certificate
                    on:change=move |ev| verify.set(event_target_checked(&ev)) aria-describedby="ldap-verify-hint" />
                <label for="ldap-verify">"Verify the server's certificate"</label>
                <p class="hint" id="ldap-verify-hint">"Checks that the server is who it says it is (SSL and StartTLS)."</p>
                {move || (!verify.get()).then(|| view! {
                    <p class="notice warning" role="note">"The certificate will not be checked: anyone who can intercept the connection can pose as your server and read the password. Turn this off only for a test."</p>
                })}
            </div>
            <div class="field">
                <label for="ldap-ca">"Custom CA certificate (optional)"</label>
                <textarea id="ldap-ca" name="ca_pem" rows="4" spellcheck="false"
                    aria-describedby="ldap-ca-hint ldap-ca-error">{input.ca_pem.clone()}</textarea>
                <p class="hint" id="ldap-ca-hint">"PEM (-----BEGIN CERTIFICATE-----), when your server's certificate is issued by your own CA."</p>
                <FieldError error field="ca_pem" id="ldap-ca" />
            </div>
            <div class="field">
                <label for="ldap-user">"User"</label>
                <input id="ldap-user" name="bind_user" type="text" autocomplete="off" spellcheck="false"
                    value=input.bind_user.clone() aria-describedby="ldap-user-hint ldap-user-error" />
                <p class="hint" id="ldap-user-hint">"user@domain.com or a DN (cn=roster,ou=Service,dc=example,dc=com): an ordinary user that can read the directory; no administrator rights needed."</p>
                <FieldError error field="bind_user" id="ldap-user" />
            </div>
            <div class="field">
                <label for="ldap-password">"Password"</label>
                <input id="ldap-password" name="password" type="password" autocomplete="new-password"
                    required=!password_saved aria-describedby="ldap-password-hint ldap-password-error" />
                <p class="hint" id="ldap-password-hint">
                    {if password_saved {
                        "A password is saved (it is never shown). Leave this empty to keep it."
                    } else {
                        "Stored encrypted; never shown again."
                    }}
                </p>
                <FieldError error field="password" id="ldap-password" />
            </div>
            <div class="field">
                <label for="ldap-base-dns">"Base DN List"</label>
                <textarea id="ldap-base-dns" name="base_dns" rows="3" spellcheck="false"
                    aria-describedby="ldap-base-dns-hint ldap-base-dns-error">{input.base_dns.clone()}</textarea>
                <p class="hint" id="ldap-base-dns-hint">"One DN per line, e.g. dc=example,dc=com; each is searched with its subtree."</p>
                <FieldError error field="base_dns" id="ldap-base-dns" />
            </div>
            <div class="field">
                <label for="ldap-filter">"LDAP search string"</label>
                <textarea id="ldap-filter" name="filter" rows="3" spellcheck="false"
                    prop:value=filter on:input=text(filter)
                    aria-describedby="ldap-filter-hint ldap-filter-error">{input.filter.clone()}</textarea>
                <div class="hint" id="ldap-filter-hint">
                    <p>"Empty: the built-in search for Exchange (mail-enabled users, groups and public folders, without system mailboxes or contacts)."</p>
                    <details>
                        <summary>"The built-in search string"</summary>
                        <code class="wrap">{DEFAULT_EXCHANGE_FILTER}</code>
                    </details>
                </div>
                <FieldError error field="filter" id="ldap-filter" />
            </div>
            <fieldset class="field" aria-describedby="ldap-attributes-error">
                <legend>"Attributes"</legend>
                <div class="field">
                    <label for="ldap-email">"Email Attribute"</label>
                    <input id="ldap-email" name="email_attribute" type="text" autocomplete="off" spellcheck="false"
                        value=input.email_attribute.clone() prop:value=email on:input=text(email) placeholder="mail"
                        aria-describedby="ldap-email-hint" />
                    <p class="hint" id="ldap-email-hint">"Holds the primary address. Empty: mail."</p>
                </div>
                <div class="field">
                    <label for="ldap-aliases">"Alias Attribute(s)"</label>
                    <input id="ldap-aliases" name="alias_attributes" type="text" autocomplete="off" spellcheck="false"
                        value=input.alias_attributes.clone() prop:value=aliases on:input=text(aliases) placeholder="proxyAddresses"
                        aria-describedby="ldap-aliases-hint" />
                    <p class="hint" id="ldap-aliases-hint">"Hold more addresses, separated by commas. Empty: proxyAddresses."</p>
                </div>
                <div class="field">
                    <label for="ldap-list-attribute">"Distribution List Attribute"</label>
                    <input id="ldap-list-attribute" name="list_attribute" type="text" autocomplete="off" spellcheck="false"
                        value=input.list_attribute.clone() prop:value=list_attribute on:input=text(list_attribute) placeholder="objectClass"
                        aria-describedby="ldap-list-hint" />
                </div>
                <div class="field">
                    <label for="ldap-list-value">"Distribution List Value"</label>
                    <input id="ldap-list-value" name="list_value" type="text" autocomplete="off" spellcheck="false"
                        value=input.list_value.clone() prop:value=list_value on:input=text(list_value) placeholder="group"
                        aria-describedby="ldap-list-hint ldap-list-value-error" />
                    <FieldError error field="list_value" id="ldap-list-value" />
                </div>
                <p class="hint" id="ldap-list-hint">"An entry whose attribute has this value (* and ? match any text) is a distribution list. Empty: objectClass / group."</p>
                <FieldError error field="attributes" id="ldap-attributes" />
            </fieldset>
            <div class="actions">
                <SubmitButton pending=action.pending() label="Save" pending_label="Saving…" />
                <SavedNotice show=action_succeeded(action) text="Saved" />
            </div>
        </ActionForm>
    }
}

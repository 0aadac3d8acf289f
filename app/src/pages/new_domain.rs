//! New Domain: name and server type, then on to the domain's page.

use crate::api::domains::CreateDomain;
use crate::components::forms::{action_error, FieldError, FormError, SubmitButton};
use crate::components::layout::Page;
use leptos::prelude::*;
use leptos_meta::Title;
use roster_core::ServerType;

#[component]
pub fn NewDomainPage() -> impl IntoView {
    let create = ServerAction::<CreateDomain>::new();
    let error = action_error(create);
    view! {
        <Title text="New domain" />
        <Page>
            <h1>"New Domain"</h1>
            <section class="panel">
                <ActionForm action=create>
                    <FormError error fields=&["name", "server_type"] />
                    <div class="field">
                        <label for="domain-name">"Name"</label>
                        <input id="domain-name" name="name" required autofocus autocomplete="off" spellcheck="false"
                            aria-describedby="domain-name-hint domain-name-error" placeholder="mydomain.org" />
                        <p class="hint" id="domain-name-hint">"Enter the full domain name, e.g. mydomain.org"</p>
                        <FieldError error field="name" id="domain-name" />
                    </div>
                    <div class="field">
                        <label for="domain-type">"Type"</label>
                        <select id="domain-type" name="server_type" required aria-describedby="domain-type-hint domain-type-error">
                            <option value="" disabled selected>"Select the server type"</option>
                            {ServerType::ALL.iter().map(|t| view! { <option value=t.as_str()>{t.label()}</option> }).collect_view()}
                        </select>
                        <p class="hint" id="domain-type-hint">"Where this domain's mailboxes live. Office 365 lets Roster sync the recipients from Microsoft 365."</p>
                        <FieldError error field="server_type" id="domain-type" />
                    </div>
                    <div class="actions">
                        <SubmitButton pending=create.pending() label="Next" pending_label="Adding…" />
                        <a class="button" href="/domains">"Cancel"</a>
                    </div>
                </ActionForm>
            </section>
        </Page>
    }
}

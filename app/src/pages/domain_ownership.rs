//! The domain's ownership panel (on its Inbound Servers page): proven or "Ownership not
//! verified", the TXT record to publish, and Verify ownership. An unverified domain can't be
//! synced (see `api::ownership`).

use crate::api::ownership::{get_domain_ownership, VerifyDomainOwnership};
use crate::components::forms::{action_error, successes, FormError, SubmitButton};
use crate::components::status::{format_time, ErrorPanel, Loading};
use crate::model::{DomainOwnership, OwnershipProof};
use leptos::prelude::*;
use uuid::Uuid;

#[component]
pub fn OwnershipPanel(domain_id: Uuid) -> impl IntoView {
    let verify = ServerAction::<VerifyDomainOwnership>::new();
    let verified = successes(verify);
    let ownership = Resource::new(
        move || verified.get(),
        move |_| get_domain_ownership(domain_id),
    );
    let error = action_error(verify);
    view! {
        <section class="panel" aria-labelledby="ownership-title">
            <h2 id="ownership-title">"Domain ownership"</h2>
            <div class="async">
            <Transition fallback=|| view! { <Loading what="Loading the domain's ownership…" /> }>
                {move || Suspend::new(async move {
                    match ownership.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(o) => view! { <Ownership ownership=o domain_id verify error /> }.into_any(),
                    }
                })}
            </Transition>
            </div>
        </section>
    }
}

#[component]
fn Ownership(
    ownership: DomainOwnership,
    domain_id: Uuid,
    verify: ServerAction<VerifyDomainOwnership>,
    error: Signal<Option<crate::error::AppError>>,
) -> impl IntoView {
    let status = match &ownership.proof {
        OwnershipProof::Dns { verified_at } => view! {
            <p class="notice success" role="status">{format!("Ownership verified by DNS on {}.", format_time(verified_at))}</p>
        }
        .into_any(),
        OwnershipProof::Microsoft { tenant_name } => view! {
            <p class="notice success" role="status">{format!("Ownership verified: a verified domain of the Microsoft 365 tenant “{tenant_name}”.")}</p>
        }
        .into_any(),
        OwnershipProof::Google { workspace } => view! {
            <p class="notice success" role="status">{format!("Ownership verified: a verified domain of the Google Workspace {workspace}.")}</p>
        }
        .into_any(),
        OwnershipProof::NotVerified => view! {
            <p class="notice error"><strong>"Ownership not verified."</strong>" Until it is, this domain can't be synced (Manual Sync, Test Sync). Add this TXT record at the domain's DNS host, then choose Verify ownership."</p>
        }
        .into_any(),
    };
    let unverified = !ownership.verified();
    view! {
        {status}
        <dl class="settings">
            <dt>"Record type:"</dt>
            <dd><strong>"TXT"</strong></dd>
            <dt>"Name:"</dt>
            <dd><code>{ownership.record_name.clone()}</code>" (the domain itself, “@”)"</dd>
            <dt>"Value:"</dt>
            <dd><code aria-label="TXT record value">{ownership.record_value.clone()}</code></dd>
        </dl>
        {unverified.then(|| view! { <p class="muted small">"DNS changes can take a while to be published; if the check fails, try again later."</p> })}
        <ActionForm action=verify attr:class="inline-form">
            <input type="hidden" name="domain_id" value=domain_id.to_string() />
            <FormError error />
            <SubmitButton pending=verify.pending() label="Verify ownership" pending_label="Checking DNS…" class="" />
        </ActionForm>
    }
}

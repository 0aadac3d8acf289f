//! The organization's admins, adding another one and removing one.

use crate::api::admins::{list_admins, AddAdmin};
use crate::api::auth::current_admin;
use crate::api::remove_admin::RemoveAdmin;
use crate::components::confirm::{CancelButton, Dialog};
use crate::components::forms::{
    action_error, action_succeeded, successes, FieldError, FormError, SavedNotice, SubmitButton,
};
use crate::components::layout::Page;
use crate::components::status::{ErrorPanel, Loading, Time};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AdminsPage() -> impl IntoView {
    let add = ServerAction::<AddAdmin>::new();
    let error = action_error(add);
    let added = successes(add);
    let remove = ServerAction::<RemoveAdmin>::new();
    let remove_error = action_error(remove);
    let removed = successes(remove);
    // The list, and who is looking at it (no Remove button on their own row).
    let admins = Resource::new(
        move || (added.get(), removed.get()),
        |_| async move {
            let me = current_admin().await?;
            Ok::<_, crate::error::AppError>((list_admins().await?, me.email))
        },
    );
    view! {
        <Title text="Admins" />
        <Page>
            <h1>"Admins"</h1>
            <p class="muted">"Everyone here can manage all of your organization's domains."</p>
            <FormError error=remove_error />
            <div class="async">
            <Transition fallback=|| view! { <Loading /> }>
                {move || Suspend::new(async move {
                    match admins.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok((list, me)) => view! {
                            <table class="table">
                                <thead>
                                    <tr>
                                        <th scope="col">"Email"</th>
                                        <th scope="col">"Added"</th>
                                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|a| {
                                        let yours = a.email == me;
                                        let dialog = format!("remove-admin-{}", a.id);
                                        view! {
                                            <tr>
                                                <td>{a.email.clone()}{yours.then(|| view! { <span class="muted">" (you)"</span> })}</td>
                                                <td><Time time=a.created_at /></td>
                                                <td class="row-actions">
                                                    {(!yours).then(|| view! {
                                                        <button type="button" class="button danger small" popovertarget=dialog.clone()
                                                            aria-label=format!("Remove {}", a.email)>"Remove"</button>
                                                        <Dialog id=dialog.clone() title=format!("Remove {}?", a.email)>
                                                            <p>"They will be signed out at once and can no longer sign in to Roster."</p>
                                                            <ActionForm action=remove>
                                                                <input type="hidden" name="admin_id" value=a.id.to_string() />
                                                                <div class="actions">
                                                                    <button type="submit" class="button danger">"Remove admin"</button>
                                                                    <CancelButton dialog=dialog.clone() />
                                                                </div>
                                                            </ActionForm>
                                                        </Dialog>
                                                    })}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
            </div>
            <section class="panel">
                <h2>"Add an admin"</h2>
                <ActionForm action=add>
                    <FormError error fields=&["email", "password"] />
                    <div class="field">
                        <label for="admin-email">"Email"</label>
                        <input id="admin-email" type="email" name="email" required autocomplete="off" aria-describedby="admin-email-error" />
                        <FieldError error field="email" id="admin-email" />
                    </div>
                    <div class="field">
                        <label for="admin-password">"Initial password"</label>
                        <input id="admin-password" type="password" name="password" required minlength="12" autocomplete="new-password" aria-describedby="admin-password-hint admin-password-error" />
                        <p class="hint" id="admin-password-hint">"At least 12 characters. Share it with the new admin in person or by phone."</p>
                        <FieldError error field="password" id="admin-password" />
                    </div>
                    <div class="actions">
                        <SubmitButton pending=add.pending() label="Add admin" pending_label="Adding…" />
                        <SavedNotice show=action_succeeded(add) text="Admin added" />
                    </div>
                </ActionForm>
            </section>
        </Page>
    }
}

//! The organization's admins, and adding another one.

use crate::api::admins::{list_admins, AddAdmin};
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
    let admins = Resource::new(move || added.get(), |_| list_admins());
    view! {
        <Title text="Admins" />
        <Page>
            <h1>"Admins"</h1>
            <p class="muted">"Everyone here can manage all of your organization's domains."</p>
            <div class="async">
            <Transition fallback=|| view! { <Loading /> }>
                {move || Suspend::new(async move {
                    match admins.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(list) => view! {
                            <table class="table">
                                <thead>
                                    <tr>
                                        <th scope="col">"Email"</th>
                                        <th scope="col">"Added"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|a| view! {
                                        <tr>
                                            <td>{a.email}</td>
                                            <td><Time time=a.created_at /></td>
                                        </tr>
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

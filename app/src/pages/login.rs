//! Sign-in. The same message for an unknown email and a wrong password.

use crate::api::auth::Login;
use crate::components::forms::{action_error, FormError, SubmitButton};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn LoginPage() -> impl IntoView {
    crate::provide_form_error_from_url();
    let login = ServerAction::<Login>::new();
    let error = action_error(login);
    view! {
        <Title text="Sign in" />
        <main id="main" class="center-page">
            <section class="panel login">
                <h1>"Sign in to Roster"</h1>
                <p class="muted">"Keep your domains' recipients in step with your directory."</p>
                <ActionForm action=login>
                    <FormError error />
                    <div class="field">
                        <label for="login-email">"Email"</label>
                        <input id="login-email" type="email" name="email" autocomplete="username" required autofocus />
                    </div>
                    <div class="field">
                        <label for="login-password">"Password"</label>
                        <input id="login-password" type="password" name="password" autocomplete="current-password" required />
                    </div>
                    <SubmitButton pending=login.pending() label="Sign in" pending_label="Signing in…" />
                </ActionForm>
            </section>
        </main>
    }
}

//! Form helpers: the error for a field, the form-level message, and a submit button that
//! shows when its action is pending.

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::components::Form;
use std::sync::Arc;

/// A GET form (search, filters, Test Connection) that navigates in place. Leptos's `Form`
/// adds the submit button's name and value to the query even when the button has no name,
/// which put an empty `&=` into the address; this drops that empty-named field.
#[component]
pub fn GetForm(
    #[prop(optional, into)] class: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    let drop_nameless = Arc::new(|data: &web_sys::FormData| data.delete(""));
    view! {
        <Form method="GET" action="" on_form_data=drop_nameless attr:class=class>
            {children()}
        </Form>
    }
}

/// The error of the action's last run, if it failed.
pub fn action_error<S>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: ServerFn<Error = AppError> + Send + Sync + Clone + 'static,
    S::Output: Send + Sync + Clone + 'static,
{
    Signal::derive(move || action.value().get().and_then(|r| r.err()))
}

/// True once the action's last run succeeded.
pub fn action_succeeded<S>(action: ServerAction<S>) -> Signal<bool>
where
    S: ServerFn<Error = AppError> + Send + Sync + Clone + 'static,
    S::Output: Send + Sync + Clone + 'static,
{
    Signal::derive(move || matches!(action.value().get(), Some(Ok(_))))
}

/// The message for one field, shown under it and tied to the input by `aria-describedby`
/// (`{id}-error`).
#[component]
pub fn FieldError(
    #[prop(into)] error: Signal<Option<AppError>>,
    /// The form field's `name`.
    field: &'static str,
    /// The input's id; the message gets `{id}-error`.
    #[prop(into)]
    id: String,
) -> impl IntoView {
    let message = move || error.get().and_then(|e| e.field_message(field));
    view! {
        <p class="field-error" id=format!("{id}-error") role="alert" aria-live="polite">
            {message}
        </p>
    }
}

/// What went wrong with the form as a whole (anything not shown at one of `fields`).
#[component]
pub fn FormError(
    #[prop(into)] error: Signal<Option<AppError>>,
    #[prop(optional)] fields: &'static [&'static str],
) -> impl IntoView {
    move || {
        error
            .get()
            .and_then(|e| e.form_message(fields))
            .map(|message| {
                view! {
                    <p class="form-error" role="alert">
                        {message}
                    </p>
                }
            })
    }
}

/// "Saved" after a successful save; it stays until the form is sent again.
#[component]
pub fn SavedNotice(#[prop(into)] show: Signal<bool>, #[prop(into)] text: String) -> impl IntoView {
    view! {
        <span class="saved" role="status" aria-live="polite">
            {move || show.get().then(|| text.clone())}
        </span>
    }
}

/// A submit button that says it is working while `pending`.
#[component]
pub fn SubmitButton(
    #[prop(into)] pending: Signal<bool>,
    #[prop(into)] label: String,
    #[prop(into, optional)] pending_label: Option<String>,
    #[prop(optional)] class: &'static str,
) -> impl IntoView {
    let busy = pending_label.unwrap_or_else(|| format!("{label}…"));
    view! {
        <button type="submit" class=format!("button primary {class}") aria-busy=move || pending.get().to_string() disabled=move || pending.get()>
            {move || if pending.get() { busy.clone() } else { label.clone() }}
        </button>
    }
}

/// Counts the action's successful runs. Lists refetch on this rather than on the action's
/// version, so a refused form is not re-rendered: what the admin typed stays, next to the
/// message, and an open dialog stays open.
pub fn successes<S>(action: ServerAction<S>) -> Signal<usize>
where
    S: ServerFn<Error = AppError> + Send + Sync + Clone + 'static,
    S::Output: Send + Sync + Clone + 'static,
{
    let count = RwSignal::new(0usize);
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(_))) {
            count.update(|c| *c += 1);
        }
    });
    count.into()
}

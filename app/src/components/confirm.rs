//! Dialogs built on the HTML `popover` attribute: they open and close without JavaScript,
//! close on Escape, and sit in the top layer.

use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;

/// Hides the popover with this id (after its action succeeded).
pub fn hide_popover(id: &str) {
    if let Some(el) = document().get_element_by_id(id) {
        if let Ok(el) = el.dyn_into::<leptos::web_sys::HtmlElement>() {
            let _ = el.hide_popover();
        }
    }
}

/// A dialog opened by a button elsewhere with `popovertarget=id`.
///
/// `shown` renders it as a plain panel in the page instead: a form posted without JavaScript
/// that comes back with an error must show it, and nothing could open a popover then.
#[component]
pub fn Dialog(
    #[prop(into)] id: String,
    #[prop(into)] title: String,
    #[prop(optional)] shown: bool,
    children: Children,
) -> impl IntoView {
    let title_id = format!("{id}-title");
    let (popover, class) = if shown {
        (None, "dialog shown")
    } else {
        (Some("auto"), "dialog")
    };
    view! {
        <div id=id popover=popover class=class role="dialog" aria-modal=(!shown).then_some("true") aria-labelledby=title_id.clone()>
            <h2 id=title_id.clone()>{title}</h2>
            {children()}
        </div>
    }
}

/// A Cancel button that closes the dialog `id` and puts its form back as it was.
#[component]
pub fn CancelButton(#[prop(into)] dialog: String) -> impl IntoView {
    view! {
        <button type="button" class="button" popovertarget=dialog popovertargetaction="hide" on:click=reset_form>
            "Cancel"
        </button>
    }
}

/// Puts the form the clicked button belongs to back as it was rendered.
fn reset_form(ev: leptos::ev::MouseEvent) {
    let form = ev
        .target()
        .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
        .and_then(|el| el.closest("form").ok().flatten())
        .and_then(|form| form.dyn_into::<leptos::web_sys::HtmlFormElement>().ok());
    if let Some(form) = form {
        form.reset();
    }
}

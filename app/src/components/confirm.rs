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
#[component]
pub fn Dialog(
    #[prop(into)] id: String,
    #[prop(into)] title: String,
    children: Children,
) -> impl IntoView {
    let title_id = format!("{id}-title");
    view! {
        <div id=id popover="auto" class="dialog" role="dialog" aria-modal="true" aria-labelledby=title_id.clone()>
            <h2 id=title_id.clone()>{title}</h2>
            {children()}
        </div>
    }
}

/// A Cancel button that closes the dialog `id`.
#[component]
pub fn CancelButton(#[prop(into)] dialog: String) -> impl IntoView {
    view! {
        <button type="button" class="button" popovertarget=dialog popovertargetaction="hide">
            "Cancel"
        </button>
    }
}

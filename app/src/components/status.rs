//! Loading, empty and error states, and how times are shown.

use crate::error::AppError;
use chrono::{DateTime, Utc};
use leptos::prelude::*;

#[component]
pub fn Loading(#[prop(into, optional)] what: Option<String>) -> impl IntoView {
    view! {
        <p class="loading" role="status" aria-live="polite">
            <span class="spinner" aria-hidden="true"></span>
            {what.unwrap_or_else(|| "Loading…".to_owned())}
        </p>
    }
}

/// A page-level error: what happened and what to do.
#[component]
pub fn ErrorPanel(error: AppError) -> impl IntoView {
    let (title, hint) = match &error {
        AppError::NotFound => (
            "Not found",
            "It may have been deleted, or it belongs to another organization.",
        ),
        AppError::Unauthorized => ("Signed out", "Please sign in again."),
        _ => ("Something went wrong", ""),
    };
    let detail = match &error {
        AppError::NotFound | AppError::Unauthorized => String::new(),
        other => other.to_string(),
    };
    view! {
        <section class="panel error-panel" role="alert">
            <h1>{title}</h1>
            <p>{hint}</p>
            <p>{detail}</p>
            <p>
                <a href="/domains">"Back to your domains"</a>
            </p>
        </section>
    }
}

/// A table row spanning all columns that says the list is empty.
#[component]
pub fn EmptyRow(colspan: u32, children: Children) -> impl IntoView {
    view! {
        <tr class="empty">
            <td colspan=colspan.to_string()>{children()}</td>
        </tr>
    }
}

/// A time in UTC, the same on the server and in the browser.
pub fn format_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[component]
pub fn Time(time: DateTime<Utc>) -> impl IntoView {
    view! { <time datetime=time.to_rfc3339()>{format_time(&time)}</time> }
}

/// A time the server renders in UTC (with the text "UTC") and the browser, once hydrated,
/// shows in its own time zone ("Dec 3, 2026, 11:15 AM GMT+1").
#[component]
pub fn LocalTime(time: DateTime<Utc>) -> impl IntoView {
    let text = RwSignal::new(format_time(&time));
    // Effects run only in the browser, after hydration: the hydrated markup first matches the
    // server's, then changes.
    Effect::new(move |_| {
        if let Some(local) = browser_local_time(&time) {
            text.set(local);
        }
    });
    view! { <time datetime=time.to_rfc3339()>{move || text.get()}</time> }
}

#[cfg(feature = "hydrate")]
fn browser_local_time(time: &DateTime<Utc>) -> Option<String> {
    use wasm_bindgen::JsValue;
    #[allow(clippy::cast_precision_loss)] // milliseconds since 1970 fit an f64 exactly
    let date = js_sys::Date::new(&JsValue::from_f64(time.timestamp_millis() as f64));
    let options = js_sys::Object::new();
    for (key, value) in [
        ("year", "numeric"),
        ("month", "short"),
        ("day", "numeric"),
        ("hour", "numeric"),
        ("minute", "2-digit"),
        ("timeZoneName", "short"),
    ] {
        js_sys::Reflect::set(&options, &JsValue::from_str(key), &JsValue::from_str(value)).ok()?;
    }
    // "default": the browser's own locale.
    date.to_locale_string("default", &options).as_string()
}

#[cfg(not(feature = "hydrate"))]
fn browser_local_time(_time: &DateTime<Utc>) -> Option<String> {
    None
}

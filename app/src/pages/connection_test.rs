//! Test Connection, as every connector's connection section shows it: a GET form
//! (`?test=…`) that changes nothing and works without JavaScript, its result rendered by the
//! server like any other page data — the first accounts as Roster would store them, or what
//! failed.

use crate::components::forms::GetForm;
use crate::error::AppError;
use crate::model::ConnectionTestResult;
use leptos::prelude::*;

/// Test Connection, once connected: the button and the last result.
#[component]
pub fn TestConnection(
    tested: Option<Result<ConnectionTestResult, AppError>>,
    query: Memo<leptos_router::params::ParamsMap>,
    pending: ReadSignal<bool>,
    /// What the test does, for this connector.
    description: &'static str,
    /// What to check when none of the objects read has an address at the domain.
    empty_hint: &'static str,
) -> impl IntoView {
    let requested = move || query.read().get("test").is_some_and(|v| !v.is_empty());
    // Busy only in the browser: the server renders while the transition is still pending,
    // and a page without JavaScript must not arrive with a disabled button.
    let busy = move || cfg!(feature = "hydrate") && pending.get();
    view! {
        <div class="test-connection" role="region" aria-labelledby="test-title">
            <h3 id="test-title">"Test Connection"</h3>
            <p class="muted">{description}</p>
            // A fresh value each time, so testing again runs again. The value rides on the
            // button itself: a nameless submit button put an empty `&=` into the address.
            <GetForm>
                <button
                    type="submit"
                    class="button"
                    name="test"
                    value=move || test_nonce(query.read().get("test"))
                    disabled=busy
                    aria-busy=move || busy().to_string()
                >
                    {move || if busy() && requested() { "Testing…" } else { "Test Connection" }}
                </button>
            </GetForm>
            {match tested {
                None => view! { <p class="muted small">"Not tested yet."</p> }.into_any(),
                Some(Err(error)) => view! { <TestFailed error /> }.into_any(),
                Some(Ok(result)) => view! { <TestResult result empty_hint /> }.into_any(),
            }}
        </div>
    }
}

/// The value of the next test: one more than the last, so the URL changes each time.
pub fn test_nonce(last: Option<String>) -> String {
    let n = last.and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
    n.saturating_add(1).to_string()
}

#[component]
fn TestResult(result: ConnectionTestResult, empty_hint: &'static str) -> impl IntoView {
    let summary = format!(
        "Connection works. Read {} user{} and {} group{} on the first pages{}; {} of them are accounts at this domain. Took {}.",
        result.users_read,
        plural(result.users_read),
        result.groups_read,
        plural(result.groups_read),
        if result.more_pages { " (the directory has more)" } else { "" },
        result.accounts_found,
        duration(result.elapsed_ms)
    );
    let empty = result.accounts.is_empty();
    view! {
        <p class="notice success" role="status">{summary}</p>
        {empty.then(|| view! {
            <p>{empty_hint}</p>
        })}
        {(!empty).then(|| view! {
            <table class="table" aria-label="First accounts">
                <thead>
                    <tr>
                        <th scope="col">"Address"</th>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Kind"</th>
                        <th scope="col">"Aliases"</th>
                    </tr>
                </thead>
                <tbody>
                    {result.accounts.into_iter().map(|a| {
                        let kind = match a.kind {
                            crate::model::AccountKind::DistributionList => format!("{} ({} member{})", a.kind.label(), a.members, plural(a.members)),
                            crate::model::AccountKind::Mailbox => a.kind.label().to_owned(),
                        };
                        view! {
                            <tr>
                                <td>{a.address}</td>
                                <td>{a.display_name}</td>
                                <td>{kind}</td>
                                <td>{if a.aliases.is_empty() { "—".to_owned() } else { a.aliases.join(", ") }}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        })}
    }
}

#[component]
fn TestFailed(error: AppError) -> impl IntoView {
    let (message, code) = match &error {
        AppError::Directory {
            message,
            microsoft_code,
        } => (message.clone(), microsoft_code.clone()),
        other => (other.to_string(), None),
    };
    view! {
        <div class="notice error" role="alert">
            <p><strong>"The connection test failed. "</strong>{message}</p>
            {code.map(|c| view! { <p class="small">"Microsoft's code: " <code>{c}</code></p> })}
        </div>
    }
}

fn duration(ms: u32) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", f64::from(ms) / 1000.0)
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_test_gets_a_new_nonce() {
        assert_eq!(test_nonce(None), "1");
        assert_eq!(test_nonce(Some("41".into())), "42");
        assert_eq!(test_nonce(Some("junk".into())), "1");
    }
}

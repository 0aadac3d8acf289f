//! Email Accounts: the domain's recipients, a page at a time, searchable by address or alias.

use crate::api::accounts::{
    list_accounts, AddAccount, AddAlias, DeleteAccount, RemoveAlias, SetAccountKind,
};
use crate::components::confirm::{hide_popover, CancelButton, Dialog};
use crate::components::forms::{
    action_error, successes, FieldError, FormError, GetForm, SubmitButton,
};
use crate::components::pager::urlencode;
use crate::components::status::{EmptyRow, ErrorPanel, Loading, Time};
use crate::model::{AccountKind, AccountRow, AccountSource};
use crate::pages::domain_layout::use_domain;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;
use roster_core::account::{
    ARCHIVED_BADGE, ARCHIVED_BADGE_HINT, DISABLED_BADGE, DISABLED_BADGE_HINT, EVERYONE_BADGE,
    EVERYONE_BADGE_HINT,
};
use uuid::Uuid;

/// The account actions, shared by every row.
#[derive(Clone, Copy)]
struct AccountActions {
    add_alias: ServerAction<AddAlias>,
    remove_alias: ServerAction<RemoveAlias>,
    set_kind: ServerAction<SetAccountKind>,
    delete: ServerAction<DeleteAccount>,
}

#[component]
pub fn EmailAccountsPage() -> impl IntoView {
    let domain = use_domain();
    let domain_id = domain.id;
    let add = ServerAction::<AddAccount>::new();
    let add_error = action_error(add);
    let actions = AccountActions {
        add_alias: ServerAction::new(),
        remove_alias: ServerAction::new(),
        set_kind: ServerAction::new(),
        delete: ServerAction::new(),
    };
    let row_error = Signal::derive(move || {
        action_error(actions.add_alias)
            .get()
            .or_else(|| action_error(actions.remove_alias).get())
            .or_else(|| action_error(actions.set_kind).get())
            .or_else(|| action_error(actions.delete).get())
    });
    let query = use_query_map();
    let q = move |key: &str| query.read().get(key).filter(|v| !v.is_empty());
    let changes = [
        successes(add),
        successes(actions.add_alias),
        successes(actions.remove_alias),
        successes(actions.set_kind),
        successes(actions.delete),
    ];
    let accounts = Resource::new(
        move || {
            (
                q("q").unwrap_or_default(),
                q("after"),
                q("before"),
                changes.iter().map(|s| s.get()).sum::<usize>(),
            )
        },
        move |(search, after, before, ..)| list_accounts(domain_id, search, after, before),
    );
    Effect::new(move |_| {
        if matches!(add.value().get(), Some(Ok(_))) {
            hide_popover("add-account-dialog");
        }
    });
    let at_domain = format!("@{}", domain.name);
    let base = format!("/domains/{domain_id}/accounts");

    view! {
        <Title text=format!("Email Accounts · {}", domain.name) />
        <div class="page-head">
            <h1>"Email Accounts"</h1>
            <button type="button" class="button primary" popovertarget="add-account-dialog">"Add account"</button>
        </div>
        <p class="muted">
            "Mail to addresses not listed here is rejected. Accounts from a directory sync are read-only: change them in the directory and the next sync brings the change here."
        </p>
        <div class="toolbar">
            <GetForm>
                <label for="account-search" class="visually-hidden">"Search by address or alias"</label>
                <input id="account-search" type="search" name="q" placeholder="Search by address or alias"
                    value=move || q("q").unwrap_or_default() />
                <button type="submit" class="button">"Search"</button>
            </GetForm>
        </div>
        <FormError error=row_error />
        <div class="async">
        <Transition fallback=|| view! { <Loading what="Loading accounts…" /> }>
            {move || {
                let base = base.clone();
                Suspend::new(async move {
                    match accounts.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(page) => {
                            let searching = q("q").is_some();
                            let search_param = q("q").map(|s| format!("&q={}", urlencode(&s))).unwrap_or_default();
                            let prev = page.prev_before.as_ref().map(|b| format!("{base}?before={}{search_param}", urlencode(b)));
                            let next = page.next_after.as_ref().map(|a| format!("{base}?after={}{search_param}", urlencode(a)));
                            let empty = page.rows.is_empty();
                            view! {
                                <p class="count" role="status">{format!("{} account{}", page.total, if page.total == 1 { "" } else { "s" })}</p>
                                <table class="table">
                                    <thead>
                                        <tr>
                                            <th scope="col">"Address"</th>
                                            <th scope="col">"Kind"</th>
                                            <th scope="col">"Aliases"</th>
                                            <th scope="col">"Source"</th>
                                            <th scope="col">"Updated"</th>
                                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {(empty && searching).then(|| view! { <EmptyRow colspan=6>"No account matches your search."</EmptyRow> })}
                                        {(empty && !searching).then(|| view! {
                                            <EmptyRow colspan=6>"No email accounts yet. Add one, or sync them from your directory."</EmptyRow>
                                        })}
                                        {page.rows.into_iter().map(|row| view! { <AccountRowView row domain_id actions /> }).collect_view()}
                                    </tbody>
                                </table>
                                <nav class="pager" aria-label="Pages">
                                    {prev.map(|href| view! { <A href=href attr:rel="prev">"← Previous"</A> })}
                                    {next.map(|href| view! { <A href=href attr:rel="next">"Next →"</A> })}
                                </nav>
                            }.into_any()
                        }
                    }
                })
            }}
        </Transition>
        </div>

        <Dialog id="add-account-dialog" title="Add an email account" shown=add_error.get_untracked().is_some()>
            <ActionForm action=add>
                <input type="hidden" name="domain_id" value=domain_id.to_string() />
                <FormError error=add_error fields=&["local_part", "kind", "aliases"] />
                <div class="field">
                    <label for="account-local">"Address"</label>
                    <div class="input-suffix">
                        <input id="account-local" name="local_part" required autofocus autocomplete="off" spellcheck="false"
                            aria-describedby="account-local-error" />
                        <span>{at_domain.clone()}</span>
                    </div>
                    <FieldError error=add_error field="local_part" id="account-local" />
                </div>
                <div class="field">
                    <label for="account-kind">"Kind"</label>
                    <select id="account-kind" name="kind">
                        <option value="mailbox" selected>"Mailbox"</option>
                        <option value="distribution_list">"Distribution list"</option>
                    </select>
                    <FieldError error=add_error field="kind" id="account-kind" />
                </div>
                <div class="field">
                    <label for="account-aliases">"Aliases"</label>
                    <textarea id="account-aliases" name="aliases" rows="3" spellcheck="false"
                        aria-describedby="account-aliases-hint account-aliases-error"></textarea>
                    <p class="hint" id="account-aliases-hint">{format!("Optional. One per line, in this domain (e.g. sales or sales{at_domain}).")}</p>
                    <FieldError error=add_error field="aliases" id="account-aliases" />
                </div>
                <div class="actions">
                    <SubmitButton pending=add.pending() label="Add account" pending_label="Adding…" />
                    <CancelButton dialog="add-account-dialog" />
                </div>
            </ActionForm>
        </Dialog>
    }
}

#[component]
fn AccountRowView(row: AccountRow, domain_id: Uuid, actions: AccountActions) -> impl IntoView {
    let manual = row.source == AccountSource::Manual;
    let edit_dialog = format!("edit-account-{}", row.id);
    let delete_dialog = format!("delete-account-{}", row.id);
    let aliases_text = if row.aliases.is_empty() {
        "—".to_owned()
    } else {
        row.aliases.join(", ")
    };
    let manage = manual.then(|| {
        let account_id = row.id;
        let other_kind = match row.kind {
            AccountKind::Mailbox => AccountKind::DistributionList,
            AccountKind::DistributionList => AccountKind::Mailbox,
        };
        let alias_input = format!("alias-{}", row.id);
        let alias_error = action_error(actions.add_alias);
        let no_aliases = row.aliases.is_empty();
        let alias_items = row
            .aliases
            .clone()
            .into_iter()
            .map(|alias| {
                view! {
                    <li>
                        <span>{alias.clone()}</span>
                        <ActionForm action=actions.remove_alias attr:class="inline">
                            <input type="hidden" name="domain_id" value=domain_id.to_string() />
                            <input type="hidden" name="account_id" value=account_id.to_string() />
                            <input type="hidden" name="alias" value=alias.clone() />
                            <button type="submit" class="button small" aria-label=format!("Remove alias {alias}")>"Remove"</button>
                        </ActionForm>
                    </li>
                }
            })
            .collect_view();
        let kind_text = format!("This account is a {}.", row.kind.label().to_lowercase());
        let kind_button = format!("Mark as {}", other_kind.label().to_lowercase());
        view! {
            <button type="button" class="button small" popovertarget=edit_dialog.clone()
                aria-label=format!("Edit {}", row.address)>"Edit"</button>
            <button type="button" class="button danger small" popovertarget=delete_dialog.clone()
                aria-label=format!("Delete {}", row.address)>"Delete"</button>
            <Dialog id=edit_dialog.clone() title=format!("Edit {}", row.address)>
                <h3>"Aliases"</h3>
                <ul class="alias-list">
                    {no_aliases.then(|| view! { <li class="muted">"No aliases."</li> })}
                    {alias_items}
                </ul>
                <ActionForm action=actions.add_alias>
                    <input type="hidden" name="domain_id" value=domain_id.to_string() />
                    <input type="hidden" name="account_id" value=account_id.to_string() />
                    <div class="field">
                        <label for=alias_input.clone()>"New alias"</label>
                        <input id=alias_input.clone() name="alias" required autocomplete="off" spellcheck="false"
                            aria-describedby=format!("{alias_input}-error") />
                        <FieldError error=alias_error field="alias" id=alias_input.clone() />
                    </div>
                    <SubmitButton pending=actions.add_alias.pending() label="Add alias" pending_label="Adding…" />
                </ActionForm>
                <h3>"Kind"</h3>
                <ActionForm action=actions.set_kind>
                    <input type="hidden" name="domain_id" value=domain_id.to_string() />
                    <input type="hidden" name="account_id" value=account_id.to_string() />
                    <input type="hidden" name="kind" value=other_kind.as_str() />
                    <p>{kind_text}</p>
                    <button type="submit" class="button">{kind_button}</button>
                </ActionForm>
                <div class="actions">
                    <CancelButton dialog=edit_dialog.clone() />
                </div>
            </Dialog>
            <Dialog id=delete_dialog.clone() title=format!("Delete {}?", row.address)>
                <p>"Mail to this address and its aliases will be rejected from now on."</p>
                <ActionForm action=actions.delete>
                    <input type="hidden" name="domain_id" value=domain_id.to_string() />
                    <input type="hidden" name="account_id" value=account_id.to_string() />
                    <div class="actions">
                        <button type="submit" class="button danger">"Delete"</button>
                        <CancelButton dialog=delete_dialog.clone() />
                    </div>
                </ActionForm>
            </Dialog>
        }
    });
    view! {
        <tr>
            <td>
                <A href=format!("/domains/{domain_id}/accounts/{}", row.id)>{row.address.clone()}</A>
                {(!row.enabled).then(|| view! {
                    " "
                    <span class="badge neutral" title=DISABLED_BADGE_HINT>
                        {DISABLED_BADGE}
                        <span class="visually-hidden">{format!(" ({DISABLED_BADGE_HINT})")}</span>
                    </span>
                })}
                {row.archived.then(|| view! {
                    " "
                    <span class="badge archived" title=ARCHIVED_BADGE_HINT>
                        {ARCHIVED_BADGE}
                        <span class="visually-hidden">{format!(" ({ARCHIVED_BADGE_HINT})")}</span>
                    </span>
                })}
                {row.includes_everyone.then(|| view! {
                    " "
                    <span class="badge everyone" title=EVERYONE_BADGE_HINT>
                        {EVERYONE_BADGE}
                        <span class="visually-hidden">{format!(" ({EVERYONE_BADGE_HINT})")}</span>
                    </span>
                })}
            </td>
            <td>{row.kind.label()}</td>
            <td class="aliases">{aliases_text}</td>
            <td>{row.source.label()}</td>
            <td><Time time=row.updated_at /></td>
            <td class="row-actions">
                {manage}
                {(!manual).then(|| view! { <span class="muted" title="Kept in step with the directory">"Synced"</span> })}
            </td>
        </tr>
    }
}

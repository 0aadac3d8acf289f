//! Inbound Servers: where the domain's clean mail is delivered, and the domain's server type.

use crate::api::mail_servers::{list_mail_servers, AddMailServer, DeleteMailServer};
use crate::components::confirm::{hide_popover, CancelButton, Dialog};
use crate::components::forms::{
    action_error, successes, FieldError, FormError, GetForm, SubmitButton,
};
use crate::components::status::{EmptyRow, ErrorPanel, Loading};
use crate::pages::domain_layout::{use_domain, DomainActions};
use crate::pages::domain_ownership::OwnershipPanel;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use roster_core::ServerType;

#[component]
pub fn InboundServersPage() -> impl IntoView {
    let domain = use_domain();
    let actions = expect_context::<DomainActions>();
    let set_type = actions.set_server_type;
    let set_port = actions.set_delivery_port;
    let type_error = action_error(set_type);
    let port_error = action_error(set_port);
    Effect::new(move |_| {
        if matches!(set_type.value().get(), Some(Ok(()))) {
            hide_popover("server-type-dialog");
        }
    });
    Effect::new(move |_| {
        if matches!(set_port.value().get(), Some(Ok(()))) {
            hide_popover("port-dialog");
        }
    });
    let domain_id = domain.id;

    view! {
        <Title text=format!("Inbound Servers · {}", domain.name) />
        <h1>"Inbound Servers"</h1>
        <div class="intro">
            <p>"Where should we deliver the clean email? List your mail servers with a priority: the lower the number, the more preferred the server. Servers with the same priority share the traffic."</p>
            <p>"If your provider blocks port 25, deliver to another port; it applies to all of this domain's servers."</p>
        </div>
        <dl class="settings">
            <dt>"Server type:"</dt>
            <dd>
                <strong>{domain.server_type.label()}</strong>
                <button type="button" class="icon-button" popovertarget="server-type-dialog" aria-label="Edit server type" title="Edit server type">"✎"</button>
            </dd>
            <dt>"Deliver email to port:"</dt>
            <dd>
                <strong>{domain.delivery_port.to_string()}</strong>
                <button type="button" class="icon-button" popovertarget="port-dialog" aria-label="Edit delivery port" title="Edit delivery port">"✎"</button>
            </dd>
        </dl>
        <OwnershipPanel domain_id />

        <Dialog id="server-type-dialog" title="Edit server type" shown=type_error.get_untracked().is_some()>
            <ActionForm action=set_type>
                <input type="hidden" name="domain_id" value=domain_id.to_string() />
                <FormError error=type_error fields=&["server_type"] />
                <div class="field">
                    <label for="server-type">"Type"</label>
                    <select id="server-type" name="server_type" autofocus aria-describedby="server-type-error">
                        {ServerType::ALL.iter().map(|t| {
                            view! { <option value=t.as_str() selected=*t == domain.server_type>{t.label()}</option> }
                        }).collect_view()}
                    </select>
                    <FieldError error=type_error field="server_type" id="server-type" />
                </div>
                <div class="actions">
                    <SubmitButton pending=set_type.pending() label="Save" pending_label="Saving…" />
                    <CancelButton dialog="server-type-dialog" />
                </div>
            </ActionForm>
        </Dialog>

        <Dialog id="port-dialog" title="Edit delivery port" shown=port_error.get_untracked().is_some()>
            <ActionForm action=set_port>
                <input type="hidden" name="domain_id" value=domain_id.to_string() />
                <FormError error=port_error fields=&["port"] />
                <div class="field">
                    <label for="delivery-port">"Port"</label>
                    <input id="delivery-port" name="port" type="number" min="1" max="65535" required autofocus
                        value=domain.delivery_port.to_string() aria-describedby="delivery-port-hint delivery-port-error" />
                    <p class="hint" id="delivery-port-hint">"1 to 65535; the standard is 25."</p>
                    <FieldError error=port_error field="port" id="delivery-port" />
                </div>
                <div class="actions">
                    <SubmitButton pending=set_port.pending() label="Save" pending_label="Saving…" />
                    <CancelButton dialog="port-dialog" />
                </div>
            </ActionForm>
        </Dialog>

        <MailServers />
    }
}

#[component]
fn MailServers() -> impl IntoView {
    let domain = use_domain();
    let domain_id = domain.id;
    let add = ServerAction::<AddMailServer>::new();
    let delete = ServerAction::<DeleteMailServer>::new();
    let add_error = action_error(add);
    let delete_error = action_error(delete);
    let query = use_query_map();
    let search = move || query.read().get("q").unwrap_or_default();
    let added = successes(add);
    let deleted = successes(delete);
    let servers = Resource::new(
        move || (search(), added.get(), deleted.get()),
        move |(q, _, _)| list_mail_servers(domain_id, q),
    );
    Effect::new(move |_| {
        if matches!(add.value().get(), Some(Ok(_))) {
            hide_popover("add-server-dialog");
        }
    });

    view! {
        <section class="section" aria-labelledby="servers-title">
            <div class="toolbar">
                <h2 id="servers-title">"Mail servers"</h2>
                <button type="button" class="button primary" popovertarget="add-server-dialog">"Add"</button>
                <span class="spacer"></span>
                <GetForm>
                    <label for="server-search" class="visually-hidden">"Search mail servers"</label>
                    <input id="server-search" type="search" name="q" placeholder="Search" value=search />
                </GetForm>
            </div>
            <FormError error=delete_error />
            <div class="async">
            <Transition fallback=|| view! { <Loading /> }>
                {move || Suspend::new(async move {
                    match servers.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(rows) => {
                            let empty = rows.is_empty();
                            let searching = !search().is_empty();
                            view! {
                                <table class="table">
                                    <thead>
                                        <tr>
                                            <th scope="col">"Mail server"</th>
                                            <th scope="col" class="num">"Priority"</th>
                                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {(empty && searching).then(|| view! { <EmptyRow colspan=3>"No mail server matches your search."</EmptyRow> })}
                                        {(empty && !searching).then(|| view! {
                                            <EmptyRow colspan=3>"No mail servers yet. Add the host that should receive this domain's clean mail."</EmptyRow>
                                        })}
                                        {rows.into_iter().map(|s| {
                                            let dialog = format!("delete-server-{}", s.id);
                                            view! {
                                                <tr>
                                                    <td>{s.host.clone()}</td>
                                                    <td class="num">{s.priority.to_string()}</td>
                                                    <td class="row-actions">
                                                        <button type="button" class="button danger small" popovertarget=dialog.clone()
                                                            aria-label=format!("Delete {}", s.host)>"Delete"</button>
                                                        <Dialog id=dialog.clone() title=format!("Delete {}?", s.host)>
                                                            <p>"Mail for this domain will no longer be delivered to this server."</p>
                                                            <ActionForm action=delete>
                                                                <input type="hidden" name="domain_id" value=domain_id.to_string() />
                                                                <input type="hidden" name="mail_server_id" value=s.id.to_string() />
                                                                <div class="actions">
                                                                    <button type="submit" class="button danger">"Delete"</button>
                                                                    <CancelButton dialog=dialog.clone() />
                                                                </div>
                                                            </ActionForm>
                                                        </Dialog>
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            </div>
        </section>

        <Dialog id="add-server-dialog" title="Add a mail server" shown=add_error.get_untracked().is_some()>
            <ActionForm action=add>
                <input type="hidden" name="domain_id" value=domain_id.to_string() />
                <FormError error=add_error fields=&["host", "priority"] />
                <div class="field">
                    <label for="server-host">"Host name or IP address"</label>
                    <input id="server-host" name="host" required autofocus autocomplete="off" spellcheck="false"
                        placeholder="mail.example.com" aria-describedby="server-host-error" />
                    <FieldError error=add_error field="host" id="server-host" />
                </div>
                <div class="field">
                    <label for="server-priority">"Priority"</label>
                    <input id="server-priority" name="priority" type="number" min="0" max="65535" required value="10"
                        aria-describedby="server-priority-hint server-priority-error" />
                    <p class="hint" id="server-priority-hint">"0 to 65535; lower is preferred."</p>
                    <FieldError error=add_error field="priority" id="server-priority" />
                </div>
                <div class="actions">
                    <SubmitButton pending=add.pending() label="Add" pending_label="Adding…" />
                    <CancelButton dialog="add-server-dialog" />
                </div>
            </ActionForm>
        </Dialog>
    }
}

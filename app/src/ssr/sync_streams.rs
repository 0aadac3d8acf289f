//! Two plain axum routes of a domain's syncs, next to the server functions:
//! - `GET /domains/{domain}/sync/events`: the latest run as Server-Sent Events, pushed when the
//!   engine notifies `sync_progress` (coalesced to at most five a second), so the Office 365
//!   Sync page shows a run live without polling. It lasts as long as its session: the session
//!   is checked again before each event, when a session of the organization ends (sign-out,
//!   an admin removed: `auth::notify_sessions_ended`) and every `SESSION_RECHECK`, and the
//!   stream ends once it is gone or expired;
//! - `GET /domains/{domain}/sync/runs/{run}/changes.csv`: every change of a run, streamed a
//!   page at a time whatever its size.

use super::auth::require_admin;
use super::{AppState, Request};
use crate::api::domains::ssr::load_domain;
use crate::api::sync_runs::ssr::{ensure_run, latest_run};
use crate::error::AppError;
use crate::model::RunStatus;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, Stream, StreamExt};
use roster_core::ChangeKind;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

pub const EVENTS_PATH: &str = "/domains/{domain_id}/sync/events";
pub const CHANGES_CSV_PATH: &str = "/domains/{domain_id}/sync/runs/{run_id}/changes.csv";

fn refused(error: &AppError) -> Response {
    (error.status(), error.to_string()).into_response()
}

pub async fn events(state: AppState, Path(domain_id): Path<Uuid>, headers: HeaderMap) -> Response {
    let req = Request::from_headers(state.clone(), headers);
    let admin = match require_admin(&req).await {
        Ok(admin) => admin,
        Err(e) => return refused(&e),
    };
    let org = admin.organization_id;
    if let Err(e) = load_domain(&state.pool, org, domain_id).await {
        return refused(&e);
    }
    Sse::new(progress_stream(req, org, domain_id))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// How often a quiet stream checks that its session still stands.
pub const SESSION_RECHECK: Duration = Duration::from_secs(30);

struct Watch {
    /// The request that opened the stream: its session cookie.
    req: Request,
    state: AppState,
    receiver: tokio::sync::broadcast::Receiver<String>,
    stopping: tokio::sync::watch::Receiver<bool>,
    first: bool,
    last: Option<Option<RunStatus>>,
}

/// The latest run now, then again after each notification of the organization that changed
/// it; ends when the server shuts down or the session ends.
fn progress_stream(
    req: Request,
    org: Uuid,
    domain_id: Uuid,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let state = req.state.clone();
    let watch = Watch {
        req,
        receiver: state.progress.subscribe(),
        stopping: state.stopping.clone(),
        state,
        first: true,
        last: None,
    };
    let prefix = format!("{org}:");
    stream::unfold(watch, move |mut w| {
        let prefix = prefix.clone();
        async move {
            loop {
                if !w.first {
                    wait_for_news(&mut w, &prefix).await?;
                }
                w.first = false;
                if let Err(error) = require_admin(&w.req).await {
                    tracing::debug!(%domain_id, ?error, "the session of a progress stream ended");
                    return None;
                }
                let latest = match latest_run(&w.state.pool, org, domain_id).await {
                    Ok(latest) => latest,
                    // Already logged; the browser reconnects and tries again.
                    Err(_) => return None,
                };
                if w.last.as_ref() == Some(&latest) {
                    continue;
                }
                let event = Event::default().event("progress").json_data(&latest).ok()?;
                w.last = Some(latest);
                return Some((Ok(event), w));
            }
        }
    })
}

/// Waits for a notification about the organization (or a reconnect of the listener), then
/// lets a burst settle; `None` when the server stops.
async fn wait_for_news(w: &mut Watch, prefix: &str) -> Option<()> {
    loop {
        tokio::select! {
            received = w.receiver.recv() => match received {
                Ok(payload) if payload.is_empty() || payload.starts_with(prefix) => break,
                Ok(_) => continue,
                Err(RecvError::Lagged(_)) => break,
                Err(RecvError::Closed) => return None,
            },
            _ = w.stopping.wait_for(|stop| *stop) => return None,
            // Time to check the session again (it may have expired).
            () = tokio::time::sleep(SESSION_RECHECK) => return Some(()),
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    while w.receiver.try_recv().is_ok() {}
    Some(())
}

pub async fn changes_csv(
    state: AppState,
    Path((domain_id, run_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
) -> Response {
    let req = Request::from_headers(state.clone(), headers);
    let admin = match require_admin(&req).await {
        Ok(admin) => admin,
        Err(e) => return refused(&e),
    };
    let org = admin.organization_id;
    if let Err(e) = ensure_run(&state.pool, org, domain_id, run_id).await {
        return refused(&e);
    }
    let pool = state.pool.clone();
    // `new_address`: a rename's new primary address (its `address` is the old one).
    let header_row = "kind,address,item,before,after,new_address\r\n".to_owned();
    // Keyset pages by `seq`: constant memory whatever the number of changes.
    let pages = stream::unfold(Some(0i64), move |after| {
        let pool = pool.clone();
        async move {
            let after = after?;
            let rows = sqlx::query!(
                r#"select seq, kind, address, item, before, after, new_address from sync_run_changes
                   where organization_id = $1 and run_id = $2 and seq > $3
                   order by seq limit 5000"#,
                org,
                run_id,
                after
            )
            .fetch_all(&pool)
            .await;
            match rows {
                Err(error) => {
                    tracing::error!(%run_id, error = ?error, "exporting a run's changes");
                    Some((Err(std::io::Error::other("the export stopped")), None))
                }
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let last = rows.last().map(|r| r.seq);
                    let mut chunk = String::with_capacity(rows.len() * 80);
                    for r in rows {
                        let kind = match ChangeKind::parse(&r.kind) {
                            Ok(kind) => kind,
                            Err(error) => {
                                tracing::error!(%run_id, %error, "exporting a run's changes");
                                return Some((
                                    Err(std::io::Error::other("the export stopped")),
                                    None,
                                ));
                            }
                        };
                        let fields = [
                            kind.label_of(r.new_address.is_some()),
                            &r.address,
                            r.item.as_deref().unwrap_or(""),
                            r.before.as_deref().unwrap_or(""),
                            r.after.as_deref().unwrap_or(""),
                            r.new_address.as_deref().unwrap_or(""),
                        ];
                        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                        chunk.push_str(&line.join(","));
                        chunk.push_str("\r\n");
                    }
                    Some((Ok(chunk), last))
                }
            }
        }
    });
    let body = stream::once(async move { Ok::<_, std::io::Error>(header_row) }).chain(pages);
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"sync-{run_id}-changes.csv\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// One CSV field (RFC 4180), defused for spreadsheets: a value starting with `=`, `+`, `-` or
/// `@` (a display name from the directory, say) gets a leading `'` so it is never a formula.
pub fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("adele@contoso.com"), "adele@contoso.com");
        assert_eq!(csv_field("Vance, Adele"), "\"Vance, Adele\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("@sum"), "'@sum");
    }
}

//! One `LISTEN sync_progress` connection per server instance, fanned out to every open
//! progress stream of that instance. Whichever instance runs a sync, `pg_notify` reaches them
//! all, so a page served anywhere shows the run live.

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::future::Future;
use std::time::Duration;
use tokio::sync::broadcast;

/// The channel the sync engine notifies (`<organization_id>:<run_id>`).
pub const CHANNEL: &str = "sync_progress";

/// A sender for [`app::ssr::AppState::progress`]; subscribers get each notification's payload.
pub fn channel() -> broadcast::Sender<String> {
    broadcast::channel(1024).0
}

/// Forwards notifications until `shutdown`; reconnects after a lost connection (streams then
/// reload the run's state, so nothing shown is lost, only delayed).
pub async fn forward(
    pool: PgPool,
    sender: broadcast::Sender<String>,
    shutdown: impl Future<Output = ()> + Send,
) {
    tokio::pin!(shutdown);
    loop {
        let listener = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(CHANNEL).await?;
            // Tell streams to reload: notifications may have been missed while reconnecting.
            let _ = sender.send(String::new());
            loop {
                let notification = listener.recv().await?;
                let _ = sender.send(notification.payload().to_owned());
            }
            #[allow(unreachable_code)]
            Ok::<(), sqlx::Error>(())
        };
        tokio::select! {
            () = &mut shutdown => return,
            result = listener => {
                if let Err(error) = result {
                    tracing::warn!(%error, "lost the sync progress listener; reconnecting");
                }
            }
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

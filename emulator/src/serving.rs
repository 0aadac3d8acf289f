//! Serving a router in a background task until told to stop: shared by the Microsoft and the
//! Google emulator.

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server task; dropping it stops serving (without waiting).
pub(crate) struct Background {
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Background {
    /// Serves `app` on the bound `listener` with graceful shutdown.
    pub(crate) fn start(listener: TcpListener, app: Router) -> Background {
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
        });
        Background {
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Stops serving and waits for the task to end.
    pub(crate) async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await??;
        }
        Ok(())
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

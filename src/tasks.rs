//! The hub's background tasks (audit sequencer, checkpointer, alert checks, policy watcher,
//! SQLite WAL checkpointer, the support plans' overdue check), owned in one place: `startup::Application` starts them through a
//! [`BackgroundTasks`] and stops them when the server stops, so no task outlives the
//! application or touches its store afterwards.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The background tasks of one application. Cheap to clone: clones share the tasks.
#[derive(Clone)]
pub struct BackgroundTasks {
    inner: Arc<Inner>,
}

struct Inner {
    stop: watch::Sender<bool>,
    handles: std::sync::Mutex<Vec<(&'static str, JoinHandle<()>)>>,
    /// Held while `stop` joins the tasks, so that other callers wait for it.
    stopping: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for BackgroundTasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackgroundTasks")
    }
}

impl Default for BackgroundTasks {
    fn default() -> Self {
        Self::new()
    }
}

impl BackgroundTasks {
    pub fn new() -> Self {
        let (stop, _) = watch::channel(false);
        Self {
            inner: Arc::new(Inner {
                stop,
                handles: std::sync::Mutex::new(Vec::new()),
                stopping: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The signal a task watches to know it must stop.
    pub fn shutdown(&self) -> Shutdown {
        Shutdown(self.inner.stop.subscribe())
    }

    /// Spawns `task` on the current runtime under `name`; it should end soon after its
    /// [`Shutdown`] fires.
    pub fn spawn(&self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(task);
        match self.inner.handles.lock() {
            Ok(mut handles) => handles.push((name, handle)),
            Err(poisoned) => poisoned.into_inner().push((name, handle)),
        }
    }

    /// The names of the tasks still running (after any `stop` in progress has finished).
    pub async fn running(&self) -> Vec<&'static str> {
        let _stopping = self.inner.stopping.lock().await;
        let handles = self
            .inner
            .handles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        handles
            .iter()
            .filter(|(_, h)| !h.is_finished())
            .map(|(name, _)| *name)
            .collect()
    }

    /// Asks every task to stop and waits until all have finished. Idempotent; a second caller
    /// waits for the first to finish joining.
    pub async fn stop(&self) {
        let _stopping = self.inner.stopping.lock().await;
        self.inner.stop.send_replace(true);
        let handles = std::mem::take(
            &mut *self
                .inner
                .handles
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for (name, handle) in handles {
            if let Err(e) = handle.await {
                tracing::warn!(task = name, error = %e, "background task ended abnormally");
            }
        }
    }
}

/// Fires once the owner of the tasks asks them to stop (or is gone).
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// Completes when the tasks must stop. Cancel safe: use it in `tokio::select!`.
    pub async fn requested(&mut self) {
        // An error means the sender is gone: nobody owns the task any more, so stop too.
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

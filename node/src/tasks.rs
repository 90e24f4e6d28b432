//! The node's tasks, tracked so a stop can wait for them: every long-running task is spawned here and ends when
//! the node's stop token is cancelled; [`Tasks::drain`] cancels it and waits, at most a bound, for them to finish.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long a stopping node waits for its tasks (pages closing their WebSockets, the TURN server closing its
/// allocations) before it exits anyway.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(3);

#[derive(Clone, Default)]
pub struct Tasks {
    tracker: TaskTracker,
    stop: CancellationToken,
}

impl Tasks {
    /// Runs `task` until it ends or the node stops.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let stop = self.stop.clone();
        self.tracker.spawn(async move {
            stop.run_until_cancelled(task).await;
        });
    }

    /// Counts `task` (already running elsewhere, e.g. a WebSocket session) among the node's tasks.
    pub fn track<F: Future>(&self, task: F) -> tokio_util::task::task_tracker::TrackedFuture<F> {
        self.tracker.track_future(task)
    }

    /// Cancelled when the node stops: tasks that want to end gracefully (say goodbye on a WebSocket) watch it.
    pub fn stopping(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Stops every task and waits for them, at most [`DRAIN_LIMIT`].
    pub async fn drain(&self) {
        self.stop.cancel();
        self.tracker.close();
        if tokio::time::timeout(DRAIN_LIMIT, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                running = self.tracker.len(),
                "tasks still running {DRAIN_LIMIT:?} after the stop; exiting anyway"
            );
        }
    }
}

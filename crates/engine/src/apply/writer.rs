//! The writer thread: it writes one commit at a time while the engine
//! prepares the next, and reports when each is durable.

use std::sync::Arc;

use touchline_store::{Commit, Store};

use crate::EngineError;
use crate::metrics::Metrics;

/// A batch made durable by the writer thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Durable {
    /// Wall-clock time (ms since the epoch) right after the fsync returned: from
    /// then on the batch is visible to readers.
    pub committed_at_ms: i64,
}

/// What the writer thread is handed: one commit and the counters it moves.
pub(super) struct WriteJob {
    pub(super) commit: Commit,
    /// Waited for on disk; an unsynced job is durable with the next synced one.
    pub(super) synced: bool,
    /// When preparing the batch started, for the commit latency.
    pub(super) started: std::time::Instant,
    pub(super) recorded_at_ms: Vec<i64>,
    pub(super) next_outbox_id: u64,
    pub(super) appended: u64,
    pub(super) duplicates: u64,
    pub(super) conflicting: u64,
    pub(super) dead_lettered: u64,
    pub(super) versions: u64,
}

/// The writer thread and the one batch it may hold.
pub(super) struct Writer {
    pub(super) jobs: Option<std::sync::mpsc::SyncSender<WriteJob>>,
    pub(super) done: std::sync::mpsc::Receiver<Result<Durable, touchline_store::StoreError>>,
    pub(super) in_flight: bool,
    /// Set when a write failed or a fold's inputs could not be read: memory may
    /// be ahead of the store, and only reopening is safe.
    pub(super) poisoned: Option<String>,
    pub(super) thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    pub(super) fn check(&self) -> Result<(), EngineError> {
        match &self.poisoned {
            Some(reason) => Err(EngineError::Poisoned(reason.clone())),
            None => Ok(()),
        }
    }

    /// Waits until the batch in flight, if any, is durable.
    pub(super) fn flush(&mut self) -> Result<Option<Durable>, EngineError> {
        self.check()?;
        if !self.in_flight {
            return Ok(None);
        }
        self.in_flight = false;
        let result = self
            .done
            .recv()
            .map_err(|_| EngineError::Writer("the writer thread stopped".into()))
            .and_then(|r| r.map_err(EngineError::from));
        match result {
            Ok(durable) => Ok(Some(durable)),
            Err(e) => {
                self.poisoned = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// Hands a commit to the writer thread; nothing may be in flight.
    pub(super) fn send(&mut self, job: WriteJob) -> Result<(), EngineError> {
        self.jobs
            .as_ref()
            .ok_or_else(|| EngineError::Writer("the engine is shutting down".into()))?
            .send(job)
            .map_err(|_| EngineError::Writer("the writer thread stopped".into()))?;
        self.in_flight = true;
        Ok(())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Let the writer finish what it holds, then stop it.
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Writer {
    /// Starts the writer thread of `store`.
    pub(super) fn start(store: Arc<Store>, metrics: Arc<Metrics>) -> Result<Writer, EngineError> {
        let (jobs, job_rx) = std::sync::mpsc::sync_channel::<WriteJob>(1);
        let (done_tx, done) = std::sync::mpsc::channel();
        let thread = {
            std::thread::Builder::new()
                .name("store-writer".into())
                .spawn(move || {
                    for job in job_rx {
                        let writing = std::time::Instant::now();
                        let written = if job.synced {
                            store.write(job.commit)
                        } else {
                            store.write_unsynced(job.commit)
                        };
                        let result = written.map(|()| {
                            let m = &metrics;
                            m.batch_written(&crate::metrics::BatchTimings {
                                appended: job.appended,
                                conflicting: job.conflicting,
                                write: writing.elapsed(),
                                commit: job.started.elapsed(),
                                recorded_at_ms: job.recorded_at_ms,
                                next_outbox_id: job.next_outbox_id,
                            });
                            Metrics::add(&m.events_appended, job.appended);
                            Metrics::add(&m.duplicates, job.duplicates);
                            Metrics::add(&m.conflicting_duplicates, job.conflicting);
                            Metrics::add(&m.dead_lettered, job.dead_lettered);
                            Metrics::add(&m.attribution_versions, job.versions);
                            Metrics::add(&m.batches, 1);
                            Durable {
                                committed_at_ms: touchline_core::Timestamp::now().as_millis(),
                            }
                        });
                        if done_tx.send(result).is_err() {
                            break;
                        }
                    }
                })
                .map_err(|e| EngineError::Writer(e.to_string()))?
        };
        Ok(Writer {
            jobs: Some(jobs),
            done,
            in_flight: false,
            poisoned: None,
            thread: Some(thread),
        })
    }
}

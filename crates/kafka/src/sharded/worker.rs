//! One thread per shard this instance holds. The shards loop ([`super::runner`])
//! polls the shards topic and queues each shard's records in its worker's
//! inbox; the worker folds whatever has queued since its last round, sends
//! what it queued for other shards and publishes its outbox, at its own pace.
//! So one shard's fold overlaps another's publishing and the next poll, and
//! no shard waits for the slowest one's round.
//!
//! A worker is stopped by the loop: when its partition is revoked (inside
//! the rebalance, so the round in flight is written before the partition is
//! released) or when the instance stops. Records queued but not folded are
//! dropped: the shard's store says where its next reader starts.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use touchline_shards::{ShardRecord, ShardTask};
use tracing::warn;

use super::Internal;
use super::send::{Outbound, Sender};
use crate::{KafkaConfig, KafkaError, Publisher};

/// A shard this instance owns, and its publisher.
pub(super) struct Slot {
    pub task: ShardTask,
    pub publisher: Publisher,
    /// The partition's end when the shard opened: it publishes once it has
    /// read that far, so a restoring shard never publishes an answer older
    /// than one its earlier owner published.
    pub caught_up_at: i64,
}

/// Why a worker stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// Another instance owns the shard now: write the round in flight,
    /// publish nothing more.
    Revoked,
    /// The instance stops: write the round in flight and publish what is
    /// queued, as far as Kafka takes it in the drain time.
    Shutdown,
}

/// What the loop and a worker share.
struct Inbox {
    state: Mutex<Queued>,
    ready: Condvar,
    /// The offset after the last record the shard folded: where its store
    /// resumes.
    folded: AtomicI64,
    /// Set with a stop: sends waiting for acknowledgements give up soon.
    halt: AtomicBool,
}

#[derive(Default)]
struct Queued {
    records: Vec<(i64, Vec<u8>)>,
    stop: Option<Stop>,
}

impl Inbox {
    fn lock(&self) -> MutexGuard<'_, Queued> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits up to `idle` for records or a stop; takes at most `most`
    /// records.
    fn take(&self, most: usize, idle: Duration) -> (Vec<(i64, Vec<u8>)>, Option<Stop>) {
        let mut queued = self.lock();
        if queued.records.is_empty() && queued.stop.is_none() {
            queued = self
                .ready
                .wait_timeout(queued, idle)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        if let Some(stop) = queued.stop {
            return (Vec::new(), Some(stop));
        }
        let records = if queued.records.len() <= most {
            std::mem::take(&mut queued.records)
        } else {
            queued.records.drain(..most).collect()
        };
        (records, None)
    }
}

/// The loop's handle on a shard's worker.
pub(super) struct Worker {
    shard: i32,
    inbox: Arc<Inbox>,
    thread: Option<JoinHandle<Result<(), KafkaError>>>,
    /// Which polled record the shard needs next (the loop's side).
    cursor: Cursor,
    /// Records polled this round, queued at its end.
    gathered: Vec<(i64, Vec<u8>)>,
    /// The loop paused the partition: the inbox is full.
    pub paused: bool,
}

/// What the loop does with a polled record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Offer {
    Taken,
    /// Read before, or from before a seek: dropped.
    Skipped,
    /// Ahead of the shard: read from this offset instead.
    SeekTo(i64),
}

/// The offset of the next record a shard needs, and whether the loop sought
/// back to it this round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    next: i64,
    /// Sought back this round: later records of the round are from before.
    sought: bool,
}

impl Cursor {
    fn offer(&mut self, offset: i64) -> Offer {
        if offset == self.next {
            self.next += 1;
            self.sought = false;
            Offer::Taken
        } else if offset < self.next || self.sought {
            Offer::Skipped
        } else {
            // The group's offset is not this store's: read from the store's.
            self.sought = true;
            Offer::SeekTo(self.next)
        }
    }
}

/// How a worker runs: the round size and the idle wait between rounds.
#[derive(Debug, Clone)]
pub(super) struct Pace {
    pub round: usize,
    pub idle: Duration,
}

impl Worker {
    /// Starts a thread for `slot`, with a producer of its own for the
    /// records it sends other shards.
    pub(super) fn start(
        shard: i32,
        slot: Slot,
        config: &KafkaConfig,
        internal: &Internal,
        pace: Pace,
    ) -> Result<Worker, KafkaError> {
        let sender = Sender::new(config)?;
        let next = slot.task.next_offset();
        let inbox = Arc::new(Inbox {
            state: Mutex::new(Queued::default()),
            ready: Condvar::new(),
            folded: AtomicI64::new(next),
            halt: AtomicBool::new(false),
        });
        let thread = {
            let inbox = inbox.clone();
            let internal = internal.clone();
            std::thread::Builder::new()
                .name(format!("shard-{shard}"))
                .spawn(move || work(slot, &inbox, &sender, &internal, &pace))
                .map_err(|e| {
                    KafkaError::Config(format!("cannot start shard {shard}'s thread: {e}"))
                })?
        };
        Ok(Worker {
            shard,
            inbox,
            thread: Some(thread),
            cursor: Cursor {
                next,
                sought: false,
            },
            gathered: Vec::new(),
            paused: false,
        })
    }

    /// Takes a polled record when it is the next one the shard needs.
    pub(super) fn offer(&mut self, offset: i64, payload: &[u8]) -> Offer {
        let offer = self.cursor.offer(offset);
        if offer == Offer::Taken {
            self.gathered.push((offset, payload.to_vec()));
        }
        offer
    }

    /// Queues the round's records for the worker; returns how many records
    /// wait in its inbox now.
    pub(super) fn queue(&mut self) -> usize {
        self.cursor.sought = false;
        let mut queued = self.inbox.lock();
        if !self.gathered.is_empty() {
            if queued.records.is_empty() {
                queued.records = std::mem::take(&mut self.gathered);
            } else {
                queued.records.append(&mut self.gathered);
            }
            self.inbox.ready.notify_one();
        }
        queued.records.len()
    }

    /// The offset after the last record the shard folded.
    pub(super) fn folded(&self) -> i64 {
        self.inbox.folded.load(Ordering::Acquire)
    }

    /// True once the worker's thread has ended (it only ends by itself on
    /// a failure).
    pub(super) fn ended(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops the worker and waits for it: its round in flight is written.
    pub(super) fn stop(mut self, how: Stop) -> Result<(), KafkaError> {
        {
            let mut queued = self.inbox.lock();
            queued.stop = Some(how);
            queued.records.clear();
        }
        self.inbox.halt.store(true, Ordering::Relaxed);
        self.inbox.ready.notify_one();
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(KafkaError::Config(format!(
                "shard {}'s thread panicked",
                self.shard
            ))),
            None => Ok(()),
        }
    }
}

impl Drop for Worker {
    /// A worker dropped without [`Worker::stop`] (the loop failing) stops as
    /// if revoked.
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.inbox.lock().stop = Some(Stop::Revoked);
            self.inbox.halt.store(true, Ordering::Relaxed);
            self.inbox.ready.notify_one();
            let _ = thread.join();
        }
    }
}

/// A worker's life: rounds until stopped.
fn work(
    mut slot: Slot,
    inbox: &Inbox,
    sender: &Sender,
    internal: &Internal,
    pace: &Pace,
) -> Result<(), KafkaError> {
    let publishing = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            KafkaError::Config(format!("cannot start a shard's publisher runtime: {e}"))
        })?;
    loop {
        let (records, stop) = inbox.take(pace.round, pace.idle);
        if let Some(stop) = stop {
            return finish(&mut slot, stop, sender, internal, &publishing, &inbox.halt);
        }
        if !records.is_empty() {
            let mut decoded = Vec::with_capacity(records.len());
            for (offset, bytes) in records {
                match ShardRecord::decode(&bytes) {
                    Ok(record) => decoded.push((offset, record)),
                    Err(e) => {
                        warn!(offset, error = %e, "shards: a record is not a shard record; skipped")
                    }
                }
            }
            slot.task.receive(decoded).map_err(shard_error)?;
            inbox
                .folded
                .store(slot.task.next_offset(), Ordering::Release);
        }
        // The commit just submitted is written meanwhile; what the store
        // shows of it is durable (see `ShardTask::receive`).
        publish(sender, internal, &mut slot, &publishing, &inbox.halt)?;
    }
}

/// The last of a worker: its commit in flight written, and on a shutdown
/// what is queued published.
fn finish(
    slot: &mut Slot,
    stop: Stop,
    sender: &Sender,
    internal: &Internal,
    publishing: &tokio::runtime::Runtime,
    halt: &AtomicBool,
) -> Result<(), KafkaError> {
    if let Err(e) = slot.task.durable() {
        warn!(error = %e, "shards: the last commit failed; it is read again on the next start");
        return Ok(());
    }
    if stop == Stop::Shutdown {
        // Whatever is queued goes out now, or after the next start.
        let _ = publish(sender, internal, slot, publishing, halt);
    }
    Ok(())
}

/// Sends what a shard queued for other shards and publishes its outbox, a
/// page at a time. Each page is rendered before the queue is read: every
/// commit whose views the page shows queued its floor record then, so the
/// floor is in the shard's partition before any version above the last
/// floor there is published. A restoring shard only sends, until it has
/// read as far as its partition reached when it opened.
fn publish(
    sender: &Sender,
    internal: &Internal,
    slot: &mut Slot,
    publishing: &tokio::runtime::Runtime,
    halt: &AtomicBool,
) -> Result<(), KafkaError> {
    let caught_up = slot.task.next_offset() >= slot.caught_up_at;
    for _ in 0..64 {
        let page = if caught_up {
            match slot.publisher.render_page() {
                Ok(page) => page,
                Err(e) => {
                    warn!(error = %e, "shards: cannot read the outbox; publishing later");
                    None
                }
            }
        } else {
            None
        };
        if !send_outgoing(sender, internal, slot, halt)? {
            return Ok(());
        }
        let Some(page) = page else {
            return Ok(());
        };
        match publishing.block_on(slot.publisher.deliver(page)) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) => {
                warn!(error = %e, "shards: publishing failed; retrying");
                return Ok(());
            }
        }
    }
    Ok(())
}

pub(super) fn shard_error(e: touchline_shards::ShardError) -> KafkaError {
    match e {
        touchline_shards::ShardError::Engine(e) => KafkaError::Engine(e),
        touchline_shards::ShardError::Store(e) => KafkaError::Store(e),
        other => KafkaError::Config(other.to_string()),
    }
}

/// Sends everything the shard queued for other shards; false when Kafka
/// did not acknowledge it all (it goes again later).
fn send_outgoing(
    sender: &Sender,
    internal: &Internal,
    slot: &mut Slot,
    halt: &AtomicBool,
) -> Result<bool, KafkaError> {
    loop {
        let outgoing = slot.task.outgoing(5_000).map_err(shard_error)?;
        if outgoing.is_empty() {
            return Ok(true);
        }
        let outbound: Vec<Outbound<'_>> = outgoing
            .iter()
            .map(|o| Outbound {
                topic: &internal.shards_topic,
                partition: o.shard as i32,
                key: None,
                value: &o.record,
            })
            .collect();
        if let Err(e) = sender.send_all(&outbound, halt) {
            warn!(error = %e, "shards: records for other shards not acknowledged; sending again later");
            return Ok(false);
        }
        let seqs: Vec<u64> = outgoing.iter().map(|o| o.seq).collect();
        slot.task.sent(&seqs).map_err(shard_error)?;
    }
}

#[cfg(test)]
mod tests {
    use super::{Cursor, Offer};

    fn offers(next: i64, offsets: &[i64]) -> Vec<Offer> {
        let mut cursor = Cursor {
            next,
            sought: false,
        };
        offsets.iter().map(|&o| cursor.offer(o)).collect()
    }

    #[test]
    fn records_in_order_are_taken() {
        assert_eq!(offers(5, &[5, 6, 7]), vec![Offer::Taken; 3]);
    }

    #[test]
    fn records_read_before_are_skipped() {
        assert_eq!(
            offers(5, &[3, 4, 5]),
            vec![Offer::Skipped, Offer::Skipped, Offer::Taken]
        );
    }

    #[test]
    fn a_record_ahead_seeks_back_once_and_the_rest_of_the_round_is_skipped() {
        assert_eq!(
            offers(5, &[9, 10, 11, 5, 6]),
            vec![
                Offer::SeekTo(5),
                Offer::Skipped,
                Offer::Skipped,
                Offer::Taken,
                Offer::Taken
            ]
        );
    }

    #[test]
    fn after_the_sought_record_a_gap_seeks_again() {
        assert_eq!(
            offers(5, &[7, 5, 7]),
            vec![Offer::SeekTo(5), Offer::Taken, Offer::SeekTo(6)]
        );
    }
}

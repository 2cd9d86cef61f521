//! The group-commit writer: one thread that takes finished work from a channel and writes
//! whatever has queued in one transaction, never an fsync per item. The batch runner and the
//! grid runner both hand their results to one.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        mpsc, Arc,
    },
    time::{Duration, Instant},
};

use super::Result;

/// The writer commits at most this often: every commit writes the last page of each table and
/// index it touches again, so commits' fixed cost, not rows, dominated a batch's writes: 200 ms
/// instead of 50 ms took span recording's CPU from +16.9% to +13.2% (`scripts/bench.sh spans`).
/// A crash loses at most this much finished work (a resume runs it again); the window learns of
/// calls as they start.
pub const COMMIT_EVERY: Duration = Duration::from_millis(200);
const MAX_GROUP: usize = 512;

/// Sent items the writer holds before a runner waits for room: a batch whose provider answers
/// faster than its database writes would otherwise queue its whole output in memory (a
/// 10,080-test instant mock batch peaked at 151-166 MB, most of it finished tests waiting).
pub const MAX_QUEUED: usize = 4 * MAX_GROUP;

/// Where to send work, and the thread, which returns the first write error when it ends.
pub type Writer<T> = (Queue<T>, std::thread::JoinHandle<Option<String>>);

/// The sending side: counts what the writer has not written yet.
pub struct Queue<T> {
    tx: mpsc::Sender<T>,
    backlog: Arc<Backlog>,
}

#[derive(Default)]
struct Backlog {
    queued: AtomicUsize,
    /// The writer has ended (a failed write): nothing will drain, so no one may wait.
    ended: AtomicBool,
    drained: tokio::sync::Notify,
}

impl<T> Queue<T> {
    /// Queues an item; fails (giving it back) once the writer has ended.
    pub fn send(&self, item: T) -> std::result::Result<(), mpsc::SendError<T>> {
        // Counted before it is sent: the writer may write it and subtract at once.
        self.backlog.queued.fetch_add(1, Ordering::AcqRel);
        self.tx.send(item)
    }

    /// Waits until fewer than [`MAX_QUEUED`] items wait to be written, or the writer has ended
    /// (the next send then fails, which the runner reports).
    pub async fn room(&self) {
        // The writer leaves a permit after every group and when it ends, so a wake-up between
        // the check and the wait is not lost.
        while self.backlog.queued.load(Ordering::Acquire) >= MAX_QUEUED && !self.backlog.ended.load(Ordering::Acquire) {
            self.backlog.drained.notified().await;
        }
    }
}

/// Starts the writer thread. It blocks for one item, waits out [`COMMIT_EVERY`] since its last
/// commit (unless the last group was full), takes whatever else has queued (up to 512 items) and
/// calls `write` with the group; after `idle` with nothing queued it calls `write` with an empty
/// group (a heartbeat). It ends when every sender is dropped, or at the first failed write, whose
/// message it returns.
pub fn spawn<T: Send + 'static>(name: &str, idle: Duration, mut write: impl FnMut(Vec<T>) -> Result<()> + Send + 'static) -> Writer<T> {
    let (tx, rx) = mpsc::channel::<T>();
    let backlog = Arc::new(Backlog::default());
    let drained = backlog.clone();
    let handle = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            // The receiver is dropped before the end is announced, so a send after it fails.
            let error = write_groups(rx, idle, &mut write, &drained);
            drained.ended.store(true, Ordering::Release);
            drained.drained.notify_one();
            error
        })
        .expect("spawn writer thread");
    (Queue { tx, backlog }, handle)
}

/// The writer thread's loop; returns the first write error, or `None` once every sender is gone.
fn write_groups<T>(rx: mpsc::Receiver<T>, idle: Duration, write: &mut impl FnMut(Vec<T>) -> Result<()>, backlog: &Backlog) -> Option<String> {
    let (mut last_commit, mut behind) = (Instant::now(), false);
    loop {
        let mut group = match rx.recv_timeout(idle) {
            Ok(first) => vec![first],
            Err(mpsc::RecvTimeoutError::Timeout) => Vec::new(),
            Err(mpsc::RecvTimeoutError::Disconnected) => return None,
        };
        // A full group means work arrives faster than groups are written: waiting would
        // let the queue, and memory, grow without bound.
        if let Some(wait) = (last_commit + COMMIT_EVERY).checked_duration_since(Instant::now()).filter(|_| !behind) {
            std::thread::sleep(wait);
        }
        last_commit = Instant::now();
        group.extend(rx.try_iter().take(MAX_GROUP));
        behind = group.len() > MAX_GROUP;
        let written = group.len();
        if let Err(e) = write(group) {
            return Some(e.to_string());
        }
        backlog.queued.fetch_sub(written, Ordering::AcqRel);
        backlog.drained.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items queued faster than groups fill are written in full groups back to back: the writer
    /// waits between commits only when it keeps up.
    #[test]
    fn a_backlog_is_written_without_waiting_between_full_groups() {
        let groups = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = groups.clone();
        let (tx, handle) = spawn("test-writer", Duration::from_secs(60), move |group: Vec<u32>| {
            seen.lock().unwrap().push(group.len());
            Ok(())
        });
        for i in 0..5 * (MAX_GROUP as u32 + 1) {
            tx.send(i).unwrap();
        }
        let started = Instant::now();
        drop(tx);
        assert_eq!(handle.join().unwrap(), None);
        // One wait before the first group at most; five waits would take 1 s.
        assert!(started.elapsed() < 3 * COMMIT_EVERY, "took {:?}", started.elapsed());
        assert_eq!(*groups.lock().unwrap(), vec![MAX_GROUP + 1; 5]);
    }

    /// A sender waits for room while the writer is behind by [`MAX_QUEUED`] items, and goes on
    /// once a group is written.
    #[tokio::test]
    async fn a_sender_waits_while_the_writer_is_behind() {
        let (release, gate) = mpsc::channel::<()>();
        let (tx, handle) = spawn("test-writer", Duration::from_secs(60), move |_group: Vec<usize>| {
            gate.recv().ok();
            Ok(())
        });
        for i in 0..MAX_QUEUED {
            tx.send(i).unwrap();
        }
        let waited = tokio::time::timeout(Duration::from_millis(300), tx.room()).await;
        assert!(waited.is_err(), "no room while {MAX_QUEUED} items wait");
        for _ in 0..MAX_QUEUED {
            release.send(()).unwrap();
        }
        tokio::time::timeout(Duration::from_secs(10), tx.room()).await.expect("room once groups are written");
        drop(tx);
        drop(release);
        assert_eq!(handle.join().unwrap(), None);
    }

    #[test]
    fn the_first_write_error_ends_the_writer_with_its_message() {
        let (tx, handle) = spawn("test-writer", Duration::from_secs(60), |group: Vec<u32>| {
            if group.contains(&3) { Err(crate::store::StoreError::Invalid("item 3".into())) } else { Ok(()) }
        });
        for i in 0..5 {
            tx.send(i).unwrap();
        }
        assert_eq!(handle.join().unwrap().as_deref(), Some("item 3"));
    }

    /// A writer that failed drains nothing: a sender waiting for room must not wait forever.
    #[tokio::test]
    async fn a_failed_writer_leaves_no_sender_waiting() {
        let (tx, handle) = spawn("test-writer", Duration::from_secs(60), |_group: Vec<usize>| Err(crate::store::StoreError::Invalid("disk full".into())));
        for i in 0..MAX_QUEUED {
            tx.send(i).unwrap();
        }
        tokio::time::timeout(Duration::from_secs(10), tx.room()).await.expect("room() returns once the writer has ended");
        assert_eq!(handle.join().unwrap().as_deref(), Some("disk full"));
        assert!(tx.send(0).is_err(), "the next send reports the ended writer");
    }
}

//! The group-commit writer: one thread that takes finished work from a channel and writes
//! whatever has queued in one transaction, never an fsync per item. The batch runner and the
//! grid runner both hand their results to one.

use std::{
    sync::mpsc,
    time::{Duration, Instant},
};

use super::Result;

/// The writer commits at most this often: every commit writes the last page of each table and
/// index it touches again, so one commit per finished test cost a batch more than its rows did.
/// A crash loses at most this much finished work (a resume runs it again).
pub const COMMIT_EVERY: Duration = Duration::from_millis(50);
const MAX_GROUP: usize = 512;

/// Where to send work, and the thread, which returns the first write error when it ends.
pub type Writer<T> = (mpsc::Sender<T>, std::thread::JoinHandle<Option<String>>);

/// Starts the writer thread. It blocks for one item, waits out [`COMMIT_EVERY`] since its last
/// commit, takes whatever else has queued and calls `write` with the group; after `idle` with
/// nothing queued it calls `write` with an empty group (a heartbeat). It ends when every sender
/// is dropped, or at the first failed write, whose message it returns.
pub fn spawn<T: Send + 'static>(name: &str, idle: Duration, mut write: impl FnMut(Vec<T>) -> Result<()> + Send + 'static) -> Writer<T> {
    let (tx, rx) = mpsc::channel::<T>();
    let handle = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let mut last_commit = Instant::now();
            loop {
                let mut group = match rx.recv_timeout(idle) {
                    Ok(first) => vec![first],
                    Err(mpsc::RecvTimeoutError::Timeout) => Vec::new(),
                    Err(mpsc::RecvTimeoutError::Disconnected) => return None,
                };
                if let Some(wait) = (last_commit + COMMIT_EVERY).checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                last_commit = Instant::now();
                group.extend(rx.try_iter().take(MAX_GROUP));
                if let Err(e) = write(group) {
                    return Some(e.to_string());
                }
            }
        })
        .expect("spawn writer thread");
    (tx, handle)
}

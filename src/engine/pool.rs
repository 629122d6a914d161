//! Evaluation off the async runtime: rayon threads whose stack size is ours to choose, fed
//! through a queue whose depth is bounded by a semaphore. An evaluation that is slow (or recurses
//! deeply) then never stalls the connections of an async worker, and a panic inside one ends that
//! job (`guard::run`), not the thread or the process.

use std::sync::Arc;

use parking_lot::RwLock;
use tokio::sync::{oneshot, Semaphore};

/// Stack of each evaluation thread. The analysis limits keep the deepest input the engine accepts
/// far below this (see the README's limits table); a tokio worker has only 2 MiB.
pub const STACK_BYTES: usize = 8 * 1024 * 1024;
/// Evaluation threads are named with this prefix (in logs and thread listings).
pub const THREAD_PREFIX: &str = "reconguard-eval-";
/// Jobs that may wait per thread before callers wait for a slot themselves.
const QUEUED_PER_THREAD: usize = 64;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PoolError {
    #[error("the evaluation panicked")]
    Panicked,
    #[error("the evaluation pool is closed")]
    Closed,
}

pub struct EvalPool {
    /// None once closed.
    threads: RwLock<Option<rayon::ThreadPool>>,
    slots: Arc<Semaphore>,
}

impl EvalPool {
    /// Starts `threads` evaluation threads (at least one) with `stack_bytes` of stack each.
    pub fn new(
        threads: usize,
        stack_bytes: usize,
    ) -> Result<EvalPool, rayon::ThreadPoolBuildError> {
        let threads = threads.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .stack_size(stack_bytes)
            .thread_name(|i| format!("{THREAD_PREFIX}{i}"))
            .build()?;
        Ok(EvalPool {
            threads: RwLock::new(Some(pool)),
            slots: Arc::new(Semaphore::new(threads * QUEUED_PER_THREAD)),
        })
    }

    /// Runs `job` on an evaluation thread. Waiting for a slot is asynchronous, so a full queue
    /// parks the request, not the worker thread; the caller bounds the wait with its deadline.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PoolError::Closed)?;
        let (done, result) = oneshot::channel();
        {
            let threads = self.threads.read();
            let threads = threads.as_ref().ok_or(PoolError::Closed)?;
            threads.spawn(move || {
                let outcome = super::guard::run(job);
                drop(slot);
                let _ = done.send(outcome);
            });
        }
        match result.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(PoolError::Panicked),
            Err(_) => Err(PoolError::Closed),
        }
    }

    /// Refuses new jobs; the threads finish what is queued and stop.
    pub fn close(&self) {
        self.slots.close();
        self.threads.write().take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_survives_their_panics() {
        let pool = EvalPool::new(2, 256 * 1024).unwrap();
        assert_eq!(pool.run(|| 6 * 7).await, Ok(42));
        let panicked = pool.run(|| -> u32 { panic!("boom") }).await;
        assert_eq!(panicked, Err(PoolError::Panicked));
        // Both threads still serve.
        let (a, b) = tokio::join!(pool.run(|| 1), pool.run(|| 2));
        assert_eq!((a, b), (Ok(1), Ok(2)));
        pool.close();
        assert_eq!(pool.run(|| 3).await, Err(PoolError::Closed));
    }

    #[tokio::test]
    async fn jobs_run_on_threads_with_the_chosen_stack() {
        // 4 MiB of locals would overflow a 2 MiB tokio worker; the pool thread has 16 MiB.
        let pool = EvalPool::new(1, 16 * 1024 * 1024).unwrap();
        let sum = pool
            .run(|| {
                let big = [1u8; 4 * 1024 * 1024];
                std::hint::black_box(&big)
                    .iter()
                    .map(|&b| b as u64)
                    .sum::<u64>()
            })
            .await;
        assert_eq!(sum, Ok(4 * 1024 * 1024));
        pool.close();
    }

    #[tokio::test]
    async fn a_slow_job_does_not_block_the_async_worker() {
        let pool = Arc::new(EvalPool::new(1, 256 * 1024).unwrap());
        let slow = {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.run(|| std::thread::sleep(std::time::Duration::from_millis(300)))
                    .await
            })
        };
        // The current-thread runtime still runs other tasks while the job sleeps.
        let ticked = tokio::time::timeout(std::time::Duration::from_millis(200), async {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            true
        })
        .await;
        assert_eq!(ticked, Ok(true));
        assert_eq!(slow.await.unwrap(), Ok(()));
        pool.close();
    }
}

//! Work on a scan's dependencies spread over a bounded number of threads, results in the items' order:
//! downloads wait on the network, manifest reads on gzip, and neither needs an async runtime.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `work` applied to every item on at most `threads` threads; the results are in the items' order.
pub fn in_parallel<T: Send, R: Send>(items: Vec<T>, threads: usize, work: impl Fn(T) -> R + Sync) -> Vec<R> {
    let threads = threads.clamp(1, items.len().max(1));
    let items: Vec<Mutex<Option<T>>> = items.into_iter().map(|item| Mutex::new(Some(item))).collect();
    let results: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    // A panic in `work` is re-raised by the scope, so every result is filled when it returns.
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(slot) = items.get(index) else { break };
                    let item = slot.lock().ok().and_then(|mut slot| slot.take());
                    if let (Some(item), Some(result)) = (item, results.get(index)) {
                        let done = work(item);
                        if let Ok(mut result) = result.lock() {
                            *result = Some(done);
                        }
                    }
                }
            });
        }
    });
    results.into_iter().filter_map(|result| result.into_inner().ok().flatten()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order_whatever_the_threads() {
        for threads in [0, 1, 3, 64] {
            assert_eq!(
                in_parallel((0..100).collect(), threads, |n: u32| n * 2),
                (0..100).map(|n| n * 2).collect::<Vec<_>>()
            );
        }
        assert!(in_parallel(Vec::<u32>::new(), 4, |n| n).is_empty());
    }
}

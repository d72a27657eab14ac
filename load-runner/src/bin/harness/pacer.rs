//! A paced load's send slots: one thread releases them evenly spaced at the contract's `rate`, finer than
//! tokio's millisecond timer, and each user takes one before each request.
//!
//! Spacing matters for what is measured: slots released a millisecond tick at a time make users send in
//! bursts, and the later requests of a burst wait behind the earlier ones in the harness's own thread.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

/// Releases send slots until stopped.
pub struct Pacer {
    slots: Arc<Semaphore>,
}

impl Pacer {
    /// Starts releasing one slot every `1 / rate` seconds. At most `users` slots wait unused: when the
    /// service stalls, the load resumes at the rate, not with a burst of every slot missed meanwhile
    /// (the corrected percentiles account for the stall).
    pub fn start(rate: f64, users: usize) -> std::io::Result<Self> {
        let slots = Arc::new(Semaphore::new(0));
        let interval = Duration::from_secs_f64(1.0 / rate);
        let released = slots.clone();
        thread::Builder::new().name("pacer".to_owned()).spawn(move || release(&released, interval, users))?;
        Ok(Self { slots })
    }

    /// Waits for the next send slot; `false` once the pacer has stopped.
    pub async fn next_slot(&self) -> bool {
        match self.slots.acquire().await {
            Ok(slot) => {
                slot.forget();
                true
            }
            Err(_) => false,
        }
    }

    /// Stops releasing slots; users waiting for one give up their request. The thread ends within a slot.
    pub fn stop(&self) {
        self.slots.close();
    }
}

fn release(slots: &Semaphore, interval: Duration, most_waiting: usize) {
    let mut due = Instant::now();
    while !slots.is_closed() {
        due += interval;
        let now = Instant::now();
        if due > now {
            thread::sleep(due - now);
        }
        if slots.available_permits() < most_waiting {
            slots.add_permits(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unused_slots_wait_up_to_the_number_of_users_and_stop_ends_them() {
        let pacer = Pacer::start(10_000.0, 4).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while pacer.slots.available_permits() < 4 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
        // Dozens more slots fall due meanwhile; none of them piles up.
        thread::sleep(Duration::from_millis(20));
        assert_eq!(pacer.slots.available_permits(), 4);
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        for _ in 0..4 {
            assert!(runtime.block_on(pacer.next_slot()));
        }
        pacer.stop();
        assert!(!runtime.block_on(pacer.next_slot()));
    }
}

//! How busy the users' thread was during the measured window: when it is always on the CPU, the harness,
//! not only the service, set the pace, and its latencies include the time responses waited for it.

use std::sync::OnceLock;
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

/// The calling thread's CPU time at one instant.
#[derive(Clone, Copy)]
struct Sample {
    thread: ThreadId,
    at: Instant,
    cpu: Duration,
}

impl Sample {
    fn now() -> Self {
        let cpu = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        let cpu = Duration::new(u64::try_from(cpu.tv_sec).unwrap_or(0), u32::try_from(cpu.tv_nsec).unwrap_or(0));
        Self { thread: thread::current().id(), at: Instant::now(), cpu }
    }
}

/// CPU time of the thread the users run on, read on that thread when the window opens and again when the
/// first request after it completes. The harness runs every user on one worker thread (`main.rs`); a second
/// sample taken on another thread is not comparable and is dropped.
#[derive(Default)]
pub struct UsersClock {
    opened: OnceLock<Sample>,
    closed: OnceLock<Sample>,
}

impl UsersClock {
    /// Called on a users' thread as the window opens.
    pub fn open(&self) {
        let _ = self.opened.set(Sample::now());
    }

    /// Called on a users' thread once the window is over; the first call counts.
    pub fn close(&self) {
        if self.closed.get().is_none() {
            let _ = self.closed.set(Sample::now());
        }
    }

    /// The users' thread's CPU time over the window's wall-clock time, in percent of one core (one decimal);
    /// `None` when either sample is missing or they came from different threads.
    pub fn busy_percent(&self) -> Option<f64> {
        let (opened, closed) = (self.opened.get()?, self.closed.get()?);
        if opened.thread != closed.thread {
            return None;
        }
        let wall = closed.at.checked_duration_since(opened.at)?.as_secs_f64();
        if wall <= 0.0 {
            return None;
        }
        let cpu = closed.cpu.saturating_sub(opened.cpu).as_secs_f64();
        Some((cpu / wall * 1000.0).round().min(1000.0) / 10.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spinning_thread_is_busy_and_a_sleeping_one_is_not() {
        let spinning = UsersClock::default();
        spinning.open();
        let until = Instant::now() + Duration::from_millis(200);
        let mut spins = 0_u64;
        while Instant::now() < until {
            spins = std::hint::black_box(spins + 1);
        }
        spinning.close();
        // A shared machine may take the core away for a while; well over half of it is still the spinning's.
        assert!(spinning.busy_percent().is_some_and(|busy| busy > 50.0), "{:?}", spinning.busy_percent());

        let sleeping = UsersClock::default();
        sleeping.open();
        thread::sleep(Duration::from_millis(200));
        sleeping.close();
        assert!(sleeping.busy_percent().is_some_and(|busy| busy < 20.0), "{:?}", sleeping.busy_percent());
    }

    #[test]
    fn samples_from_two_threads_or_a_missing_one_give_nothing() {
        let clock = UsersClock::default();
        assert_eq!(clock.busy_percent(), None);
        clock.open();
        assert_eq!(clock.busy_percent(), None);
        thread::scope(|scope| {
            scope.spawn(|| clock.close());
        });
        assert_eq!(clock.busy_percent(), None);
    }
}

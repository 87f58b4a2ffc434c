//! Backoff delay computation. Kept free of any sleeping so the jitter bounds can be
//! checked with a seeded RNG, and the call loop stays the only place that waits.

use std::time::Duration;

use rand::Rng;

use crate::resilience::settings::{Jitter, RetrySettings};

/// Produces the delay before each retry of one call.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    jitter: Jitter,
    retries: u32,
    previous: Duration,
}

impl Backoff {
    pub fn new(settings: &RetrySettings) -> Self {
        Self {
            base: settings.base_delay,
            // A cap below the base would make the decorrelated range empty.
            cap: settings.max_delay.max(settings.base_delay),
            jitter: settings.jitter,
            retries: 0,
            previous: settings.base_delay,
        }
    }

    /// Upper bound of the next delay before jitter: `min(cap, base * 2^retries)`.
    pub fn exponential_ceiling(&self) -> Duration {
        let factor = 2u32.saturating_pow(self.retries);
        self.base.saturating_mul(factor).min(self.cap)
    }

    pub fn next_delay(&mut self) -> Duration {
        // ThreadRng is not Send, so it is created here and never held across an await.
        self.next_delay_with(&mut rand::thread_rng())
    }

    pub fn next_delay_with<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Duration {
        let delay = match self.jitter {
            Jitter::None => self.exponential_ceiling(),
            Jitter::Full => uniform(rng, Duration::ZERO, self.exponential_ceiling()),
            Jitter::Decorrelated => {
                let upper = self.previous.saturating_mul(3).min(self.cap);
                uniform(rng, self.base, upper)
            }
        };
        self.retries = self.retries.saturating_add(1);
        self.previous = delay.max(self.base);
        delay
    }
}

fn uniform<R: Rng + ?Sized>(rng: &mut R, low: Duration, high: Duration) -> Duration {
    if high <= low {
        return low;
    }
    let low_ns = u64::try_from(low.as_nanos()).unwrap_or(u64::MAX);
    let high_ns = u64::try_from(high.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rng.gen_range(low_ns..=high_ns))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn settings(jitter: Jitter) -> RetrySettings {
        RetrySettings {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1_000),
            jitter,
        }
    }

    #[test]
    fn no_jitter_is_capped_exponential() {
        let mut b = Backoff::new(&settings(Jitter::None));
        let got: Vec<u64> = (0..6).map(|_| b.next_delay().as_millis() as u64).collect();
        assert_eq!(got, vec![100, 200, 400, 800, 1_000, 1_000]);
    }

    #[test]
    fn full_jitter_stays_within_zero_and_exponential_ceiling() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let mut b = Backoff::new(&settings(Jitter::Full));
            for _ in 0..8 {
                let ceiling = b.exponential_ceiling();
                let d = b.next_delay_with(&mut rng);
                assert!(d <= ceiling, "{d:?} > {ceiling:?}");
                assert!(ceiling <= Duration::from_millis(1_000));
            }
        }
    }

    #[test]
    fn decorrelated_jitter_stays_between_base_and_three_times_previous() {
        let mut rng = StdRng::seed_from_u64(11);
        for _ in 0..200 {
            let mut b = Backoff::new(&settings(Jitter::Decorrelated));
            let mut previous = Duration::from_millis(100);
            for _ in 0..8 {
                let d = b.next_delay_with(&mut rng);
                let upper = (previous * 3).min(Duration::from_millis(1_000));
                assert!(
                    d >= Duration::from_millis(100) && d <= upper,
                    "{d:?} not in bounds"
                );
                previous = d;
            }
        }
    }
}

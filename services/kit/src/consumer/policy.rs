//! What the runtime does after each attempt at a message — commit, retry or dead-letter —
//! decided by a plain function ([`decide`]) over the attempt's result, the number of attempts,
//! the time spent and the partition's run of dead letters, under a [`RetryPolicy`] read from
//! the environment ([`ConsumerConfig`]).

use std::time::Duration;

use clap::Args;

use super::ErrorClass;

/// Capped exponential backoff with bounded jitter: the pause after attempt `n` is drawn
/// uniformly between a tenth of `initial · 2^(n-1)` (capped at `max`) and that ceiling. Not
/// "full jitter" (which may draw 0): the tenth keeps a retrying consumer from hammering a
/// recovering dependency, the spread keeps consumers from arriving together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(DEFAULT_BACKOFF_INITIAL_MS),
            max: Duration::from_millis(DEFAULT_BACKOFF_MAX_MS),
        }
    }
}

/// The smallest share of the ceiling a jittered pause can be.
const JITTER_FLOOR: f64 = 0.1;

impl Backoff {
    /// The upper bound of the pause after attempt `attempt` (attempts count from 1):
    /// `initial · 2^(attempt-1)`, capped at `max`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        self.initial.saturating_mul(1 << exponent).min(self.max)
    }

    /// The pause after attempt `attempt`: a random duration between a tenth of
    /// [`Backoff::ceiling`] and the ceiling.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.jittered(attempt, rand::random())
    }

    /// [`Backoff::delay`] with the random draw `unit` in `[0, 1)` given (testable): the
    /// ceiling scaled by `unit` mapped onto `[0.1, 1]`.
    pub fn jittered(&self, attempt: u32, unit: f64) -> Duration {
        let share = JITTER_FLOOR + (1.0 - JITTER_FLOOR) * unit.clamp(0.0, 1.0);
        self.ceiling(attempt).mul_f64(share)
    }
}

/// How a consumer treats failures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub backoff: Backoff,
    /// Attempts at a message failing permanently before it is dead-lettered (at least 1).
    pub max_permanent_attempts: u32,
    /// The shortest time a permanently failing message is retried before it is dead-lettered,
    /// whatever the attempts: room for a "permanent" answer that was not (a registry replica
    /// that has not seen a new schema yet). Zero: attempts alone decide.
    pub dead_letter_after: Duration,
    /// Dead letters in a row after which a partition stops instead of dead-lettering the next
    /// message (and reports unhealthy): a bad deploy that fails every message must not empty
    /// a whole topic into its dead-letter topic.
    pub dead_letter_limit: u32,
}

pub const DEFAULT_BACKOFF_INITIAL_MS: u64 = 100;
pub const DEFAULT_BACKOFF_MAX_MS: u64 = 10_000;
pub const DEFAULT_MAX_PERMANENT_ATTEMPTS: u32 = 3;
pub const DEFAULT_DEAD_LETTER_LIMIT: u32 = 20;

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            backoff: Backoff::default(),
            max_permanent_attempts: DEFAULT_MAX_PERMANENT_ATTEMPTS,
            dead_letter_after: Duration::ZERO,
            dead_letter_limit: DEFAULT_DEAD_LETTER_LIMIT,
        }
    }
}

/// How the last attempt at a message ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptResult {
    /// Applied, or recognised as already applied.
    Done,
    /// A dependency was unavailable.
    Transient,
    /// The message cannot be handled, for this reason.
    Permanent(ErrorClass),
}

/// Everything [`decide`] looks at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attempt {
    pub result: AttemptResult,
    /// Attempts made at this message so far, the last one included (from 1).
    pub attempts: u32,
    /// Time since the first attempt at this message.
    pub elapsed: Duration,
    /// Messages of this partition dead-lettered in a row just before this one.
    pub dead_letter_streak: u32,
}

/// What the runtime does next with the message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Store the offset and go on to the next message.
    Commit,
    /// Try the same message again after the pause.
    Retry { after: Duration },
    /// Copy the message to the dead-letter topic, then store its offset.
    DeadLetter,
    /// The dead-letter limit is reached: keep the message, report the partition unhealthy,
    /// and look at it again after the pause (it goes on if the cause went away).
    Halt { after: Duration },
}

/// The runtime's decision after an attempt; `jitter` is a random draw in `[0, 1)`.
pub fn decide(policy: &RetryPolicy, attempt: &Attempt, jitter: f64) -> Decision {
    let pause = policy.backoff.jittered(attempt.attempts, jitter);
    match attempt.result {
        AttemptResult::Done => Decision::Commit,
        // A dependency comes back; skipping the message would lose it.
        AttemptResult::Transient => Decision::Retry { after: pause },
        AttemptResult::Permanent(_) => {
            let exhausted = attempt.attempts >= policy.max_permanent_attempts.max(1)
                && attempt.elapsed >= policy.dead_letter_after;
            if !exhausted {
                Decision::Retry { after: pause }
            } else if attempt.dead_letter_streak >= policy.dead_letter_limit {
                Decision::Halt {
                    after: policy.backoff.max,
                }
            } else {
                Decision::DeadLetter
            }
        }
    }
}

/// How much a partition's worker takes into one transaction: what its partition has ready,
/// up to `max_events`, waiting at most `max_wait` after the first message for more to arrive
/// (zero: only what is already fetched, so a lone event is never held back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// The most messages in one batch (at least 1; 1 applies each message on its own).
    pub max_events: usize,
    /// The longest a batch waits, from its first message, for more.
    pub max_wait: Duration,
}

pub const DEFAULT_BATCH_MAX_EVENTS: usize = 500;
pub const DEFAULT_BATCH_MAX_WAIT_MS: u64 = 0;

impl Default for BatchLimits {
    fn default() -> Self {
        Self {
            max_events: DEFAULT_BATCH_MAX_EVENTS,
            max_wait: Duration::from_millis(DEFAULT_BATCH_MAX_WAIT_MS),
        }
    }
}

/// What a worker gathering a batch does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gather {
    /// Take the next message, which is already queued.
    Take,
    /// Nothing is queued yet: wait this long at most for the next message.
    Wait(Duration),
    /// Cut the batch here and apply it.
    Apply,
}

/// Whether a batch of `taken` messages (at least the first), gathered for `waited` since its
/// first message, takes more: a full batch is applied; a queued message is taken; an empty
/// queue is waited on while the latency budget lasts.
pub fn gather(limits: &BatchLimits, taken: usize, waited: Duration, queued: bool) -> Gather {
    if taken >= limits.max_events.max(1) {
        Gather::Apply
    } else if queued {
        Gather::Take
    } else if waited < limits.max_wait {
        Gather::Wait(limits.max_wait - waited)
    } else {
        Gather::Apply
    }
}

/// What the runtime does after an attempt at a whole batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BatchDecision {
    /// The batch committed: store the last offset.
    Commit,
    /// A dependency failed: try the whole batch again after the pause.
    Retry { after: Duration },
    /// Something in the batch fails for good (a poison message, a value the database refuses):
    /// apply its messages one by one, each under [`decide`], so that only the culprit is
    /// retried and dead-lettered and its neighbours are applied.
    OneByOne,
}

/// The runtime's decision after attempt `attempts` (from 1) at a batch; `jitter` is a random
/// draw in `[0, 1)`. A transient failure never goes one by one (every message would fail the
/// same way, and the batch keeps its order); a permanent one always does, whatever the batch
/// size: the per-message path owns retries, dead letters and the dead-letter limit.
pub fn decide_batch(
    policy: &RetryPolicy,
    result: AttemptResult,
    attempts: u32,
    jitter: f64,
) -> BatchDecision {
    match result {
        AttemptResult::Done => BatchDecision::Commit,
        AttemptResult::Transient => BatchDecision::Retry {
            after: policy.backoff.jittered(attempts, jitter),
        },
        AttemptResult::Permanent(_) => BatchDecision::OneByOne,
    }
}

/// The consumer runtime's settings from the environment (or flags), flattened into each
/// consuming service's configuration.
#[derive(Debug, Clone, Args)]
pub struct ConsumerConfig {
    /// First retry pause of a failing message, in milliseconds (doubles per attempt).
    #[arg(long, env = "CONSUMER_BACKOFF_INITIAL_MS", default_value_t = DEFAULT_BACKOFF_INITIAL_MS)]
    pub consumer_backoff_initial_ms: u64,

    /// Longest retry pause, in milliseconds.
    #[arg(long, env = "CONSUMER_BACKOFF_MAX_MS", default_value_t = DEFAULT_BACKOFF_MAX_MS)]
    pub consumer_backoff_max_ms: u64,

    /// Attempts at a permanently failing message before it is dead-lettered.
    #[arg(
        long,
        env = "CONSUMER_MAX_PERMANENT_ATTEMPTS",
        default_value_t = DEFAULT_MAX_PERMANENT_ATTEMPTS,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub consumer_max_permanent_attempts: u32,

    /// Shortest time, in milliseconds, a permanently failing message is retried before it is
    /// dead-lettered.
    #[arg(long, env = "CONSUMER_DEAD_LETTER_AFTER_MS", default_value_t = 0)]
    pub consumer_dead_letter_after_ms: u64,

    /// Dead letters in a row after which a partition stops and reports unhealthy.
    #[arg(long, env = "CONSUMER_DEAD_LETTER_LIMIT", default_value_t = DEFAULT_DEAD_LETTER_LIMIT)]
    pub consumer_dead_letter_limit: u32,

    /// The most messages of a partition applied in one transaction (1: one at a time).
    #[arg(
        long,
        env = "CONSUMER_BATCH_MAX_EVENTS",
        default_value_t = DEFAULT_BATCH_MAX_EVENTS,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
    )]
    pub consumer_batch_max_events: usize,

    /// The longest a batch waits, in milliseconds from its first message, for more messages
    /// (0: only what is already fetched).
    #[arg(long, env = "CONSUMER_BATCH_MAX_WAIT_MS", default_value_t = DEFAULT_BATCH_MAX_WAIT_MS)]
    pub consumer_batch_max_wait_ms: u64,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        let policy = RetryPolicy::default();
        Self {
            consumer_backoff_initial_ms: DEFAULT_BACKOFF_INITIAL_MS,
            consumer_backoff_max_ms: DEFAULT_BACKOFF_MAX_MS,
            consumer_max_permanent_attempts: policy.max_permanent_attempts,
            consumer_dead_letter_after_ms: 0,
            consumer_dead_letter_limit: policy.dead_letter_limit,
            consumer_batch_max_events: DEFAULT_BATCH_MAX_EVENTS,
            consumer_batch_max_wait_ms: DEFAULT_BATCH_MAX_WAIT_MS,
        }
    }
}

impl ConsumerConfig {
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            backoff: Backoff {
                initial: Duration::from_millis(self.consumer_backoff_initial_ms),
                max: Duration::from_millis(self.consumer_backoff_max_ms),
            },
            max_permanent_attempts: self.consumer_max_permanent_attempts,
            dead_letter_after: Duration::from_millis(self.consumer_dead_letter_after_ms),
            dead_letter_limit: self.consumer_dead_letter_limit,
        }
    }

    pub fn batch_limits(&self) -> BatchLimits {
        BatchLimits {
            max_events: self.consumer_batch_max_events,
            max_wait: Duration::from_millis(self.consumer_batch_max_wait_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn attempt(result: AttemptResult, attempts: u32, elapsed_ms: u64, streak: u32) -> Attempt {
        Attempt {
            result,
            attempts,
            elapsed: MS(elapsed_ms),
            dead_letter_streak: streak,
        }
    }

    #[test]
    fn decisions_follow_the_policy() {
        use AttemptResult::{Done, Permanent, Transient};
        use Decision::{Commit, DeadLetter, Halt, Retry};
        let bad = Permanent(ErrorClass::UndecodableAvro);
        let policy = RetryPolicy {
            backoff: Backoff {
                initial: MS(100),
                max: MS(1_000),
            },
            max_permanent_attempts: 3,
            dead_letter_after: MS(500),
            dead_letter_limit: 2,
        };
        // jitter 1.0 → the pause is the ceiling.
        let table = [
            ("applied", attempt(Done, 1, 0, 0), Commit),
            ("applied after retries", attempt(Done, 9, 60_000, 5), Commit),
            (
                "transient",
                attempt(Transient, 1, 0, 0),
                Retry { after: MS(100) },
            ),
            (
                "transient doubles",
                attempt(Transient, 3, 300, 0),
                Retry { after: MS(400) },
            ),
            (
                "transient is capped",
                attempt(Transient, 30, 9_000_000, 0),
                Retry { after: MS(1_000) },
            ),
            (
                "transient never dead-letters",
                attempt(Transient, 1_000, u64::MAX / 2, 99),
                Retry { after: MS(1_000) },
            ),
            (
                "permanent, first attempt",
                attempt(bad, 1, 0, 0),
                Retry { after: MS(100) },
            ),
            (
                "permanent, attempts left",
                attempt(bad, 2, 900, 0),
                Retry { after: MS(200) },
            ),
            (
                "permanent, attempts spent but too soon",
                attempt(bad, 3, 499, 0),
                Retry { after: MS(400) },
            ),
            ("permanent, exhausted", attempt(bad, 3, 500, 0), DeadLetter),
            (
                "permanent, streak under the limit",
                attempt(bad, 4, 800, 1),
                DeadLetter,
            ),
            (
                "permanent, streak at the limit",
                attempt(bad, 3, 500, 2),
                Halt { after: MS(1_000) },
            ),
            (
                "permanent, streak over the limit",
                attempt(bad, 7, 5_000, 40),
                Halt { after: MS(1_000) },
            ),
        ];
        for (name, input, expected) in table {
            assert_eq!(decide(&policy, &input, 1.0), expected, "{name}");
        }
    }

    #[test]
    fn one_attempt_and_no_wait_dead_letter_at_once_and_a_zero_limit_halts_at_once() {
        let policy = RetryPolicy {
            max_permanent_attempts: 1,
            dead_letter_after: Duration::ZERO,
            dead_letter_limit: 0,
            ..RetryPolicy::default()
        };
        let first = attempt(
            AttemptResult::Permanent(ErrorClass::ContractViolation),
            1,
            0,
            0,
        );
        assert!(matches!(
            decide(&policy, &first, 0.5),
            Decision::Halt { .. }
        ));
        let lenient = RetryPolicy {
            dead_letter_limit: 1,
            ..policy
        };
        assert_eq!(decide(&lenient, &first, 0.5), Decision::DeadLetter);
        // A zero in max_permanent_attempts (not accepted from the environment) counts as 1.
        let zero = RetryPolicy {
            max_permanent_attempts: 0,
            ..lenient
        };
        assert_eq!(decide(&zero, &first, 0.5), Decision::DeadLetter);
    }

    #[test]
    fn a_batch_takes_what_is_queued_up_to_its_count_and_waits_only_within_its_budget() {
        use Gather::{Apply, Take, Wait};
        let no_wait = BatchLimits {
            max_events: 3,
            max_wait: Duration::ZERO,
        };
        let budget = BatchLimits {
            max_events: 3,
            max_wait: MS(5),
        };
        let table = [
            ("queued, room left", no_wait, 1, 0, true, Take),
            ("queued, full", no_wait, 3, 0, true, Apply),
            ("over full (limit lowered)", no_wait, 9, 0, true, Apply),
            ("a lone event is not held back", no_wait, 1, 0, false, Apply),
            (
                "nothing queued, budget left",
                budget,
                1,
                2,
                false,
                Wait(MS(3)),
            ),
            ("nothing queued, budget spent", budget, 2, 5, false, Apply),
            (
                "queued after the budget: still taken",
                budget,
                2,
                9,
                true,
                Take,
            ),
            ("full within the budget", budget, 3, 1, false, Apply),
        ];
        for (name, limits, taken, waited_ms, queued, expected) in table {
            assert_eq!(
                gather(&limits, taken, MS(waited_ms), queued),
                expected,
                "{name}"
            );
        }
        // A zero count (not accepted from the environment) counts as 1.
        let zero = BatchLimits {
            max_events: 0,
            ..no_wait
        };
        assert_eq!(gather(&zero, 1, MS(0), true), Apply);
    }

    #[test]
    fn a_failed_batch_retries_when_transient_and_goes_one_by_one_when_permanent() {
        use BatchDecision::{Commit, OneByOne, Retry};
        let policy = RetryPolicy {
            backoff: Backoff {
                initial: MS(100),
                max: MS(1_000),
            },
            ..RetryPolicy::default()
        };
        let table = [
            ("committed", AttemptResult::Done, 1, Commit),
            (
                "transient",
                AttemptResult::Transient,
                1,
                Retry { after: MS(100) },
            ),
            (
                "transient again",
                AttemptResult::Transient,
                3,
                Retry { after: MS(400) },
            ),
            (
                "transient, capped",
                AttemptResult::Transient,
                40,
                Retry { after: MS(1_000) },
            ),
            (
                "poison in the batch",
                AttemptResult::Permanent(ErrorClass::UndecodableAvro),
                1,
                OneByOne,
            ),
            (
                "refused by the database after transient attempts",
                AttemptResult::Permanent(ErrorClass::DataException),
                5,
                OneByOne,
            ),
        ];
        for (name, result, attempts, expected) in table {
            assert_eq!(
                decide_batch(&policy, result, attempts, 1.0),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let backoff = Backoff {
            initial: MS(100),
            max: Duration::from_secs(10),
        };
        let ceilings: Vec<u128> = (1..=9).map(|a| backoff.ceiling(a).as_millis()).collect();
        assert_eq!(
            ceilings,
            [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]
        );
        // Huge attempt numbers neither overflow nor exceed the cap.
        assert_eq!(backoff.ceiling(u32::MAX), Duration::from_secs(10));
        assert_eq!(backoff.ceiling(0), MS(100));
    }

    #[test]
    fn jitter_spreads_between_a_tenth_of_the_ceiling_and_the_ceiling() {
        let backoff = Backoff::default();
        // Attempt 3: ceiling 400 ms.
        assert_eq!(backoff.jittered(3, 0.0), MS(40));
        assert_eq!(backoff.jittered(3, 0.5), MS(220));
        assert_eq!(backoff.jittered(3, 1.0), MS(400));
        // The draw spreads over the whole range instead of piling up at the floor.
        assert!(backoff.jittered(3, 0.05) > backoff.jittered(3, 0.0));
        for _ in 0..1000 {
            let delay = backoff.delay(30);
            assert!(delay >= Duration::from_secs(1) && delay <= Duration::from_secs(10));
        }
    }

    #[test]
    fn the_config_reads_the_environment_names_and_defaults() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            consumer: ConsumerConfig,
        }
        let defaults = Cli::try_parse_from(["x"]).expect("defaults parse");
        assert_eq!(defaults.consumer.retry_policy(), RetryPolicy::default());
        let set = Cli::try_parse_from([
            "x",
            "--consumer-backoff-initial-ms=5",
            "--consumer-backoff-max-ms=50",
            "--consumer-max-permanent-attempts=7",
            "--consumer-dead-letter-after-ms=250",
            "--consumer-dead-letter-limit=4",
            "--consumer-batch-max-events=64",
            "--consumer-batch-max-wait-ms=3",
        ])
        .expect("flags parse");
        assert_eq!(
            set.consumer.retry_policy(),
            RetryPolicy {
                backoff: Backoff {
                    initial: MS(5),
                    max: MS(50)
                },
                max_permanent_attempts: 7,
                dead_letter_after: MS(250),
                dead_letter_limit: 4,
            }
        );
        assert_eq!(
            set.consumer.batch_limits(),
            BatchLimits {
                max_events: 64,
                max_wait: MS(3)
            }
        );
        assert_eq!(defaults.consumer.batch_limits(), BatchLimits::default());
        assert!(Cli::try_parse_from(["x", "--consumer-max-permanent-attempts=0"]).is_err());
        assert!(Cli::try_parse_from(["x", "--consumer-batch-max-events=0"]).is_err());
    }
}

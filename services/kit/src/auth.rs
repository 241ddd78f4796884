//! The services' HTTP basic authentication: one configured user, compared in constant time,
//! its password given as plaintext or as a PHC hash, and failed attempts throttled per client
//! address.
//!
//! A PHC hash (`$argon2id$v=19$...`) keeps the plaintext out of the environment, but a
//! key derivation costs tens of milliseconds of CPU by design; running it on every request
//! would bound a service to a few dozen authenticated requests per second. So each distinct
//! credential is verified once and the verdict cached, keyed by a keyed digest (HMAC-SHA-256
//! under a key drawn at start), never by the plaintext; the cache is bounded.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::{Mutex, Once};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordVerifier};
use contract_runtime::auth::{Authenticator, BasicCredentials};
use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use hmac::{Hmac, Mac};
use lru::LruCache;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The seed's demo credentials (`root` / `P@ssw0rd1`): accepted, with a warning at start.
pub const SEED_USERNAME: &str = "root";
pub const SEED_PASSWORD: &str = "P@ssw0rd1";

/// How many verdicts on hashed credentials are remembered. Only one credential is valid; the
/// rest are wrong ones, which the throttle keeps slow per client.
pub const VERDICT_CACHE_SIZE: usize = 1024;

/// Why the configured credentials cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthConfigError {
    #[error("the API user name is empty")]
    EmptyUsername,
    #[error("the API password is empty")]
    EmptyPassword,
    #[error("the API password hash is not a PHC string of a supported algorithm: {0}")]
    InvalidHash(String),
}

/// The configured password: the plaintext, or a PHC hash of it.
#[derive(Clone, PartialEq, Eq)]
pub enum ConfiguredPassword {
    Plain(String),
    /// A PHC string (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`).
    Hash(String),
}

impl std::fmt::Debug for ConfiguredPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Plain(_) => f.write_str("Plain(<redacted>)"),
            Self::Hash(_) => f.write_str("Hash(<redacted>)"),
        }
    }
}

/// Checks a PHC string names a supported algorithm; the `clap` value parser of the hash.
pub fn parse_password_hash(phc: &str) -> Result<String, AuthConfigError> {
    let hash = PasswordHash::new(phc).map_err(|e| AuthConfigError::InvalidHash(e.to_string()))?;
    argon2::Algorithm::try_from(hash.algorithm)
        .map_err(|e| AuthConfigError::InvalidHash(e.to_string()))?;
    Ok(phc.to_string())
}

type Digest = [u8; 32];

enum Secret {
    /// The keyed digest of the plaintext: equal digests compare in constant time whatever the
    /// lengths, so timing tells neither the password nor its length.
    Plain(Digest),
    Hash {
        phc: String,
        verdicts: Mutex<LruCache<Digest, bool>>,
    },
}

/// The one user of a service's API.
pub struct ConfiguredUser {
    username: Digest,
    secret: Secret,
    /// Key of the digests: drawn at start, so a digest in memory is useless elsewhere.
    key: Digest,
    seed_credentials: bool,
}

impl std::fmt::Debug for ConfiguredUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfiguredUser").finish_non_exhaustive()
    }
}

impl ConfiguredUser {
    pub fn new(username: &str, password: ConfiguredPassword) -> Result<Self, AuthConfigError> {
        if username.is_empty() {
            return Err(AuthConfigError::EmptyUsername);
        }
        let key: Digest = rand::random();
        let (secret, seed_password) = match password {
            ConfiguredPassword::Plain(plain) if plain.is_empty() => {
                return Err(AuthConfigError::EmptyPassword);
            }
            ConfiguredPassword::Plain(plain) => (
                Secret::Plain(keyed_digest(&key, plain.as_bytes())),
                plain == SEED_PASSWORD,
            ),
            ConfiguredPassword::Hash(phc) => {
                let phc = parse_password_hash(&phc)?;
                let seed_password = verify_hash(&phc, SEED_PASSWORD);
                let verdicts = Mutex::new(LruCache::new(
                    NonZeroUsize::new(VERDICT_CACHE_SIZE).unwrap_or(NonZeroUsize::MIN),
                ));
                (Secret::Hash { phc, verdicts }, seed_password)
            }
        };
        Ok(Self {
            username: keyed_digest(&key, username.as_bytes()),
            secret,
            key,
            seed_credentials: seed_password && username == SEED_USERNAME,
        })
    }

    /// Whether these are the seed's published demo credentials.
    pub fn uses_seed_credentials(&self) -> bool {
        self.seed_credentials
    }

    /// Logs, once per process, that the seed's demo credentials are in use.
    pub fn warn_if_seed_credentials(&self) {
        static WARNED: Once = Once::new();
        if self.seed_credentials {
            WARNED.call_once(|| {
                tracing::warn!(
                    "the API accepts the seed's published demo credentials ({SEED_USERNAME} / \
                     {SEED_PASSWORD}); set API_PASSWORD_HASH (or API_PASSWORD) outside the demo"
                );
            });
        }
    }

    fn password_matches(&self, password: &str) -> bool {
        let presented = keyed_digest(&self.key, password.as_bytes());
        match &self.secret {
            Secret::Plain(expected) => presented.ct_eq(expected).into(),
            Secret::Hash { phc, verdicts } => {
                if let Some(verdict) = lock(verdicts).get(&presented) {
                    return *verdict;
                }
                // Outside the lock: a key derivation takes long, other requests go on.
                let verdict = verify_hash(phc, password);
                lock(verdicts).put(presented, verdict);
                verdict
            }
        }
    }
}

impl Authenticator for ConfiguredUser {
    fn authenticate(&self, credentials: &BasicCredentials) -> bool {
        // Both parts always run, so timing does not tell which one was wrong.
        let username = keyed_digest(&self.key, credentials.username.as_bytes());
        let username_matches: bool = username.ct_eq(&self.username).into();
        let password_matches = self.password_matches(&credentials.password);
        username_matches & password_matches
    }
}

fn keyed_digest(key: &Digest, data: &[u8]) -> Digest {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn verify_hash(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The guarded data stays consistent even if a holder panicked: entries are whole.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How many failed authentications a client address may make: `burst` at once, refilled at
/// `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    pub burst: NonZeroU32,
    pub per_minute: NonZeroU32,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            burst: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
            per_minute: NonZeroU32::new(30).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// Tracked client addresses beyond which idle ones are forgotten.
const TRACKED_CLIENTS: usize = 10_000;

/// Failed authentications per client address. A client over its allowance is refused
/// (`429`) until the allowance refills, whatever credentials it sends then: answering a good
/// guess differently during the block would let guessing go on at full speed.
pub struct FailedAttempts<C: Clock = DefaultClock> {
    limiter: RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, C, NoOpMiddleware<C::Instant>>,
    blocked: Mutex<HashMap<IpAddr, C::Instant>>,
    clock: C,
}

impl FailedAttempts {
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self::with_clock(policy, DefaultClock::default())
    }
}

impl<C: Clock + Clone> FailedAttempts<C> {
    pub fn with_clock(policy: ThrottlePolicy, clock: C) -> Self {
        let quota = Quota::per_minute(policy.per_minute).allow_burst(policy.burst);
        Self {
            limiter: RateLimiter::new(quota, DefaultKeyedStateStore::default(), clock.clone()),
            blocked: Mutex::new(HashMap::new()),
            clock,
        }
    }

    /// `Err(retry_after)` while `client` is blocked.
    pub fn admits(&self, client: IpAddr) -> Result<(), Duration> {
        let now = self.clock.now();
        let mut blocked = lock(&self.blocked);
        match blocked.get(&client) {
            Some(until) if *until > now => Err(until.duration_since(now).into()),
            Some(_) => {
                blocked.remove(&client);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Counts a failed attempt; `Err(retry_after)` when it exceeds the allowance, and the
    /// client is blocked from then on until the allowance refills.
    pub fn record_failure(&self, client: IpAddr) -> Result<(), Duration> {
        if self.limiter.len() > TRACKED_CLIENTS {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        match self.limiter.check_key(&client) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let now = self.clock.now();
                let mut blocked = lock(&self.blocked);
                if blocked.len() > TRACKED_CLIENTS {
                    blocked.retain(|_, until| *until > now);
                }
                blocked.insert(client, not_until.earliest_possible());
                Err(not_until.wait_time_from(now))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher, SaltString};
    use governor::clock::FakeRelativeClock;

    use super::*;

    /// A cheap hash: the parameters are the hash's own, so tests need not pay for the default.
    fn cheap_hash(password: &str) -> String {
        let params = argon2::Params::new(8, 1, 1, None).expect("params");
        let argon = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let salt = SaltString::encode_b64(b"sixteen byte salt").expect("salt");
        argon
            .hash_password(password.as_bytes(), &salt)
            .expect("hash")
            .to_string()
    }

    fn credentials(username: &str, password: &str) -> BasicCredentials {
        BasicCredentials::new(username, password)
    }

    #[test]
    fn refuses_empty_configuration() {
        let empty = ConfiguredUser::new("root", ConfiguredPassword::Plain(String::new()));
        assert_eq!(empty.err(), Some(AuthConfigError::EmptyPassword));
        let nameless = ConfiguredUser::new("", ConfiguredPassword::Plain("secret".into()));
        assert_eq!(nameless.err(), Some(AuthConfigError::EmptyUsername));
        let garbage = ConfiguredUser::new("root", ConfiguredPassword::Hash("P@ssw0rd1".into()));
        assert!(matches!(garbage, Err(AuthConfigError::InvalidHash(_))));
        let unsupported = parse_password_hash("$pbkdf2-sha256$i=1000$c2FsdA$aGFzaA");
        assert!(matches!(unsupported, Err(AuthConfigError::InvalidHash(_))));
    }

    #[test]
    fn plaintext_password() {
        let user =
            ConfiguredUser::new("alice", ConfiguredPassword::Plain("s3cret".into())).expect("ok");
        assert!(user.authenticate(&credentials("alice", "s3cret")));
        for (username, password) in [
            ("alice", ""),
            ("alice", "s3cre"),
            ("alice", "s3cret "),
            ("alic", "s3cret"),
            ("", ""),
            ("root", "s3cret"),
        ] {
            assert!(
                !user.authenticate(&credentials(username, password)),
                "{username}:{password} accepted"
            );
        }
        assert!(!user.uses_seed_credentials());
    }

    #[test]
    fn hashed_password_verified_once_per_credential() {
        let phc = cheap_hash("s3cret");
        let user = ConfiguredUser::new("alice", ConfiguredPassword::Hash(phc)).expect("ok");
        assert!(user.authenticate(&credentials("alice", "s3cret")));
        assert!(!user.authenticate(&credentials("alice", "wrong")));
        assert!(!user.authenticate(&credentials("bob", "s3cret")));
        let Secret::Hash { verdicts, .. } = &user.secret else {
            panic!("a hash secret");
        };
        // One verdict per distinct password, none holding the plaintext.
        assert_eq!(lock(verdicts).len(), 2);
        assert!(user.authenticate(&credentials("alice", "s3cret")));
        assert_eq!(lock(verdicts).len(), 2);
        let cached: Vec<Digest> = lock(verdicts).iter().map(|(k, _)| *k).collect();
        for digest in cached {
            assert_ne!(&digest[..6], b"s3cret");
            assert_ne!(&digest[..5], b"wrong");
        }
    }

    #[test]
    fn verdict_cache_is_bounded() {
        let user = ConfiguredUser::new("alice", ConfiguredPassword::Hash(cheap_hash("s3cret")))
            .expect("ok");
        for attempt in 0..VERDICT_CACHE_SIZE + 50 {
            assert!(!user.authenticate(&credentials("alice", &format!("guess {attempt}"))));
        }
        let Secret::Hash { verdicts, .. } = &user.secret else {
            panic!("a hash secret");
        };
        assert_eq!(lock(verdicts).len(), VERDICT_CACHE_SIZE);
        assert!(user.authenticate(&credentials("alice", "s3cret")));
    }

    #[test]
    fn recognises_the_seed_credentials() {
        let plain = ConfiguredUser::new(
            SEED_USERNAME,
            ConfiguredPassword::Plain(SEED_PASSWORD.into()),
        )
        .expect("ok");
        assert!(plain.uses_seed_credentials());
        let hashed = ConfiguredUser::new(
            SEED_USERNAME,
            ConfiguredPassword::Hash(cheap_hash(SEED_PASSWORD)),
        )
        .expect("ok");
        assert!(hashed.uses_seed_credentials());
        let other_user =
            ConfiguredUser::new("alice", ConfiguredPassword::Plain(SEED_PASSWORD.into()))
                .expect("ok");
        assert!(!other_user.uses_seed_credentials());
    }

    #[test]
    fn configuration_does_not_print_the_password() {
        let password = ConfiguredPassword::Plain("s3cret".into());
        assert!(!format!("{password:?}").contains("s3cret"));
        let user = ConfiguredUser::new("alice", password).expect("ok");
        assert!(!format!("{user:?}").contains("s3cret"));
    }

    fn policy(burst: u32, per_minute: u32) -> ThrottlePolicy {
        ThrottlePolicy {
            burst: NonZeroU32::new(burst).expect("nonzero"),
            per_minute: NonZeroU32::new(per_minute).expect("nonzero"),
        }
    }

    #[test]
    fn throttles_failures_per_client_address() {
        let clock = FakeRelativeClock::default();
        let throttle = FailedAttempts::with_clock(policy(3, 60), clock.clone());
        let attacker: IpAddr = [10, 0, 0, 1].into();
        let neighbour: IpAddr = [10, 0, 0, 2].into();
        for _ in 0..3 {
            assert_eq!(throttle.admits(attacker), Ok(()));
            assert_eq!(throttle.record_failure(attacker), Ok(()));
        }
        let retry_after = throttle
            .record_failure(attacker)
            .expect_err("over the allowance");
        assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(1));
        assert!(
            throttle.admits(attacker).is_err(),
            "blocked after the burst"
        );
        assert_eq!(throttle.admits(neighbour), Ok(()), "others unaffected");
        // One attempt per second refills: after it, one more failure is allowed, not four.
        clock.advance(Duration::from_secs(1));
        assert_eq!(throttle.admits(attacker), Ok(()));
        assert_eq!(throttle.record_failure(attacker), Ok(()));
        assert!(throttle.record_failure(attacker).is_err());
        assert!(throttle.admits(attacker).is_err());
        clock.advance(Duration::from_secs(10));
        assert_eq!(throttle.admits(attacker), Ok(()));
    }
}

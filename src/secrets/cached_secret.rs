//! A value parsed from a Secrets Manager secret (`AWSCURRENT`), cached in process: the one cache
//! behind the three secrets (the Genesys credential set, the CRM id hash key, the OIDC client).
//!
//! The cache serves a value for its time to live; a caller that has reason to think the secret
//! changed (a credential was refused) forces a re-read, at most once per minimum interval; while
//! Secrets Manager is out, the last value keeps serving for a grace period before the next try.
//! Any other failed read (Secrets Manager out with nothing cached; the secret deleted, denied or
//! malformed) is not tried again for [`FAILED_READ_RETRY_INTERVAL`]: requests meanwhile get the
//! same error at once, none waits on the SDK's retries, and no caller (an unauthenticated one
//! included) makes Secrets Manager calls at will, whatever is wrong with the secret.
//!
//! Ours rather than `aws_secretsmanager_caching`: that crate calls `DescribeSecret` on every
//! expiry (one more permission and round trip per refresh), has no forced re-read with a minimum
//! interval, and its error type is not `Send`.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::CredentialError;
use super::secrets_manager::{OUTAGE_GRACE, current_secret_string};

/// How long after a failed read the next is tried (while no cached value can serve instead).
pub const FAILED_READ_RETRY_INTERVAL: Duration = Duration::from_secs(5);

/// How often a cached secret is read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReloadPolicy {
    /// A value older than this is read again before use.
    pub ttl: Duration,
    /// Forced re-reads are spaced at least this far apart, whoever asks for them.
    pub min_reload_interval: Duration,
}

impl ReloadPolicy {
    /// Read at most once per `interval`, whoever asks and why: for a secret whose refusal
    /// anyone can cause, or that is only compared now and then.
    pub fn at_most_every(interval: Duration) -> Self {
        Self {
            ttl: interval,
            min_reload_interval: interval,
        }
    }
}

/// Reads a secret's `SecretString` into the cached value; errors name the problem, never a value.
type Parse<T> = Box<dyn Fn(&str) -> Result<T, CredentialError> + Send + Sync>;

/// One secret's value, as `parse` reads its `SecretString`.
pub struct CachedSecret<T> {
    client: Client,
    secret_id: String,
    /// Names the secret in errors (never its value).
    what: &'static str,
    parse: Parse<T>,
    policy: ReloadPolicy,
    // An async mutex: concurrent callers on a cold or expired cache share one GetSecretValue.
    cache: Mutex<Cache<T>>,
    /// When a re-read was last forced ([`CachedSecret::reload`]).
    last_forced: Mutex<Option<Instant>>,
}

struct Cache<T> {
    entry: Option<Entry<T>>,
    /// The last read, when it failed and no cached value served instead.
    failed: Option<Failed>,
}

/// A failed read, answered again until [`FAILED_READ_RETRY_INTERVAL`] has passed.
struct Failed {
    at: Instant,
    error: Remembered,
}

/// What a failed read came to, kept to answer with (a [`CredentialError`] holds a source that
/// cannot be cloned); never a value of the secret.
enum Remembered {
    Unavailable,
    Malformed(String),
    Inaccessible { secret_id: String, problem: String },
}

impl Remembered {
    fn of(error: &CredentialError) -> Self {
        match error {
            CredentialError::Unavailable(_) => Self::Unavailable,
            CredentialError::Malformed(problem) => Self::Malformed(problem.clone()),
            CredentialError::Inaccessible { secret_id, problem } => Self::Inaccessible {
                secret_id: secret_id.clone(),
                problem: problem.clone(),
            },
        }
    }

    /// The error again, as the read gave it; an outage says the secret was not asked again.
    fn again(&self, what: &str) -> CredentialError {
        match self {
            Self::Unavailable => CredentialError::Unavailable(
                format!("{what} could not be read moments ago; not asked again yet").into(),
            ),
            Self::Malformed(problem) => CredentialError::Malformed(problem.clone()),
            Self::Inaccessible { secret_id, problem } => CredentialError::Inaccessible {
                secret_id: secret_id.clone(),
                problem: problem.clone(),
            },
        }
    }
}

struct Entry<T> {
    value: Arc<T>,
    /// When the value was read, or (during an outage) when its grace period began.
    read_at: Instant,
    /// Served through an outage: good for [`OUTAGE_GRACE`] from `read_at`, whatever the TTL.
    stale: bool,
}

impl<T> Entry<T> {
    fn younger_than(&self, age: Duration) -> bool {
        self.read_at.elapsed() < if self.stale { OUTAGE_GRACE } else { age }
    }
}

impl<T> CachedSecret<T> {
    /// A cache of the secret `secret_id`, read with `client` and parsed by `parse`, refreshed as
    /// `policy` says; `what` names the secret in errors. Nothing is read until the first use.
    pub fn new(
        client: Client,
        secret_id: impl Into<String>,
        what: &'static str,
        parse: impl Fn(&str) -> Result<T, CredentialError> + Send + Sync + 'static,
        policy: ReloadPolicy,
    ) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
            what,
            parse: Box::new(parse),
            policy,
            cache: Mutex::new(Cache {
                entry: None,
                failed: None,
            }),
            last_forced: Mutex::new(None),
        }
    }

    /// The value within its time to live, read now if it is older (or was never read).
    pub async fn current(&self) -> Result<Arc<T>, CredentialError> {
        self.read_if_older_than(self.policy.ttl).await
    }

    /// Reads the secret again now, the value in force having been refused (it may have been
    /// rotated); unless a re-read was forced within the minimum interval, when this is
    /// [`CachedSecret::current`].
    pub async fn reload(&self) -> Result<Arc<T>, CredentialError> {
        {
            let mut last = self.last_forced.lock().await;
            if last.is_some_and(|at| at.elapsed() < self.policy.min_reload_interval) {
                drop(last);
                return self.current().await;
            }
            *last = Some(Instant::now());
        }
        self.read_if_older_than(Duration::ZERO).await
    }

    async fn read_if_older_than(&self, age: Duration) -> Result<Arc<T>, CredentialError> {
        let mut cache = self.cache.lock().await;
        if let Some(entry) = cache.entry.as_ref().filter(|entry| entry.younger_than(age)) {
            return Ok(Arc::clone(&entry.value));
        }
        if let Some(failed) = cache
            .failed
            .as_ref()
            .filter(|failed| failed.at.elapsed() < FAILED_READ_RETRY_INTERVAL)
        {
            return Err(failed.error.again(self.what));
        }
        let read = current_secret_string(&self.client, &self.secret_id, self.what).await;
        match read.and_then(|text| (self.parse)(&text)) {
            Ok(value) => {
                let value = Arc::new(value);
                cache.entry = Some(Entry {
                    value: Arc::clone(&value),
                    read_at: Instant::now(),
                    stale: false,
                });
                cache.failed = None;
                Ok(value)
            }
            // A passing outage should not fail requests that the known value can still serve.
            Err(CredentialError::Unavailable(source)) => match cache.entry.as_mut() {
                Some(entry) => {
                    tracing::warn!(error = %source, secret = self.what, grace_seconds = OUTAGE_GRACE.as_secs(), "Secrets Manager unavailable; serving the cached value and trying again after the grace period");
                    (entry.read_at, entry.stale) = (Instant::now(), true);
                    Ok(Arc::clone(&entry.value))
                }
                None => Err(self.remember(&mut cache, CredentialError::Unavailable(source))),
            },
            // A deleted, denied or malformed secret fails closed (a hash key must not serve on
            // once it vanished), but is not read again at once, whoever asks.
            Err(err) => Err(self.remember(&mut cache, err)),
        }
    }

    /// Notes a failed read, so that it is answered again without a read until the retry interval
    /// has passed; the log says what is wrong (never a value).
    fn remember(&self, cache: &mut Cache<T>, err: CredentialError) -> CredentialError {
        tracing::warn!(error = %err, secret = self.what, retry_seconds = FAILED_READ_RETRY_INTERVAL.as_secs(), "a secret could not be used; it is not read again before the retry interval");
        cache.failed = Some(Failed {
            at: Instant::now(),
            error: Remembered::of(&err),
        });
        err
    }
}

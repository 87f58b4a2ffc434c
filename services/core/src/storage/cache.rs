use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache unavailable: {0}")]
    Unavailable(String),
}

/// Key-value storage with expiry, shared by a service's replicas when backed by Redis.
#[async_trait]
pub trait Cache: Send + Sync + std::fmt::Debug {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError>;
    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError>;
    /// Returns whether the key existed.
    async fn delete(&self, key: &str) -> Result<bool, CacheError>;
    /// Atomically replaces the value when it currently equals `expected`; true when replaced.
    /// Two callers racing with the same `expected` value: exactly one wins.
    async fn compare_and_set(
        &self,
        key: &str,
        expected: &str,
        new: &str,
        ttl: Duration,
    ) -> Result<bool, CacheError>;
}

/// In-process cache: the embedded default.
#[derive(Debug, Default)]
pub struct MemoryCache {
    entries: Mutex<HashMap<String, (String, Instant)>>,
}

impl MemoryCache {
    fn with_entries<T>(&self, f: impl FnOnce(&mut HashMap<String, (String, Instant)>) -> T) -> Result<T, CacheError> {
        let mut entries = self.entries.lock().map_err(|_| CacheError::Unavailable("poisoned".into()))?;
        let now = Instant::now();
        entries.retain(|_, (_, expires)| *expires > now);
        Ok(f(&mut entries))
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        self.with_entries(|entries| entries.get(key).map(|(value, _)| value.clone()))
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        self.with_entries(|entries| {
            entries.insert(key.to_owned(), (value.to_owned(), Instant::now() + ttl));
        })
    }

    async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        self.with_entries(|entries| entries.remove(key).is_some())
    }

    async fn compare_and_set(&self, key: &str, expected: &str, new: &str, ttl: Duration) -> Result<bool, CacheError> {
        self.with_entries(|entries| match entries.get(key) {
            Some((value, _)) if value == expected => {
                entries.insert(key.to_owned(), (new.to_owned(), Instant::now() + ttl));
                true
            }
            _ => false,
        })
    }
}

/// Redis: shared by every replica; keys carry a prefix so deployments (and test runs) can
/// share one server.
pub struct RedisCache {
    connection: redis::aio::ConnectionManager,
    prefix: String,
    compare_and_set: redis::Script,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache").field("prefix", &self.prefix).finish()
    }
}

fn unavailable(error: redis::RedisError) -> CacheError {
    CacheError::Unavailable(error.to_string())
}

fn millis(ttl: Duration) -> u64 {
    ttl.as_millis().clamp(1, u128::from(u64::MAX)) as u64
}

impl RedisCache {
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, CacheError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(3)));
        let connection = redis::aio::ConnectionManager::new_with_config(client, config)
            .await
            .map_err(unavailable)?;
        let compare_and_set = redis::Script::new(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then \
               redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 \
             else return 0 end",
        );
        Ok(Self { connection, prefix: prefix.to_owned(), compare_and_set })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        let mut connection = self.connection.clone();
        redis::cmd("GET").arg(self.key(key)).query_async(&mut connection).await.map_err(unavailable)
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        let mut connection = self.connection.clone();
        redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(millis(ttl))
            .query_async::<()>(&mut connection)
            .await
            .map_err(unavailable)
    }

    async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        let mut connection = self.connection.clone();
        let removed: i64 =
            redis::cmd("DEL").arg(self.key(key)).query_async(&mut connection).await.map_err(unavailable)?;
        Ok(removed > 0)
    }

    async fn compare_and_set(&self, key: &str, expected: &str, new: &str, ttl: Duration) -> Result<bool, CacheError> {
        let mut connection = self.connection.clone();
        let replaced: i64 = self
            .compare_and_set
            .key(self.key(key))
            .arg(expected)
            .arg(new)
            .arg(millis(ttl))
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(replaced == 1)
    }
}

/// Redis when a URL is given, else the in-process cache.
pub async fn connect_cache(redis_url: Option<&str>, prefix: &str) -> Result<std::sync::Arc<dyn Cache>, CacheError> {
    Ok(match redis_url {
        Some(url) => std::sync::Arc::new(RedisCache::connect(url, prefix).await?),
        None => std::sync::Arc::new(MemoryCache::default()),
    })
}

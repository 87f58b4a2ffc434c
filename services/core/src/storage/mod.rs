//! Storage plumbing every service uses: a sea-orm database (SQLite file by default,
//! PostgreSQL when `DATABASE_URL` is set) and a cache (in-process by default, Redis when
//! `REDIS_URL` is set).

mod cache;
mod db;

pub use cache::{Cache, CacheError, MemoryCache, RedisCache, connect_cache};
pub use db::{DbConfig, connect_database};

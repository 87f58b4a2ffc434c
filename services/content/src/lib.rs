//! KT event marketing: Content Service. SNS image jobs (3 styles × 3 platforms), the local
//! PNG renderer, object storage, and the 7-day content cache.

pub mod render;

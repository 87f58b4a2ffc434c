//! Process logging: `RUST_LOG` filters (default `info`); `LOG_FORMAT=json` writes one JSON
//! object per line, anything else plain text, coloured only when stdout is a terminal (so
//! files and log collectors get no escape codes). Lines are handed to a background writer
//! thread, so a request never waits on stdout; the returned guard flushes it at exit.

use std::io::IsTerminal;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Keep it alive until the process ends: dropping it flushes what is still queued.
#[must_use]
pub struct LogGuard {
    _writer: WorkerGuard,
}

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init() -> LogGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Not lossy: under a burst the queue (128k lines) fills before anything is dropped, and
    // then requests wait rather than lose their access lines. The writer thread drains the
    // queue into a buffer and flushes when the queue is empty: one write per batch instead
    // of one per line (stdout alone is line-buffered).
    let stdout = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout());
    let (writer, guard) = NonBlockingBuilder::default().lossy(false).finish(stdout);
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    let json = std::env::var("LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    if json {
        builder.json().flatten_event(true).with_current_span(false).init();
    } else {
        builder.with_ansi(std::io::stdout().is_terminal()).init();
    }
    LogGuard { _writer: guard }
}

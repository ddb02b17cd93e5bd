//! Log lines on standard error, as text or JSON, through
//! `tracing-subscriber`: the daemon's events at INFO, the library's
//! warnings. Values from outside are sanitized where they are logged.
//!
//! Lines are buffered and written at least every 100 ms (and at start-up
//! and exit): one reject line per request was a write system call per
//! request, the daemon's largest cost after the socket I/O itself.

use std::io::{BufWriter, Stderr, Write};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

use crate::args::LogFormat;

static BUFFER: OnceLock<Mutex<BufWriter<Stderr>>> = OnceLock::new();

fn buffer() -> MutexGuard<'static, BufWriter<Stderr>> {
    BUFFER
        .get_or_init(|| Mutex::new(BufWriter::with_capacity(64 * 1024, std::io::stderr())))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Hands the formatter the buffer, one event at a time.
struct Buffered;

struct Event(MutexGuard<'static, BufWriter<Stderr>>);

impl<'a> MakeWriter<'a> for Buffered {
    type Writer = Event;

    fn make_writer(&'a self) -> Event {
        Event(buffer())
    }
}

impl Write for Event {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.write(bytes)
    }

    /// Left to the flushing thread.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// How long a line may wait in the buffer.
const FLUSH_EVERY: Duration = Duration::from_millis(100);

pub(crate) fn init(format: LogFormat) {
    std::thread::Builder::new()
        .name("log-flush".into())
        .spawn(|| {
            loop {
                std::thread::sleep(FLUSH_EVERY);
                flush();
            }
        })
        .expect("starting the log thread");
    // The library logs every reject at INFO too; the daemon's own line
    // carries the same with the queue ID and the tracking decision.
    let filter = Targets::new()
        .with_target(env!("CARGO_CRATE_NAME"), LevelFilter::INFO)
        .with_default(LevelFilter::WARN);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(Buffered)
        .with_ansi(false)
        .with_target(false);
    match format {
        LogFormat::Text => tracing_subscriber::registry()
            .with(layer.with_filter(filter))
            .init(),
        LogFormat::Json => tracing_subscriber::registry()
            .with(layer.json().with_filter(filter))
            .init(),
    }
}

/// Writes out what is buffered.
pub(crate) fn flush() {
    let _ = buffer().flush();
}

/// Logs a warning of the sender access map `file` (both sanitized).
pub(crate) fn map_warning(file: &std::path::Path, warning: &envelope_check::TableWarning) {
    tracing::warn!(
        file = %crate::sanitize::printable(&file.display().to_string()),
        "{}",
        crate::sanitize::printable(&warning.to_string())
    );
}

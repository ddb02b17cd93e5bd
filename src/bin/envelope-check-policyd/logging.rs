//! Log lines on standard error, as text or JSON, through
//! `tracing-subscriber`: the daemon's events at INFO, the library's
//! warnings. Values from outside are sanitized where they are logged.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

use crate::args::LogFormat;

pub(crate) fn init(format: LogFormat) {
    // The library logs every reject at INFO too; the daemon's own line
    // carries the same with the queue ID and the tracking decision.
    let filter = Targets::new()
        .with_target(env!("CARGO_CRATE_NAME"), LevelFilter::INFO)
        .with_default(LevelFilter::WARN);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
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

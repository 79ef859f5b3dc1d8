//! Diagnostics on stderr for C programs, which have no `log` logger of
//! their own: when the environment variable `ZMQRS_LOG` names a level
//! (`error`, `warn`, `info`, `debug` or `trace`; any other non-empty value
//! but `0`/`off` means `info`), the first context created installs a logger
//! that writes zmqrs's records (connection events, drops at the high-water
//! mark: see zmqrs::diag) at that level and above to stderr, one line per
//! record:
//!
//! ```text
//! zmq[4242] INFO zmqrs::connection: tcp://127.0.0.1:41234 -> tcp://127.0.0.1:5555: connected (fd 9)
//! ```
//!
//! Unset (the default), nothing is installed and nothing is written, as
//! libzmq writes nothing.

use std::io::Write;
use std::sync::Once;

use log::{LevelFilter, Log, Metadata, Record};

/// The environment variable that turns the stderr log on.
pub(crate) const VARIABLE: &str = "ZMQRS_LOG";

struct StderrLog;

impl Log for StderrLog {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // One write per line, so that the records of several threads do
        // not interleave within a line.
        let line = format!(
            "zmq[{}] {} {}: {}\n",
            std::process::id(),
            record.level(),
            record.target(),
            record.args()
        );
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

/// The level `ZMQRS_LOG` asks for; None for no log.
fn level_from(value: Option<&str>) -> Option<LevelFilter> {
    let value = value?.trim();
    Some(match value.to_ascii_lowercase().as_str() {
        "" | "0" | "off" => return None,
        "error" => LevelFilter::Error,
        "warn" | "warning" => LevelFilter::Warn,
        "debug" => LevelFilter::Debug,
        "trace" => LevelFilter::Trace,
        _ => LevelFilter::Info,
    })
}

/// Installs the stderr logger once per process if `ZMQRS_LOG` asks for it.
pub(crate) fn init_from_env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let value = std::env::var(VARIABLE).ok();
        if let Some(level) = level_from(value.as_deref()) {
            if log::set_logger(&StderrLog).is_ok() {
                log::set_max_level(level);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_read_as_documented() {
        assert_eq!(level_from(None), None);
        for off in ["", "0", "off", " OFF "] {
            assert_eq!(level_from(Some(off)), None, "{off:?}");
        }
        assert_eq!(level_from(Some("debug")), Some(LevelFilter::Debug));
        assert_eq!(level_from(Some("WARN")), Some(LevelFilter::Warn));
        assert_eq!(level_from(Some("1")), Some(LevelFilter::Info));
    }
}

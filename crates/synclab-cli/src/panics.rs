//! Panics turned into errors: a contender or a pool build that panics (a thread the system
//! refused, a broken invariant) becomes a message, printed once by the caller, instead of a
//! backtrace and an unwinding `main`.

use std::panic::AssertUnwindSafe;
use std::sync::Mutex;

/// Panic messages caught while a contender ran (any thread of it).
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Calls `f`, turning a panic into its message (and those of any thread that panicked
/// meanwhile).
pub fn catching<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    PANICS.lock().unwrap_or_else(|e| e.into_inner()).clear();
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(f));
    let mut messages = std::mem::take(&mut *PANICS.lock().unwrap_or_else(|e| e.into_inner()));
    match outcome {
        Ok(r) => Ok(r),
        Err(payload) => {
            if messages.is_empty() {
                messages.push(panic_text(payload.as_ref()));
            }
            messages.dedup();
            Err(messages.join("; "))
        }
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic with a non-text payload".into())
}

/// A panic hook, as `std::panic::take_hook` returns it.
type Hook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send>;

/// While alive, panics (on any thread) are recorded into [`PANICS`] instead of printed.
pub struct QuietPanics {
    previous: Option<Hook>,
}

impl QuietPanics {
    /// Installs the recording hook until the value is dropped.
    pub fn install() -> Self {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(|info| {
            let text = panic_text(info.payload());
            let at = info
                .location()
                .map(|l| format!(" (at {}:{})", l.file(), l.line()))
                .unwrap_or_default();
            PANICS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(format!("{text}{at}"));
        }));
        QuietPanics {
            previous: Some(previous),
        }
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            std::panic::set_hook(previous);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_call_is_an_error_with_its_message() {
        let _quiet = QuietPanics::install();
        let err =
            catching(|| -> u32 { panic!("failed to spawn thread: out of luck") }).unwrap_err();
        assert!(err.contains("failed to spawn thread: out of luck"), "{err}");
        // A panic on another thread joined inside the call is reported too.
        let err = catching(|| {
            std::thread::spawn(|| panic!("worker broke"))
                .join()
                .expect("a worker panicked")
        })
        .unwrap_err();
        assert!(err.contains("worker broke"), "{err}");
        assert_eq!(catching(|| 7), Ok(7));
    }
}

//! The one-slot queue behind ZMQ_CONFLATE: a write replaces whatever the
//! reader has not taken yet. Same wake-up contract as the ypipe: `flush`
//! returns `false` when the reader found the slot empty and must be woken.
//!
//! Shared by one writer and one reader thread through an `Arc`.

use crate::util::sync::Mutex;

struct State<T> {
    value: Option<T>,
    reader_asleep: bool,
}

/// A single-message slot shared by a writer and a reader.
pub struct Slot<T> {
    state: Mutex<State<T>>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot {
            state: Mutex::new(State {
                value: None,
                reader_asleep: false,
            }),
        }
    }
}

impl<T> Slot<T> {
    /// Replaces the pending value; the replaced one is dropped outside the lock.
    pub fn write(&self, value: T) {
        let old = self.state.lock().value.replace(value);
        drop(old);
    }

    /// Returns `false` when the reader must be woken.
    pub fn flush(&self) -> bool {
        let mut s = self.state.lock();
        if s.reader_asleep && s.value.is_some() {
            s.reader_asleep = false;
            return false;
        }
        true
    }

    /// Whether a value is waiting; marks the reader asleep if not.
    pub fn check_read(&self) -> bool {
        let mut s = self.state.lock();
        if s.value.is_none() {
            s.reader_asleep = true;
            return false;
        }
        true
    }

    /// Takes the waiting value.
    pub fn read(&self) -> Option<T> {
        let mut s = self.state.lock();
        let v = s.value.take();
        if v.is_none() {
            s.reader_asleep = true;
        }
        v
    }

    /// Applies `f` to the waiting value without taking it.
    pub fn probe(&self, f: impl FnOnce(&T) -> bool) -> bool {
        self.state.lock().value.as_ref().is_some_and(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_last() {
        let s = Slot::default();
        assert!(!s.check_read());
        s.write(1);
        s.write(2);
        assert!(!s.flush());
        assert!(s.flush());
        assert_eq!(s.read(), Some(2));
        assert_eq!(s.read(), None);
    }
}

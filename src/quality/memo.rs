//! A value worked out once for a key and kept for the next caller with the same key.

use std::sync::{Arc, Mutex, MutexGuard};

/// The last value made and the key it was made for. A value is made once: a caller that
/// asks while another makes it waits for that one (on a big project, two reports asked for
/// at once would each make a dataset of millions of labels, doubling the time and memory).
pub(crate) struct Memo<K, V>(Mutex<Option<(K, Arc<V>)>>);

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo(Mutex::new(None))
    }
}

impl<K: PartialEq, V> Memo<K, V> {
    fn lock(&self) -> MutexGuard<'_, Option<(K, Arc<V>)>> {
        // A panic while holding the lock leaves a plain option behind: still usable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value made for `key`: the kept one, or one made now by `make` and kept. The
    /// memo stays locked while `make` runs, so `make` must not ask this memo itself; callers
    /// run off the async runtime, where waiting blocks only their own thread.
    pub(crate) fn try_get_or_make<E>(
        &self,
        key: K,
        make: impl FnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, E> {
        let mut kept = self.lock();
        if let Some((_, value)) = kept.as_ref().filter(|(made_for, _)| *made_for == key) {
            return Ok(value.clone());
        }
        let value = Arc::new(make()?);
        *kept = Some((key, value.clone()));
        Ok(value)
    }

    /// [`Memo::try_get_or_make`] for a `make` that cannot fail.
    pub(crate) fn get_or_make(&self, key: K, make: impl FnOnce() -> V) -> Arc<V> {
        match self.try_get_or_make(key, || Ok::<V, std::convert::Infallible>(make())) {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    /// The kept value and its key, taken out.
    pub(crate) fn into_kept(self) -> Option<(K, Arc<V>)> {
        self.0.into_inner().unwrap_or_else(|e| e.into_inner())
    }

    /// The kept value, whatever its key.
    #[cfg(test)]
    pub(crate) fn kept(&self) -> Option<Arc<V>> {
        self.lock().as_ref().map(|(_, value)| value.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_asking_at_once_wait_for_the_one_value_being_made() {
        let memo = Memo::<&str, usize>::default();
        let made = std::sync::atomic::AtomicUsize::new(0);
        let started = std::sync::Barrier::new(4);
        let values: Vec<Arc<usize>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        started.wait();
                        memo.get_or_make("key", || {
                            // Long enough for the other callers to arrive meanwhile.
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            made.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                        })
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("caller"))
                .collect()
        });
        assert_eq!(made.into_inner(), 1, "made once for all four");
        assert!(values.iter().all(|v| Arc::ptr_eq(v, &values[0])));
    }

    #[test]
    fn a_value_is_made_once_per_key_and_the_last_key_is_kept() {
        let memo = Memo::<&str, String>::default();
        let mut made = 0;
        let mut make = |text: &str| {
            made += 1;
            text.to_uppercase()
        };
        let first = memo.get_or_make("a", || make("a"));
        let again = memo.get_or_make("a", || make("a"));
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(*memo.get_or_make("b", || make("b")), "B");
        assert_eq!(*memo.get_or_make("a", || make("a")), "A");
        assert_eq!(made, 3, "a, b, then a again once b took its place");
        let failed = memo.try_get_or_make("c", || Err::<String, &str>("no"));
        assert_eq!(failed, Err("no"));
        assert_eq!(
            memo.kept().as_deref().map(String::as_str),
            Some("A"),
            "a failure keeps nothing"
        );
    }
}

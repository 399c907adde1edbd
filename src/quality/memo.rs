//! A value worked out once for a key and kept for the next caller with the same key.

use std::sync::{Arc, Mutex, MutexGuard};

/// The last value made and the key it was made for. Two callers asking at once may both
/// make it; the one made last is kept.
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

    /// The value made for `key`: the kept one, or one made now by `make` and kept.
    pub(crate) fn try_get_or_make<E>(
        &self,
        key: K,
        make: impl FnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, E> {
        if let Some((_, value)) = self.lock().as_ref().filter(|(kept, _)| *kept == key) {
            return Ok(value.clone());
        }
        let value = Arc::new(make()?);
        *self.lock() = Some((key, value.clone()));
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

//! Node-local caches whose entries expire: resolved API keys and tenants'
//! clocks, each saving a store round trip per request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Values read from the store in the last `ttl`, by key (a zero `ttl`, the
/// default, keeps none).
#[derive(Debug)]
pub struct TtlCache<V> {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, V)>>,
}

impl<V> Default for TtlCache<V> {
    fn default() -> Self {
        TtlCache {
            ttl: Duration::ZERO,
            entries: Mutex::default(),
        }
    }
}

impl<V: Clone> TtlCache<V> {
    /// Most entries remembered; past it the cache starts over.
    const CAPACITY: usize = 10_000;

    pub fn new(ttl: Duration) -> Self {
        TtlCache {
            ttl,
            entries: Mutex::default(),
        }
    }

    /// The value put under `key` less than `ttl` ago.
    pub fn get(&self, key: &str) -> Option<V> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    pub fn put(&self, key: String, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= Self::CAPACITY {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), value));
    }

    /// Forgets `key` at once (a key revoked here, say), rather than when it expires.
    pub fn forget(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_ttl_keeps_nothing_and_a_value_is_kept_until_it_expires() {
        let kept = TtlCache::new(Duration::from_secs(60));
        kept.put("k".into(), 7);
        kept.forget("k");
        assert_eq!(kept.get("k"), None, "forgotten at once");
        let off = TtlCache::new(Duration::ZERO);
        off.put("a".into(), 1);
        assert_eq!(off.get("a"), None);
        let on = TtlCache::new(Duration::from_secs(3600));
        assert_eq!(on.get("a"), None);
        on.put("a".into(), Some(8));
        on.put("b".into(), None);
        assert_eq!((on.get("a"), on.get("b")), (Some(Some(8)), Some(None)));
        let expired = TtlCache::new(Duration::from_nanos(1));
        expired.put("a".into(), 1);
        std::thread::sleep(Duration::from_millis(1));
        assert_eq!(expired.get("a"), None);
    }

    #[test]
    fn past_its_capacity_the_cache_starts_over() {
        let c = TtlCache::new(Duration::from_secs(3600));
        for k in 0..TtlCache::<u8>::CAPACITY {
            c.put(k.to_string(), 0u8);
        }
        assert_eq!(c.get("0"), Some(0));
        c.put("new".into(), 1);
        assert_eq!((c.get("0"), c.get("new")), (None, Some(1)));
    }
}

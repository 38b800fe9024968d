//! One task at a time per key (a tenant, a dashboard view): a request that must have the
//! work done waits for the one doing it ([`Gates::of`] then `lock`), one that may skip it
//! tries and goes on (`try_lock`). A guard is released however its holder ends, a panic
//! included.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

pub(crate) struct Gates<K>(Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>);

impl<K> Default for Gates<K> {
    fn default() -> Self {
        Gates(Mutex::default())
    }
}

impl<K: Eq + Hash + Clone> Gates<K> {
    /// The gate of `key` (made on first use, kept: one per tenant or view).
    pub(crate) fn of(&self, key: &K) -> Arc<tokio::sync::Mutex<()>> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.clone())
            .or_default()
            .clone()
    }
}

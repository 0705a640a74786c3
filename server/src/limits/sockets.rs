//! How many sockets each account has open, so one account cannot hold unbounded
//! connections (each costs a task, a queue and buffers).
//!
//! Counted per server instance. A std `Mutex` is right here: the critical sections are
//! a map lookup and an add, never held across an `.await`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Open sockets per user id.
#[derive(Clone, Default)]
pub struct SocketSlots(Arc<Mutex<HashMap<i64, usize>>>);

/// One open socket of a user; dropping it frees the slot, however the socket ended
/// (or if the upgrade never completed).
pub struct SocketSlot {
    slots: SocketSlots,
    user_id: i64,
}

impl SocketSlots {
    /// Takes a slot for `user_id`, unless the user already has `limit` sockets open.
    pub fn acquire(&self, user_id: i64, limit: usize) -> Option<SocketSlot> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(user_id).or_insert(0);
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(SocketSlot {
            slots: self.clone(),
            user_id,
        })
    }

    /// Sockets `user_id` has open now.
    pub fn open(&self, user_id: i64) -> usize {
        let open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        open.get(&user_id).copied().unwrap_or(0)
    }

    /// Users with at least one socket open (an emptied entry is removed).
    pub fn users(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = self.slots.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.user_id) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.user_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_gets_at_most_the_limit_and_a_closed_socket_frees_its_slot() {
        let slots = SocketSlots::default();
        let a = slots.acquire(1, 2).unwrap();
        let _b = slots.acquire(1, 2).unwrap();
        assert!(slots.acquire(1, 2).is_none(), "third socket refused");
        assert!(slots.acquire(2, 2).is_some(), "other users unaffected");
        drop(a);
        assert_eq!(slots.open(1), 1);
        assert!(slots.acquire(1, 2).is_some(), "freed by the close");
        drop(_b);
        assert_eq!(slots.users(), 0, "no entry left for users with no sockets");
    }
}

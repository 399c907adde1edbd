//! SQL names and orderings that stand for domain values. They live here so that no SQL
//! leaves the store; each is a fixed string per variant, never user text.

use crate::domain::policy::{Order, Pool};

/// The items column holding how many more labels `pool` is wanted for.
pub fn need_column(pool: Pool) -> &'static str {
    match pool {
        Pool::Generalist => "need_generalist",
        Pool::Expert => "need_expert",
        Pool::User => "need_user",
    }
}

/// How open items (`i`) are ordered for hand-out under `order`. Each is the order of the
/// open items' partial index for that order, so that the first open item is found by
/// walking the index rather than by sorting every open item on each request (items without
/// a priority last, as `items_open_priority` holds them on PostgreSQL and as SQLite sorts a
/// descending column).
pub fn open_item_order(order: Order) -> &'static str {
    match order {
        Order::Import => "i.position",
        Order::Random => "i.random_key, i.position",
        Order::Priority => "i.priority DESC NULLS LAST, i.position",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pool_has_its_own_column() {
        let columns: std::collections::BTreeSet<_> =
            Pool::ALL.iter().map(|&p| need_column(p)).collect();
        assert_eq!(columns.len(), Pool::ALL.len());
    }

    #[test]
    fn every_order_ends_on_position_so_ties_are_stable() {
        for order in [Order::Import, Order::Random, Order::Priority] {
            assert!(open_item_order(order).ends_with("i.position"), "{order:?}");
        }
    }
}

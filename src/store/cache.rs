//! The rows every request reads and rarely changes — a token's user, a signed-in user, a
//! project, a rater's membership of a project — kept in memory by each process.
//!
//! The database holds a generation number that triggers move in the same transaction as any
//! change to those rows (migration `cache_generation`). A process reads it again when its
//! last reading is older than `MAX_AGE`, or at once after it made a change itself
//! (`expire`), and drops everything it kept when the number moved. So a change made by
//! this process shows on its very next request, and one made by another process (a second
//! server on the same PostgreSQL, the command line) within `MAX_AGE`. Misses are never kept:
//! a new token or project is found on first use.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{on_pool, Store};
use crate::domain::gate::Membership;
use crate::domain::project::Project;
use crate::domain::user::User;
use crate::error::{AppError, Result};

/// How long a reading of the generation is trusted for changes made by other processes.
const MAX_AGE: Duration = Duration::from_millis(25);

/// Entries kept per kind; past it a kind starts over (a bound, not an eviction policy:
/// a working set this large is rare and refills in one request per entry).
const MAX_ENTRIES: usize = 20_000;

#[derive(Debug, Default)]
pub struct Caches {
    state: Mutex<State>,
    pub(super) snapshots: super::snapshots::Snapshots,
    pub(super) report_input: super::kept_input::KeptInput,
}

#[derive(Debug, Default)]
struct State {
    /// The generation the entries belong to; `None` before the first reading.
    generation: Option<i64>,
    checked: Checked,
    users_by_token: HashMap<String, User>,
    users_by_id: HashMap<i64, User>,
    projects: HashMap<i64, Project>,
    memberships: HashMap<(i64, i64), Membership>,
}

#[derive(Debug, Default, Clone, Copy)]
enum Checked {
    /// Read the generation before trusting any entry.
    #[default]
    Now,
    /// Last read (or claimed for reading) at this instant.
    At(Instant),
}

/// One of the kept maps: its key and its rows.
trait Slot {
    type Key: Eq + Hash;
    type Value: Clone;
    fn map(state: &mut State) -> &mut HashMap<Self::Key, Self::Value>;
}

macro_rules! slots {
    ($($(#[$doc:meta])* $slot:ident: $key:ty => $value:ty, $field:ident;)*) => {$(
        $(#[$doc])*
        struct $slot;
        impl Slot for $slot {
            type Key = $key;
            type Value = $value;
            fn map(state: &mut State) -> &mut HashMap<$key, $value> {
                &mut state.$field
            }
        }
    )*};
}

slots! {
    /// Users by the hash of a bearer token.
    UsersByToken: String => User, users_by_token;
    /// Signed-in users by id.
    UsersById: i64 => User, users_by_id;
    Projects: i64 => Project, projects;
    /// Memberships by (project, rater).
    Memberships: (i64, i64) => Membership, memberships;
}

impl Caches {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain maps behind: still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forget the last reading: this process changed something the entries may hold.
    pub fn expire(&self) {
        self.lock().checked = Checked::Now;
    }

    /// Whether the generation must be read now. A stale reading is claimed by the first
    /// request to notice, so one request per `MAX_AGE` reads it, not every request at once.
    fn must_check(&self) -> bool {
        let mut state = self.lock();
        match state.checked {
            Checked::Now => true,
            Checked::At(at) if at.elapsed() >= MAX_AGE => {
                state.checked = Checked::At(Instant::now());
                true
            }
            Checked::At(_) => false,
        }
    }

    fn observe(&self, generation: i64, read_at: Instant) {
        let mut state = self.lock();
        if state.generation != Some(generation) {
            state.users_by_token.clear();
            state.users_by_id.clear();
            state.projects.clear();
            state.memberships.clear();
            state.generation = Some(generation);
        }
        state.checked = Checked::At(read_at);
    }

    fn generation(&self) -> Option<i64> {
        self.lock().generation
    }

    fn get<S: Slot>(&self, key: &S::Key) -> Option<S::Value> {
        S::map(&mut self.lock()).get(key).cloned()
    }

    /// Keeps a row read while the generation was `seen`, unless it has moved since: the row
    /// may predate the change that moved it.
    fn put<S: Slot>(&self, seen: Option<i64>, key: S::Key, value: S::Value) {
        let mut state = self.lock();
        if seen.is_none() || state.generation != seen {
            return;
        }
        let map = S::map(&mut state);
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, value);
    }
}

impl Store {
    pub fn caches(&self) -> &Caches {
        match self {
            Store::Sqlite(backend) => &backend.caches,
            Store::Postgres(backend) => &backend.caches,
        }
    }

    /// Reads the generation when the last reading is too old; returns the generation the
    /// kept entries belong to.
    async fn fresh_generation(&self) -> Result<Option<i64>> {
        let caches = self.caches();
        if caches.must_check() {
            let read_at = Instant::now();
            let read: std::result::Result<i64, sqlx::Error> = on_pool!(self, pool => {
                sqlx::query_scalar("SELECT value FROM cache_generation WHERE id = 1")
                    .fetch_one(pool)
                    .await
            });
            match read {
                Ok(generation) => caches.observe(generation, read_at),
                Err(e) => {
                    caches.expire();
                    return Err(e.into());
                }
            }
        }
        Ok(caches.generation())
    }

    /// A kept row, or `load`'s answer kept for the next request.
    async fn kept<S: Slot>(
        &self,
        key: S::Key,
        load: impl std::future::Future<Output = Result<Option<S::Value>>>,
    ) -> Result<Option<S::Value>> {
        let seen = self.fresh_generation().await?;
        if let Some(value) = self.caches().get::<S>(&key) {
            return Ok(Some(value));
        }
        let value = load.await?;
        if let Some(value) = &value {
            self.caches().put::<S>(seen, key, value.clone());
        }
        Ok(value)
    }

    /// `user_by_token_hash`, kept.
    pub async fn cached_user_by_token_hash(&self, token_hash: &str) -> Result<Option<User>> {
        self.kept::<UsersByToken>(token_hash.to_string(), self.user_by_token_hash(token_hash))
            .await
    }

    /// `signed_in_user`, kept.
    pub async fn cached_signed_in_user(&self, id: i64) -> Result<Option<User>> {
        self.kept::<UsersById>(id, self.signed_in_user(id)).await
    }

    /// `project`, kept.
    pub async fn cached_project(&self, id: i64) -> Result<Project> {
        let load = async { self.project(id).await.map(Some) };
        self.kept::<Projects>(id, load)
            .await?
            .ok_or_else(|| AppError::not_found("project"))
    }

    /// `membership`, kept.
    pub async fn cached_membership(&self, project_id: i64, rater_id: i64) -> Result<Membership> {
        let load = async { self.membership(project_id, rater_id).await.map(Some) };
        self.kept::<Memberships>((project_id, rater_id), load)
            .await?
            .ok_or_else(|| AppError::not_found("project"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(names_rater: bool) -> Membership {
        Membership {
            pools: Vec::new(),
            names_anyone: true,
            names_rater,
        }
    }

    #[test]
    fn a_moved_generation_drops_every_entry() {
        let caches = Caches::default();
        caches.observe(1, Instant::now());
        caches.put::<Memberships>(Some(1), (1, 2), member(true));
        assert!(caches.get::<Memberships>(&(1, 2)).is_some());
        caches.observe(1, Instant::now());
        assert!(
            caches.get::<Memberships>(&(1, 2)).is_some(),
            "same generation keeps"
        );
        caches.observe(2, Instant::now());
        assert!(caches.get::<Memberships>(&(1, 2)).is_none());
    }

    #[test]
    fn a_row_read_before_the_generation_moved_is_not_kept() {
        let caches = Caches::default();
        caches.observe(1, Instant::now());
        let seen = caches.generation();
        caches.observe(2, Instant::now());
        caches.put::<Memberships>(seen, (1, 2), member(true));
        assert!(caches.get::<Memberships>(&(1, 2)).is_none());
    }

    #[test]
    fn nothing_is_kept_before_the_first_reading() {
        let caches = Caches::default();
        caches.put::<Memberships>(None, (1, 2), member(false));
        assert!(caches.get::<Memberships>(&(1, 2)).is_none());
    }

    #[test]
    fn expiry_forces_a_reading_and_a_fresh_reading_is_trusted() {
        let caches = Caches::default();
        assert!(caches.must_check(), "no reading yet");
        caches.observe(1, Instant::now());
        assert!(!caches.must_check(), "just read");
        caches.expire();
        assert!(caches.must_check(), "expired by a local change");
        caches.observe(1, Instant::now() - MAX_AGE);
        assert!(caches.must_check(), "too old");
        assert!(
            !caches.must_check(),
            "the first to notice claims the reading"
        );
    }
}

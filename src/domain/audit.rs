//! The audit log's entries: what an admin or reviewer did, to what, with before and after.

use serde::Serialize;
use serde_json::Value;

/// Declares the actions with their stored names in one list, so the enum, its names and the
/// list of all of them cannot drift apart.
macro_rules! actions {
    ($($variant:ident => $name:literal,)*) => {
        /// Everything the audit log records. The names are the `action` values stored and
        /// served, so they never change once released.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Action {
            $($variant,)*
        }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }
        }
    };
}

actions! {
    ProjectCreated => "project.created",
    ProjectUpdated => "project.updated",
    ProjectArchived => "project.archived",
    ProjectRestored => "project.restored",
    ProjectCloned => "project.cloned",
    GuidelinesUpdated => "guidelines.updated",
    ItemsImported => "items.imported",
    ItemReleased => "item.released",
    LabelAdjudicated => "label.adjudicated",
    ExportCreated => "export.created",
    RaterPaused => "rater.paused",
    RaterResumed => "rater.resumed",
    MemberAdded => "member.added",
    MemberRemoved => "member.removed",
    MemberPoolsChanged => "member_pools.changed",
    ReviewerAdded => "reviewer.added",
    ReviewerRemoved => "reviewer.removed",
    UserCreated => "user.created",
    UserInvited => "user.invited",
    UserUpdated => "user.updated",
    PasswordReset => "user.password_reset",
    UserDeactivated => "user.deactivated",
    UserReactivated => "user.reactivated",
    UserErased => "user.erased",
    TokenCreated => "token.created",
    TokenRevoked => "token.revoked",
    FeedbackKeyCreated => "feedback_key.created",
    FeedbackKeyRevoked => "feedback_key.revoked",
    LinkSecretRotated => "link_secret.rotated",
    OpenLinkRotated => "open_link.rotated",
    WebhookCreated => "webhook.created",
    WebhookDeleted => "webhook.deleted",
    PoolRatesChanged => "pool_rates.changed",
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Where an action came from: a client's address, or the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Address(String),
    Cli,
    Unknown,
}

impl Source {
    pub fn as_stored(&self) -> Option<&str> {
        match self {
            Source::Address(addr) => Some(addr),
            Source::Cli => Some("cli"),
            Source::Unknown => None,
        }
    }
}

/// One entry, as an action hands it to the store.
#[derive(Debug, Clone)]
pub struct Entry {
    pub actor_id: Option<i64>,
    pub action: Action,
    pub project_id: Option<i64>,
    /// What was acted on, as `kind:id`.
    pub target: Option<String>,
    pub details: Value,
    pub source: Source,
}

impl Entry {
    pub fn new(actor_id: i64, action: Action, source: Source) -> Self {
        Entry {
            actor_id: Some(actor_id),
            action,
            project_id: None,
            target: None,
            details: Value::Object(Default::default()),
            source,
        }
    }

    /// An entry made by the command line, where nobody signs in: `actor_id` names the
    /// account the command acts for, if any.
    pub fn from_cli(actor_id: Option<i64>, action: Action) -> Self {
        Entry {
            actor_id,
            ..Entry::new(0, action, Source::Cli)
        }
    }

    pub fn project(mut self, project_id: i64) -> Self {
        self.project_id = Some(project_id);
        self
    }

    /// What was acted on: `target("user", 12)` is `user:12`.
    pub fn target(mut self, kind: &str, id: i64) -> Self {
        self.target = Some(format!("{kind}:{id}"));
        self
    }

    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// Records what changed as `{"before": .., "after": ..}`, keeping only the keys whose
    /// values differ, so an entry says what the action changed and nothing else.
    pub fn changes(mut self, before: &Value, after: &Value) -> Self {
        let (before, after) = changed_keys(before, after);
        self.details = serde_json::json!({ "before": before, "after": after });
        self
    }
}

/// The keys of two JSON objects whose values differ, on each side. Values that are not both
/// objects are returned whole.
pub fn changed_keys(before: &Value, after: &Value) -> (Value, Value) {
    let (Value::Object(b), Value::Object(a)) = (before, after) else {
        return (before.clone(), after.clone());
    };
    let mut old = serde_json::Map::new();
    let mut new = serde_json::Map::new();
    for key in b.keys().chain(a.keys()) {
        let (was, now) = (b.get(key), a.get(key));
        if was != now {
            old.insert(key.clone(), was.cloned().unwrap_or(Value::Null));
            new.insert(key.clone(), now.cloned().unwrap_or(Value::Null));
        }
    }
    (Value::Object(old), Value::Object(new))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn action_names_are_unique() {
        let mut names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
    }

    #[test]
    fn changes_keep_only_what_differs() {
        let entry = Entry::new(1, Action::ProjectUpdated, Source::Cli).changes(
            &json!({"name": "a", "overlap": 3, "gone": true}),
            &json!({"name": "b", "overlap": 3, "new": 1}),
        );
        assert_eq!(
            entry.details,
            json!({
                "before": {"name": "a", "gone": true, "new": null},
                "after": {"name": "b", "gone": null, "new": 1},
            })
        );
    }
}

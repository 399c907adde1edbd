//! Users, roles and pools.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::Invalid;

/// What a user may do: admins run projects, raters label, reviewers settle items and set
/// their final labels (on every project; a rater can also be named a reviewer of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Rater,
    Reviewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Rater => "rater",
            Role::Reviewer => "reviewer",
        }
    }
}

impl FromStr for Role {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        match s {
            "admin" => Ok(Role::Admin),
            "rater" => Ok(Role::Rater),
            "reviewer" => Ok(Role::Reviewer),
            other => Err(Invalid::new(
                "role",
                format!("unknown role {other:?}: use admin, rater or reviewer"),
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signed-in person or API client. `Debug` never shows secrets: the type holds none.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub pool: super::policy::Pool,
    pub expertise: Vec<String>,
    /// Stable pseudonymous id used in exports instead of the name.
    pub pseudonym: String,
    /// A user-pool account made by a project's link works on that project only.
    pub scope_project: Option<i64>,
}

impl User {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether this rater has every expertise tag a project asks for.
    pub fn has_expertise(&self, wanted: &[String]) -> bool {
        wanted.iter().all(|tag| self.expertise.contains(tag))
    }
}

/// Checks a user name: 1 to 100 characters of letters, digits, `.`, `_`, `-` or `@`.
pub fn validate_name(name: &str) -> Result<(), Invalid> {
    let ok_char = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Invalid::new("name", "must be 1 to 100 characters"));
    }
    if !name.chars().all(ok_char) {
        return Err(Invalid::new(
            "name",
            "may hold only letters, digits and . _ - @",
        ));
    }
    Ok(())
}

/// Most expertise tags one rater or project may carry.
pub const MAX_TAGS: usize = 20;

/// Splits comma-separated tags as typed in a form.
pub fn split_tags(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect()
}

/// Checks expertise tags: at most [`MAX_TAGS`], each 1 to 50 characters without commas,
/// trimmed and without repeats.
pub fn validate_tags(field: &str, tags: &[String]) -> Result<Vec<String>, Invalid> {
    if tags.len() > MAX_TAGS {
        return Err(Invalid::new(field, format!("give at most {MAX_TAGS} tags")));
    }
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        let tag = tag.trim();
        if tag.is_empty() || tag.contains(',') {
            return Err(Invalid::new(
                field,
                "tags must be non-empty and hold no commas",
            ));
        }
        super::text::check_text(field, tag, super::text::MAX_TAG_CHARS)?;
        if !out.iter().any(|t| t == tag) {
            out.push(tag.to_string());
        }
    }
    Ok(out)
}

/// Checks a password chosen by a person: long enough to resist guessing.
pub fn validate_password(password: &str) -> Result<(), Invalid> {
    if password.chars().count() < 10 {
        return Err(Invalid::new("password", "must be at least 10 characters"));
    }
    if password.len() > 1024 {
        return Err(Invalid::new("password", "must be at most 1024 bytes"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(validate_name("alice").is_ok());
        assert!(validate_name("a.b-c_d@x").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name("with space").is_err());
        assert!(validate_name("<script>").is_err());
    }

    #[test]
    fn roles_parse() {
        assert_eq!("admin".parse::<Role>().unwrap(), Role::Admin);
        assert!("root".parse::<Role>().is_err());
    }
}

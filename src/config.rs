//! Typed settings of a running server.

/// How a server behaves; built from the command line and the environment.
#[derive(Clone, Debug)]
pub struct Config {
    /// Requests with larger bodies get 413.
    pub max_body_bytes: usize,
    /// Mark the session cookie `Secure` (set when tally is served over HTTPS).
    pub secure_cookies: bool,
    /// Days of inactivity after which a browser session ends.
    pub session_days: i64,
    /// Labels per minute one of the product's users may give through a user link.
    pub user_labels_per_minute: u32,
    /// New identities per hour one IP address may take through an open link.
    pub open_identities_per_hour: u32,
    /// Sign-in attempts one account name may make at once before it must wait (one more a
    /// minute after that); an address gets three times as many.
    pub login_burst_per_account: u32,
    /// Proxies whose `X-Forwarded-For` names the client for rate limits.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Minutes an admin's browser session may sit idle before it ends.
    pub admin_idle_minutes: i64,
    /// Largest uploaded image; larger ones get 413. Requests stay within `max_body_bytes`.
    pub max_media_bytes: usize,
    /// A bearer token that may read `/metrics` (admins always may).
    pub metrics_token: Option<Secret>,
}

/// A setting that must not show in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

impl Default for Config {
    fn default() -> Self {
        Config {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            secure_cookies: false,
            session_days: 7,
            user_labels_per_minute: 30,
            open_identities_per_hour: 20,
            login_burst_per_account: 10,
            trusted_proxies: Vec::new(),
            admin_idle_minutes: 120,
            max_media_bytes: crate::domain::media::DEFAULT_MAX_MEDIA_BYTES,
            metrics_token: None,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_metrics_token_is_not_in_debug_output() {
        let config = super::Config {
            metrics_token: Some(super::Secret("scrape-me-secret".into())),
            ..super::Config::default()
        };
        assert!(!format!("{config:?}").contains("scrape-me-secret"));
    }
}

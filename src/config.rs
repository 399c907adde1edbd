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
        }
    }
}

//! The benches' settings, read from the environment.

/// The environment variable `name` parsed, or `default` when it is unset or does not parse.
pub fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

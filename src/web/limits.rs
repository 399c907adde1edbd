//! Rate limits, kept in memory per process: sign-in attempts per account and per address,
//! and for the product's users (who arrive without accounts made by an admin) labels per
//! identity and per address and new identities per address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Config;
use crate::error::{AppError, Result};

pub struct Limits {
    labels_per_identity: DefaultKeyedRateLimiter<i64>,
    labels_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    identities_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    logins_per_account: DefaultKeyedRateLimiter<String>,
    logins_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    trusted_proxies: Vec<IpAddr>,
}

/// One address may carry this many identities' worth of labels (a shared office network).
const IDENTITIES_PER_ADDRESS: u32 = 10;

fn at_least_one(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

/// `burst` attempts at once, then one more every `every`.
fn burst_then_every(burst: u32, every: Duration) -> Quota {
    Quota::with_period(every)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(at_least_one(burst))
}

/// Checks one key of a limiter; over the limit is 429 with the seconds until the next pass.
fn check<K: std::hash::Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
    message: &str,
) -> Result<()> {
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        AppError::TooManyRequests {
            message: message.to_string(),
            retry_after: wait.as_secs().max(1),
        }
    })
}

impl Limits {
    pub fn new(config: &Config) -> Self {
        Limits {
            labels_per_identity: RateLimiter::keyed(Quota::per_minute(at_least_one(
                config.user_labels_per_minute,
            ))),
            labels_per_ip: RateLimiter::keyed(Quota::per_minute(at_least_one(
                config
                    .user_labels_per_minute
                    .saturating_mul(IDENTITIES_PER_ADDRESS),
            ))),
            identities_per_ip: RateLimiter::keyed(Quota::per_hour(at_least_one(
                config.open_identities_per_hour,
            ))),
            logins_per_account: RateLimiter::keyed(burst_then_every(
                config.login_burst_per_account,
                Duration::from_secs(60),
            )),
            logins_per_ip: RateLimiter::keyed(burst_then_every(
                config.login_burst_per_account.saturating_mul(3),
                Duration::from_secs(10),
            )),
            trusted_proxies: config.trusted_proxies.clone(),
        }
    }

    /// Labels from the product's users: limited per identity and per address.
    pub fn check_label(&self, user_id: i64, ip: IpAddr) -> Result<()> {
        let message = "too many labels in a short time; wait a minute";
        check(&self.labels_per_identity, &user_id, message)?;
        check(&self.labels_per_ip, &ip, message)
    }

    pub fn check_new_identity(&self, ip: IpAddr) -> Result<()> {
        check(
            &self.identities_per_ip,
            &ip,
            "too many new visitors from this address; try later",
        )
    }

    /// A sign-in attempt, limited per account name (whether or not it exists, so the limit
    /// tells nothing about which accounts exist) and per address.
    pub fn check_login(&self, name: &str, ip: IpAddr) -> Result<()> {
        let message = "too many sign-in attempts; wait before trying again";
        let account: String = name.trim().to_lowercase().chars().take(100).collect();
        check(&self.logins_per_ip, &ip, message)?;
        check(&self.logins_per_account, &account, message)
    }

    /// Forgets keys whose limits have fully recovered, so the maps do not grow forever.
    pub fn prune(&self) {
        self.labels_per_identity.retain_recent();
        self.labels_per_ip.retain_recent();
        self.identities_per_ip.retain_recent();
        self.logins_per_account.retain_recent();
        self.logins_per_ip.retain_recent();
        self.labels_per_identity.shrink_to_fit();
        self.labels_per_ip.shrink_to_fit();
        self.identities_per_ip.shrink_to_fit();
        self.logins_per_account.shrink_to_fit();
        self.logins_per_ip.shrink_to_fit();
    }

    /// Keys held now, across every limiter (for tests and metrics).
    pub fn tracked_keys(&self) -> usize {
        self.labels_per_identity.len()
            + self.labels_per_ip.len()
            + self.identities_per_ip.len()
            + self.logins_per_account.len()
            + self.logins_per_ip.len()
    }

    /// The client's address: the peer, or, when the peer is a trusted proxy, the nearest
    /// address in `X-Forwarded-For` that is not itself a trusted proxy.
    pub fn client_ip(&self, parts: &Parts) -> IpAddr {
        let peer = peer_ip(parts);
        if !self.trusted_proxies.contains(&peer) {
            return peer;
        }
        forwarded_for(parts)
            .into_iter()
            .rev()
            .find(|ip| !self.trusted_proxies.contains(ip))
            .unwrap_or(peer)
    }
}

/// The addresses of `X-Forwarded-For`, leftmost (the original client) first; unparsable
/// entries end the list, since nothing before them can be trusted.
fn forwarded_for(parts: &Parts) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for value in parts.headers.get_all("x-forwarded-for") {
        let Ok(text) = value.to_str() else {
            return Vec::new();
        };
        for entry in text.split(',') {
            match entry.trim().parse::<IpAddr>() {
                Ok(ip) => out.push(ip),
                Err(_) => return Vec::new(),
            }
        }
    }
    out
}

/// The peer address of a request (loopback when the server was started without it).
fn peer_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(peer: &str, forwarded: Option<&str>) -> Parts {
        let mut builder = Request::builder().uri("/");
        if let Some(f) = forwarded {
            builder = builder.header("x-forwarded-for", f);
        }
        let (mut parts, _) = builder.body(()).unwrap().into_parts();
        let addr: SocketAddr = format!("{peer}:4000").parse().unwrap();
        parts.extensions.insert(ConnectInfo(addr));
        parts
    }

    fn limits(trusted: &[&str]) -> Limits {
        Limits::new(&Config {
            trusted_proxies: trusted.iter().map(|t| t.parse().unwrap()).collect(),
            ..Config::default()
        })
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let open = limits(&[]);
        let spoofed = parts("203.0.113.9", Some("1.2.3.4"));
        assert_eq!(
            open.client_ip(&spoofed),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        let behind = limits(&["10.0.0.2"]);
        let proxied = parts("10.0.0.2", Some("1.2.3.4, 198.51.100.7"));
        assert_eq!(
            behind.client_ip(&proxied),
            "198.51.100.7".parse::<IpAddr>().unwrap(),
            "the address the trusted proxy saw, not what the client claims"
        );
        let junk = parts("10.0.0.2", Some("not-an-ip"));
        assert_eq!(
            behind.client_ip(&junk),
            "10.0.0.2".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn sign_ins_are_limited_per_account_with_a_retry_time_and_pruned_later() {
        let limits = limits(&[]);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..Config::default().login_burst_per_account {
            limits.check_login("Alice", ip).unwrap();
        }
        match limits.check_login(" alice ", ip) {
            Err(AppError::TooManyRequests { retry_after, .. }) => assert!(retry_after >= 1),
            other => panic!("expected 429, got {other:?}"),
        }
        assert!(
            limits.check_login("bob", ip).is_ok(),
            "other accounts go on"
        );
        assert!(limits.tracked_keys() >= 2);
        limits.prune();
        assert!(limits.tracked_keys() >= 2, "recent keys are kept");
    }
}

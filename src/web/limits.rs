//! Rate limits for the product's users, who arrive without accounts made by an admin: per
//! identity for labels, per IP address for new identities. Kept in memory, per process.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Config;
use crate::error::{AppError, Result};

pub struct Limits {
    labels_per_identity: DefaultKeyedRateLimiter<i64>,
    labels_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    identities_per_ip: DefaultKeyedRateLimiter<IpAddr>,
}

/// One address may carry this many identities' worth of labels (a shared office network).
const IDENTITIES_PER_ADDRESS: u32 = 10;

fn at_least_one(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
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
        }
    }

    /// Labels from the product's users: limited per identity and per address.
    pub fn check_label(&self, user_id: i64, ip: IpAddr) -> Result<()> {
        let too_many =
            || AppError::TooManyRequests("too many labels in a short time; wait a minute".into());
        self.labels_per_identity
            .check_key(&user_id)
            .map_err(|_| too_many())?;
        self.labels_per_ip.check_key(&ip).map_err(|_| too_many())
    }

    pub fn check_new_identity(&self, ip: IpAddr) -> Result<()> {
        self.identities_per_ip.check_key(&ip).map_err(|_| {
            AppError::TooManyRequests("too many new visitors from this address; try later".into())
        })
    }
}

/// The peer address of a request (loopback when the server was started without it).
pub fn client_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

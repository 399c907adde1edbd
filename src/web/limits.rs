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
    identities_per_ip: DefaultKeyedRateLimiter<IpAddr>,
}

fn at_least_one(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

impl Limits {
    pub fn new(config: &Config) -> Self {
        Limits {
            labels_per_identity: RateLimiter::keyed(Quota::per_minute(at_least_one(
                config.user_labels_per_minute,
            ))),
            identities_per_ip: RateLimiter::keyed(Quota::per_hour(at_least_one(
                config.open_identities_per_hour,
            ))),
        }
    }

    pub fn check_label(&self, user_id: i64) -> Result<()> {
        self.labels_per_identity.check_key(&user_id).map_err(|_| {
            AppError::TooManyRequests("too many labels in a short time; wait a minute".into())
        })
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

//! Per-client-IP limits on the routes anyone may call without a session (sign-in,
//! sign-up, session refresh, the GitHub webhook), and the client IP they key on.
//!
//! Sign-in costs an argon2 verification on purpose, so one client looping over it would
//! keep every core busy; these limits stop that before the handler runs. The client is
//! the TCP peer, unless that peer is a configured proxy: only then is
//! `X-Forwarded-For` believed, read from the right, past every trusted hop.
//!
//! Which route is in which class is the HTTP layer's to say (`routes::client_limits`);
//! [`sockets`] caps the sockets each account holds open.

pub mod sockets;

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock, QuantaInstant};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http::HeaderMap;
use ipnet::IpNet;

use crate::config::{IpLimitSettings, Rate};
use crate::error::ApiError;

/// The classes of unauthenticated route, each with its own limit per client IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteClass {
    /// Sign-in and sign-up, over the JSON API or the pages' forms.
    SignIn,
    Refresh,
    Webhook,
}

/// One keyed limiter per [`RouteClass`]. Entries are dropped by [`IpLimits::prune`] once
/// their bucket has refilled, so memory follows recent clients, not every client ever.
pub struct IpLimits {
    sign_in: DefaultKeyedRateLimiter<IpAddr>,
    refresh: DefaultKeyedRateLimiter<IpAddr>,
    webhook: DefaultKeyedRateLimiter<IpAddr>,
}

pub fn quota(rate: Rate) -> Quota {
    let per_minute = NonZeroU32::new(rate.per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(rate.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(per_minute).allow_burst(burst)
}

impl IpLimits {
    pub fn new(settings: &IpLimitSettings) -> IpLimits {
        IpLimits {
            sign_in: RateLimiter::keyed(quota(settings.sign_in)),
            refresh: RateLimiter::keyed(quota(settings.refresh)),
            webhook: RateLimiter::keyed(quota(settings.webhook)),
        }
    }

    fn limiter(&self, class: RouteClass) -> &DefaultKeyedRateLimiter<IpAddr> {
        match class {
            RouteClass::SignIn => &self.sign_in,
            RouteClass::Refresh => &self.refresh,
            RouteClass::Webhook => &self.webhook,
        }
    }

    /// Counts one request of `class` from `ip`; refused with the seconds to wait.
    pub fn check(&self, class: RouteClass, ip: IpAddr) -> Result<(), ApiError> {
        self.limiter(class).check_key(&ip).map_err(refused)
    }

    /// Forgets clients whose buckets have refilled.
    pub fn prune(&self) {
        for limiter in [&self.sign_in, &self.refresh, &self.webhook] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// Clients currently remembered, over all classes.
    pub fn len(&self) -> usize {
        self.sign_in.len() + self.refresh.len() + self.webhook.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A limiter's refusal as the error that says how long to wait (at least a second).
pub fn refused(not_until: governor::NotUntil<QuantaInstant>) -> ApiError {
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    ApiError::RateLimited {
        retry_after_secs: wait.as_secs().max(1),
    }
}

/// The client's address: the TCP peer, or, when the peer is a trusted proxy, the
/// right-most address in `X-Forwarded-For` that is not itself a trusted proxy (entries
/// further left were written by the client and prove nothing). An entry that is not an
/// address stops the walk at the last trusted hop: skipping it would let a client's own
/// entry further left stand in for it.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut last_trusted = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            return last_trusted;
        };
        if !is_trusted(&ip) {
            return ip;
        }
        last_trusted = ip;
    }
    last_trusted
}

/// An `X-Forwarded-For` entry: an address, with or without a port (`1.2.3.4:80`,
/// `[2001:db8::1]:443`, `[2001:db8::1]`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Ok(addr) = hop.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    hop.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", value.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_headers_count_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted: Vec<IpNet> = vec!["10.0.0.0/24".parse().unwrap()];
        let headers = forwarded("6.6.6.6, 203.0.113.7, 10.0.0.9");
        // Not configured: the peer is the client, whatever the header says.
        assert_eq!(client_ip(proxy, &headers, &[]), proxy);
        // From the proxy: the right-most hop that is not a proxy; the spoofed left-most
        // entry is ignored.
        assert_eq!(
            client_ip(proxy, &headers, &trusted),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        // A client that is not the proxy cannot claim another address.
        let stranger: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(client_ip(stranger, &headers, &trusted), stranger);
        // No header from the proxy: the proxy itself.
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy);
        // Ports and brackets are read; an entry that is no address stops the walk
        // instead of letting the spoofed entry to its left through.
        assert_eq!(
            client_ip(proxy, &forwarded("6.6.6.6, 203.0.113.7:4711"), &trusted),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(proxy, &forwarded("6.6.6.6, [2001:db8::1]:443"), &trusted),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(proxy, &forwarded("6.6.6.6, unknown"), &trusted),
            proxy
        );
        assert_eq!(
            client_ip(proxy, &forwarded("6.6.6.6, unknown, 10.0.0.9"), &trusted),
            "10.0.0.9".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_limiter_forgets_a_client_once_its_bucket_refills() {
        let clock = governor::clock::FakeRelativeClock::default();
        let quota = quota(Rate {
            per_minute: 60,
            burst: 2,
        });
        let limiter = RateLimiter::dashmap_with_clock(quota, clock.clone());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(limiter.check_key(&ip).is_ok());
        assert!(limiter.check_key(&ip).is_ok());
        assert!(limiter.check_key(&ip).is_err(), "the burst is spent");
        limiter.retain_recent();
        assert_eq!(limiter.len(), 1, "still limited: remembered");
        clock.advance(std::time::Duration::from_secs(10));
        limiter.retain_recent();
        assert_eq!(limiter.len(), 0, "refilled: forgotten");
    }
}

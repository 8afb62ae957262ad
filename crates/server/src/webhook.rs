//! Webhook deliveries: the signature, the address check, and one `POST`.
//!
//! Each attempt resolves the target's host itself and connects only to
//! addresses it accepts, so a name that resolves to a loopback, private or
//! link-local address (or changes its answer between a check and the
//! connection) cannot make contactsd reach inside its own network, unless
//! the operator sets `webhook_allow_private`. hyper's HTTP/1 client (with
//! rustls for `https`): an import webhook's attempt opens a connection of
//! its own; subscription deliveries share the kept connections of a
//! [`Pool`].

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rocket::http::uri::Absolute;
use rocket::tokio::io::{AsyncRead, AsyncWrite};
use rocket::tokio::net::TcpStream;
use sha2::Sha256;
use tokio_rustls::rustls;

use crate::db::imports::AttemptOutcome;

/// The header that carries the signature.
pub(crate) const SIGNATURE_HEADER: &str = "X-Contactsd-Signature";
/// How long one attempt may take, from resolving to the answer's status.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with the
/// organization's webhook secret (the whole `whsec_…` text); during the 24
/// hours after a rotation, a second `v1=` keyed with the secret it replaced
/// (as Stripe signs during a rotation).
pub(crate) fn signatures(
    secret: &str,
    previous: Option<&str>,
    unix_seconds: i64,
    body: &[u8],
) -> String {
    let mut header = signature(secret, unix_seconds, body);
    if let Some(previous) = previous {
        let old = signature(previous, unix_seconds, body);
        if let Some((_, v1)) = old.split_once(',') {
            header.push(',');
            header.push_str(v1);
        }
    }
    header
}

/// One signature: `t=…,v1=…` keyed with `secret`.
pub(crate) fn signature(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex = mac
        .finalize()
        .into_bytes()
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        });
    format!("t={unix_seconds},v1={hex}")
}

/// The wait after failed attempt `attempt` (from 1): 2 s, 6 s, 18 s, 54 s.
pub(crate) fn retry_in_ms(attempt: i64) -> i64 {
    // Clamped to 0..=9, the exponent always fits.
    let exponent = u32::try_from(attempt.clamp(1, 10) - 1).unwrap_or(0);
    2_000 * 3i64.pow(exponent)
}

/// Whether `ip` is an address on the public internet: not loopback,
/// private, link-local, unique-local, shared (CGNAT), unspecified,
/// multicast, broadcast or reserved for documentation and benchmarks.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            let [a, b, c, ..] = v6.segments();
            let octets = v6.octets();
            let last_v4 = || {
                IpAddr::V4(std::net::Ipv4Addr::new(
                    octets[12], octets[13], octets[14], octets[15],
                ))
            };
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            // Addresses that carry an IPv4 address reach it: IPv4-compatible
            // (::/96), NAT64 (64:ff9b::/96) and 6to4 (2002::/16) are as
            // public as that address.
            if v6.segments()[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified() {
                return is_public(last_v4());
            }
            if (a, b) == (0x64, 0xff9b) && v6.segments()[2..6] == [0; 4] {
                return is_public(last_v4());
            }
            if a == 0x2002 {
                return is_public(IpAddr::V4(std::net::Ipv4Addr::new(
                    octets[2], octets[3], octets[4], octets[5],
                )));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                // Local-use NAT64 (64:ff9b:1::/48), site-local (fec0::/10),
                // Teredo (2001::/32), documentation (2001:db8::/32).
                || (a, b, c) == (0x64, 0xff9b, 1)
                || (a & 0xffc0) == 0xfec0
                || (a, b) == (0x2001, 0)
                || (a, b) == (0x2001, 0x0db8))
        }
    }
}

/// POSTs `body` (JSON) to `url` with its signature: one attempt, within
/// [`TIMEOUT`].
pub(crate) async fn deliver(
    url: &str,
    body: Vec<u8>,
    signature: String,
    allow_private: bool,
) -> AttemptOutcome {
    match rocket::tokio::time::timeout(TIMEOUT, attempt(url, body, signature, allow_private)).await
    {
        Ok(outcome) => outcome,
        Err(_) => AttemptOutcome::Retry {
            status_code: None,
            error: format!("no answer within {} s", TIMEOUT.as_secs()),
        },
    }
}

async fn attempt(
    url: &str,
    body: Vec<u8>,
    signature: String,
    allow_private: bool,
) -> AttemptOutcome {
    let target = match Target::parse(url) {
        Ok(target) => target,
        Err(error) => return AttemptOutcome::GiveUp(error),
    };
    let request = match target.request(body, signature) {
        Ok(request) => request,
        Err(error) => return AttemptOutcome::GiveUp(error),
    };
    let status = match target.connect(allow_private).await {
        Ok(mut sender) => send(&mut sender, request).await,
        Err(error) => Err(error),
    };
    match status {
        Ok(code) if (200..300).contains(&code) => AttemptOutcome::Delivered(code),
        Ok(code) => AttemptOutcome::Retry {
            status_code: Some(code),
            error: format!("the receiver answered {code}"),
        },
        Err(error) => AttemptOutcome::Retry {
            status_code: None,
            error,
        },
    }
}

/// Where a webhook goes: its URL, taken apart once.
struct Target {
    https: bool,
    host: String,
    port: u16,
    host_header: String,
    path: String,
}

/// An HTTP/1 connection to a receiver, ready for requests.
type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

impl Target {
    /// `url` taken apart; `Err` (never worth a retry) when it cannot be.
    fn parse(url: &str) -> Result<Target, String> {
        let Ok(parsed) = Absolute::parse(url) else {
            return Err(String::from("the webhook URL does not parse"));
        };
        let https = parsed.scheme().eq_ignore_ascii_case("https");
        let Some(authority) = parsed.authority() else {
            return Err(String::from("the webhook URL has no host"));
        };
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = authority.port().unwrap_or(if https { 443 } else { 80 });
        let host_header = match authority.port() {
            Some(port) => format!("{}:{port}", authority.host()),
            None => authority.host().to_string(),
        };
        let mut path = parsed.path().to_string();
        if path.is_empty() {
            path.push('/');
        }
        if let Some(query) = parsed.query() {
            path.push('?');
            path.push_str(query.as_str());
        }
        Ok(Target {
            https,
            host,
            port,
            host_header,
            path,
        })
    }

    /// Where connections to this target can be shared: scheme, host, port.
    fn origin(&self) -> String {
        format!(
            "{}://{}:{}",
            if self.https { "https" } else { "http" },
            self.host,
            self.port
        )
    }

    /// The signed `POST` of `body`.
    fn request(
        &self,
        body: Vec<u8>,
        signature: String,
    ) -> Result<hyper::Request<Full<Bytes>>, String> {
        self.request_of(Bytes::from(body), signature)
    }

    fn request_of(
        &self,
        body: Bytes,
        signature: String,
    ) -> Result<hyper::Request<Full<Bytes>>, String> {
        hyper::Request::post(self.path.as_str())
            .header(hyper::header::HOST, self.host_header.as_str())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(
                hyper::header::USER_AGENT,
                concat!("contactsd/", env!("CARGO_PKG_VERSION")),
            )
            .header(SIGNATURE_HEADER, signature)
            .body(Full::new(body))
            .map_err(|e| format!("the request cannot be built: {e}"))
    }

    /// A new connection, to an address the policy accepts (resolved here,
    /// so the address checked is the address connected to).
    async fn connect(&self, allow_private: bool) -> Result<Sender, String> {
        let host = &self.host;
        // A name that does not resolve and a name that resolves only to
        // refused addresses get the same answer and the same retries: an
        // attempt's outcome must not tell a tenant which internal names
        // exist.
        let addresses: Vec<SocketAddr> =
            rocket::tokio::net::lookup_host((host.as_str(), self.port))
                .await
                .map(Iterator::collect)
                .unwrap_or_default();
        let allowed: Vec<SocketAddr> = addresses
            .iter()
            .copied()
            .filter(|a| allow_private || is_public(a.ip()))
            .collect();
        if allowed.is_empty() {
            return Err(format!(
                "{host} has no address to deliver to (it does not resolve, or only to \
                 loopback, private or link-local addresses, which need webhook_allow_private)"
            ));
        }
        let mut last_error = String::new();
        let mut stream = None;
        for address in &allowed {
            match TcpStream::connect(address).await {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last_error = format!("cannot connect to {address}: {e}"),
            }
        }
        let Some(stream) = stream else {
            return Err(last_error);
        };
        let _ = stream.set_nodelay(true);
        if self.https {
            let Ok(name) = rustls::pki_types::ServerName::try_from(host.clone()) else {
                return Err(format!("{host} is not a valid TLS server name"));
            };
            match tokio_rustls::TlsConnector::from(tls_config())
                .connect(name, stream)
                .await
            {
                Ok(tls) => handshake(tls).await,
                Err(e) => Err(format!("TLS with {host} failed: {e}")),
            }
        } else {
            handshake(stream).await
        }
    }
}

/// HTTP/1 over `io`, its connection driven by a task of its own.
async fn handshake<IO>(io: IO) -> Result<Sender, String>
where
    IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    rocket::tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// The most of an answer's body read (and thrown away), so the connection
/// can carry the next request.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Sends `request` and reads the answer: its status.
async fn send(sender: &mut Sender, request: hyper::Request<Full<Bytes>>) -> Result<u16, String> {
    use http_body_util::BodyExt;
    sender
        .ready()
        .await
        .map_err(|e| format!("the connection closed: {e}"))?;
    let answer = sender
        .send_request(request)
        .await
        .map_err(|e| format!("the request failed: {e}"))?;
    let status = answer.status().as_u16();
    // Read to its end (within bounds) so the connection may be reused; a
    // body that is too long only costs the connection.
    let _ = http_body_util::Limited::new(answer.into_body(), MAX_ANSWER_BYTES)
        .collect()
        .await;
    Ok(status)
}

/// Connections kept open to webhook receivers, shared by every delivery:
/// a subscription's batches reuse one connection instead of opening one
/// each.
#[derive(Default)]
pub(crate) struct Pool {
    idle: std::sync::Mutex<std::collections::HashMap<String, Vec<Sender>>>,
}

/// Idle connections kept per receiver.
const IDLE_PER_ORIGIN: usize = 4;

impl Pool {
    /// POSTs `body` to `url` with `signature`, on a kept connection when
    /// one is free, within [`TIMEOUT`]: the answer's status, or why there
    /// is none.
    pub(crate) async fn post(
        &self,
        url: &str,
        body: Vec<u8>,
        signature: String,
        allow_private: bool,
    ) -> Result<u16, String> {
        let target = Target::parse(url)?;
        let origin = target.origin();
        let body = Bytes::from(body);
        let attempt = async {
            // A kept connection the receiver has closed meanwhile fails
            // at once: the request goes again on a new one.
            if let Some(mut sender) = self.take(&origin) {
                let request = target.request_of(body.clone(), signature.clone())?;
                if let Ok(status) = send(&mut sender, request).await {
                    self.give_back(origin, sender);
                    return Ok(status);
                }
            }
            let mut sender = target.connect(allow_private).await?;
            let status = send(&mut sender, target.request_of(body, signature)?).await?;
            self.give_back(origin, sender);
            Ok(status)
        };
        match rocket::tokio::time::timeout(TIMEOUT, attempt).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer within {} s", TIMEOUT.as_secs())),
        }
    }

    fn take(&self, origin: &str) -> Option<Sender> {
        let mut idle = self.idle.lock().ok()?;
        let senders = idle.get_mut(origin)?;
        while let Some(sender) = senders.pop() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    fn give_back(&self, origin: String, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            let senders = idle.entry(origin).or_default();
            if senders.len() < IDLE_PER_ORIGIN {
                senders.push(sender);
            }
        }
    }
}

/// Mozilla's roots, TLS 1.2 and 1.3, ring's primitives (as Rocket's TLS).
fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    Arc::clone(CONFIG.get_or_init(|| {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = match rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
        {
            Ok(builder) => builder.with_root_certificates(roots).with_no_client_auth(),
            Err(_) => rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        };
        Arc::new(config)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_time_and_body_like_the_documented_recipe() {
        // echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
        assert_eq!(
            signature("whsec_test", 1_700_000_000, br#"{"a":1}"#),
            "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
    }

    #[test]
    fn during_a_rotation_both_secrets_sign() {
        let both = signatures("whsec_new", Some("whsec_old"), 1_700_000_000, b"{}");
        let new = signature("whsec_new", 1_700_000_000, b"{}");
        let old = signature("whsec_old", 1_700_000_000, b"{}");
        assert_eq!(both, format!("{new},{}", old.split_once(',').unwrap().1));
        assert_eq!(signatures("whsec_new", None, 1_700_000_000, b"{}"), new);
    }

    #[test]
    fn retries_wait_longer_each_time() {
        let waits: Vec<i64> = (1..=4).map(retry_in_ms).collect();
        assert_eq!(waits, [2_000, 6_000, 18_000, 54_000]);
    }

    #[test]
    fn private_addresses_are_not_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}

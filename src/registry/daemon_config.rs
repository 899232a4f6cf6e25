//! What the Docker daemon's own config says about registries: which ones it
//! reaches over plain HTTP (`insecure-registries`) and which mirrors it asks
//! first for Docker Hub images (`registry-mirrors`). freshen follows the
//! daemon so that what it checks is what `docker pull` would fetch.

use std::net::IpAddr;
use std::path::Path;

use serde::Deserialize;

use crate::core::reference::is_loopback_host;

#[derive(Debug, Default, Deserialize)]
struct DaemonJson {
    #[serde(default, rename = "insecure-registries")]
    insecure_registries: Vec<String>,
    #[serde(default, rename = "registry-mirrors")]
    registry_mirrors: Vec<String>,
}

#[derive(Debug, Default, Clone)]
pub struct DaemonConfig {
    insecure: Vec<Insecure>,
    /// Docker Hub mirrors, in the order the daemon tries them.
    pub mirrors: Vec<Mirror>,
    /// A daemon.json that exists but cannot be used, reported as a warning.
    pub problem: Option<String>,
}

/// One `registry-mirrors` entry: `https://mirror.example` or
/// `http://10.0.0.5:5000`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// `host[:port]`, as requests address it.
    pub host: String,
    pub https: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Insecure {
    Host(String),
    Net(IpAddr, u8),
}

impl DaemonConfig {
    pub fn load(path: &Path, extra_insecure: &[String]) -> DaemonConfig {
        let (json, problem) = match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice::<DaemonJson>(&bytes) {
                Ok(j) => (j, None),
                Err(e) => (
                    DaemonJson::default(),
                    Some(format!("ignoring {}: not valid JSON ({e})", path.display())),
                ),
            },
            Err(_) => (DaemonJson::default(), None),
        };
        let insecure =
            json.insecure_registries.iter().chain(extra_insecure).filter_map(|s| parse_insecure(s)).collect();
        let mut problem = problem;
        let mut mirrors = Vec::new();
        for m in &json.registry_mirrors {
            match parse_mirror(m) {
                Some(mirror) => mirrors.push(mirror),
                None => {
                    problem.get_or_insert_with(|| {
                        format!(
                            "ignoring registry mirror '{m}' in {}: it must be http(s)://HOST[:PORT]",
                            path.display()
                        )
                    });
                }
            }
        }
        DaemonConfig { insecure, mirrors, problem }
    }

    /// Plain HTTP is allowed for loopback registries and the ones the
    /// daemon (or the user, by flag) marks insecure.
    pub fn is_insecure(&self, registry: &str) -> bool {
        if is_loopback_host(registry) {
            return true;
        }
        let host = host_part(registry);
        self.insecure.iter().any(|entry| match entry {
            Insecure::Host(h) => h.eq_ignore_ascii_case(registry) || h.eq_ignore_ascii_case(host),
            Insecure::Net(net, bits) => host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok_and(|ip| in_network(ip, *net, *bits)),
        })
    }
}

fn host_part(registry: &str) -> &str {
    if registry.starts_with('[') {
        registry.split(']').next().map_or(registry, |h| &registry[..h.len() + 1])
    } else {
        registry.split(':').next().unwrap_or(registry)
    }
}

/// The daemon requires a scheme and allows nothing after the host but `/`.
fn parse_mirror(s: &str) -> Option<Mirror> {
    let s = s.trim().to_ascii_lowercase();
    let (https, rest) = if let Some(r) = s.strip_prefix("https://") {
        (true, r)
    } else {
        (false, s.strip_prefix("http://")?)
    };
    let host = rest.trim_end_matches('/');
    if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) {
        return None;
    }
    Some(Mirror { host: host.to_string(), https })
}

fn parse_insecure(s: &str) -> Option<Insecure> {
    let s = s.trim();
    let s = s.strip_prefix("http://").or_else(|| s.strip_prefix("https://")).unwrap_or(s);
    let s = s.trim_end_matches('/');
    if s.is_empty() {
        return None;
    }
    if let Some((ip, bits)) = s.split_once('/') {
        let ip: IpAddr = ip.parse().ok()?;
        let bits: u8 = bits.parse().ok()?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        return (bits <= max).then_some(Insecure::Net(ip, bits));
    }
    Some(Insecure::Host(s.to_string()))
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits as u32) };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits as u32) };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_hosts_and_networks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.json");
        std::fs::write(
            &path,
            r#"{"insecure-registries":["myreg:5000","http://other.lan","10.1.0.0/16"],"registry-mirrors":["https://mirror.example/"]}"#,
        )
        .unwrap();
        let c = DaemonConfig::load(&path, &["extra.lan:8080".to_string()]);
        assert!(c.problem.is_none());
        assert!(c.is_insecure("myreg:5000"));
        assert!(!c.is_insecure("myreg:5001"));
        assert!(c.is_insecure("other.lan"));
        assert!(c.is_insecure("other.lan:443"));
        assert!(c.is_insecure("10.1.2.3:5000"));
        assert!(!c.is_insecure("10.2.0.1:5000"));
        assert!(c.is_insecure("extra.lan:8080"));
        assert!(c.is_insecure("127.0.0.1:5000"));
        assert!(c.is_insecure("localhost:5000"));
        assert!(!c.is_insecure("ghcr.io"));
        assert_eq!(c.mirrors, vec![Mirror { host: "mirror.example".into(), https: true }]);
    }

    #[test]
    fn mirrors_need_a_scheme_and_nothing_after_the_host() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.json");
        std::fs::write(
            &path,
            r#"{"registry-mirrors":["http://127.0.0.1:5001","mirror.lan","https://m.example/v2/x","HTTPS://Up.Example:443/"]}"#,
        )
        .unwrap();
        let c = DaemonConfig::load(&path, &[]);
        assert_eq!(
            c.mirrors,
            vec![
                Mirror { host: "127.0.0.1:5001".into(), https: false },
                Mirror { host: "up.example:443".into(), https: true },
            ]
        );
        let problem = c.problem.unwrap();
        assert!(problem.contains("'mirror.lan'") && problem.contains("http(s)://HOST[:PORT]"), "{problem}");
    }

    #[test]
    fn broken_or_missing_daemon_json() {
        let dir = tempfile::tempdir().unwrap();
        let c = DaemonConfig::load(&dir.path().join("absent.json"), &[]);
        assert!(c.problem.is_none());
        let path = dir.path().join("daemon.json");
        std::fs::write(&path, "{").unwrap();
        assert!(DaemonConfig::load(&path, &[]).problem.unwrap().contains("not valid JSON"));
    }
}

//! The create body of a recreated container: what the user set on the old
//! one (not the old image's defaults), its networks with their configured
//! aliases and addresses, and its anonymous volumes mounted again.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// What `POST /containers/create` gets, and the networks to connect before
/// the start.
#[derive(Debug, Clone, PartialEq)]
pub struct Creation {
    /// The create body: `Config` fields plus `HostConfig` and
    /// `NetworkingConfig`.
    pub body: Value,
    /// Networks beyond the first (API 1.41 accepts one at create), with
    /// their endpoint settings.
    pub connect: Vec<(String, Value)>,
}

pub(super) fn get<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, k| v.get(k).unwrap_or(&Value::Null))
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// `Config` keys copied when the user set them (they differ from the old
/// image's); equal to the image's, they are left out so the new image's
/// default applies.
const DEFAULTABLE: [&str; 6] = ["Cmd", "Entrypoint", "WorkingDir", "User", "StopSignal", "Healthcheck"];
/// `Config` keys that belong to the container alone.
const OWN: [&str; 9] = [
    "Domainname",
    "AttachStdin",
    "AttachStdout",
    "AttachStderr",
    "Tty",
    "OpenStdin",
    "StdinOnce",
    "StopTimeout",
    "MacAddress",
];

/// The create body for a successor of `container` (its inspect JSON) on
/// `image` (the tag or id to create from). `old_image` is the inspect JSON of
/// the image it ran: its `Config` tells what the user did not set. A
/// `network_container` rewrites `container:…` network modes to the parent's
/// new container. `keep_addresses`: the engine does not report which
/// addresses were configured (podman's `IPAMConfig` is always empty), so
/// the current address on each user-defined network is kept, a configured
/// one among them. Not on the engine's default network, where no address
/// can be configured in Docker's API: there a kept address could have been
/// handed to another container between the stop and the start.
pub fn creation(
    container: &Value,
    old_image: &Value,
    image: &str,
    network_container: Option<&str>,
    keep_addresses: bool,
) -> Creation {
    let mut body = user_config(container, old_image);
    body.insert("Image".into(), Value::String(image.to_string()));
    let host = host_config(container, network_container);
    let mode = host.get("NetworkMode").and_then(Value::as_str).unwrap_or("default").to_string();
    body.insert("HostConfig".into(), host);
    let connect = networks(container, &mode, keep_addresses, &mut body);
    Creation { body: Value::Object(body), connect }
}

/// The `Config` fields the user set on `container`: those that differ from
/// `old_image`'s, and the container's own.
fn user_config(container: &Value, old_image: &Value) -> Map<String, Value> {
    let c = get(container, &["Config"]);
    let i = get(old_image, &["Config"]);
    let id = get(container, &["Id"]).as_str().unwrap_or_default();
    let mut body = Map::new();

    // Env: the variables the image does not set to the same value.
    let image_env: BTreeSet<&str> =
        get(i, &["Env"]).as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let env: Vec<Value> = get(c, &["Env"])
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e.as_str().is_some_and(|e| !image_env.contains(e)))
        .cloned()
        .collect();
    if !env.is_empty() {
        body.insert("Env".into(), Value::Array(env));
    }
    // Labels: those the image does not carry with the same value.
    let image_labels = get(i, &["Labels"]);
    let labels: Map<String, Value> = get(c, &["Labels"])
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| image_labels.get(k.as_str()) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !labels.is_empty() {
        body.insert("Labels".into(), Value::Object(labels));
    }
    for key in DEFAULTABLE {
        let mine = get(c, &[key]);
        if !is_empty(mine) && mine != get(i, &[key]) {
            body.insert(key.into(), mine.clone());
        }
    }
    // A user entrypoint makes the engine drop the image's Cmd: keep exactly
    // the container's Cmd then, even when it happens to equal the image's.
    if body.contains_key("Entrypoint") && !body.contains_key("Cmd") {
        body.insert("Cmd".into(), get(c, &["Cmd"]).clone());
    }
    for key in OWN {
        let mine = get(c, &[key]);
        if !is_empty(mine) && mine != &Value::Bool(false) {
            body.insert(key.into(), mine.clone());
        }
    }
    // The engine names an unnamed host after the short id. A container in
    // another's network namespace has that one's host name and MAC, and may
    // not set its own.
    let joined =
        get(container, &["HostConfig", "NetworkMode"]).as_str().is_some_and(|m| m.starts_with("container:"));
    if !joined {
        if let Some(h) = get(c, &["Hostname"]).as_str() {
            if !h.is_empty() && !id.starts_with(h) {
                body.insert("Hostname".into(), Value::String(h.to_string()));
            }
        }
    }
    for key in ["ExposedPorts", "Volumes"] {
        let image_keys = get(i, &[key]);
        let own: Map<String, Value> = get(c, &[key])
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| image_keys.get(k.as_str()).is_none())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !own.is_empty() {
            body.insert(key.into(), Value::Object(own));
        }
    }

    if joined {
        for key in ["Domainname", "MacAddress", "ExposedPorts"] {
            body.remove(key);
        }
    }

    body
}

/// The old container's `HostConfig`, with a `container:` network mode
/// pointed at `network_container`, ulimits by the API's names, and its
/// anonymous volumes bound again.
fn host_config(container: &Value, network_container: Option<&str>) -> Value {
    let mut host = get(container, &["HostConfig"]).clone();
    if !host.is_object() {
        host = Value::Object(Map::new());
    }
    if let (Some(parent), Some(mode)) = (network_container, host.get("NetworkMode").and_then(Value::as_str)) {
        if mode.starts_with("container:") {
            host["NetworkMode"] = Value::String(format!("container:{parent}"));
        }
    }
    // podman 4 reports ulimits by their kernel names (`RLIMIT_NOFILE`) and
    // refuses those names at create; the API's names are `nofile`.
    if let Some(limits) = host.get_mut("Ulimits").and_then(Value::as_array_mut) {
        for limit in limits.iter_mut() {
            if let Some(name) = limit.get("Name").and_then(Value::as_str) {
                let short = name.strip_prefix("RLIMIT_").map(str::to_ascii_lowercase);
                if let Some(short) = short {
                    limit["Name"] = Value::String(short);
                }
            }
        }
    }
    // The old container's anonymous volumes, mounted again by name at the
    // same paths: their data is the container's state.
    let anonymous = anonymous_volumes(container);
    if !anonymous.is_empty() {
        let mut binds: Vec<Value> = host.get("Binds").and_then(Value::as_array).cloned().unwrap_or_default();
        for (name, dest, rw) in anonymous {
            binds.push(Value::String(if rw {
                format!("{name}:{dest}")
            } else {
                format!("{name}:{dest}:ro")
            }));
        }
        host["Binds"] = Value::Array(binds);
    }
    host
}

/// The networks of `container` (in network mode `mode`): the one named at
/// create goes into `body`'s `NetworkingConfig`; the others, returned, are
/// connected before the start.
fn networks(
    container: &Value,
    mode: &str,
    keep_addresses: bool,
    body: &mut Map<String, Value>,
) -> Vec<(String, Value)> {
    let id = get(container, &["Id"]).as_str().unwrap_or_default();
    // Networks: the one NetworkMode names at create, the others connected.
    let mut connect = Vec::new();
    let mut first: Option<(String, Value)> = None;
    if !mode.starts_with("container:") && mode != "host" && mode != "none" {
        let primary = if mode == "default" { "bridge" } else { mode };
        for (net, ep) in get(container, &["NetworkSettings", "Networks"]).as_object().into_iter().flatten() {
            let settings = endpoint(ep, id, net, keep_addresses);
            if net == primary {
                first = Some((net.clone(), settings));
            } else {
                connect.push((net.clone(), settings));
            }
        }
    }
    connect.sort_by(|a, b| a.0.cmp(&b.0));
    // podman reports `bridge` as the mode of a container on user networks:
    // no network has that name, and a create without one would join the
    // engine's default network besides. One of the container's networks
    // is named at create instead.
    if first.is_none() && !connect.is_empty() {
        let (net, settings) = connect.remove(0);
        if let Some(h) = body.get_mut("HostConfig") {
            h["NetworkMode"] = Value::String(net.clone());
        }
        first = Some((net, settings));
    }
    if let Some((net, settings)) = first {
        let mut eps = Map::new();
        eps.insert(net, settings);
        body.insert("NetworkingConfig".into(), serde_json::json!({ "EndpointsConfig": eps }));
    }
    connect
}

/// The settings of one network attachment that the user configured:
/// aliases (without the ones the engine adds: the short id), static
/// addresses (`IPAMConfig`, not the assigned `IPAddress`), links, driver
/// options.
/// The engines' default networks: Docker's and podman's.
const DEFAULT_NETWORKS: [&str; 2] = ["bridge", "podman"];

fn endpoint(ep: &Value, id: &str, network: &str, keep_addresses: bool) -> Value {
    let mut out = Map::new();
    // The default bridge has no aliases.
    if network != "bridge" {
        let aliases: Vec<Value> = get(ep, &["Aliases"])
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a.as_str().is_some_and(|a| !a.is_empty() && !id.starts_with(a)))
            .cloned()
            .collect();
        if !aliases.is_empty() {
            out.insert("Aliases".into(), Value::Array(aliases));
        }
    }
    for key in ["IPAMConfig", "Links", "DriverOpts"] {
        let v = get(ep, &[key]);
        if !is_empty(v) {
            out.insert(key.into(), v.clone());
        }
    }
    if keep_addresses && !DEFAULT_NETWORKS.contains(&network) && !out.contains_key("IPAMConfig") {
        let mut ipam = Map::new();
        for (from, to) in [("IPAddress", "IPv4Address"), ("GlobalIPv6Address", "IPv6Address")] {
            if let Some(a) = get(ep, &[from]).as_str().filter(|a| !a.is_empty()) {
                ipam.insert(to.into(), Value::String(a.to_string()));
            }
        }
        if !ipam.is_empty() {
            out.insert("IPAMConfig".into(), Value::Object(ipam));
        }
    }
    Value::Object(out)
}

/// `(volume name, destination, writable)` of each anonymous volume: a volume
/// mount whose name the engine generated (64 hex digits) and that no bind or
/// mount of the user names.
pub fn anonymous_volumes(container: &Value) -> Vec<(String, String, bool)> {
    let host = get(container, &["HostConfig"]);
    let mut named: BTreeSet<String> = BTreeSet::new();
    for b in get(host, &["Binds"]).as_array().into_iter().flatten().filter_map(Value::as_str) {
        if let Some(dest) = b.split(':').nth(1) {
            named.insert(dest.to_string());
        }
    }
    for m in get(host, &["Mounts"]).as_array().into_iter().flatten() {
        if let Some(t) = m.get("Target").and_then(Value::as_str) {
            named.insert(t.to_string());
        }
    }
    let mut out = Vec::new();
    for m in get(container, &["Mounts"]).as_array().into_iter().flatten() {
        let (Some(kind), Some(name), Some(dest)) = (
            m.get("Type").and_then(Value::as_str),
            m.get("Name").and_then(Value::as_str),
            m.get("Destination").and_then(Value::as_str),
        ) else {
            continue;
        };
        let generated = name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit());
        if kind == "volume" && generated && !named.contains(dest) {
            let rw = m.get("RW").and_then(Value::as_bool).unwrap_or(true);
            out.push((name.to_string(), dest.to_string(), rw));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn image() -> Value {
        json!({"Config": {
            "Env": ["PATH=/usr/bin", "VERSION=1"],
            "Cmd": ["/prog"],
            "Entrypoint": null,
            "WorkingDir": "/",
            "Labels": {"org.opencontainers.image.version": "1"},
            "Volumes": {"/data": {}},
            "ExposedPorts": {"80/tcp": {}},
            "Healthcheck": {"Test": ["CMD", "/prog", "ok"]}
        }})
    }

    fn container() -> Value {
        json!({
            "Id": "0123456789abcdef0123",
            "Config": {
                "Hostname": "0123456789ab",
                "Env": ["PATH=/usr/bin", "VERSION=1", "GREETING=hi"],
                "Cmd": ["/prog"],
                "Entrypoint": null,
                "WorkingDir": "/",
                "Labels": {"org.opencontainers.image.version": "1", "tier": "web"},
                "Volumes": {"/data": {}},
                "ExposedPorts": {"80/tcp": {}, "8080/tcp": {}},
                "Healthcheck": {"Test": ["CMD", "/prog", "ok"]},
                "Tty": false,
                "Image": "reg/app:1"
            },
            "HostConfig": {
                "NetworkMode": "front",
                "Binds": ["named:/named"],
                "RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0},
                "PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}
            },
            "Mounts": [
                {"Type": "volume", "Name": "named", "Destination": "/named", "RW": true},
                {"Type": "volume", "Name": "a".repeat(64), "Destination": "/data", "RW": true}
            ],
            "NetworkSettings": {"Networks": {
                "front": {"Aliases": ["www", "0123456789ab"], "IPAMConfig": {"IPv4Address": "10.1.2.3"},
                          "IPAddress": "10.1.2.3"},
                "back": {"Aliases": ["api", "0123456789ab"], "IPAMConfig": null, "IPAddress": "10.9.0.2"}
            }}
        })
    }

    #[test]
    fn creation_keeps_what_the_user_set_and_lets_the_new_image_default_the_rest() {
        let c = creation(&container(), &image(), "reg/app:1", None, false);
        let b = &c.body;
        assert_eq!(b["Image"], "reg/app:1");
        assert_eq!(b["Env"], json!(["GREETING=hi"]), "image env left to the new image");
        assert_eq!(b["Labels"], json!({"tier": "web"}));
        for key in ["Cmd", "Entrypoint", "WorkingDir", "Healthcheck", "Hostname", "Volumes", "Tty"] {
            assert!(b.get(key).is_none(), "{key} should default: {b:#}");
        }
        assert_eq!(b["ExposedPorts"], json!({"8080/tcp": {}}));
        assert_eq!(b["HostConfig"]["RestartPolicy"]["Name"], "unless-stopped");
        assert_eq!(b["HostConfig"]["Binds"], json!(["named:/named", format!("{}:/data", "a".repeat(64))]));
        assert_eq!(
            b["NetworkingConfig"]["EndpointsConfig"]["front"],
            json!({"Aliases": ["www"], "IPAMConfig": {"IPv4Address": "10.1.2.3"}})
        );
        assert_eq!(c.connect, [("back".to_string(), json!({"Aliases": ["api"]}))]);
    }

    #[test]
    fn creation_names_a_network_at_create_when_the_mode_names_none() {
        // podman: user networks, mode `bridge`.
        let mut v = container();
        v["HostConfig"]["NetworkMode"] = json!("bridge");
        let c = creation(&v, &image(), "reg/app:1", None, false);
        assert_eq!(c.body["HostConfig"]["NetworkMode"], "back");
        assert_eq!(c.body["NetworkingConfig"]["EndpointsConfig"]["back"], json!({"Aliases": ["api"]}));
        assert_eq!(c.connect.len(), 1);
        assert_eq!(c.connect[0].0, "front");
        // Docker's default bridge stays as it was.
        let mut v = container();
        v["HostConfig"]["NetworkMode"] = json!("bridge");
        v["NetworkSettings"]["Networks"] = json!({"bridge": {"Aliases": null, "IPAddress": "172.17.0.2"}});
        let c = creation(&v, &image(), "reg/app:1", None, false);
        assert_eq!(c.body["HostConfig"]["NetworkMode"], "bridge");
        assert!(c.connect.is_empty());
    }

    #[test]
    fn creation_keeps_the_addresses_an_engine_does_not_say_were_configured() {
        // podman: no IPAMConfig even for a configured address.
        let mut v = container();
        v["NetworkSettings"]["Networks"]["front"]["IPAMConfig"] = Value::Null;
        let c = creation(&v, &image(), "reg/app:1", None, true);
        assert_eq!(
            c.body["NetworkingConfig"]["EndpointsConfig"]["front"]["IPAMConfig"],
            json!({"IPv4Address": "10.1.2.3"})
        );
        assert_eq!(c.connect[0].1["IPAMConfig"], json!({"IPv4Address": "10.9.0.2"}));
        // Not on the default network.
        let mut d = v.clone();
        d["NetworkSettings"]["Networks"]["podman"] = json!({"IPAMConfig": null, "IPAddress": "10.88.0.7"});
        let c = creation(&d, &image(), "reg/app:1", None, true);
        let default = c.connect.iter().find(|(n, _)| n == "podman").unwrap();
        assert!(default.1.get("IPAMConfig").is_none(), "{c:?}");
        // Where the engine reports them, only the configured ones are kept.
        let c = creation(&v, &image(), "reg/app:1", None, false);
        assert!(c.body["NetworkingConfig"]["EndpointsConfig"]["front"].get("IPAMConfig").is_none());
        assert!(c.connect[0].1.get("IPAMConfig").is_none());
    }

    #[test]
    fn creation_gives_ulimits_the_apis_names() {
        let mut v = container();
        v["HostConfig"]["Ulimits"] = json!([
            {"Name": "RLIMIT_NOFILE", "Soft": 20000, "Hard": 20000},
            {"Name": "nproc", "Soft": 100, "Hard": 200}
        ]);
        let c = creation(&v, &image(), "reg/app:1", None, false);
        assert_eq!(
            c.body["HostConfig"]["Ulimits"],
            json!([{"Name": "nofile", "Soft": 20000, "Hard": 20000}, {"Name": "nproc", "Soft": 100, "Hard": 200}])
        );
    }

    /// Docker reports a configured MAC address in `Config.MacAddress` (20.10
    /// and 26 alike; a generated one only on the endpoint): it is kept, except
    /// in another container's network namespace, where none may be set.
    #[test]
    fn creation_keeps_a_configured_mac_address() {
        let mut v = container();
        v["Config"]["MacAddress"] = json!("02:42:0a:e7:00:33");
        let c = creation(&v, &image(), "reg/app:1", None, false);
        assert_eq!(c.body["MacAddress"], "02:42:0a:e7:00:33");
        assert_eq!(creation(&container(), &image(), "reg/app:1", None, false).body.get("MacAddress"), None);
        v["HostConfig"]["NetworkMode"] = json!("container:parent");
        let c = creation(&v, &image(), "reg/app:1", Some("new-parent"), false);
        assert_eq!(c.body.get("MacAddress"), None);
    }

    #[test]
    fn creation_keeps_a_user_command_hostname_and_entrypoint() {
        let mut v = container();
        v["Config"]["Cmd"] = json!(["/prog", "serve"]);
        v["Config"]["Hostname"] = json!("web");
        let c = creation(&v, &image(), "reg/app:1", None, false);
        assert_eq!(c.body["Cmd"], json!(["/prog", "serve"]));
        assert_eq!(c.body["Hostname"], "web");
        let mut v = container();
        v["Config"]["Entrypoint"] = json!(["/prog"]);
        let c = creation(&v, &image(), "reg/app:1", None, false);
        assert_eq!(c.body["Entrypoint"], json!(["/prog"]));
        assert_eq!(c.body["Cmd"], json!(["/prog"]), "with a user entrypoint the Cmd is the container's");
    }

    #[test]
    fn creation_points_a_dependent_at_the_new_parent() {
        let mut v = container();
        v["HostConfig"]["NetworkMode"] = json!("container:oldparentid");
        v["Config"]["Hostname"] = json!("parenthost");
        let c = creation(&v, &image(), "reg/other:1", Some("newparentid"), false);
        assert_eq!(c.body["HostConfig"]["NetworkMode"], "container:newparentid");
        assert!(c.body.get("Hostname").is_none(), "the engine refuses a host name in another's namespace");
        assert!(c.body.get("NetworkingConfig").is_none());
        assert!(c.connect.is_empty());
    }

    #[test]
    fn anonymous_volumes_are_the_generated_names_not_the_users() {
        let mut v = container();
        v["HostConfig"]["Binds"] = json!([format!("{}:/data", "a".repeat(64))]);
        assert!(anonymous_volumes(&v).is_empty(), "a bind the user wrote is not anonymous");
        assert_eq!(anonymous_volumes(&container()), [("a".repeat(64), "/data".to_string(), true)]);
    }
}

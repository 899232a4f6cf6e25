//! Every key of the config file, in one table: where it sits, its type, its
//! default and what it does. freshen.conf(5) and the commented default
//! `/etc/freshen/config.toml` of the package are generated from it, and a
//! test compares it with the keys the parser accepts, so a key added to the
//! parser without a row here (or a row without a key) fails the tests.

/// One key of the config file.
#[derive(Debug, Clone, Copy)]
pub struct ConfigKey {
    /// The table it sits in: `""` for the top level, `images."PATTERN"`,
    /// `unattended` or `notify` (an array of tables, `[[notify]]`).
    pub section: &'static str,
    pub key: &'static str,
    /// The TOML type, as a reader writes it.
    pub kind: &'static str,
    /// The value in effect when the key is absent, in words.
    pub default: &'static str,
    /// One paragraph: what it does, where flags beat it.
    pub description: &'static str,
    /// A value to show in the commented default config file.
    pub example: &'static str,
}

/// The sections in the order the pages show them, with what each is for.
pub const SECTIONS: &[(&str, &str)] = &[
    ("", "Registry limits, retirement and cooldown for every image."),
    (
        "images.\"PATTERN\"",
        "Per-image policy for the images a pattern matches (as on the command line: `nginx`, \
         `ghcr.io/org/*`); the most specific pattern wins (the most characters that are not `*` or \
         `?`; on a tie, the one that sorts first).",
    ),
    ("unattended", "What `freshen update --unattended` (and the scheduled run) may do by itself."),
    ("serve", "`freshen serve`: the status page, the HTTP API and its tokens, and the actions it may take."),
    ("mqtt", "Home Assistant over MQTT for `freshen serve`: one update entity per tag."),
    ("fleet", "The hosts `freshen fleet` runs freshen on over ssh when `--hosts` is not given."),
    (
        "cache",
        "The image store as a cache: the budget `freshen autoremove` keeps it under, evicting the least \
         recently used images (see docs/cache.md). Without any of these keys (and without their flags) \
         `autoremove` only retires earlier versions.",
    ),
    (
        "notify",
        "A notification target, one `[[notify]]` table each, told about new updates by `update \
         --notify`, `check --notify` and the scheduled run.",
    ),
];

pub const CONFIG_KEYS: &[ConfigKey] = &[
    ConfigKey {
        section: "cache",
        key: "budget",
        kind: "size (\"20G\", \"500M\") or share of the disk (\"30%\")",
        default: "none",
        description: "`autoremove` evicts the least recently used images until their unique bytes \
                      (shared layers once) are at most this; a share is of the size of the \
                      filesystem that holds the engine's data root. `--budget` beats it.",
        example: "\"20G\"",
    },
    ConfigKey {
        section: "cache",
        key: "min_free",
        kind: "size or share of the disk",
        default: "none",
        description: "`autoremove` evicts until the data root's filesystem has this much free. \
                      `--min-free` beats it.",
        example: "\"10%\"",
    },
    ConfigKey {
        section: "cache",
        key: "unused_for",
        kind: "duration (\"90d\")",
        default: "none",
        description: "`autoremove` evicts the images not used for this long, budget or not. \
                      `--unused-for` beats it.",
        example: "\"90d\"",
    },
    ConfigKey {
        section: "cache",
        key: "min_age",
        kind: "duration, or \"0\"",
        default: "\"1d\"",
        description: "An image first seen, or last used, more recently than this is never evicted \
                      (a fresh pull or build is not yet known to be unused).",
        example: "\"1d\"",
    },
    ConfigKey {
        section: "serve",
        key: "listen",
        kind: "string \"ADDR:PORT\"",
        default: "127.0.0.1:8675",
        description: "Where `freshen serve` listens; `--listen` beats it. An address beyond loopback needs `read_token`.",
        example: "\"127.0.0.1:8675\"",
    },
    ConfigKey {
        section: "serve",
        key: "read_token",
        kind: "string",
        default: "none (every endpoint open on loopback)",
        description: "The token every endpoint but `/healthz` then needs, sent as `Authorization: Bearer TOKEN` only (no cookies). Not with `read_token_file`.",
        example: "\"change-me-read\"",
    },
    ConfigKey {
        section: "serve",
        key: "read_token_file",
        kind: "path",
        default: "none",
        description: "A file whose first line is the read token, instead of `read_token`.",
        example: "\"/etc/freshen/read.token\"",
    },
    ConfigKey {
        section: "serve",
        key: "apply_token",
        kind: "string",
        default: "none (no action is accepted)",
        description: "The token the actions need (it reads too); the read token on an action is refused with 403. Not with `apply_token_file`.",
        example: "\"change-me-apply\"",
    },
    ConfigKey {
        section: "serve",
        key: "apply_token_file",
        kind: "path",
        default: "none",
        description: "A file whose first line is the apply token, instead of `apply_token`.",
        example: "\"/etc/freshen/apply.token\"",
    },
    ConfigKey {
        section: "serve",
        key: "actions",
        kind: "boolean",
        default: "false",
        description: "Accept upgrades pinned to the digest a person approved (412 when the registry moved the tag since), skips, holds and unholds over HTTP (and installs over MQTT). Needs an apply token.",
        example: "false",
    },
    ConfigKey {
        section: "serve",
        key: "interval",
        kind: "duration",
        default: "1d",
        description: "How often the server runs an update itself, under the CLI's lock (`0`: never).",
        example: "\"1d\"",
    },
    ConfigKey {
        section: "serve",
        key: "wait",
        kind: "integer (seconds)",
        default: "30",
        description: "The health gate of the upgrades the server runs.",
        example: "30",
    },
    ConfigKey {
        section: "mqtt",
        key: "broker",
        kind: "string \"HOST[:PORT]\"",
        default: "none (no MQTT)",
        description: "The broker (plain MQTT; port 1883 when left out).",
        example: "\"127.0.0.1:1883\"",
    },
    ConfigKey {
        section: "mqtt",
        key: "username",
        kind: "string",
        default: "none",
        description: "The broker's user name.",
        example: "\"freshen\"",
    },
    ConfigKey {
        section: "mqtt",
        key: "password",
        kind: "string",
        default: "none",
        description: "The broker's password (never logged). Not with `password_file`.",
        example: "\"secret\"",
    },
    ConfigKey {
        section: "mqtt",
        key: "password_file",
        kind: "path",
        default: "none",
        description: "A file whose first line is the broker's password, instead of `password`.",
        example: "\"/etc/freshen/mqtt.password\"",
    },
    ConfigKey {
        section: "mqtt",
        key: "discovery_prefix",
        kind: "string",
        default: "homeassistant",
        description: "Home Assistant's discovery prefix.",
        example: "\"homeassistant\"",
    },
    ConfigKey {
        section: "mqtt",
        key: "topic_prefix",
        kind: "string",
        default: "freshen",
        description: "The prefix of freshen's own state, availability and command topics.",
        example: "\"freshen\"",
    },
    ConfigKey {
        section: "mqtt",
        key: "install",
        kind: "boolean",
        default: "false",
        description: "Publish a command topic, so Home Assistant shows an Install button; an install goes through the same pinned, health-gated upgrade (needs `[serve] actions = true`).",
        example: "false",
    },
    ConfigKey {
        section: "fleet",
        key: "hosts",
        kind: "list of \"[user@]host[:port]\" or \"ssh://…\"",
        default: "[] (`freshen fleet` then needs `--hosts`)",
        description: "The hosts `freshen fleet COMMAND` reaches with the user's own ssh (its config, agent \
                      and known_hosts) to run `freshen COMMAND` there. `--hosts` beats it.",
        example: "[\"admin@web1\", \"admin@db1\"]",
    },
    ConfigKey {
        section: "",
        key: "concurrency",
        kind: "integer (1 to 1024)",
        default: "64",
        description: "Registry requests in flight at once, per registry. `--concurrency` of `update` and \
                      `check` beats it.",
        example: "64",
    },
    ConfigKey {
        section: "",
        key: "timeout",
        kind: "number of seconds (1 to 3600)",
        default: "20",
        description: "How long one registry request may take before it is abandoned (and retried). \
                      `--timeout` beats it.",
        example: "20",
    },
    ConfigKey {
        section: "",
        key: "retries",
        kind: "integer (0 to 10)",
        default: "3",
        description: "Retries of a registry request after a 429, a 5xx or a network error, with backoff \
                      (and `Retry-After` when the registry sends it). `--retries` beats it.",
        example: "3",
    },
    ConfigKey {
        section: "",
        key: "insecure_registries",
        kind: "list of \"HOST[:PORT]\"",
        default: "[] (besides localhost, 127.0.0.0/8 and Docker's insecure-registries)",
        description: "Registries that may be reached over plain HTTP, added to `--insecure-registry` and \
                      `FRESHEN_INSECURE_REGISTRIES`.",
        example: "[\"registry.lan:5000\"]",
    },
    ConfigKey {
        section: "",
        key: "exclude",
        kind: "list of image patterns",
        default: "[]",
        description: "Images freshen never checks, shows, upgrades or retires. `--exclude` of \
                      `upgrade` and `autoremove` adds to it.",
        example: "[\"*/scratch/*\", \"localhost:5000/*\"]",
    },
    ConfigKey {
        section: "",
        key: "keep",
        kind: "integer",
        default: "0",
        description: "Previous versions kept per tag when `upgrade` and `autoremove` retire what \
                      upgrades replaced. `--keep` beats it.",
        example: "1",
    },
    ConfigKey {
        section: "",
        key: "older_than",
        kind: "duration (\"7d\", \"12h\")",
        default: "none: any replaced version may go",
        description: "`autoremove` spares versions replaced more recently than this. `--older-than` \
                      beats it.",
        example: "\"7d\"",
    },
    ConfigKey {
        section: "",
        key: "tag_cache_ttl",
        kind: "integer seconds",
        default: "21600 (6 hours)",
        description: "How long a repository's tag listing is reused before `update` lists it again; 0 \
                      lists on every update.",
        example: "21600",
    },
    ConfigKey {
        section: "",
        key: "min_age",
        kind: "duration, or \"0\"",
        default: "\"0\": at once",
        description: "The cooldown: a new image, or a newer version tag, becomes an upgrade candidate \
                      only once it is this old, counted from its creation time when plausible, else \
                      from when `update` first saw its digest. Of several newer tags, the newest that \
                      is old enough is offered. `--min-age` of `update`, `check` and `upgrade` beats it.",
        example: "\"2d\"",
    },
    ConfigKey {
        section: "",
        key: "host_hooks",
        kind: "boolean",
        default: "false",
        description: "Allow `[images.\"PATTERN\"]` hooks to run on the host (`hooks_on = \"host\"`), \
                      as the user freshen runs as. Hooks declared by container labels always run \
                      inside their container.",
        example: "false",
    },
    ConfigKey {
        section: "",
        key: "hook_timeout",
        kind: "seconds or duration",
        default: "60",
        description: "How long an upgrade hook may run when neither its section nor its container's \
                      `freshen.hook.timeout` label says; one that takes longer has failed.",
        example: "\"2m\"",
    },
    ConfigKey {
        section: "",
        key: "renotify_after",
        kind: "duration",
        default: "never: each update is announced once",
        description: "Announce an update again to every target after this long. \
                      `--renotify-after` beats it.",
        example: "\"7d\"",
    },
    ConfigKey {
        section: "images.\"PATTERN\"",
        key: "policy",
        kind: "\"digest\", \"patch\", \"minor\" or \"major\"",
        default: "\"major\"",
        description: "The furthest a newer tag may move: `digest` never moves to another tag (only a \
                      new image of the same tag), `patch` a third or later component, `minor` the \
                      second, `major` any.",
        example: "\"minor\"",
    },
    ConfigKey {
        section: "images.\"PATTERN\"",
        key: "include",
        kind: "list of tag globs",
        default: "[]: every tag",
        description: "A candidate tag must match one of these (`16.*`).",
        example: "[\"16.*\"]",
    },
    ConfigKey {
        section: "images.\"PATTERN\"",
        key: "exclude",
        kind: "list of tag globs",
        default: "[]",
        description: "A candidate tag must match none of these (`*-rc*`). Excluded tags still show in \
                      `freshen policy`, marked.",
        example: "[\"*-rc*\"]",
    },
    ConfigKey {
        section: "images.\"PATTERN\"",
        key: "hold",
        kind: "boolean",
        default: "false",
        description: "Holds the matching tags exactly as `freshen hold` does: shown by `showhold`, \
                      marked in `list`, never upgraded, their versions never retired.",
        example: "false",
    },
    ConfigKey {
        section: "images.\"PATTERN\"",
        key: "min_age",
        kind: "duration, or \"0\"",
        default: "the top-level min_age",
        description: "The cooldown for these images; `\"0\"` turns it off for them.",
        example: "\"7d\"",
    },
    ConfigKey {
        section: "images.\"PATTERN\"",
        key: "changelog",
        kind: "URL template",
        default: "the GitHub or GitLab release page from the image's source and version labels",
        description: "The release-notes link, with `{version}`, `{tag}` and `{source}` replaced; an \
                      http:// or https:// URL.",
        example: "\"https://example.org/changes/{version}\"",
    },
    ConfigKey {
        section: "images.\"PATTERN\"",
        key: "recreate",
        kind: "boolean",
        default: "true",
        description: "`false`: `upgrade` pulls and retags the matching images but leaves their \
                      containers on the version they run.",
        example: "false",
    },
    ConfigKey {
        section: "images.\"PATTERN\"",
        key: "pre_upgrade",
        kind: "shell command",
        default: "none",
        description: "Run with `sh -c` before the containers of a matching tag stop (in the old container, or on the host with `hooks_on = \"host\"`). Exit 0 goes on, 75 defers the tag to a later run, anything else leaves it as it was. A container's `freshen.hook.pre-upgrade` label beats it. See docs/hooks.md.",
        example: "\"pg_dump -U postgres -Fc app > $FRESHEN_HOOK_DIR/app.dump\"",
    },
    ConfigKey {
        section: "images.\"PATTERN\"",
        key: "post_upgrade",
        kind: "shell command",
        default: "none",
        description: "Run after a new container passed its health gate (in it, or on the host). Anything but exit 0 rolls the upgrade back, as a failed health gate does.",
        example: "\"psql -U postgres -c 'select 1' app\"",
    },
    ConfigKey {
        section: "images.\"PATTERN\"",
        key: "pre_rollback",
        kind: "shell command",
        default: "none",
        description: "Run before a rollback (automatic or `freshen rollback`), in the container about to be replaced. Before `freshen rollback`, 75 defers it and any other failure cancels it; before an automatic rollback a failure is only reported.",
        example: "\"true\"",
    },
    ConfigKey {
        section: "images.\"PATTERN\"",
        key: "post_rollback",
        kind: "shell command",
        default: "none",
        description: "Run after a rollback, in the container it brought back (the place to restore what `pre_upgrade` saved in `$FRESHEN_HOOK_DIR`). A failure is reported.",
        example: "\"pg_restore -U postgres -c -d app $FRESHEN_HOOK_DIR/app.dump\"",
    },
    ConfigKey {
        section: "images.\"PATTERN\"",
        key: "hook_timeout",
        kind: "seconds or duration",
        default: "the top-level hook_timeout",
        description: "How long each of these hooks may run; one that takes longer has failed.",
        example: "\"5m\"",
    },
    ConfigKey {
        section: "images.\"PATTERN\"",
        key: "hooks_on",
        kind: "\"container\" or \"host\"",
        default: "\"container\"",
        description: "Where these hooks run: inside the container (through the engine's exec API) or \
                      on the host freshen runs on (needs `host_hooks = true`).",
        example: "\"container\"",
    },
    ConfigKey {
        section: "unattended",
        key: "upgrade",
        kind: "boolean",
        default: "false",
        description: "Upgrade the allowed upgradable tags, as `freshen upgrade -y` would.",
        example: "true",
    },
    ConfigKey {
        section: "unattended",
        key: "retire",
        kind: "boolean",
        default: "false",
        description: "Retire the versions those upgrades replaced, under `keep`, `older_than` and \
                      `exclude`.",
        example: "false",
    },
    ConfigKey {
        section: "unattended",
        key: "autoremove",
        kind: "boolean",
        default: "false",
        description: "Keep the image store under the `[cache]` budget, as `freshen autoremove -y` with \
                      that budget would (evicting by use, never what anything needs); when the budget \
                      cannot be met, the run says why, tells the notification targets and exits 4.",
        example: "false",
    },
    ConfigKey {
        section: "unattended",
        key: "recreate",
        kind: "boolean",
        default: "false",
        description: "Recreate the containers of what it upgrades, health-gated, rolled back on failure.",
        example: "false",
    },
    ConfigKey {
        section: "unattended",
        key: "wait",
        kind: "integer seconds",
        default: "60, as `upgrade --wait`",
        description: "The health gate of those recreations.",
        example: "60",
    },
    ConfigKey {
        section: "unattended",
        key: "allowed",
        kind: "list of image patterns",
        default: "[]: nothing",
        description: "The images it may upgrade; nothing when empty.",
        example: "[\"nginx\", \"ghcr.io/org/*\"]",
    },
    ConfigKey {
        section: "notify",
        key: "kind",
        kind: "\"webhook\", \"ntfy\" or \"exec\"",
        default: "required",
        description: "`webhook` POSTs a JSON document, `ntfy` a text message to an ntfy topic, `exec` \
                      runs a program with the JSON on its standard input.",
        example: "\"ntfy\"",
    },
    ConfigKey {
        section: "notify",
        key: "name",
        kind: "string (letters, digits, -, _, .)",
        default: "made from the kind and the host of the URL or the program",
        description: "How results, messages and `notified.json` refer to the target.",
        example: "\"team\"",
    },
    ConfigKey {
        section: "notify",
        key: "url",
        kind: "http:// or https:// URL",
        default: "required for webhook and ntfy",
        description: "Where a webhook or ntfy target POSTs.",
        example: "\"https://ntfy.example.org/docker-updates\"",
    },
    ConfigKey {
        section: "notify",
        key: "command",
        kind: "list of strings",
        default: "required for exec",
        description: "An exec target's program and arguments, run without a shell.",
        example: "[\"/usr/local/bin/notify-me\", \"--json\"]",
    },
    ConfigKey {
        section: "notify",
        key: "headers",
        kind: "table of header = value",
        default: "{}",
        description: "Extra request headers of a webhook or ntfy target: a literal string, or \
                      `{ env = \"VAR\" }` or `{ file = \"/path\" }` read when sending (secrets never \
                      appear in output, logs or state).",
        example: "{ Authorization = { file = \"/etc/freshen/token\" } }",
    },
    ConfigKey {
        section: "notify",
        key: "title",
        kind: "string",
        default: "\"freshen on HOST\"",
        description: "An ntfy target's `Title` header.",
        example: "\"Docker updates\"",
    },
    ConfigKey {
        section: "notify",
        key: "timeout",
        kind: "number of seconds (up to 3600)",
        default: "30",
        description: "Per attempt of a webhook or ntfy target; an exec target's program is killed after \
                      that.",
        example: "30",
    },
    ConfigKey {
        section: "notify",
        key: "retries",
        kind: "integer (0 to 10)",
        default: "2",
        description: "Retries of a webhook or ntfy target after a network error, a 429 or a 5xx.",
        example: "2",
    },
    ConfigKey {
        section: "notify",
        key: "logs",
        kind: "boolean",
        default: "true",
        description: "Rollback notices carry the last log lines of the rolled-back container.",
        example: "true",
    },
];

/// The keys of one section, in table order.
pub fn keys_of(section: &str) -> impl Iterator<Item = &'static ConfigKey> + '_ {
    CONFIG_KEYS.iter().filter(move |k| k.section == section)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::TargetConfig;
    use crate::settings::config_file::{
        CacheSection, ConfigFile, FleetConfig, ImageSection, MqttSection, ServeSection, UnattendedConfig,
    };
    use serde::de::{self, Deserialize, Visitor};
    use std::collections::BTreeSet;

    /// A deserializer that only asks a struct for its field names: serde's
    /// derive passes them to `deserialize_struct`, which is exactly the set
    /// `deny_unknown_fields` accepts.
    struct FieldNames<'a>(&'a mut Vec<&'static str>);

    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("stop")
        }
    }
    impl std::error::Error for Stop {}
    impl de::Error for Stop {
        fn custom<T: std::fmt::Display>(_: T) -> Stop {
            Stop
        }
    }

    impl<'de> de::Deserializer<'de> for FieldNames<'_> {
        type Error = Stop;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0.extend_from_slice(fields);
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
            unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }

    fn fields<T: for<'de> Deserialize<'de>>() -> BTreeSet<&'static str> {
        let mut names = Vec::new();
        let _ = T::deserialize(FieldNames(&mut names));
        names.into_iter().collect()
    }

    #[test]
    fn the_table_has_exactly_the_keys_the_parser_accepts() {
        let table = |section: &str| keys_of(section).map(|k| k.key).collect::<BTreeSet<_>>();
        // `validated` is filled by the parser, never read from the file.
        let mut top = fields::<ConfigFile>();
        assert!(top.remove("validated") || !top.contains("validated"));
        // The sections are tables of their own, described by their rows.
        for section in ["images", "unattended", "notify", "fleet", "serve", "mqtt", "cache"] {
            assert!(top.remove(section), "the parser lost the [{section}] section");
        }
        assert_eq!(top, table(""), "top-level keys: add a row to CONFIG_KEYS for each new key");
        assert_eq!(fields::<ImageSection>(), table("images.\"PATTERN\""), "[images.\"PATTERN\"] keys");
        assert_eq!(fields::<UnattendedConfig>(), table("unattended"), "[unattended] keys");
        assert_eq!(fields::<TargetConfig>(), table("notify"), "[[notify]] keys");
        assert_eq!(fields::<FleetConfig>(), table("fleet"), "[fleet] keys");
        assert_eq!(fields::<CacheSection>(), table("cache"), "[cache] keys");
        assert_eq!(fields::<ServeSection>(), table("serve"), "[serve] keys");
        assert_eq!(fields::<MqttSection>(), table("mqtt"), "[mqtt] keys");
        for (section, _) in SECTIONS {
            assert!(keys_of(section).next().is_some(), "section {section} has no keys");
        }
        for k in CONFIG_KEYS {
            assert!(SECTIONS.iter().any(|(s, _)| *s == k.section), "{} in an unknown section", k.key);
            assert!(!k.description.is_empty() && !k.default.is_empty() && !k.kind.is_empty(), "{}", k.key);
        }
    }

    /// The commented default config, uncommented, is a valid config file
    /// whose every value parses: the examples cannot rot.
    #[test]
    fn the_examples_form_a_valid_config() {
        let mut text = String::new();
        for (section, _) in SECTIONS {
            match *section {
                "" => {}
                "notify" => text.push_str("[[notify]]\n"),
                s => text.push_str(&format!("[{s}]\n")),
            }
            for k in keys_of(section) {
                if section == &"notify" && k.key == "command" {
                    continue; // an ntfy target has no command
                }
                text.push_str(&format!("{} = {}\n", k.key, k.example));
            }
        }
        let text = text.replace("images.\"PATTERN\"", "images.\"postgres\"");
        if let Err(e) = crate::settings::config_file::parse_config(std::path::Path::new("example"), &text) {
            panic!("{e}\n{text}");
        }
    }
}

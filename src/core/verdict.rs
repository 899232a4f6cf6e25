//! The verdicts, and the rule that decides them, as pure
//! functions: no I/O, so the multi-arch logic is tested without Docker.
//!
//! The rule, in the order that costs the fewest requests:
//! 1. The tag's current digest (from one HEAD) is one of the local image's
//!    digests for that repository, or its id: up to date.
//! 2. Otherwise the manifest behind that digest decides. An index: the entry
//!    for the local image's platform is up to date if its digest is known
//!    locally or its config digest is the local id. A single manifest: its
//!    config digest against the local id. An index that changed only for
//!    other platforms (or attestations) is therefore not an update.
//! 3. Anything else can be upgraded.

use serde::{Deserialize, Serialize};

use crate::core::image::Platform;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    UpToDate,
    Upgradable,
    LocalOnly,
    Pinned,
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::UpToDate => "up-to-date",
            Status::Upgradable => "upgradable",
            Status::LocalOnly => "local-only",
            Status::Pinned => "pinned",
            Status::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the local side knows about one tag.
#[derive(Debug, Clone, Copy)]
pub struct Local<'a> {
    pub id: &'a str,
    /// The image's digests in the tag's repository.
    pub digests: &'a [&'a str],
}

impl Local<'_> {
    fn knows(&self, digest: &str) -> bool {
        self.id == digest || self.digests.contains(&digest)
    }

    /// Whether the id is itself one of the image's manifest digests: the
    /// containerd store names a pulled image by the manifest (or index) it
    /// was pulled by, not by its config.
    pub fn id_is_a_manifest(&self) -> bool {
        self.digests.contains(&self.id)
    }
}

/// Rule 1: does the tag's current digest alone prove the image is current?
pub fn digest_matches(local: Local<'_>, remote_digest: &str) -> bool {
    local.knows(remote_digest)
}

/// A manifest as far as the verdict needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    Index(Vec<IndexEntry>),
    Image { config_digest: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub digest: String,
    pub platform: Option<Platform>,
}

/// The next step after looking at the manifest behind the remote digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Done(Status),
    /// The index entry for our platform is new to us: fetch that manifest
    /// and compare its config digest with the local id.
    FetchPlatformManifest(String),
    /// The index holds no image for our platform.
    NoPlatform,
}

/// Rule 2, first half. `platform` is the local image's; it is only needed
/// for an index.
pub fn judge_manifest(local: Local<'_>, manifest: &Manifest, platform: &Platform) -> Next {
    match manifest {
        Manifest::Image { config_digest } => Next::Done(judge_config(local, config_digest)),
        Manifest::Index(entries) => match pick_platform(entries, platform) {
            None => Next::NoPlatform,
            Some(entry) if local.knows(&entry.digest) => Next::Done(Status::UpToDate),
            Some(entry) => Next::FetchPlatformManifest(entry.digest.clone()),
        },
    }
}

/// Rule 2, second half: a single-platform manifest's config against the id.
pub fn judge_config(local: Local<'_>, config_digest: &str) -> Status {
    if local.id == config_digest {
        Status::UpToDate
    } else {
        Status::Upgradable
    }
}

/// Rule 2 when the id is a manifest digest (containerd store): no config
/// digest can ever equal it, so the manifest the image was pulled by
/// (`old`, fetched by the id) decides. An index whose entry for our
/// platform is the new index's entry for our platform: only other platforms
/// changed, up to date. Anything else is a change for us.
pub fn judge_old_manifest(old: &Manifest, new_entry: &str, platform: &Platform) -> Status {
    match old {
        Manifest::Index(entries) => match pick_platform(entries, platform) {
            Some(e) if e.digest == new_entry => Status::UpToDate,
            _ => Status::Upgradable,
        },
        Manifest::Image { .. } => Status::Upgradable,
    }
}

/// Of an image's digests, the index it was pulled by when the engine also
/// recorded the platform manifest (podman keeps both): the one digest that
/// is not `entry`, our platform's entry of that index. None when that cannot
/// be told from the digests alone.
pub fn index_beside<'a>(digests: &[&'a str], entry: &str) -> Option<&'a str> {
    if !digests.contains(&entry) {
        return None;
    }
    match digests.iter().filter(|d| **d != entry).collect::<Vec<_>>().as_slice() {
        [one] => Some(**one),
        _ => None,
    }
}

/// The entry Docker would pull for `want`: same os and architecture, and
/// the same variant after filling in the defaults (arm64 → v8, arm → v7).
/// An exact variant beats a missing one. Entries without a platform, or
/// with `unknown/unknown` (attestations), never match.
pub fn pick_platform<'a>(entries: &'a [IndexEntry], want: &Platform) -> Option<&'a IndexEntry> {
    let want_arch = crate::core::image::normalise_arch(&want.architecture);
    let want_variant = default_variant(want_arch, want.variant.as_deref());
    let mut best: Option<(u8, &IndexEntry)> = None;
    for e in entries {
        let Some(p) = &e.platform else { continue };
        let arch = crate::core::image::normalise_arch(&p.architecture);
        if p.os != want.os || arch != want_arch {
            continue;
        }
        let variant = default_variant(arch, p.variant.as_deref());
        let score = if variant == want_variant {
            2
        } else if variant.is_none() || want_variant.is_none() {
            1
        } else {
            continue;
        };
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, e));
        }
    }
    best.map(|(_, e)| e)
}

fn default_variant<'a>(arch: &str, variant: Option<&'a str>) -> Option<&'a str> {
    match (arch, variant) {
        ("arm64", None) => Some("v8"),
        ("arm", None) => Some("v7"),
        ("amd64", Some("v1")) => None,
        (_, v) => v,
    }
}

/// Parses a manifest or index body. Schema 1 manifests and anything that is
/// neither an image manifest nor an index are refused with a short reason.
pub fn parse_manifest(body: &[u8]) -> Result<Manifest, String> {
    use oci_client::manifest::OciManifest;
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("manifest is not JSON ({e})"))?;
    if value.get("schemaVersion").and_then(|v| v.as_u64()) == Some(1) {
        return Err("registry sent a schema 1 manifest, which freshen does not support".into());
    }
    let parsed: OciManifest = serde_json::from_value(value)
        .map_err(|_| "manifest is neither an image manifest nor an index".to_string())?;
    Ok(match parsed {
        OciManifest::Image(m) => Manifest::Image { config_digest: m.config.digest },
        OciManifest::ImageIndex(i) => Manifest::Index(
            i.manifests
                .into_iter()
                .map(|e| IndexEntry {
                    digest: e.digest,
                    platform: e.platform.map(|p| Platform {
                        os: p.os.to_string(),
                        architecture: p.architecture.to_string(),
                        variant: p.variant.filter(|v| !v.is_empty()),
                    }),
                })
                .collect(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn plat(os: &str, arch: &str, variant: Option<&str>) -> Platform {
        Platform { os: os.into(), architecture: arch.into(), variant: variant.map(Into::into) }
    }

    fn entry(digest: String, arch: &str, variant: Option<&str>) -> IndexEntry {
        IndexEntry { digest, platform: Some(plat("linux", arch, variant)) }
    }

    #[test]
    fn rule_one_uses_every_digest_and_the_id() {
        let (a, b, c) = (d('a'), d('b'), d('c'));
        let digests = [a.as_str(), b.as_str()];
        let local = Local { id: &c, digests: &digests };
        assert!(digest_matches(local, &a));
        assert!(digest_matches(local, &b), "only [0] was compared");
        assert!(digest_matches(local, &c), "containerd store: id is the manifest digest");
        assert!(!digest_matches(local, &d('e')));
    }

    #[test]
    fn index_changed_only_for_other_platforms_is_not_an_update() {
        let (old_index, ours, config) = (d('1'), d('2'), d('3'));
        let digests = [old_index.as_str()];
        let local = Local { id: &config, digests: &digests };
        let index = Manifest::Index(vec![
            entry(ours.clone(), "amd64", None),
            entry(d('9'), "arm64", Some("v8")),
            IndexEntry { digest: d('8'), platform: Some(plat("unknown", "unknown", None)) },
        ]);
        let amd64 = plat("linux", "amd64", None);
        // Our entry is not among the local digests: fetch it and compare config.
        assert_eq!(judge_manifest(local, &index, &amd64), Next::FetchPlatformManifest(ours));
        assert_eq!(judge_config(local, &config), Status::UpToDate);
        assert_eq!(judge_config(local, &d('4')), Status::Upgradable);
    }

    #[test]
    fn containerd_id_is_the_old_index_whose_entry_for_us_decides() {
        let (old_index, ours, theirs1, theirs2, ours2) = (d('1'), d('2'), d('3'), d('4'), d('5'));
        // containerd store: Id = RepoDigest = the index the image was pulled by.
        let digests = [old_index.as_str()];
        let local = Local { id: &old_index, digests: &digests };
        assert!(local.id_is_a_manifest());
        let amd64 = plat("linux", "amd64", None);
        let arm64 = plat("linux", "arm64", Some("v8"));
        let old = Manifest::Index(vec![entry(ours.clone(), "amd64", None), entry(theirs1, "arm64", None)]);
        let new =
            Manifest::Index(vec![entry(ours.clone(), "amd64", None), entry(theirs2.clone(), "arm64", None)]);
        // The new index is not known locally, so rule 2 asks for our entry…
        assert_eq!(judge_manifest(local, &new, &amd64), Next::FetchPlatformManifest(ours.clone()));
        // …whose config can never be the id: the old index decides.
        assert_eq!(judge_config(local, &d('9')), Status::Upgradable);
        assert_eq!(judge_old_manifest(&old, &ours, &amd64), Status::UpToDate);
        assert_eq!(judge_old_manifest(&old, &ours2, &amd64), Status::Upgradable);
        // On the other platform the same pair of indexes is a change.
        assert_eq!(judge_old_manifest(&old, &theirs2, &arm64), Status::Upgradable);
        // An old index without our platform, or an old single manifest: a change.
        let only_arm = Manifest::Index(vec![entry(d('6'), "arm64", None)]);
        assert_eq!(judge_old_manifest(&only_arm, &ours, &amd64), Status::Upgradable);
        assert_eq!(
            judge_old_manifest(&Manifest::Image { config_digest: d('7') }, &ours, &amd64),
            Status::Upgradable
        );
        // Classic store and podman: the id is a config digest, never a RepoDigest.
        let config = d('8');
        assert!(!Local { id: &config, digests: &digests }.id_is_a_manifest());
    }

    #[test]
    fn the_index_beside_its_platform_manifest() {
        let (index, ours, other) = (d('1'), d('2'), d('3'));
        // podman: both orders occur.
        assert_eq!(index_beside(&[&ours, &index], &ours), Some(index.as_str()));
        assert_eq!(index_beside(&[&index, &ours], &ours), Some(index.as_str()));
        // The entry is not ours, or more than one candidate: not decidable here.
        assert_eq!(index_beside(&[&ours, &index], &other), None);
        assert_eq!(index_beside(&[&ours, &index, &other], &ours), None);
        assert_eq!(index_beside(&[&ours], &ours), None);
    }

    #[test]
    fn index_entry_known_locally_is_up_to_date_without_more_requests() {
        let ours = d('2');
        let digests = [ours.as_str()];
        let id = d('3');
        let local = Local { id: &id, digests: &digests };
        let index = Manifest::Index(vec![entry(ours.clone(), "amd64", None)]);
        assert_eq!(
            judge_manifest(local, &index, &plat("linux", "amd64", None)),
            Next::Done(Status::UpToDate)
        );
    }

    #[test]
    fn index_without_our_platform() {
        let id = d('3');
        let local = Local { id: &id, digests: &[] };
        let index = Manifest::Index(vec![entry(d('2'), "arm64", None)]);
        assert_eq!(judge_manifest(local, &index, &plat("linux", "amd64", None)), Next::NoPlatform);
    }

    #[test]
    fn single_manifest_compares_config_with_id() {
        let id = d('3');
        let local = Local { id: &id, digests: &[] };
        let m = Manifest::Image { config_digest: id.clone() };
        assert_eq!(judge_manifest(local, &m, &Platform::default()), Next::Done(Status::UpToDate));
        let m = Manifest::Image { config_digest: d('4') };
        assert_eq!(judge_manifest(local, &m, &Platform::default()), Next::Done(Status::Upgradable));
    }

    #[test]
    fn platform_variants_follow_docker_defaults() {
        let entries = vec![
            entry(d('1'), "arm", Some("v6")),
            entry(d('2'), "arm", Some("v7")),
            entry(d('3'), "arm64", Some("v8")),
            entry(d('4'), "amd64", None),
            entry(d('5'), "amd64", Some("v3")),
        ];
        let pick =
            |arch, variant| pick_platform(&entries, &plat("linux", arch, variant)).map(|e| e.digest.clone());
        assert_eq!(pick("arm", None), Some(d('2')));
        assert_eq!(pick("arm", Some("v6")), Some(d('1')));
        assert_eq!(pick("arm64", None), Some(d('3')));
        assert_eq!(pick("aarch64", None), Some(d('3')));
        assert_eq!(pick("amd64", None), Some(d('4')));
        assert_eq!(pick("x86_64", None), Some(d('4')));
        assert_eq!(pick("amd64", Some("v3")), Some(d('5')));
        assert_eq!(pick("s390x", None), None);
        let windows = plat("windows", "amd64", None);
        assert!(pick_platform(&entries, &windows).is_none());
    }

    #[test]
    fn parses_indexes_and_manifests() {
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
            {{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":1,"platform":{{"os":"linux","architecture":"arm","variant":"v7"}}}},
            {{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":1,"platform":{{"os":"unknown","architecture":"unknown"}}}}]}}"#,
            d('1'),
            d('2')
        );
        match parse_manifest(index.as_bytes()).unwrap() {
            Manifest::Index(e) => {
                assert_eq!(e.len(), 2);
                assert_eq!(e[0].platform, Some(plat("linux", "arm", Some("v7"))));
                assert_eq!(e[1].platform.as_ref().unwrap().os, "unknown");
            }
            other => panic!("{other:?}"),
        }
        let image = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
            "config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{}","size":5}},"layers":[]}}"#,
            d('3')
        );
        assert_eq!(parse_manifest(image.as_bytes()).unwrap(), Manifest::Image { config_digest: d('3') });
        assert!(parse_manifest(b"<html>").unwrap_err().contains("not JSON"));
        assert!(parse_manifest(b"{\"schemaVersion\":1,\"fsLayers\":[]}").unwrap_err().contains("schema 1"));
        assert!(parse_manifest(b"{\"hello\":1}").is_err());
    }
}

/// Property tests (`PROPTEST_CASES` raises the case count for a longer run).
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn json_like() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            "\"[a-z0-9:./+-]{0,20}\"",
            Just("\"application/vnd.oci.image.index.v1+json\"".to_string()),
            Just(format!("\"sha256:{}\"", "a".repeat(64))),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            let key = prop_oneof![
                Just("schemaVersion"),
                Just("mediaType"),
                Just("manifests"),
                Just("config"),
                Just("digest"),
                Just("platform"),
                Just("architecture"),
                Just("os"),
                Just("layers"),
                Just("size"),
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
                proptest::collection::vec((key, inner), 0..5).prop_map(|v| {
                    let fields: Vec<String> = v.into_iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                    format!("{{{}}}", fields.join(","))
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn parse_manifest_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_manifest(&bytes);
        }

        #[test]
        fn parse_manifest_never_panics_on_json(text in json_like()) {
            if let Err(e) = parse_manifest(text.as_bytes()) {
                prop_assert!(!e.contains('\n'), "{}", e);
            }
        }
    }
}

//! Tag listings and image config blobs, the two reads that versions need
//! beyond the digest check. A listing follows `Link: <…>; rel="next"`
//! pages and is bounded: a server that never ends the list, repeats a page
//! or sends huge answers is cut off with an error rather than followed
//! forever. Registry 2.8 ignores `n` and `last` and sends every tag in one
//! page without a `Link`, which is simply a listing of one page.

use std::collections::{BTreeMap, HashSet};

use reqwest::Method;
use serde::Deserialize;

use super::{describe_reqwest, err, printable, status_text, ErrorKind, Host, RegistryError};
use crate::core::image::ImageConfig;
use crate::net::{self, CapError};

/// Tags asked for per page; registries may send fewer (or all).
const PAGE_SIZE: usize = 1000;
/// Pages followed before giving up on a listing.
const MAX_PAGES: usize = 200;
/// Tags kept from one repository; Docker Hub's largest have tens of
/// thousands.
const MAX_TAGS: usize = 100_000;
/// One page's body; 1000 tags of 128 characters are about 130 KiB, and a
/// registry that ignores `n` may send all of them at once.
const MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;
/// An image config: its history can be long, but not this long.
const MAX_CONFIG_BYTES: usize = 8 * 1024 * 1024;

#[derive(Deserialize)]
struct TagPage {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RawConfig {
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    config: Option<RawInner>,
}

#[derive(Deserialize)]
struct RawInner {
    #[serde(default, rename = "Labels")]
    labels: Option<BTreeMap<String, String>>,
}

impl Host {
    /// Every tag of a repository, in the registry's order, without
    /// duplicates.
    pub async fn tags(&self, repository: &str) -> Result<Vec<String>, RegistryError> {
        self.mirrors_first(|h| Box::pin(h.tags_here(repository))).await
    }

    async fn tags_here(&self, repository: &str) -> Result<Vec<String>, RegistryError> {
        let mut path = format!("/v2/{repository}/tags/list?n={PAGE_SIZE}");
        let mut seen_paths: HashSet<String> = HashSet::new();
        let mut seen_tags: HashSet<String> = HashSet::new();
        let mut out = Vec::new();
        for _page in 0..MAX_PAGES {
            seen_paths.insert(path.clone());
            let resp = {
                let _permit =
                    self.limit.acquire().await.map_err(|_| err(ErrorKind::Unreachable, "shutting down"))?;
                self.send(Method::GET, &path, repository).await?
            };
            if !resp.status().is_success() {
                return Err(match resp.status().as_u16() {
                    404 => {
                        err(ErrorKind::NotFound, format!("{}/{repository} has no tag list", self.registry))
                    }
                    _ => self.status_error(resp.status(), repository, None),
                });
            }
            let next = resp
                .headers()
                .get_all(reqwest::header::LINK)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(next_link);
            let body = read_capped(resp, MAX_PAGE_BYTES, "tag list page").await?;
            let page: TagPage = serde_json::from_slice(&body).map_err(|_| {
                err(
                    ErrorKind::BadResponse,
                    format!("registry {} sent a tag list that is not JSON", self.registry),
                )
            })?;
            let mut fresh = 0;
            for tag in page.tags.unwrap_or_default() {
                if seen_tags.insert(tag.clone()) {
                    fresh += 1;
                    out.push(tag);
                }
            }
            if out.len() > MAX_TAGS {
                return Err(err(
                    ErrorKind::BadResponse,
                    format!(
                        "{}/{repository} lists more than {MAX_TAGS} tags; freshen stops there",
                        self.registry
                    ),
                ));
            }
            let Some(next) = next else { return Ok(out) };
            let next = self.same_host_path(&next).ok_or_else(|| {
                err(
                    ErrorKind::BadResponse,
                    format!(
                        "registry {} sent a next-page link to another place ({})",
                        self.registry,
                        printable(&next)
                    ),
                )
            })?;
            // A page with nothing new, or a link back to a page already
            // read, means the server would go round in circles.
            if fresh == 0 || seen_paths.contains(&next) {
                return Ok(out);
            }
            path = next;
        }
        Err(err(
            ErrorKind::BadResponse,
            format!(
                "registry {} did not end the tag list of {repository} within {MAX_PAGES} pages",
                self.registry
            ),
        ))
    }

    /// The config blob of an image manifest: its creation time and labels.
    /// Verified against its digest and bounded in size.
    pub async fn image_config(&self, repository: &str, digest: &str) -> Result<ImageConfig, RegistryError> {
        let read = self.mirrors_first(|h| Box::pin(h.image_config_here(repository, digest)));
        super::read_once(&self.configs, repository, digest, read).await
    }

    async fn image_config_here(&self, repository: &str, digest: &str) -> Result<ImageConfig, RegistryError> {
        let _permit = self.limit.acquire().await.map_err(|_| err(ErrorKind::Unreachable, "shutting down"))?;
        let path = format!("/v2/{repository}/blobs/{digest}");
        let resp = self.send(Method::GET, &path, repository).await?;
        if !resp.status().is_success() {
            return Err(match resp.status().as_u16() {
                404 => err(ErrorKind::NotFound, format!("config blob {digest} not found in {repository}")),
                _ => err(
                    ErrorKind::BadResponse,
                    format!("registry {} answered {}", self.registry, status_text(resp.status())),
                ),
            });
        }
        let body = read_capped(resp, MAX_CONFIG_BYTES, "image config").await?;
        super::verify_digest(digest, &body)?;
        parse_config(&body).map_err(|e| err(ErrorKind::BadResponse, e))
    }

    /// A `Link` target as a path on this registry: relative links as they
    /// are, absolute ones only when they point at this host.
    fn same_host_path(&self, link: &str) -> Option<String> {
        if link.starts_with('/') {
            return Some(link.to_string());
        }
        let rest = link.strip_prefix("https://").or_else(|| link.strip_prefix("http://"))?;
        let (host, path) = rest.split_at(rest.find('/')?);
        (host.eq_ignore_ascii_case(&self.api) || host.eq_ignore_ascii_case(&self.registry))
            .then(|| path.to_string())
    }
}

/// Reads a tag list page or an image config of at most `limit` bytes.
async fn read_capped(resp: reqwest::Response, limit: usize, what: &str) -> Result<Vec<u8>, RegistryError> {
    net::read_capped(resp, limit).await.map_err(|e| match e {
        CapError::TooBig { .. } => {
            err(ErrorKind::BadResponse, format!("the registry sent a {what} larger than {limit} bytes"))
        }
        CapError::CutOff(e) => {
            err(ErrorKind::BadResponse, format!("the {what} was cut off: {}", describe_reqwest(&e)))
        }
    })
}

/// The target of `rel="next"` in one `Link` header value.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let is_next = params.split(';').any(|p| {
            p.trim().split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("rel")
                    && v.trim().trim_matches('"').split_whitespace().any(|r| r.eq_ignore_ascii_case("next"))
            })
        });
        is_next.then(|| target.to_string())
    })
}

pub fn parse_config(body: &[u8]) -> Result<ImageConfig, String> {
    let raw: RawConfig = serde_json::from_slice(body).map_err(|_| "image config is not JSON".to_string())?;
    Ok(ImageConfig { created: raw.created, labels: raw.config.and_then(|c| c.labels).unwrap_or_default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links() {
        assert_eq!(
            next_link(r#"</v2/app/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/app/tags/list?last=b&n=2")
        );
        assert_eq!(
            next_link(r#"<https://r.example/v2/a/tags/list?last=x>; rel=next"#).as_deref(),
            Some("https://r.example/v2/a/tags/list?last=x")
        );
        assert_eq!(next_link(r#"</x>; rel="prev", </y>; rel="next""#).as_deref(), Some("/y"));
        assert_eq!(next_link(r#"</x>; rel="prev""#), None);
        assert_eq!(next_link("garbage"), None);
    }

    #[test]
    fn configs() {
        let c = parse_config(
            br#"{"created":"2026-01-02T03:04:05Z","config":{"Labels":{"org.opencontainers.image.version":"1.2.3"}}}"#,
        )
        .unwrap();
        assert_eq!(c.created.as_deref(), Some("2026-01-02T03:04:05Z"));
        assert_eq!(c.labels.get("org.opencontainers.image.version").map(String::as_str), Some("1.2.3"));
        assert_eq!(parse_config(br#"{"config":{"Labels":null}}"#).unwrap(), ImageConfig::default());
        assert!(parse_config(b"[").is_err());
    }
}

//! HEADs sent before the local inventory is read, for the tags the last
//! update saw, and where a check takes its tag's digest from.

use std::collections::{BTreeMap, HashMap};

use futures_util::stream::{self, StreamExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::core::reference::Reference;
use crate::core::state::RegistryInfo;
use crate::registry::{Registries, RegistryError};

pub(super) type HeadResult = Result<String, RegistryError>;

/// HEAD requests started before the local inventory is read, for the tags
/// the last update saw: the registry round trips overlap the engine's
/// `images/json`, which on a host with thousands of images takes as long as
/// the checks themselves. One task per registry sends them, at most the
/// registry's bound at a time; a tag whose check no longer wants its answer
/// (gone locally) is skipped if its turn has not come yet.
#[derive(Default)]
pub struct Prefetch {
    heads: HashMap<String, oneshot::Receiver<HeadResult>>,
    drivers: Vec<JoinHandle<()>>,
}

impl Prefetch {
    pub fn start(
        registries: &Registries,
        references: impl IntoIterator<Item = Reference>,
        known: &BTreeMap<String, RegistryInfo>,
    ) -> Prefetch {
        let mut by_registry: BTreeMap<String, Vec<Reference>> = BTreeMap::new();
        for r in references.into_iter().filter(|r| r.tag.is_some()) {
            by_registry.entry(r.registry.clone()).or_default().push(r);
        }
        let mut prefetch = Prefetch::default();
        let bound = registries.concurrency();
        for (registry, mut refs) in by_registry {
            refs.sort_by_cached_key(|r| r.to_string());
            let mut repos: Vec<String> = refs.iter().map(|r| r.repository.clone()).collect();
            repos.sort();
            repos.dedup();
            let info = known.get(&registry);
            let hint = info.and_then(|i| i.scheme.as_deref());
            // A registry whose scheme and authentication the last update
            // learnt is asked everything at once: with no credentials if it
            // asked for none, else with the credentials (or the tokens, one
            // request to the token server first) it asked for. Should it
            // want something else now, the requests in flight get one 401
            // each and retry with what the first learnt.
            let auth = info.and_then(|i| i.auth.clone());
            let mut gate = !info.is_some_and(|i| i.scheme.is_some() && (i.anonymous || i.auth.is_some()));
            let Ok(host) = registries.host(&registry, repos, hint) else { continue };
            if !gate {
                host.settle_scheme();
            }
            let mut jobs = Vec::with_capacity(refs.len());
            for r in refs {
                let (tx, rx) = oneshot::channel();
                prefetch.heads.insert(r.to_string(), rx);
                jobs.push((r.repository, r.tag.unwrap_or_default(), tx));
            }
            prefetch.drivers.push(tokio::spawn(async move {
                if let (false, Some(auth)) = (gate, &auth) {
                    // Credentials gone or refused: a first request alone
                    // learns again, as for a registry never seen.
                    gate = !host.adopt_auth(auth).await;
                }
                let head = |(repo, tag, tx): (String, String, oneshot::Sender<HeadResult>)| {
                    let host = host.clone();
                    async move {
                        if !tx.is_closed() {
                            let _ = tx.send(host.tag_digest(&repo, &tag).await);
                        }
                    }
                };
                let mut jobs = jobs.into_iter();
                // The first request learns scheme and authentication alone;
                // the others then start with a token, not a 401 each.
                if gate {
                    if let Some(first) = jobs.next() {
                        head(first).await;
                    }
                }
                stream::iter(jobs).for_each_concurrent(bound, head).await;
            }));
        }
        prefetch
    }

    /// The tags not taken by now are not wanted: their HEADs are skipped
    /// if their turn has not come.
    pub(super) fn skip_the_rest(&mut self) {
        self.heads.clear();
    }

    pub(super) fn take(&mut self, reference: &str) -> Option<oneshot::Receiver<HeadResult>> {
        self.heads.remove(reference)
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        for d in &self.drivers {
            d.abort();
        }
    }
}

/// Where a check gets its tag's current digest from.
pub(super) enum Head {
    /// Ask the registry now.
    Ask,
    /// A prefetch is (or was) asking.
    Prefetched(oneshot::Receiver<HeadResult>),
    /// Already asked.
    Done(HeadResult),
}

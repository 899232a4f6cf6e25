//! The image store as a cache: which tagged images `autoremove --budget`,
//! `--min-free` and `--unused-for` evict, in what order, and why the others
//! stay. First goes what retirement already takes (decided in `retire`),
//! then images unused for longer than the age, then the least recently used
//! until the budget holds, children before parents. Bytes are unique layer
//! bytes: a layer shared by several images counts once, and frees space only
//! when the last image that uses it goes. The protections are absolute: an
//! image a container uses (any state), a held, excluded or `freshen.keep`
//! labelled one, the previous version kept for rollback, one younger than
//! the minimum age since first seen or since last use, and one no registry
//! can give back unless the user named it. Pure: the services gather the
//! inputs (with the clock) and carry the plan out.

use std::collections::{HashMap, HashSet};

use crate::core::holds::Holds;
use crate::core::image::{Container, ImageLayers, LocalImage};
use crate::core::report::Selection;
use crate::core::space;
use crate::core::usage::{EngineUsage, Gap};

/// The image label that keeps an image out of any eviction.
pub const KEEP_LABEL: &str = "freshen.keep";
/// The default minimum age (since first seen and since last use).
pub const DEFAULT_MIN_AGE: i64 = 86_400;

/// A size as the user wrote it: bytes, or a share of the store's filesystem.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    Bytes(u64),
    Percent(f64),
}

impl Amount {
    /// `10G`, `500MB`, `1.5GiB`, `123456`, `20%`. Units are decimal (as
    /// `docker images` prints them) unless written `KiB`, `MiB`, `GiB`, `TiB`.
    pub fn parse(text: &str) -> Result<Amount, String> {
        let bad = || {
            format!("invalid size '{text}': use bytes with a unit (500M, 10G, 1.5GiB) or a share of the disk (20%)")
        };
        let t = text.trim();
        if let Some(p) = t.strip_suffix('%') {
            let v: f64 = p.trim().parse().map_err(|_| bad())?;
            if !(0.0..=100.0).contains(&v) {
                return Err(bad());
            }
            return Ok(Amount::Percent(v));
        }
        let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let n: f64 = number.parse().map_err(|_| bad())?;
        let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1.0,
            "k" | "kb" => 1e3,
            "m" | "mb" => 1e6,
            "g" | "gb" => 1e9,
            "t" | "tb" => 1e12,
            "kib" => 1024.0,
            "mib" => 1024.0 * 1024.0,
            "gib" => 1024.0 * 1024.0 * 1024.0,
            "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
            _ => return Err(bad()),
        };
        Ok(Amount::Bytes((n * mult).round() as u64))
    }

    /// In bytes, a share taken of `total` (the filesystem's size), or None
    /// when a share is asked and the size is unknown.
    pub fn bytes(self, total: Option<u64>) -> Option<u64> {
        match self {
            Amount::Bytes(b) => Some(b),
            Amount::Percent(p) => total.map(|t| (t as f64 * p / 100.0).round() as u64),
        }
    }

    pub fn is_share(self) -> bool {
        matches!(self, Amount::Percent(_))
    }
}

/// The limits of one run, resolved to bytes and seconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// The images' unique bytes must end at or below this.
    pub budget: Option<u64>,
    /// The store's filesystem must end with at least this free.
    pub min_free: Option<u64>,
    /// Images unused for longer than this go whatever the budget.
    pub unused_for: Option<i64>,
    /// Younger than this since first seen, or since last use: kept.
    pub min_age: i64,
}

/// The host as the eviction sees it.
pub struct Store<'a> {
    /// The images the engine lists (tagged ones are the eviction's pool).
    pub images: &'a [LocalImage],
    /// The layers of every image, by id (for the bytes and the children).
    pub layers: &'a HashMap<String, ImageLayers>,
    /// Every image id with its parent id (classic store).
    pub parents: &'a HashMap<String, String>,
    pub containers: &'a [Container],
    pub usage: &'a EngineUsage,
    pub holds: &'a Holds,
    /// The user's patterns and the excludes.
    pub selection: &'a Selection,
    /// Images a registry can give back (see `services::cache`).
    pub pullable: &'a HashSet<String>,
    /// The versions kept for rollback.
    pub rollback: &'a HashSet<String>,
    /// What retirement removes first.
    pub retiring: &'a HashSet<String>,
    /// Free bytes on the store's filesystem now, if known.
    pub free: Option<u64>,
    pub now: i64,
}

/// Why an image is evicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Unused for longer than `--unused-for`.
    Unused,
    /// The least recently used while the budget does not hold.
    Budget,
}

impl Why {
    pub fn as_str(self) -> &'static str {
        match self {
            Why::Unused => "unused",
            Why::Budget => "budget",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Eviction {
    pub image_id: String,
    /// Its tags, familiar (`nginx:1.25, nginx:1`).
    pub name: String,
    /// The tags it carried at the plan: any other found right before its
    /// removal keeps it.
    pub tags: Vec<crate::core::reference::Reference>,
    pub why: Why,
    pub last_use: i64,
    pub evidence: String,
    /// Events were lost after its last use (a daemon restart).
    pub gap: Option<Gap>,
    /// Bytes this removal frees after the ones before it.
    pub frees: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spared {
    pub image_id: String,
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub evict: Vec<Eviction>,
    /// Images of the pool that stay, with the reason (protections; those
    /// simply not needed to meet the budget are not listed).
    pub spared: Vec<Spared>,
    /// Unique bytes of all images now.
    pub bytes_before: u64,
    /// What retirement (the first step) frees.
    pub retire_frees: u64,
    /// Unique bytes of the images left after the plan.
    pub bytes_after: u64,
    pub free_before: Option<u64>,
    pub free_after: Option<u64>,
    /// The budget cannot be met: what is left and why.
    pub unmet: Option<String>,
}

impl Plan {
    pub fn frees(&self) -> u64 {
        self.bytes_before.saturating_sub(self.bytes_after)
    }
}

/// Layer reference counts over the images that stay.
struct Ledger {
    refs: HashMap<String, usize>,
    size: HashMap<String, u64>,
    chains: HashMap<String, Vec<String>>,
    live: u64,
}

impl Ledger {
    fn new<'a>(images: impl IntoIterator<Item = &'a ImageLayers>) -> Ledger {
        let mut l = Ledger { refs: HashMap::new(), size: HashMap::new(), chains: HashMap::new(), live: 0 };
        for image in images {
            let chains = space::chain_ids(&image.diff_ids);
            // One image references each chain once, even if a layer repeats.
            let mut mine: HashSet<&String> = HashSet::new();
            for (chain, size) in chains.iter().zip(&image.sizes) {
                if !mine.insert(chain) {
                    continue;
                }
                let n = l.refs.entry(chain.clone()).or_insert(0);
                if *n == 0 {
                    l.live += (*size).max(0) as u64;
                }
                *n += 1;
                l.size.insert(chain.clone(), (*size).max(0) as u64);
            }
            l.chains.insert(image.id.clone(), chains);
        }
        l
    }

    /// Takes `id` out; the bytes its going frees.
    fn remove(&mut self, id: &str) -> u64 {
        let Some(chains) = self.chains.remove(id) else { return 0 };
        let mut freed = 0;
        let mut seen: HashSet<String> = HashSet::new();
        for chain in chains {
            if !seen.insert(chain.clone()) {
                continue;
            }
            if let Some(n) = self.refs.get_mut(&chain) {
                *n -= 1;
                if *n == 0 {
                    freed += self.size.get(&chain).copied().unwrap_or(0);
                }
            }
        }
        self.live -= freed.min(self.live);
        freed
    }
}

fn name_of(image: &LocalImage) -> String {
    if image.tags.is_empty() {
        return crate::core::reference::short_digest(&image.id).to_string();
    }
    image.tags.iter().map(|t| t.familiar()).collect::<Vec<_>>().join(", ")
}

/// For each image, the images it builds on (by parent id, through any
/// untagged steps, and by layers: one whose layers start with all of
/// another's has it as ancestor).
fn ancestors(store: &Store<'_>) -> HashMap<String, HashSet<String>> {
    let listed: HashSet<&str> = store.images.iter().map(|i| i.id.as_str()).collect();
    let mut by_layers: HashMap<&[String], Vec<&str>> = HashMap::new();
    for i in store.images {
        if let Some(l) = store.layers.get(&i.id).filter(|l| !l.diff_ids.is_empty()) {
            by_layers.entry(l.diff_ids.as_slice()).or_default().push(i.id.as_str());
        }
    }
    let mut out = HashMap::new();
    for i in store.images {
        let mut set = HashSet::new();
        let mut cur = i.id.as_str();
        for _ in 0..10_000 {
            match store.parents.get(cur).filter(|p| !p.is_empty()) {
                Some(p) => {
                    if listed.contains(p.as_str()) {
                        set.insert(p.clone());
                    }
                    cur = p;
                }
                None => break,
            }
        }
        if let Some(l) = store.layers.get(&i.id) {
            for n in 1..l.diff_ids.len() {
                for p in by_layers.get(&l.diff_ids[..n]).into_iter().flatten() {
                    set.insert(p.to_string());
                }
            }
        }
        set.remove(&i.id);
        out.insert(i.id.clone(), set);
    }
    out
}

/// Why `image` may not be evicted, if anything prevents it (apart from
/// its children, which change as the plan goes).
fn protection(
    store: &Store<'_>,
    image: &LocalImage,
    users: &HashMap<&str, Vec<&str>>,
    min_age: i64,
) -> Option<String> {
    if let Some(names) = users.get(image.id.as_str()) {
        let what = if names.len() == 1 { "container" } else { "containers" };
        return Some(format!("used by {what} {}", names.join(", ")));
    }
    if image.tags.iter().any(|t| store.holds.is_held(t)) {
        return Some("held".into());
    }
    if image.tags.iter().any(|t| store.selection.exclude.iter().any(|p| p.matches(t))) {
        return Some("excluded".into());
    }
    if let Some(v) = image.labels.get(KEEP_LABEL) {
        if !matches!(v.trim().to_ascii_lowercase().as_str(), "false" | "0" | "no") {
            return Some(format!("label {KEEP_LABEL}={v}"));
        }
    }
    if store.rollback.contains(&image.id) {
        return Some("the previous version, kept for rollback".into());
    }
    let named = !store.selection.include.is_empty();
    if !store.pullable.contains(&image.id) && !named {
        return Some("no registry can give it back (a local build): name it to remove it".into());
    }
    let record = store.usage.images.get(&image.id);
    let first_seen = record.map_or(store.now, |r| r.first_seen);
    let last_use = record.map_or(store.now, |r| r.last_use());
    let age = crate::core::time::age;
    if store.now - first_seen < min_age {
        return Some(format!("first seen {}, younger than the minimum age", age(store.now - first_seen)));
    }
    if store.now - last_use < min_age {
        let evidence = record.map_or_else(|| "first seen".to_string(), |r| r.evidence());
        return Some(format!("used {} ({evidence}), within the minimum age", age(store.now - last_use)));
    }
    None
}

/// The eviction plan for `limits` on `store`.
pub fn plan(store: &Store<'_>, limits: &Limits) -> Plan {
    let mut users: HashMap<&str, Vec<&str>> = HashMap::new();
    for c in store.containers {
        users.entry(c.image_id.as_str()).or_default().push(c.name.as_str());
    }
    for names in users.values_mut() {
        names.sort_unstable();
    }
    let listed: HashSet<&str> = store.images.iter().map(|i| i.id.as_str()).collect();
    let mut ledger = Ledger::new(store.layers.values().filter(|l| listed.contains(l.id.as_str())));
    let bytes_before = ledger.live;
    let mut retire_frees = 0;
    for id in store.retiring {
        retire_frees += ledger.remove(id);
    }
    let anc = ancestors(store);
    let mut gone: HashSet<String> = store.retiring.clone();
    // How many staying images build on each image.
    let mut children: HashMap<&str, usize> = HashMap::new();
    for (id, set) in &anc {
        if !gone.contains(id) {
            for p in set {
                *children.entry(p.as_str()).or_default() += 1;
            }
        }
    }
    let mut spared = Vec::new();
    let mut pool: Vec<&LocalImage> = Vec::new();
    for image in store.images.iter().filter(|i| !i.tags.is_empty() && !gone.contains(&i.id)) {
        let selected = image.tags.iter().any(|t| {
            store.selection.include.is_empty() || store.selection.include.iter().any(|p| p.matches(t))
        });
        if !selected {
            continue;
        }
        match protection(store, image, &users, limits.min_age) {
            Some(reason) => spared.push(Spared { image_id: image.id.clone(), name: name_of(image), reason }),
            None => pool.push(image),
        }
    }
    let last_use = |i: &LocalImage| store.usage.images.get(&i.id).map_or(store.now, |r| r.last_use());
    // Least recently used first; the id breaks ties so that the order is
    // the same on every run.
    pool.sort_by(|a, b| last_use(a).cmp(&last_use(b)).then_with(|| a.id.cmp(&b.id)));
    let free_before = store.free;
    let met = |ledger: &Ledger| {
        let freed = bytes_before - ledger.live;
        limits.budget.is_none_or(|b| ledger.live <= b)
            && limits.min_free.is_none_or(|m| free_before.is_some_and(|f| f + freed >= m))
    };
    let mut evict: Vec<Eviction> = Vec::new();
    // Step 2: everything unused for longer than the age; step 3: the least
    // recently used until the budget holds. A parent waits for its children.
    for why in [Why::Unused, Why::Budget] {
        loop {
            if why == Why::Budget && (met(&ledger) || (limits.budget.is_none() && limits.min_free.is_none()))
            {
                break;
            }
            let next = pool.iter().copied().find(|i| {
                !gone.contains(&i.id)
                    && children.get(i.id.as_str()).copied().unwrap_or(0) == 0
                    && (why == Why::Budget
                        || limits.unused_for.is_some_and(|age| store.now - last_use(i) >= age))
            });
            let Some(image) = next else { break };
            let frees = ledger.remove(&image.id);
            gone.insert(image.id.clone());
            for p in anc.get(&image.id).into_iter().flatten() {
                if let Some(n) = children.get_mut(p.as_str()) {
                    *n = n.saturating_sub(1);
                }
            }
            let at = last_use(image);
            evict.push(Eviction {
                image_id: image.id.clone(),
                name: name_of(image),
                tags: image.tags.clone(),
                why,
                last_use: at,
                evidence: store
                    .usage
                    .images
                    .get(&image.id)
                    .map_or_else(|| "first seen by freshen".into(), |r| r.evidence()),
                gap: crate::core::usage::gap_after(store.usage, at),
                frees,
            });
        }
    }
    let freed = bytes_before - ledger.live;
    let mut unmet = None;
    if (limits.budget.is_some() || limits.min_free.is_some()) && !met(&ledger) {
        for image in pool.iter().filter(|i| !gone.contains(&i.id)) {
            if children.get(image.id.as_str()).copied().unwrap_or(0) > 0 {
                spared.push(Spared {
                    image_id: image.id.clone(),
                    name: name_of(image),
                    reason: "has dependent child images that stay".into(),
                });
            }
        }
        unmet = Some(shortfall(&ledger, freed, limits, free_before, &spared));
    }
    Plan {
        evict,
        spared,
        bytes_before,
        retire_frees,
        bytes_after: ledger.live,
        free_before,
        free_after: free_before.map(|f| f + freed),
        unmet,
    }
}

/// What removing `removed` frees, each after `first` and the ones before
/// it: the figures of what really went, since an image kept after all (a
/// container created since the plan) keeps the layers it shares, and the
/// next one frees less than planned.
pub fn frees_in_order(
    images: &[LocalImage],
    layers: &HashMap<String, ImageLayers>,
    first: &HashSet<String>,
    removed: &[String],
) -> Vec<u64> {
    let listed: HashSet<&str> = images.iter().map(|i| i.id.as_str()).collect();
    let mut ledger = Ledger::new(layers.values().filter(|l| listed.contains(l.id.as_str())));
    for id in first {
        ledger.remove(id);
    }
    removed.iter().map(|id| ledger.remove(id)).collect()
}

/// What is left over the budget, and why it cannot go.
fn shortfall(ledger: &Ledger, freed: u64, limits: &Limits, free: Option<u64>, spared: &[Spared]) -> String {
    let h = space::human_bytes;
    let mut over = Vec::new();
    if let Some(b) = limits.budget.filter(|b| ledger.live > *b) {
        over.push(format!(
            "the images keep {} of a {} budget ({} over)",
            h(ledger.live),
            h(b),
            h(ledger.live - b)
        ));
    }
    if let Some(m) = limits.min_free {
        match free {
            Some(f) if f + freed < m => over.push(format!(
                "the disk keeps {} free of the {} asked ({} short)",
                h(f + freed),
                h(m),
                h(m - f - freed)
            )),
            None => over.push("the store's free space is unknown here".into()),
            _ => {}
        }
    }
    let mut counts: Vec<(String, usize)> = Vec::new();
    for s in spared {
        let kind = reason_kind(&s.reason);
        match counts.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => counts.push((kind, 1)),
        }
    }
    let why = if counts.is_empty() {
        "nothing else may be removed".to_string()
    } else {
        let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
        format!("what is left is protected: {}", parts.join(", "))
    };
    format!("{}; {why}", over.join(" and "))
}

/// A reason's kind, for the summary (`used by container web` → `in use`).
fn reason_kind(reason: &str) -> String {
    let kinds = [
        ("used by", "in use by containers"),
        ("held", "held"),
        ("excluded", "excluded"),
        ("label", "labelled freshen.keep"),
        ("the previous version", "kept for rollback"),
        ("no registry", "local builds"),
        ("first seen", "too new"),
        ("used ", "used recently"),
        ("has dependent", "with child images"),
    ];
    kinds
        .iter()
        .find(|(prefix, _)| reason.starts_with(prefix))
        .map_or_else(|| reason.to_string(), |(_, k)| k.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::reference::{Pattern, Reference};
    use crate::core::usage::{Evidence, ImageUse, Use};

    const DAY: i64 = 86_400;
    const NOW: i64 = 1_000 * DAY;

    struct Host {
        images: Vec<LocalImage>,
        layers: HashMap<String, ImageLayers>,
        parents: HashMap<String, String>,
        containers: Vec<Container>,
        usage: EngineUsage,
        pullable: HashSet<String>,
    }

    impl Host {
        fn new() -> Host {
            Host {
                images: Vec::new(),
                layers: HashMap::new(),
                parents: HashMap::new(),
                containers: Vec::new(),
                usage: EngineUsage::default(),
                pullable: HashSet::new(),
            }
        }

        /// An image `tag` with layers (diff id, size), last used `days` ago.
        fn add(&mut self, id: &str, tag: &str, layers: &[(&str, i64)], days: i64) -> &mut Host {
            self.images.push(LocalImage {
                id: id.into(),
                tags: if tag.is_empty() { vec![] } else { vec![Reference::parse(tag).unwrap()] },
                digests: Vec::new(),
                created: 0,
                created_ns: None,
                size: 0,
                labels: Default::default(),
            });
            self.layers.insert(
                id.into(),
                ImageLayers {
                    id: id.into(),
                    diff_ids: layers.iter().map(|(d, _)| d.to_string()).collect(),
                    sizes: layers.iter().map(|(_, s)| *s).collect(),
                },
            );
            self.usage.images.insert(
                id.into(),
                ImageUse {
                    tags: vec![],
                    digests: vec![],
                    first_seen: NOW - 100 * DAY,
                    last_used: Some(Use {
                        at: NOW - days * DAY,
                        evidence: Evidence::Container {
                            container: format!("c-{id}"),
                            what: "finished".into(),
                        },
                    }),
                },
            );
            self.pullable.insert(id.into());
            self
        }

        fn plan(
            &self,
            sel: &Selection,
            holds: &Holds,
            rollback: &[&str],
            retiring: &[&str],
            free: Option<u64>,
            limits: Limits,
        ) -> Plan {
            let rollback: HashSet<String> = rollback.iter().map(|s| s.to_string()).collect();
            let retiring: HashSet<String> = retiring.iter().map(|s| s.to_string()).collect();
            let store = Store {
                images: &self.images,
                layers: &self.layers,
                parents: &self.parents,
                containers: &self.containers,
                usage: &self.usage,
                holds,
                selection: sel,
                pullable: &self.pullable,
                rollback: &rollback,
                retiring: &retiring,
                free,
                now: NOW,
            };
            plan(&store, &limits)
        }
    }

    fn all() -> Selection {
        Selection { include: vec![], exclude: vec![] }
    }

    fn ids(p: &Plan) -> Vec<&str> {
        p.evict.iter().map(|e| e.image_id.as_str()).collect()
    }

    fn budget(b: u64) -> Limits {
        Limits { budget: Some(b), min_age: DAY, ..Limits::default() }
    }

    #[test]
    fn sizes_and_shares_parse() {
        assert_eq!(Amount::parse("10G").unwrap(), Amount::Bytes(10_000_000_000));
        assert_eq!(Amount::parse("1.5GiB").unwrap(), Amount::Bytes(1_610_612_736));
        assert_eq!(Amount::parse("500mb").unwrap(), Amount::Bytes(500_000_000));
        assert_eq!(Amount::parse("123").unwrap(), Amount::Bytes(123));
        assert_eq!(Amount::parse("20%").unwrap(), Amount::Percent(20.0));
        assert_eq!(Amount::parse("20%").unwrap().bytes(Some(1000)), Some(200));
        assert_eq!(Amount::parse("20%").unwrap().bytes(None), None);
        assert!(Amount::parse("ten").unwrap_err().contains("500M, 10G"));
        assert!(Amount::parse("120%").is_err());
        assert!(Amount::parse("5X").is_err());
    }

    #[test]
    fn least_recently_used_first_until_the_budget_holds() {
        let mut h = Host::new();
        h.add("a", "a:1", &[("la", 100)], 30).add("b", "b:1", &[("lb", 100)], 10).add(
            "c",
            "c:1",
            &[("lc", 100)],
            20,
        );
        let p = h.plan(&all(), &Holds::default(), &[], &[], None, budget(150));
        assert_eq!(ids(&p), vec!["a", "c"]);
        assert_eq!(p.bytes_before, 300);
        assert_eq!(p.bytes_after, 100);
        assert_eq!(p.frees(), 200);
        assert!(p.unmet.is_none());
        assert!(p.evict.iter().all(|e| e.why == Why::Budget));
        assert_eq!(p.evict[0].evidence, "container c-a finished");
        // Within budget already: nothing goes.
        assert!(h.plan(&all(), &Holds::default(), &[], &[], None, budget(300)).evict.is_empty());
    }

    #[test]
    fn shared_layers_count_once_and_free_only_with_the_last_user() {
        let mut h = Host::new();
        h.add("a", "a:1", &[("base", 1000), ("la", 10)], 30).add(
            "b",
            "b:1",
            &[("base", 1000), ("lb", 20)],
            20,
        );
        let p = h.plan(&all(), &Holds::default(), &[], &[], None, budget(1020));
        assert_eq!(p.bytes_before, 1030);
        assert_eq!(ids(&p), vec!["a"]);
        assert_eq!(p.evict[0].frees, 10);
        let p = h.plan(&all(), &Holds::default(), &[], &[], None, budget(0));
        assert_eq!(ids(&p), vec!["a", "b"]);
        assert_eq!(p.evict[1].frees, 1020);
        assert_eq!(p.frees(), 1030);
    }

    #[test]
    fn unused_images_go_first_then_the_budget() {
        let mut h = Host::new();
        h.add("a", "a:1", &[("la", 100)], 90).add("b", "b:1", &[("lb", 100)], 40).add(
            "c",
            "c:1",
            &[("lc", 100)],
            5,
        );
        let limits = Limits { unused_for: Some(60 * DAY), min_age: DAY, ..Limits::default() };
        let p = h.plan(&all(), &Holds::default(), &[], &[], None, limits);
        assert_eq!(ids(&p), vec!["a"]);
        assert_eq!(p.evict[0].why, Why::Unused);
        let limits =
            Limits { unused_for: Some(60 * DAY), budget: Some(100), min_age: DAY, ..Limits::default() };
        let p = h.plan(&all(), &Holds::default(), &[], &[], None, limits);
        assert_eq!(ids(&p), vec!["a", "b"]);
        assert_eq!(p.evict[1].why, Why::Budget);
    }

    #[test]
    fn what_really_went_is_counted_again() {
        let mut h = Host::new();
        h.add("a", "a:1", &[("shared", 1000), ("la", 10)], 30).add(
            "b",
            "b:1",
            &[("shared", 1000), ("lb", 20)],
            20,
        );
        let p = h.plan(&all(), &Holds::default(), &[], &[], None, budget(0));
        assert_eq!(p.evict.iter().map(|e| e.frees).collect::<Vec<_>>(), vec![10, 1020]);
        // `a` was kept after all: `b` frees only its own layer.
        let real = frees_in_order(&h.images, &h.layers, &HashSet::new(), &["b".to_string()]);
        assert_eq!(real, vec![20]);
    }

    #[test]
    fn retirement_counts_first() {
        let mut h = Host::new();
        h.add("old", "", &[("lo", 500)], 50).add("a", "a:1", &[("la", 100)], 30).add(
            "b",
            "b:1",
            &[("lb", 100)],
            20,
        );
        let p = h.plan(&all(), &Holds::default(), &[], &["old"], None, budget(150));
        assert_eq!(p.retire_frees, 500);
        assert_eq!(ids(&p), vec!["a"]);
        assert_eq!(p.bytes_after, 100);
    }

    #[test]
    fn children_go_before_their_parents() {
        let mut h = Host::new();
        // base is the least recently used but app builds on it.
        h.add("base", "base:1", &[("l1", 100)], 90).add("app", "app:1", &[("l1", 100), ("l2", 50)], 10);
        let p = h.plan(&all(), &Holds::default(), &[], &[], None, budget(0));
        assert_eq!(ids(&p), vec!["app", "base"]);
        assert_eq!(p.evict[0].frees, 50);
        assert_eq!(p.evict[1].frees, 100);
        // A child that stays (in use) keeps its parent, and says why.
        h.containers.push(Container { name: "web".into(), image_id: "app".into(), ..Default::default() });
        let p = h.plan(&all(), &Holds::default(), &[], &[], None, budget(0));
        assert!(p.evict.is_empty());
        let reasons: Vec<&str> = p.spared.iter().map(|s| s.reason.as_str()).collect();
        assert!(reasons.contains(&"used by container web"), "{reasons:?}");
        assert!(reasons.contains(&"has dependent child images that stay"), "{reasons:?}");
        // By parent id too (the classic store), through an untagged step.
        let mut h = Host::new();
        h.add("base", "base:1", &[("x", 100)], 90).add("app", "app:1", &[("y", 50)], 10);
        h.parents.insert("app".into(), "step".into());
        h.parents.insert("step".into(), "base".into());
        let p = h.plan(&all(), &Holds::default(), &[], &[], None, budget(0));
        assert_eq!(ids(&p), vec!["app", "base"]);
    }

    #[test]
    fn every_protection_keeps_its_image_and_an_unmet_budget_says_why() {
        let mut h = Host::new();
        h.add("used", "used:1", &[("l1", 100)], 90)
            .add("held", "held:1", &[("l2", 100)], 90)
            .add("excl", "excl:1", &[("l3", 100)], 90)
            .add("label", "label:1", &[("l4", 100)], 90)
            .add("prev", "prev:1", &[("l5", 100)], 90)
            .add("local", "local:1", &[("l6", 100)], 90)
            .add("fresh", "fresh:1", &[("l7", 100)], 90)
            .add("recent", "recent:1", &[("l8", 100)], 0)
            .add("go", "go:1", &[("l9", 100)], 90);
        h.containers.push(Container {
            name: "stopped".into(),
            image_id: "used".into(),
            ..Default::default()
        });
        h.images
            .iter_mut()
            .find(|i| i.id == "label")
            .unwrap()
            .labels
            .insert(KEEP_LABEL.into(), "true".into());
        h.pullable.remove("local");
        h.usage.images.get_mut("fresh").unwrap().first_seen = NOW - 3600;
        let mut holds = Holds::default();
        holds.holds.push("docker.io/library/held:1".into());
        let sel = Selection { include: vec![], exclude: vec![Pattern::new("excl").unwrap()] };
        let p = h.plan(&sel, &holds, &["prev"], &[], None, budget(0));
        assert_eq!(ids(&p), vec!["go"]);
        let reason = |id: &str| p.spared.iter().find(|s| s.image_id == id).map(|s| s.reason.clone()).unwrap();
        assert_eq!(reason("used"), "used by container stopped");
        assert_eq!(reason("held"), "held");
        assert_eq!(reason("excl"), "excluded");
        assert_eq!(reason("label"), "label freshen.keep=true");
        assert_eq!(reason("prev"), "the previous version, kept for rollback");
        assert!(reason("local").starts_with("no registry can give it back"));
        assert!(reason("fresh").starts_with("first seen 1 hour ago"), "{}", reason("fresh"));
        assert!(reason("recent").starts_with("used just now"), "{}", reason("recent"));
        let unmet = p.unmet.unwrap();
        assert!(unmet.starts_with("the images keep 800 B of a 0 B budget (800 B over)"), "{unmet}");
        assert!(unmet.contains("1 in use by containers"), "{unmet}");
        assert!(unmet.contains("1 local builds"), "{unmet}");
        // Named by a pattern, a local build may go.
        let sel = Selection { include: vec![Pattern::new("local").unwrap()], exclude: vec![] };
        let p = h.plan(&sel, &holds, &[], &[], None, budget(0));
        assert_eq!(ids(&p), vec!["local"]);
    }

    #[test]
    fn min_free_counts_the_disk() {
        let mut h = Host::new();
        h.add("a", "a:1", &[("la", 100)], 30).add("b", "b:1", &[("lb", 100)], 20);
        let limits = Limits { min_free: Some(1150), min_age: DAY, ..Limits::default() };
        let p = h.plan(&all(), &Holds::default(), &[], &[], Some(1000), limits);
        assert_eq!(ids(&p), vec!["a", "b"]);
        assert_eq!(p.free_after, Some(1200));
        let limits = Limits { min_free: Some(5000), min_age: DAY, ..Limits::default() };
        let p = h.plan(&all(), &Holds::default(), &[], &[], Some(1000), limits);
        assert!(p.unmet.unwrap().contains("short"));
    }

    #[test]
    fn the_order_is_the_same_every_time() {
        let mut h = Host::new();
        for (i, id) in ["e", "d", "c", "b", "a"].iter().enumerate() {
            h.add(id, &format!("{id}:1"), &[(id, 10)], 30 + (i as i64 % 2));
        }
        let first = ids(&h.plan(&all(), &Holds::default(), &[], &[], None, budget(0))).join(",");
        h.images.reverse();
        let again = ids(&h.plan(&all(), &Holds::default(), &[], &[], None, budget(0))).join(",");
        assert_eq!(first, again);
        assert_eq!(first, "b,d,a,c,e");
    }
}

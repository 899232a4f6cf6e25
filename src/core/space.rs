//! Disk space the way the engine counts it: a layer is stored once per
//! chain (its diff id on top of everything below it), however many images
//! use it, so removing images frees a layer only when no remaining image
//! references its chain. Pure functions; the sizes come from `history`.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};

use crate::core::image::ImageLayers;

/// Sizes of the real layers, bottom first, from the sizes of all history
/// entries (bottom first). The engine's history does not say which entries
/// are empty (`ENV`, `CMD`): an entry with bytes is a layer; one without is
/// taken as a layer only when the remaining entries are needed to reach
/// `layers`. A misplaced zero moves nothing, since it adds no bytes.
pub fn layer_sizes(entries: &[i64], layers: usize) -> Vec<i64> {
    let mut out = Vec::with_capacity(layers);
    for (i, &size) in entries.iter().enumerate() {
        if out.len() == layers {
            break;
        }
        let remaining_entries = entries.len() - i;
        let remaining_layers = layers - out.len();
        if size > 0 || remaining_entries <= remaining_layers {
            out.push(size.max(0));
        }
    }
    out.resize(layers, 0);
    out
}

/// The chain ids of an image's layers, bottom first: the identity under
/// which the engine stores (and shares) each layer.
pub fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => format!("sha256:{}", hex::encode(Sha256::digest(format!("{prev} {d}").as_bytes()))),
        };
        out.push(next);
    }
    out
}

/// Bytes freed by removing `removed` when `kept` stay: the layers of the
/// removed images that no kept image references, each counted once.
pub fn freed_bytes<'a>(
    removed: impl IntoIterator<Item = &'a ImageLayers>,
    kept: impl IntoIterator<Item = &'a ImageLayers>,
) -> u64 {
    let still_used: HashSet<String> = kept.into_iter().flat_map(|i| chain_ids(&i.diff_ids)).collect();
    let mut freed: HashMap<String, i64> = HashMap::new();
    for image in removed {
        for (chain, size) in chain_ids(&image.diff_ids).into_iter().zip(&image.sizes) {
            if !still_used.contains(&chain) {
                freed.insert(chain, *size);
            }
        }
    }
    freed.values().map(|&s| s.max(0) as u64).sum()
}

/// The size of every layer of `images`, by chain id.
pub fn sizes_by_chain<'a>(images: impl IntoIterator<Item = &'a ImageLayers>) -> HashMap<String, i64> {
    let mut out = HashMap::new();
    for image in images {
        for (chain, size) in chain_ids(&image.diff_ids).into_iter().zip(&image.sizes) {
            out.insert(chain, *size);
        }
    }
    out
}

/// `12.3 MB`, in the decimal units `docker images` uses.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(diffs: &[&str], sizes: &[i64]) -> ImageLayers {
        ImageLayers {
            id: "x".into(),
            diff_ids: diffs.iter().map(|d| d.to_string()).collect(),
            sizes: sizes.to_vec(),
        }
    }

    #[test]
    fn sizes_skip_empty_history_entries() {
        // FROM scratch, COPY a, ENV x, COPY b: two layers.
        assert_eq!(layer_sizes(&[100, 0, 50], 2), vec![100, 50]);
        // A real layer of zero bytes at the end is still a layer.
        assert_eq!(layer_sizes(&[100, 0], 2), vec![100, 0]);
        assert_eq!(layer_sizes(&[0, 0, 7], 1), vec![7]);
        assert_eq!(layer_sizes(&[], 2), vec![0, 0]);
    }

    #[test]
    fn chain_ids_follow_the_spec() {
        let c = chain_ids(&["sha256:a".into(), "sha256:b".into()]);
        assert_eq!(c[0], "sha256:a");
        let want = format!("sha256:{}", hex::encode(Sha256::digest(b"sha256:a sha256:b")));
        assert_eq!(c[1], want);
    }

    #[test]
    fn shared_layers_count_once_and_only_when_unused() {
        let base = "sha256:base";
        let v1 = image(&[base, "sha256:one"], &[1000, 10]);
        let v2 = image(&[base, "sha256:two"], &[1000, 20]);
        let v3 = image(&[base, "sha256:three"], &[1000, 30]);
        // v2 stays: the base layer is still used.
        assert_eq!(freed_bytes([&v1], [&v2]), 10);
        // Both go and nothing else uses the base: it is freed once.
        assert_eq!(freed_bytes([&v1, &v3], []), 1040);
        // The same diff id on top of another base is another layer.
        let other = image(&["sha256:other", "sha256:one"], &[5, 10]);
        assert_eq!(freed_bytes([&v1], [&other]), 1010);
    }

    #[test]
    fn bytes() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_234_567), "1.2 MB");
    }
}

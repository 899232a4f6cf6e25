//! Pull progress for `freshen upgrade`: a bar per image on a terminal
//! (bytes, like `docker pull`), a line per image otherwise, nothing with
//! `--quiet`.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::core::reference::short_digest;
use crate::engine::PullEvent;
use crate::output::Printer;

/// Pull progress: a bar per image on a terminal (bytes, like `docker
/// pull`), a line per image otherwise, nothing with --quiet.
pub(super) struct Progress {
    multi: Option<MultiProgress>,
    plain: bool,
    printer: Printer,
}

impl Progress {
    pub(super) fn new(p: &Printer) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        Progress {
            multi: (terminal && !p.quiet()).then(MultiProgress::new),
            plain: !terminal && !p.quiet(),
            printer: *p,
        }
    }

    pub(super) fn start(&self, name: &str, digest: &str) -> Bar {
        let bar = self.multi.as_ref().map(|m| {
            let b = m.add(ProgressBar::new(0));
            // Until the engine knows the sizes there is nothing to measure.
            b.set_style(
                ProgressStyle::with_template("{msg:40} {spinner} waiting")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.set_message(name.to_string());
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        if self.plain {
            self.printer.info(&format!("Pulling {name} ({})…", short_digest(digest)));
        }
        Bar {
            bar,
            sized: false,
            layers: HashMap::new(),
            fetched: HashSet::new(),
            name: name.to_string(),
            plain: self.plain,
            printer: self.printer,
        }
    }

    /// Leaves the cursor on a fresh line after the bars.
    pub(super) fn done(&self) {
        if self.multi.is_some() {
            eprintln!();
        }
    }
}

pub(super) struct Bar {
    bar: Option<ProgressBar>,
    /// Whether the bar shows bytes yet.
    sized: bool,
    /// Per layer: (downloaded, total) bytes.
    layers: HashMap<String, (u64, u64)>,
    /// Layers the engine fetched (not "Already exists"), counted even when
    /// it sends no sizes: the containerd store and podman report progress
    /// without byte counts.
    fetched: HashSet<String>,
    name: String,
    plain: bool,
    printer: Printer,
}

impl Bar {
    pub(super) fn event(&mut self, ev: &PullEvent) {
        let Some(layer) = &ev.layer else { return };
        let entry = self.layers.entry(layer.clone()).or_default();
        match ev.status.as_str() {
            "Downloading" => {
                if let Some(t) = ev.total {
                    entry.1 = t;
                }
                if let Some(c) = ev.current {
                    entry.0 = c;
                }
            }
            "Download complete" | "Pull complete" | "Already exists" => entry.0 = entry.1,
            _ => {}
        }
        if matches!(ev.status.as_str(), "Downloading" | "Download complete" | "Extracting" | "Pull complete")
        {
            self.fetched.insert(layer.clone());
        }
        let total: u64 = self.layers.values().map(|l| l.1).sum();
        if let (Some(b), true) = (&self.bar, total > 0) {
            if !self.sized {
                self.sized = true;
                b.disable_steady_tick();
                b.set_style(
                    ProgressStyle::with_template(
                        "{msg:40} [{bar:30}] {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
            }
            b.set_length(total);
            b.set_position(self.layers.values().map(|l| l.0).sum());
        }
    }

    pub(super) fn finish(&self, ok: bool) {
        if let Some(b) = &self.bar {
            b.disable_steady_tick();
            match (ok, self.sized) {
                (true, true) => b.finish(),
                (true, false) => {
                    b.set_style(
                        ProgressStyle::with_template("{msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    b.finish_with_message(format!("{} ({})", self.name, self.unsized_note()));
                }
                (false, _) => {
                    b.set_style(
                        ProgressStyle::with_template("{msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    b.abandon_with_message(format!("{} (failed)", self.name));
                }
            }
        }
        if self.plain && ok {
            let total: u64 = self.layers.values().map(|l| l.1).sum();
            if total > 0 {
                self.printer.info(&format!(
                    "Pulled {} ({} downloaded)",
                    self.name,
                    crate::core::space::human_bytes(total)
                ));
            } else {
                self.printer.info(&format!("Pulled {} ({})", self.name, self.unsized_note()));
            }
        }
    }

    /// What a pull without byte counts did: never "0 B downloaded" when the
    /// engine just did not say.
    fn unsized_note(&self) -> String {
        match self.fetched.len() {
            0 => "all layers already here".to_string(),
            1 => "1 layer, the engine reports no sizes".to_string(),
            n => format!("{n} layers, the engine reports no sizes"),
        }
    }
}

//! What `freshen serve` shows about one host: each listed tag joined with the
//! containers that run its image (and their Compose project and service)
//! and the outcome of its last upgrade, and the counts over all of them.
//! The views in `output::status` and the Home Assistant mapping read this;
//! pure, tested on rows.

use crate::core::image::Container;
use crate::core::report::Row;
use crate::core::skips::Skips;
use crate::core::state::State;
use crate::core::verdict::Status;

const COMPOSE_PROJECT: &str = "com.docker.compose.project";
const COMPOSE_SERVICE: &str = "com.docker.compose.service";

/// One tag as the server shows it.
#[derive(Debug, Clone)]
pub struct TagView<'a> {
    pub row: &'a Row,
    pub containers: Vec<ContainerView>,
    pub last_upgrade: Option<LastUpgrade>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerView {
    pub name: String,
    pub running: bool,
    pub project: Option<String>,
    pub service: Option<String>,
}

/// The last upgrade of a tag: the newest of the versions it replaced (an
/// upgrade that stayed) and the versions it rolled back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastUpgrade {
    pub outcome: Outcome,
    pub at: String,
    /// What the health gate said, for a rollback.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Upgraded,
    RolledBack,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Upgraded => "upgraded",
            Outcome::RolledBack => "rolled-back",
        }
    }
}

impl TagView<'_> {
    /// Upgradable and neither held, skipped nor waiting out its minimum
    /// age: what `check` counts and an upgrade takes.
    pub fn offered(&self) -> bool {
        let r = self.row;
        r.status == Status::Upgradable && !r.held && r.skipped.is_none() && r.cooldown.is_none()
    }
}

/// The rows joined with the containers running each row's image and with
/// each tag's last upgrade: the latest of what the state and the skips
/// record and of `recent` (upgrades this server ran, by fully qualified
/// tag: the state forgets a replaced version once it is retired).
pub fn tag_views<'a>(
    rows: &'a [Row],
    containers: &[Container],
    state: &State,
    skips: &Skips,
    recent: &[(String, LastUpgrade)],
) -> Vec<TagView<'a>> {
    rows.iter()
        .map(|row| {
            let mut cs: Vec<ContainerView> = containers
                .iter()
                .filter(|c| c.image_id == row.image_id)
                .map(|c| ContainerView {
                    name: c.name.clone(),
                    running: c.running,
                    project: c.labels.get(COMPOSE_PROJECT).cloned(),
                    service: c.labels.get(COMPOSE_SERVICE).cloned(),
                })
                .collect();
            cs.sort_by(|a, b| a.name.cmp(&b.name));
            let reference = row.reference.to_string();
            let ran = recent.iter().filter(|(r, _)| *r == reference).map(|(_, l)| l.clone());
            let last =
                last_upgrade(&reference, state, skips).into_iter().chain(ran).max_by(|a, b| a.at.cmp(&b.at));
            TagView { row, containers: cs, last_upgrade: last }
        })
        .collect()
}

/// RFC 3339 times from freshen itself are all UTC with a `Z`, so they
/// order as strings.
fn last_upgrade(reference: &str, state: &State, skips: &Skips) -> Option<LastUpgrade> {
    let upgraded = state
        .superseded
        .iter()
        // A version put back (failed or interrupted) records no upgrade.
        .filter(|s| s.reference == reference && s.failed.is_none())
        .map(|s| LastUpgrade { outcome: Outcome::Upgraded, at: s.replaced_at.clone(), detail: None })
        .max_by(|a, b| a.at.cmp(&b.at));
    let rolled_back = skips
        .skips
        .iter()
        .filter(|s| s.reference == reference)
        .filter_map(|s| {
            s.rolled_back().map(|why| LastUpgrade {
                outcome: Outcome::RolledBack,
                at: s.at.clone(),
                detail: Some(why.to_string()).filter(|w| !w.is_empty()),
            })
        })
        .max_by(|a, b| a.at.cmp(&b.at));
    match (upgraded, rolled_back) {
        (Some(u), Some(r)) => Some(if r.at >= u.at { r } else { u }),
        (u, r) => u.or(r),
    }
}

/// How many tags are in each state. `updates` counts what is offered;
/// upgradable tags held back count as held, skipped or waiting instead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub tags: usize,
    pub updates: usize,
    pub up_to_date: usize,
    pub held: usize,
    pub skipped: usize,
    pub waiting: usize,
    pub unknown: usize,
    pub local_only: usize,
    pub pinned: usize,
}

pub fn counts(views: &[TagView]) -> Counts {
    let mut c = Counts { tags: views.len(), ..Counts::default() };
    for v in views {
        let r = v.row;
        match r.status {
            Status::UpToDate => c.up_to_date += 1,
            Status::Unknown => c.unknown += 1,
            Status::LocalOnly => c.local_only += 1,
            Status::Pinned => c.pinned += 1,
            Status::Upgradable if r.held => c.held += 1,
            Status::Upgradable if r.skipped.is_some() => c.skipped += 1,
            Status::Upgradable if r.cooldown.is_some() => c.waiting += 1,
            Status::Upgradable => c.updates += 1,
        }
    }
    c
}

/// Whether the last update reached every registry: none of its entries
/// carries an error.
pub fn last_check_failures(state: &State) -> usize {
    state.entries.iter().filter(|e| e.error.is_some()).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::reference::Reference;
    use crate::core::report::VersionView;
    use crate::core::skips::Skip;
    use crate::core::state::Superseded;
    use std::collections::HashMap;

    fn row(reference: &str, status: Status, image_id: &str) -> Row {
        Row {
            reference: Reference::parse(reference).unwrap(),
            status,
            image_id: image_id.into(),
            local_digest: None,
            remote_digest: None,
            checked_at: None,
            error: None,
            created: 0,
            size: 0,
            held: false,
            version: VersionView::default(),
            cooldown: None,
            skipped: None,
            stale: None,
            deferred: None,
        }
    }

    fn state() -> State {
        serde_json::from_str(r#"{"schema_version":1}"#).unwrap()
    }

    #[test]
    fn containers_join_by_image_and_carry_compose_names() {
        let rows =
            vec![row("nginx:1", Status::UpToDate, "sha256:a"), row("redis:7", Status::UpToDate, "sha256:b")];
        let labels: HashMap<String, String> = [
            (COMPOSE_PROJECT.to_string(), "shop".to_string()),
            (COMPOSE_SERVICE.to_string(), "web".to_string()),
        ]
        .into();
        let containers = vec![
            Container {
                name: "shop-web-1".into(),
                image: "nginx:1".into(),
                image_id: "sha256:a".into(),
                running: true,
                labels,
            },
            Container {
                name: "other".into(),
                image: "x".into(),
                image_id: "sha256:c".into(),
                running: true,
                labels: HashMap::new(),
            },
        ];
        let views = tag_views(&rows, &containers, &state(), &Skips::default(), &[]);
        assert_eq!(
            views[0].containers,
            vec![ContainerView {
                name: "shop-web-1".into(),
                running: true,
                project: Some("shop".into()),
                service: Some("web".into())
            }]
        );
        assert!(views[1].containers.is_empty());
    }

    #[test]
    fn the_later_of_an_upgrade_and_a_rollback_is_the_last_upgrade() {
        let rows = vec![row("nginx:1", Status::Upgradable, "sha256:a")];
        let mut st = state();
        st.superseded.push(Superseded {
            image_id: "sha256:old".into(),
            reference: "docker.io/library/nginx:1".into(),
            digest: None,
            replaced_at: "2026-01-01T00:00:00Z".into(),
            replaced_by: "sha256:a".into(),
            tag_moved: false,
            failed: None,
        });
        let views = tag_views(&rows, &[], &st, &Skips::default(), &[]);
        assert_eq!(views[0].last_upgrade.as_ref().unwrap().outcome, Outcome::Upgraded);
        let mut skips = Skips::default();
        skips.record(Skip {
            reference: "docker.io/library/nginx:1".into(),
            digest: Some("sha256:new".into()),
            tag: None,
            tag_digest: None,
            version: None,
            reason: crate::core::skips::rolled_back_reason("web: it is unhealthy"),
            at: "2026-02-01T00:00:00Z".into(),
        });
        let views = tag_views(&rows, &[], &st, &skips, &[]);
        let last = views[0].last_upgrade.as_ref().unwrap();
        assert_eq!(last.outcome, Outcome::RolledBack);
        assert_eq!(last.detail.as_deref(), Some("web: it is unhealthy"));
    }

    #[test]
    fn held_back_updates_are_not_counted_as_updates() {
        let mut held = row("a:1", Status::Upgradable, "1");
        held.held = true;
        let rows = vec![
            held,
            row("b:1", Status::Upgradable, "2"),
            row("c:1", Status::UpToDate, "3"),
            row("d:1", Status::Unknown, "4"),
        ];
        let views = tag_views(&rows, &[], &state(), &Skips::default(), &[]);
        let c = counts(&views);
        assert_eq!((c.tags, c.updates, c.held, c.up_to_date, c.unknown), (4, 1, 1, 1, 1));
        assert!(views[1].offered() && !views[0].offered());
    }
}

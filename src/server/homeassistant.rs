//! Home Assistant over MQTT: keeps one `update` entity per tag published
//! (discovery and state, retained, only what changed), availability with a
//! last will, and, when `[mqtt] install = true` and actions are on, hears
//! install commands and starts the same pinned, health-gated upgrade as
//! `POST /api/v1/upgrades`. The messages themselves are
//! `core::homeassistant`'s.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::watch;

use super::actions::{start_upgrade, Jobs, Refused};
use super::Shared;
use crate::core::homeassistant::{self as ha, Topics};
use crate::core::status::TagView;
use crate::mqtt::{self, Heard};
use crate::settings::serve::MqttSettings;
use crate::settings::Settings;

/// One tag's messages, made with each look at the host.
#[derive(Debug, Clone)]
pub struct Entity {
    pub reference: String,
    pub object: String,
    pub discovery: String,
    pub state: String,
}

/// Whether install commands are heard (and so a command topic published).
fn install(settings: &Settings) -> bool {
    settings.mqtt.as_ref().is_some_and(|m| m.install) && settings.serve.actions
}

pub fn entities(settings: &Settings, host: &str, views: &[TagView], jobs: &Jobs) -> Vec<Entity> {
    let Some(m) = &settings.mqtt else { return Vec::new() };
    let topics = Topics::new(&m.discovery_prefix, &m.topic_prefix, host);
    let running = jobs.running().map(|j| j.reference.clone());
    views
        .iter()
        .filter(|v| v.row.reference.tag.is_some() && v.row.reference.digest.is_none())
        .map(|v| {
            let reference = v.row.reference.to_string();
            let busy = running.as_deref() == Some(reference.as_str());
            Entity {
                object: ha::object_id(&reference),
                discovery: ha::discovery(&topics, host, v, install(settings)).to_string(),
                state: ha::state(v, busy).to_string(),
                reference,
            }
        })
        .collect()
}

pub async fn run(shared: Arc<Shared>, m: MqttSettings, mut stop: watch::Receiver<bool>) {
    let host = crate::services::status::host_name();
    let topics = Topics::new(&m.discovery_prefix, &m.topic_prefix, &host);
    let (broker, mut heard) = mqtt::connect(mqtt::Options {
        host: m.host.clone(),
        port: m.port,
        client_id: format!("freshen-{}", topics.node),
        username: m.username.clone(),
        password: m.password.clone(),
        will_topic: topics.availability(),
        will_payload: ha::OFFLINE.to_string(),
    });
    let hear_commands = install(&shared.settings);
    let mut changed = shared.changed.subscribe();
    // What the broker holds from us: topic → payload.
    let mut published: HashMap<String, String> = HashMap::new();
    let mut connected = false;
    let mut lost_said = false;
    loop {
        tokio::select! {
            h = heard.recv() => match h {
                Some(Heard::Connected) => {
                    connected = true;
                    lost_said = false;
                    shared.printer.info(&format!("MQTT: connected to {}:{}", m.host, m.port));
                    published.clear();
                    if hear_commands {
                        if let Err(e) = broker.subscribe(&topics.command_filter()).await {
                            shared.printer.warn(&format!("MQTT: cannot subscribe: {e}"));
                        }
                    }
                    publish(&shared, &broker, &topics, &mut published).await;
                }
                Some(Heard::Message { topic, payload }) if hear_commands => {
                    command(&shared, &topics, &topic, &payload).await;
                }
                Some(Heard::Message { .. }) => {}
                Some(Heard::Lost(why)) => {
                    connected = false;
                    if !lost_said {
                        shared.printer.warn(&format!("MQTT: {}:{}: {why}; retrying", m.host, m.port));
                        lost_said = true;
                    }
                }
                None => return,
            },
            _ = changed.changed() => {
                if connected {
                    publish(&shared, &broker, &topics, &mut published).await;
                }
            }
            _ = stop.changed() => {
                let _ = broker.retain(&topics.availability(), ha::OFFLINE.as_bytes()).await;
                broker.disconnect().await;
                // Let the event loop send both before the process ends.
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                return;
            }
        }
    }
}

/// Publishes what changed since the last time; removes (an empty retained
/// message) the entities of tags that are gone.
async fn publish(
    shared: &Arc<Shared>,
    broker: &mqtt::Broker,
    topics: &Topics,
    published: &mut HashMap<String, String>,
) {
    let views = shared.views();
    let mut now: HashMap<String, String> = HashMap::new();
    now.insert(topics.availability(), ha::ONLINE.to_string());
    for e in &views.ha {
        now.insert(topics.discovery(&e.object), e.discovery.clone());
        now.insert(topics.state(&e.object), e.state.clone());
    }
    // Discovery before state, so Home Assistant knows the entity first.
    let mut order: Vec<(&String, &String)> =
        now.iter().filter(|(t, p)| published.get(*t) != Some(*p)).collect();
    order.sort_by_key(|(t, _)| (!t.ends_with("/config"), t.to_string()));
    for (topic, payload) in order {
        if let Err(e) = broker.retain(topic, payload.as_bytes()).await {
            shared.printer.warn(&format!("MQTT: cannot publish {topic}: {e}"));
            return;
        }
        published.insert(topic.clone(), payload.clone());
    }
    let gone: Vec<String> = published.keys().filter(|t| !now.contains_key(*t)).cloned().collect();
    for topic in gone {
        let _ = broker.retain(&topic, b"").await;
        published.remove(&topic);
    }
}

/// An install command: the payload is the digest the entity offered.
async fn command(shared: &Arc<Shared>, topics: &Topics, topic: &str, payload: &[u8]) {
    let Some(object) = topics.object_of_command(topic) else { return };
    let views = shared.views();
    let Some(entity) = views.ha.iter().find(|e| e.object == object) else {
        shared
            .printer
            .warn(&format!("MQTT: install for an unknown entity {}", crate::core::serve::short(object)));
        return;
    };
    let digest = String::from_utf8_lossy(payload).trim().to_string();
    match start_upgrade(shared, &entity.reference, &digest, "mqtt").await {
        Ok(job) => {
            shared.printer.info(&format!("MQTT: install of {} started as job {}", entity.reference, job.id))
        }
        Err(Refused(code, why)) => shared.printer.warn(&format!(
            "MQTT: install of {} refused ({}): {why}",
            entity.reference,
            code.as_u16()
        )),
    }
}

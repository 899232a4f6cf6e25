//! An MQTT broker (rumqttc), as freshen uses one for Home Assistant:
//! connect with a last will, publish retained messages, subscribe, and hear
//! what arrives. The connection is kept by a task that reconnects after a
//! pause; each (re)connection is reported so the caller can publish its
//! retained messages again.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;

use crate::core::secret::Secret;

/// How to reach the broker.
pub struct Options {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// The will: the broker publishes it (retained) when the connection is lost.
    pub will_topic: String,
    pub will_payload: String,
}

/// What the broker sent.
#[derive(Debug)]
pub enum Heard {
    /// Connected (again): subscriptions and retained messages to renew.
    Connected,
    Message {
        topic: String,
        payload: Vec<u8>,
    },
    /// The connection failed; it is retried. The reason, for the log.
    Lost(String),
}

#[derive(Clone)]
pub struct Broker {
    client: AsyncClient,
}

/// How long to wait before connecting again.
const RETRY: Duration = Duration::from_secs(3);
/// Home Assistant discovery messages for a few thousand tags exceed
/// rumqttc's default 10 kB packet limit only one by one; keep room.
const MAX_PACKET: usize = 256 * 1024;

pub fn connect(o: Options) -> (Broker, mpsc::Receiver<Heard>) {
    let mut opts = MqttOptions::new(o.client_id, o.host, o.port);
    opts.set_keep_alive(Duration::from_secs(30));
    opts.set_max_packet_size(MAX_PACKET, MAX_PACKET);
    opts.set_last_will(LastWill::new(o.will_topic, o.will_payload, QoS::AtLeastOnce, true));
    if let Some(user) = o.username {
        opts.set_credentials(user, o.password.as_ref().map(|p| p.expose().to_string()).unwrap_or_default());
    }
    let (client, mut events) = AsyncClient::new(opts, 256);
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let heard = match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => Heard::Connected,
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    Heard::Message { topic: p.topic.clone(), payload: p.payload.to_vec() }
                }
                Ok(_) => continue,
                Err(e) => {
                    let _ = tx.send(Heard::Lost(e.to_string())).await;
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            };
            if tx.send(heard).await.is_err() {
                break;
            }
        }
    });
    (Broker { client }, rx)
}

impl Broker {
    /// A retained message (Home Assistant reads discovery and state that
    /// were published before it started).
    pub async fn retain(&self, topic: &str, payload: &[u8]) -> Result<(), String> {
        self.client.publish(topic, QoS::AtLeastOnce, true, payload.to_vec()).await.map_err(|e| e.to_string())
    }

    pub async fn subscribe(&self, filter: &str) -> Result<(), String> {
        self.client.subscribe(filter, QoS::AtLeastOnce).await.map_err(|e| e.to_string())
    }

    /// Says goodbye so the broker does not publish the will.
    pub async fn disconnect(&self) {
        let _ = self.client.disconnect().await;
    }
}

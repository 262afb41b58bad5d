//! One `LISTEN` connection per server process, fanned out to every subscriber in the process.
//! Events are published by `service::events::notify` inside write transactions.
use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;
use service::events::{Event, CHANNEL};
use tokio::sync::broadcast;

use crate::metrics::Metrics;

#[derive(Clone)]
pub struct EventHub {
    tx: broadcast::Sender<Arc<Event>>,
}

impl EventHub {
    /// Start listening on `url`; reconnects with a short pause whenever the connection drops.
    pub fn spawn(url: String, metrics: Arc<Metrics>) -> Self {
        let (tx, _) = broadcast::channel(4096);
        let hub = Self { tx: tx.clone() };
        tokio::spawn(async move {
            loop {
                if let Err(e) = listen(&url, &tx, &metrics).await {
                    tracing::warn!(error = %e, "event listener lost its connection; reconnecting");
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        hub
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }
}

async fn listen(url: &str, tx: &broadcast::Sender<Arc<Event>>, metrics: &Metrics) -> Result<(), sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    // Whatever was notified while no connection listened is lost: subscribers re-read their
    // current state (sent on the first connection too, where nobody is subscribed yet).
    drop(tx.send(Arc::new(Event::resync())));
    loop {
        // `recv` would reconnect by itself and hide the gap; `try_recv` reports it.
        let Some(note) = listener.try_recv().await? else {
            return Err(sea_orm::sqlx::Error::Protocol("the LISTEN connection closed".into()));
        };
        Metrics::inc(&metrics.events_received);
        match serde_json::from_str::<Event>(note.payload()) {
            // No receivers is fine: nobody is subscribed right now.
            Ok(event) => drop(tx.send(Arc::new(event))),
            Err(e) => {
                tracing::warn!(error = %e, payload = note.payload(), "ignoring a malformed event")
            }
        }
    }
}

//! One `LISTEN` connection per server process, fanned out to every subscriber in the process.
//! Events are published by `service::events::notify` inside write transactions.
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;
use service::events::{Event, CHANNEL};
use tokio::sync::broadcast;

use crate::metrics::Metrics;

#[derive(Clone)]
pub struct EventHub {
    tx: broadcast::Sender<Arc<Event>>,
    /// Whether the LISTEN session is up now (`/health/ready`).
    listening: Arc<AtomicBool>,
}

impl EventHub {
    /// Start listening on `url`, waiting (up to 10 s) for the first LISTEN so that no subscription
    /// is accepted before events can reach it; reconnects whenever the connection drops.
    pub async fn spawn(url: String, metrics: Arc<Metrics>) -> Self {
        let (tx, _) = broadcast::channel(4096);
        let listening = Arc::new(AtomicBool::new(false));
        let hub = Self { tx: tx.clone(), listening: listening.clone() };
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let mut ready = Some(ready_tx);
            loop {
                if let Err(e) = listen(&url, &tx, &metrics, &mut ready, &listening).await {
                    tracing::warn!(error = %e, "event listener lost its connection; reconnecting");
                }
                listening.store(false, Relaxed);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        if tokio::time::timeout(Duration::from_secs(10), ready_rx).await.is_err() {
            tracing::warn!("the event listener is not connected yet; subscriptions wait for it");
        }
        hub
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    pub fn listening(&self) -> bool {
        self.listening.load(Relaxed)
    }
}

async fn listen(
    url: &str,
    tx: &broadcast::Sender<Arc<Event>>,
    metrics: &Metrics,
    ready: &mut Option<tokio::sync::oneshot::Sender<()>>,
    listening: &AtomicBool,
) -> Result<(), sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    listening.store(true, Relaxed);
    match ready.take() {
        Some(first) => drop(first.send(())),
        // A reconnection: whatever was notified while nobody listened is lost, so subscribers
        // re-read their current state.
        None => drop(tx.send(Arc::new(Event::resync()))),
    }
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

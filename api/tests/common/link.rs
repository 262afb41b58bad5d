//! A TCP link between a server and the test database, which a test cuts and restores.
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

/// A TCP link to the test database that the test cuts and restores: cut, every open connection
/// drops and new ones are closed at once, which is what the server sees of a database going down.
pub struct Link {
    pub port: u16,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Link {
    pub async fn to(upstream: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let up = Arc::new(AtomicBool::new(true));
        let open: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let (u, o) = (up.clone(), open.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !u.load(SeqCst) {
                    continue; // dropped: the connection closes at once
                }
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                o.lock().expect("links").push(task.abort_handle());
            }
        });
        Self { port, up, open }
    }

    pub fn cut(&self) {
        self.up.store(false, SeqCst);
        for task in self.open.lock().expect("links").drain(..) {
            task.abort();
        }
    }

    pub fn restore(&self) {
        self.up.store(true, SeqCst);
    }
}

/// `url` with its host and port replaced by the link's.
pub fn through(url: &str, port: u16) -> String {
    let (scheme_user, rest) = url.split_once('@').expect("a URL with credentials");
    let path = &rest[rest.find('/').expect("a database")..];
    format!("{scheme_user}@127.0.0.1:{port}{path}")
}

/// The `host:port` of a database URL.
pub fn upstream(url: &str) -> String {
    let rest = url.split_once('@').expect("credentials").1;
    rest[..rest.find('/').expect("database")].to_string()
}

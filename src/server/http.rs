//! Connections: HTTP/1.1 on hyper with the limits a server on a home
//! network needs: a client gets 10 seconds to send its headers (slowloris),
//! at most 128 connections at once, and on stop the requests in flight
//! get 5 seconds to finish. Per-request limits (body size, total time) are
//! layers in `routes`.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{watch, Semaphore};

const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_CONNECTIONS: usize = 128;
const DRAIN: Duration = Duration::from_secs(5);

pub async fn serve(listener: tokio::net::TcpListener, router: axum::Router, mut stop: watch::Receiver<bool>) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors and the like: pause, go on.
                Err(_) => { tokio::time::sleep(Duration::from_millis(100)).await; continue }
            },
            _ = stop.changed() => break,
        };
        // Beyond the limit a connection is closed at once rather than queued.
        let Ok(slot) = slots.clone().try_acquire_owned() else { continue };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT).keep_alive(true);
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = conn.await;
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(DRAIN) => {}
    }
}

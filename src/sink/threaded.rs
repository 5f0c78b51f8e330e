//! Runs a sink on its own thread, fed batches of events through a bounded channel, so that
//! formatting and writing overlap with parsing (the machine has at least two cores; memory
//! stays bounded by the channel depth).

use std::io;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use super::EventSink;
use crate::event::AuthEvent;

const BATCH: usize = 2048;
const DEPTH: usize = 8;

pub struct ThreadedSink {
    batch: Vec<AuthEvent>,
    tx: Option<SyncSender<Vec<AuthEvent>>>,
    worker: Option<JoinHandle<io::Result<()>>>,
}

impl ThreadedSink {
    pub fn spawn(mut inner: Box<dyn EventSink + Send>) -> ThreadedSink {
        let (tx, rx) = sync_channel::<Vec<AuthEvent>>(DEPTH);
        let worker = std::thread::Builder::new()
            .name("mls-sink".into())
            .spawn(move || {
                for batch in rx {
                    for e in &batch {
                        inner.write(e)?;
                    }
                }
                inner.finish()
            });
        let worker = worker.expect("spawning the sink thread");
        ThreadedSink {
            batch: Vec::with_capacity(BATCH),
            tx: Some(tx),
            worker: Some(worker),
        }
    }

    /// Queues one event. `false` means the writer thread stopped (its error comes from
    /// `finish`).
    #[must_use]
    pub fn push(&mut self, e: AuthEvent) -> bool {
        self.batch.push(e);
        if self.batch.len() >= BATCH {
            let full = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            return self.tx.as_ref().is_some_and(|tx| tx.send(full).is_ok());
        }
        true
    }

    /// Writes what is queued, stops the thread and returns the first write error.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(tx) = self.tx.take() {
            let rest = std::mem::take(&mut self.batch);
            // A send error means the thread ended early: its result says why.
            let _ = tx.send(rest);
        }
        match self.worker.take() {
            Some(w) => w
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("event writer thread panicked"))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    struct Collect(Arc<Mutex<Vec<u32>>>);
    impl EventSink for Collect {
        fn write(&mut self, e: &AuthEvent) -> io::Result<()> {
            self.0.lock().unwrap().push(e.attempts);
            Ok(())
        }
        fn finish(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn event(n: u32) -> AuthEvent {
        AuthEvent {
            time: None,
            server: None,
            service: crate::event::Service::Postfix,
            protocol: crate::event::Protocol::Smtp,
            outcome: crate::event::Outcome::Failure,
            ip: "192.0.2.1".parse().unwrap(),
            user: None,
            mechanism: None,
            reason: None,
            attempts: n,
            session: None,
        }
    }

    #[test]
    fn keeps_every_event_in_order() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut t = ThreadedSink::spawn(Box::new(Collect(seen.clone())));
        for n in 0..5000 {
            assert!(t.push(event(n)));
        }
        t.finish().unwrap();
        assert_eq!(*seen.lock().unwrap(), (0..5000).collect::<Vec<_>>());
    }

    #[test]
    fn a_write_error_reaches_finish() {
        struct Broken;
        impl EventSink for Broken {
            fn write(&mut self, _: &AuthEvent) -> io::Result<()> {
                Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"))
            }
            fn finish(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut t = ThreadedSink::spawn(Box::new(Broken));
        let mut stopped = false;
        for n in 0..100_000 {
            if !t.push(event(n)) {
                stopped = true;
                break;
            }
        }
        assert!(stopped, "pushing must fail once the writer is gone");
        assert_eq!(t.finish().unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    }
}

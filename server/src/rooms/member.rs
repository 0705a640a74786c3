//! A room member: the sending half of one connection's bounded outbound queue.

use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use shared_protocol::{ServerFrame, UserRef};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;

/// A serialised frame, shared by every member it is sent to (cloning is a refcount bump).
/// Behind an `Arc`, a queue slot is one pointer: every idle connection's queue allocates
/// its first block of slots up front.
pub type SharedFrame = Arc<Utf8Bytes>;

/// What a connection's queue carries: frames (from rooms, and the connection's own
/// replies) and the heartbeat's ping, which goes out in turn behind them.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Frame(SharedFrame),
    Ping,
}

// A queue slot stays one pointer: the ping is the frame pointer's null value.
const _: () = assert!(std::mem::size_of::<Outgoing>() == std::mem::size_of::<usize>());

impl Outgoing {
    /// The frame, for a reader that has no use for pings.
    pub fn frame(self) -> Option<SharedFrame> {
        match self {
            Outgoing::Frame(frame) => Some(frame),
            Outgoing::Ping => None,
        }
    }
}

/// Serialises a frame once.
pub fn shared(frame: &ServerFrame) -> SharedFrame {
    Arc::new(Utf8Bytes::from(frame.to_json()))
}

/// What a room keeps of a connection.
///
/// Rooms never wait on a member: they `try_send` into its queue. When the queue is full
/// the connection is too slow, and the policy is to drop it, loudly: `lagged` is
/// cancelled, the room forgets the member, and the connection closes with
/// `slow_consumer`. The client reconnects and resyncs from the log with `since`, so
/// nothing is silently lost and memory stays bounded.
#[derive(Debug, Clone)]
pub struct MemberHandle {
    pub conn_id: u64,
    pub user: UserRef,
    /// The member's org, for deciding which tasks it may see.
    pub org_id: i64,
    outbox: mpsc::Sender<Outgoing>,
    lagged: CancellationToken,
}

impl MemberHandle {
    pub fn new(
        conn_id: u64,
        user: UserRef,
        org_id: i64,
        outbox: mpsc::Sender<Outgoing>,
        lagged: CancellationToken,
    ) -> Self {
        MemberHandle {
            conn_id,
            user,
            org_id,
            outbox,
            lagged,
        }
    }

    pub fn viewer(&self) -> crate::tasks::Viewer {
        crate::tasks::Viewer {
            user_id: self.user.id.0,
            org_id: self.org_id,
        }
    }

    /// How many more frames (or pings) fit in the queue right now; a replay larger than
    /// this is answered with a snapshot instead.
    pub fn room_left(&self) -> usize {
        self.outbox.capacity()
    }

    /// Queues a frame. `false` means the member is gone (closed or too slow) and must be
    /// removed from the room.
    pub fn send(&self, frame: SharedFrame) -> bool {
        self.queue(Outgoing::Frame(frame))
    }

    /// Queues a heartbeat ping. A queue too full to take it belongs to a peer that is
    /// not reading: it is cut as too slow, as for a frame.
    pub fn ping(&self) -> bool {
        self.queue(Outgoing::Ping)
    }

    fn queue(&self, item: Outgoing) -> bool {
        match self.outbox.try_send(item) {
            Ok(()) => true,
            Err(TrySendError::Full(item)) => {
                tracing::warn!(
                    conn_id = self.conn_id,
                    "outbound queue full; closing slow connection"
                );
                if !self.lagged.is_cancelled() {
                    metrics::counter!("taskwire_slow_consumers_total").increment(1);
                }
                dropped(&item);
                self.lagged.cancel();
                false
            }
            Err(TrySendError::Closed(item)) => {
                dropped(&item);
                false
            }
        }
    }
}

/// Counts a frame that was not queued (a ping is not a frame).
fn dropped(item: &Outgoing) {
    if let Outgoing::Frame(_) = item {
        metrics::counter!("taskwire_frames_dropped_total").increment(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_protocol::UserId;

    fn member(tx: mpsc::Sender<Outgoing>, lagged: CancellationToken) -> MemberHandle {
        let user = UserRef {
            id: UserId(1),
            name: "a".into(),
        };
        MemberHandle::new(1, user, 1, tx, lagged)
    }

    fn text(queued: Result<Outgoing, mpsc::error::TryRecvError>) -> Option<String> {
        queued.ok().and_then(Outgoing::frame).map(|f| f.to_string())
    }

    #[test]
    fn a_full_queue_marks_the_member_lagged_instead_of_growing() {
        let (tx, mut rx) = mpsc::channel(2);
        let lagged = CancellationToken::new();
        let m = member(tx, lagged.clone());
        let frame = |s: &'static str| Arc::new(Utf8Bytes::from_static(s));
        assert!(m.send(frame("1")));
        assert!(m.send(frame("2")));
        assert!(!lagged.is_cancelled());
        assert!(!m.send(frame("3")));
        assert!(lagged.is_cancelled());
        assert_eq!(text(rx.try_recv()).as_deref(), Some("1"));
        assert_eq!(text(rx.try_recv()).as_deref(), Some("2"));
        assert!(
            rx.try_recv().is_err(),
            "the frame that did not fit was not queued"
        );
    }

    #[test]
    fn a_ping_that_does_not_fit_cuts_the_member_as_slow() {
        let (tx, mut rx) = mpsc::channel(1);
        let lagged = CancellationToken::new();
        let m = member(tx, lagged.clone());
        assert!(m.ping());
        assert!(matches!(rx.try_recv(), Ok(Outgoing::Ping)));
        assert!(m.send(Arc::new(Utf8Bytes::from_static("1"))));
        assert!(!m.ping(), "the queue is full");
        assert!(lagged.is_cancelled());
    }

    #[test]
    fn a_closed_connection_is_reported_gone() {
        let (tx, rx) = mpsc::channel(2);
        drop(rx);
        let m = member(tx, CancellationToken::new());
        assert!(!m.send(Arc::new(Utf8Bytes::from_static("1"))));
    }
}

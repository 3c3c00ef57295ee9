//! Callbacks on a [`WaitSet`]: [`Executor`] owns subscribers and calls a function with each new
//! value (or every value still in the ring), and timers, in one thread, as ROS 2 executors do.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::error::SubscribeError;
use crate::message::ShmMessage;
use crate::message::TopicType;
use crate::service::Server;
use crate::waitset::{AttachError, AttachmentId, Event, EventKind, WaitSet, Waker};
use crate::{Sample, Subscriber};

/// The error a callback returns.
pub type CallbackError = Box<dyn std::error::Error + Send + Sync>;

/// What a callback may return: nothing, or a `Result` whose error stops
/// [`spin`](Executor::spin) and is returned by it.
pub trait CallbackResult {
    /// The callback's outcome.
    fn into_result(self) -> Result<(), CallbackError>;
}

impl CallbackResult for () {
    fn into_result(self) -> Result<(), CallbackError> {
        Ok(())
    }
}

impl<E: Into<CallbackError>> CallbackResult for Result<(), E> {
    fn into_result(self) -> Result<(), CallbackError> {
        self.map_err(Into::into)
    }
}

/// Why [`Executor::spin`] stopped with an error.
#[derive(Debug)]
#[non_exhaustive]
pub enum SpinError {
    /// A callback returned an error (the events after it are handled by the next spin).
    Callback {
        /// The attachment whose callback failed.
        id: AttachmentId,
        /// What it returned.
        source: CallbackError,
    },
    /// Reading a subscriber for its callback failed (a topic recreated with another type, a
    /// damaged file, ...).
    Subscribe {
        /// The attachment whose subscriber failed.
        id: AttachmentId,
        /// The read's error.
        source: SubscribeError,
    },
    /// Receiving a request of a served service failed.
    Serve {
        /// The attachment whose server failed.
        id: AttachmentId,
        /// The receive's error.
        source: crate::service::ServerError,
    },
}

impl std::fmt::Display for SpinError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpinError::Callback { id, source } => {
                write!(
                    f,
                    "the callback of attachment {} failed: {source}",
                    id.as_u64()
                )
            }
            SpinError::Subscribe { id, source } => write!(
                f,
                "reading the subscriber of attachment {} failed: {source}",
                id.as_u64()
            ),
            SpinError::Serve { id, source } => write!(
                f,
                "receiving a request of the server of attachment {} failed: {source}",
                id.as_u64()
            ),
        }
    }
}

impl std::error::Error for SpinError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SpinError::Callback { source, .. } => Some(&**source),
            SpinError::Subscribe { source, .. } => Some(source),
            SpinError::Serve { source, .. } => Some(source),
        }
    }
}

/// A handler: reads its subscriber (if any) and calls its callback; `Ok(false)` if there was
/// nothing to call it with.
type Handler = Box<dyn FnMut(Event) -> Result<bool, SpinError> + Send>;

/// Stops an [`Executor`]'s [`spin`](Executor::spin) from any thread (or from a callback).
#[derive(Debug, Clone)]
pub struct Stopper {
    stop: Arc<AtomicBool>,
    waker: Waker,
}

impl Stopper {
    /// Makes the current `spin` return once the callback running returns (the events left
    /// run at the next spin); called while no spin runs, it ends the next one at once.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.waker.wake();
    }
}

/// Calls functions with new values of the subscribers it owns and at intervals, in the thread
/// that spins it: what `rclpy` users know as an executor, on a [`WaitSet`] (one sleep for
/// everything).
///
/// ```no_run
/// use std::time::Duration;
/// let mut exec = shm::Executor::new();
/// exec.on(shm::Subscriber::<f64>::new("robot/speed")?, |s| println!("speed {}", s.value))?;
/// exec.on_all(shm::Subscriber::<[f64; 6]>::new("robot/imu")?, |batch| {
///     println!("{} IMU samples", batch.len());  // every value still in the ring
/// })?;
/// exec.every(Duration::from_millis(100), || println!("tick"))?;
/// let stopper = exec.stopper();                  // stop() from any thread or callback
/// exec.spin()?;                                  // until stopped or a callback fails
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A callback that returns an error stops the spin, which returns it
/// ([`SpinError::Callback`]); the events of the same wait not handled yet are handled by the
/// next spin, so no value is lost. A panic in a callback unwinds through `spin`. Callbacks are
/// `Send` (an executor may be built in one thread and spun in another); they cannot add or
/// remove callbacks (build the executor first). Two `on` callbacks for subscribers of one topic
/// each get every value (each subscriber reads it); one subscriber has one callback.
pub struct Executor {
    set: WaitSet,
    handlers: HashMap<AttachmentId, Handler>,
    /// Events of an earlier wait not handled yet (a callback failed before them).
    pending: Vec<Event>,
    stop: Arc<AtomicBool>,
}

impl Default for Executor {
    fn default() -> Executor {
        Executor::new()
    }
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("handlers", &self.handlers.len())
            .finish()
    }
}

impl Executor {
    /// An executor with no callbacks.
    pub fn new() -> Executor {
        Executor {
            set: WaitSet::new(),
            handlers: HashMap::new(),
            pending: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Calls `callback` with each new value of `subscriber` (the newest: a callback slower than
    /// the publisher skips values, counted in [`Sample::missed`]). The executor owns the
    /// subscriber from now on.
    pub fn on<T, R>(
        &mut self,
        mut subscriber: Subscriber<T>,
        mut callback: impl FnMut(Sample<T::Owned>) -> R + Send + 'static,
    ) -> Result<AttachmentId, AttachError>
    where
        T: ?Sized + TopicType,
        R: CallbackResult,
    {
        let id = self.set.attach(&subscriber)?;
        let handler: Handler = Box::new(move |event| match subscriber.try_recv() {
            Ok(Some(sample)) => callback(sample)
                .into_result()
                .map(|()| true)
                .map_err(|source| SpinError::Callback {
                    id: event.id,
                    source,
                }),
            Ok(None) => Ok(false),
            Err(source) => Err(SpinError::Subscribe {
                id: event.id,
                source,
            }),
        });
        self.handlers.insert(id, handler);
        Ok(id)
    }

    /// Calls `callback` with every new value of `subscriber` still in its ring, oldest first
    /// ([`Subscriber::try_recv_all`]: a consumer that must see every sample; values
    /// overwritten before it looked are counted in `missed`). Never with an empty batch.
    pub fn on_all<T, R>(
        &mut self,
        mut subscriber: Subscriber<T>,
        mut callback: impl FnMut(Vec<Sample<T::Owned>>) -> R + Send + 'static,
    ) -> Result<AttachmentId, AttachError>
    where
        T: ?Sized + TopicType,
        R: CallbackResult,
    {
        let id = self.set.attach(&subscriber)?;
        let handler: Handler = Box::new(move |event| match subscriber.try_recv_all() {
            Ok(batch) if batch.is_empty() => Ok(false),
            Ok(batch) => callback(batch)
                .into_result()
                .map(|()| true)
                .map_err(|source| SpinError::Callback {
                    id: event.id,
                    source,
                }),
            Err(source) => Err(SpinError::Subscribe {
                id: event.id,
                source,
            }),
        });
        self.handlers.insert(id, handler);
        Ok(id)
    }

    /// Answers each request of `server` with `handler`'s reply, in the spinning thread (one
    /// thread serves several services and reads topics). The executor owns the server from
    /// now on. A request that cannot be read is passed over (its client was told); a reply
    /// that cannot be sent is dropped (its client times out); a server that cannot be read
    /// stops the spin ([`SpinError::Serve`]).
    ///
    /// ```no_run
    /// let mut exec = shm::Executor::new();
    /// exec.serve(shm::Server::<u64, u64>::new("math/square")?, |x| x * x)?;
    /// exec.serve(shm::Server::<u64, u64>::new("math/double")?, |x| 2 * x)?;
    /// exec.on(shm::Subscriber::<f64>::new("robot/speed")?, |s| println!("speed {}", s.value))?;
    /// exec.spin()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn serve<Req, Resp>(
        &mut self,
        mut server: Server<Req, Resp>,
        mut handler: impl FnMut(&Req) -> Resp + Send + 'static,
    ) -> Result<AttachmentId, AttachError>
    where
        Req: ShmMessage,
        Resp: ShmMessage,
    {
        let id = self.set.attach(&server)?;
        let handler: Handler = Box::new(move |event| {
            let mut served = false;
            loop {
                match server.try_recv() {
                    Ok(Some(request)) => {
                        let reply = handler(request.value());
                        let _ = request.reply(&reply);
                        served = true;
                    }
                    Ok(None) => return Ok(served),
                    Err(crate::service::ServerError::BadRequest { .. }) => {}
                    Err(source) => {
                        return Err(SpinError::Serve {
                            id: event.id,
                            source,
                        });
                    }
                }
            }
        });
        self.handlers.insert(id, handler);
        Ok(id)
    }

    /// Calls `callback` every `period` (ticks keep their phase; a spin that comes late calls
    /// it once for the ticks it missed).
    pub fn every<R: CallbackResult>(
        &mut self,
        period: Duration,
        mut callback: impl FnMut() -> R + Send + 'static,
    ) -> Result<AttachmentId, AttachError> {
        let id = self.set.attach_interval(period)?;
        let handler: Handler = Box::new(move |event| {
            callback()
                .into_result()
                .map(|()| true)
                .map_err(|source| SpinError::Callback {
                    id: event.id,
                    source,
                })
        });
        self.handlers.insert(id, handler);
        Ok(id)
    }

    /// Removes a callback (and drops its subscriber); `false` if there was none of that id.
    pub fn remove(&mut self, id: AttachmentId) -> bool {
        self.set.detach(id);
        self.pending.retain(|e| e.id != id);
        self.handlers.remove(&id).is_some()
    }

    /// A handle that stops [`spin`](Self::spin) from any thread or callback.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            stop: Arc::clone(&self.stop),
            waker: self.set.waker(),
        }
    }

    /// Waits once (at most `timeout`; `None`: until something happens) and runs the callbacks
    /// of what happened; returns how many ran.
    pub fn spin_once(&mut self, timeout: Option<Duration>) -> Result<usize, SpinError> {
        if self.pending.is_empty() {
            self.pending = self.set.wait(timeout);
            self.pending.reverse();
        }
        let mut ran = 0;
        // A stop request ends the batch too: the events left run at the next spin.
        while !self.stop.load(Ordering::SeqCst)
            && let Some(event) = self.pending.pop()
        {
            let Some(handler) = self.handlers.get_mut(&event.id) else {
                continue;
            };
            // A deadline or a publisher's exit calls no callback (values, ticks and requests
            // do).
            if !matches!(
                event.kind,
                EventKind::Value | EventKind::Interval | EventKind::Request
            ) {
                continue;
            }
            if handler(event)? {
                ran += 1;
            }
        }
        Ok(ran)
    }

    /// Runs callbacks until a [`Stopper`] stops it (`Ok`), or a callback or a read fails
    /// (that error). Calling it again continues where it stopped.
    pub fn spin(&mut self) -> Result<(), SpinError> {
        self.spin_until(None)
    }

    /// As [`spin`](Self::spin), returning `Ok` at `deadline` too.
    pub fn spin_until(&mut self, deadline: Option<Instant>) -> Result<(), SpinError> {
        loop {
            if self.stop.swap(false, Ordering::SeqCst) {
                // The wake-up that came with the request is consumed with it.
                self.set.clear_wakes();
                return Ok(());
            }
            let timeout = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(());
                    }
                    Some(left)
                }
                None => None,
            };
            self.spin_once(timeout)?;
        }
    }
}

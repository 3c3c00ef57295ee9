//! One thread, many topics: [`WaitSet`] waits for whichever comes first of new values on any
//! number of topics, a topic that went silent too long (a deadline), and periodic ticks.
//!
//! A wait set follows each attached subscriber's topic on its own (a watcher that maps the
//! topic file read-only and looks only at its header words: it reads no value and takes no pin
//! on a lending topic), so the subscriber stays yours to read while it is attached. It reports
//! a value newer than both the last one the subscriber returned and the last one it reported:
//! a value published between two waits is reported by the next one, and a value you already
//! read (by polling the subscriber yourself) is not reported again.
//!
//! Sleeping: one `futex_waitv` (Linux 5.16 or later) over the wake words of every attached
//! topic file (the same word a blocking [`recv_timeout`](crate::Subscriber::recv_timeout)
//! sleeps on, with the same handshake with the publisher, see `docs/FORMAT.md`), plus, while a
//! [`Waker`] of the set exists, a word of its own that the waker bumps. The call takes at most
//! 128 words: with more topic files (127 with a waker), the first ones wake the set at once
//! and the others are looked at every millisecond.
//! On a kernel without `futex_waitv` (or one whose seccomp filter refuses it) a set sleeps on
//! one topic's word with `FUTEX_WAIT` and looks at everything every millisecond
//! (`SHM_WAITSET_FALLBACK=1` forces this path, for tests).

use std::collections::HashMap;
use std::ops::ControlFlow;
#[cfg(test)]
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::dynamic::AnySubscriber;
use crate::error::SubscribeError;
use crate::segment::{ReadOnly, Segment};
use crate::subscriber::wait::{
    DETACHED_POLL_NS, UNREGISTERED_POLL_NS, check_interval_ns, spin_until,
};
use crate::subscriber::{Core, Expect, SharedLast};
use crate::sys::{self, FUTEX_WAITV_MAX, FutexWaitv, Waitv};
use crate::{Subscriber, Timestamp};

/// How often a set looks at topics it cannot sleep on (beyond 127 topic files, or without
/// `futex_waitv` when it waits for several).
const POLL_NS: u64 = 1_000_000;

/// Forces the fallback sleep (one `FUTEX_WAIT`, polling the other topics every millisecond),
/// as on a kernel without `futex_waitv`: set to `1` (read when a set is made; for tests).
pub const FALLBACK_ENV: &str = "SHM_WAITSET_FALLBACK";

/// Which attachment an [`Event`] is about: returned by the `attach` methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttachmentId(u64);

impl AttachmentId {
    /// The number of the attachment, unique within its set.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

/// What happened to an attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// The topic has a value newer than the last one the subscriber returned (read it with
    /// `try_recv`, `latest`, `try_recv_all`, or borrow it). Also reported once when the
    /// topic cannot be opened (a damaged file, an owner not trusted), so that the
    /// subscriber's read reports the error.
    Value,
    /// No new value for the attachment's deadline (reported again every deadline while the
    /// silence lasts).
    Deadline,
    /// An interval's tick.
    Interval,
    /// A server attached with [`WaitSet::attach`] has requests (of a service: take them with
    /// `try_recv` until it returns `None`; of an action: goals, with `try_recv` likewise).
    Request,
    /// A pending call attached with [`WaitSet::attach`] has ended: its reply or its error is
    /// there to take with `try_wait` (detach it then).
    Reply,
    /// The topic's publisher exited or was killed (noticed within
    /// [`CHECK_INTERVAL`](crate::wait::CHECK_INTERVAL); a clean exit at once). Reported once
    /// per publisher; a publisher that takes the topic over later is waited for as before.
    PublisherGone,
}

impl EventKind {
    /// The kind's name: `"value"`, `"deadline"`, `"interval"`, `"publisher_gone"`,
    /// `"request"` or `"reply"`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Value => "value",
            EventKind::Deadline => "deadline",
            EventKind::Interval => "interval",
            EventKind::PublisherGone => "publisher_gone",
            EventKind::Request => "request",
            EventKind::Reply => "reply",
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a [`WaitSet`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// The attachment it is about.
    pub id: AttachmentId,
    /// What happened.
    pub kind: EventKind,
    /// When: the newest value's publish time, the deadline or tick that passed, or when the
    /// set noticed the publisher gone. Events of one wait come in this order.
    pub at: Timestamp,
}

/// A subscriber a [`WaitSet`] can watch: [`Subscriber`] (of any type, slices too) and
/// [`AnySubscriber`]. Sealed.
pub trait Watchable: private::Sealed {}

/// Something [`WaitSet::attach`] takes: a subscriber (its new values), a server of a service
/// or an action (its requests, [`EventKind::Request`]), or a pending call (its end,
/// [`EventKind::Reply`]). Sealed.
pub trait Attachable: private::Planned {}

/// What a watcher is made from (the options of a watcher of the subscriber's file, and its
/// last returned value, shared). Not a public API.
#[doc(hidden)]
pub struct WatchSource(crate::subscriber::Options, Expect, Arc<SharedLast>);

impl WatchSource {
    /// The source of a watcher of a subscriber's topic (from `Core::watch_source`).
    pub(crate) fn of(
        (options, expect, last): (crate::subscriber::Options, Expect, Arc<SharedLast>),
    ) -> WatchSource {
        WatchSource(options, expect, last)
    }
}

/// What one attachment watches. Not a public API.
#[doc(hidden)]
pub enum Plan {
    /// One subscriber's topic, reported as itself.
    Topic(WatchSource),
    /// Several sources reported as one attachment of one kind.
    Group(Group),
}

/// Sources reported as one attachment (a server's request topics, a call's reply topic and
/// its server): each event of a member is reported as the group's `kind`. Not a public API.
#[doc(hidden)]
pub struct Group {
    /// What the group's events are called.
    pub(crate) kind: EventKind,
    /// Topics, and whether their publisher's exit is an event of the group (else only new
    /// values are).
    pub(crate) topics: Vec<(WatchSource, bool)>,
    /// A notice raised in this process when the group has something (a call that ended).
    pub(crate) notice: Option<Arc<Notice>>,
    /// Report the group every this long, besides (for what cannot be watched).
    pub(crate) poll: Option<Duration>,
    /// Report the group at the first wait (it has something already); of a group with a
    /// pump: run the pump at the first wait (what changed before the set first looked
    /// raises no event of its topics, such as a publisher that exited already).
    pub(crate) ready: bool,
    /// Called (in the waiting thread) instead of reporting when a topic of the group has
    /// news: it looks at them and raises the notice if there is something for the group.
    pub(crate) pump: Option<Pump>,
}

/// A group's pump (see [`Group::pump`]).
pub(crate) type Pump = Box<dyn FnMut() + Send + Sync>;

/// A flag raised in this process that wakes the wait sets it is attached to (through their
/// notice word) and is reported by them while it stays raised. Not a public API.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct Notice {
    /// Bumped at each raise.
    count: AtomicU32,
    /// Raised and not yet lowered (what it announces is still there to take).
    ready: std::sync::atomic::AtomicBool,
    /// The notice words of the sets it is attached to.
    words: std::sync::Mutex<Vec<std::sync::Weak<AtomicU32>>>,
}

impl Notice {
    /// Raises the notice: the sets it is attached to report it at their next look (and wake
    /// from their sleep).
    pub(crate) fn raise(&self) {
        self.ready.store(true, Ordering::SeqCst);
        self.count.fetch_add(1, Ordering::SeqCst);
        let words = self.words.lock().unwrap_or_else(|e| e.into_inner());
        for word in words.iter().filter_map(std::sync::Weak::upgrade) {
            word.fetch_add(1, Ordering::SeqCst);
            // SAFETY: the word is a live, 4-aligned `AtomicU32` of this process (held by
            // `word`), used only as a key.
            unsafe { sys::futex_wake_private(word.as_ptr()) };
        }
    }

    /// Whether it is raised (and not lowered since).
    pub(crate) fn is_raised(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// Lowers the notice: what it announced was taken (a set that has not looked yet does
    /// not report it).
    pub(crate) fn lower(&self) {
        self.ready.store(false, Ordering::SeqCst);
    }

    fn register(&self, word: &Arc<AtomicU32>) {
        let mut words = self.words.lock().unwrap_or_else(|e| e.into_inner());
        words.retain(|w| w.strong_count() > 0);
        words.push(Arc::downgrade(word));
    }
}

pub(crate) mod private {
    pub trait Sealed {
        fn watch_source(&self) -> super::WatchSource;
    }

    pub trait Planned {
        fn plan(&self) -> Result<super::Plan, super::AttachError>;
    }

    impl<T: Sealed> Planned for T {
        fn plan(&self) -> Result<super::Plan, super::AttachError> {
            Ok(super::Plan::Topic(self.watch_source()))
        }
    }

    impl<T: ?Sized> Sealed for crate::Subscriber<T> {
        fn watch_source(&self) -> super::WatchSource {
            let (options, expect, last) = self.core().watch_source();
            super::WatchSource(options, expect, last)
        }
    }

    impl Sealed for crate::dynamic::AnySubscriber {
        fn watch_source(&self) -> super::WatchSource {
            let (options, expect, last) = self.core().watch_source();
            super::WatchSource(options, expect, last)
        }
    }
}

impl<T: ?Sized> Watchable for Subscriber<T> {}

impl Watchable for AnySubscriber {}

impl<T: Watchable> Attachable for T {}

/// Wakes a [`WaitSet`] from another thread: its current (or next) wait returns at once,
/// with the events it has (possibly none). Cloneable, `Send`.
#[derive(Debug, Clone)]
pub struct Waker(Arc<AtomicU32>);

impl Waker {
    /// Makes the set's current or next wait return.
    pub fn wake(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the word is a live, 4-aligned `AtomicU32` of this process (held by `self`),
        // used only as a key.
        unsafe { sys::futex_wake_private(self.0.as_ptr()) };
    }
}

/// One thread, many topics: waits for new values on attached subscribers, deadlines and
/// intervals at once, with one sleep. See the [module docs](crate::waitset).
///
/// ```no_run
/// use std::time::Duration;
/// let mut imu = shm::Subscriber::<[f64; 6]>::new("robot/imu")?;
/// let mut cmd = shm::Subscriber::<f64>::new("robot/cmd")?;
/// let mut set = shm::WaitSet::new();
/// let imu_id = set.attach_deadline(&imu, Duration::from_millis(20))?;
/// let cmd_id = set.attach(&cmd)?;
/// let tick = set.attach_interval(Duration::from_millis(10))?;
/// loop {
///     for event in set.wait(Some(Duration::from_secs(1))) {
///         match (event.id, event.kind) {
///             (id, shm::EventKind::Value) if id == imu_id => {
///                 if let Some(s) = imu.try_recv()? { println!("imu {:?}", s.value) }
///             }
///             (id, shm::EventKind::Deadline) if id == imu_id => println!("imu silent"),
///             (id, _) if id == cmd_id => { let _ = cmd.try_recv()?; }
///             (id, _) if id == tick => { /* control step */ }
///             _ => {}
///         }
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct WaitSet {
    attachments: Vec<Attachment>,
    /// The members of groups: the group each reports as.
    aliases: HashMap<AttachmentId, Alias>,
    /// The groups, and their number of members.
    groups: HashMap<AttachmentId, usize>,
    next_id: u64,
    spin_ns: u64,
    waker: Arc<AtomicU32>,
    /// The waker word when the set last looked.
    waker_seen: u32,
    /// The word [`Notice`]s attached to this set bump (and wake), and its value when the set
    /// last looked.
    notify: Arc<AtomicU32>,
    notify_seen: u32,
    /// Attached notices.
    notices: usize,
    /// The pumps of groups that have one.
    pumps: HashMap<AttachmentId, Pump>,
    fallback: bool,
    /// Scratch: the topic files to sleep on this step, their tickets and what was seen.
    sleepers: Vec<Sleeper>,
    words: Vec<FutexWaitv>,
    spin_pending: bool,
    /// The attachment (index) whose word woke the last sleep: the next step looks at it
    /// alone first, while no timer or check is due (`next_full_ns`).
    woken_hint: Option<usize>,
    /// When the next step must look at everything at the latest.
    next_full_ns: u64,
    /// The longest sleep of a step (the checks' interval).
    max_sleep_ns: u64,
}

struct Sleeper {
    /// Index of its attachment.
    attachment: usize,
    seg: Arc<Segment<ReadOnly>>,
    ticket: u32,
    seen: u64,
}

struct Attachment {
    id: AttachmentId,
    what: What,
}

enum What {
    Topic(Box<TopicWatch>),
    Interval { period_ns: u64, next_ns: u64 },
    Notice { notice: Arc<Notice>, seen: u32 },
}

/// How a member of a group reports.
#[derive(Clone, Copy)]
struct Alias {
    /// The group.
    id: AttachmentId,
    /// What the group's events are called.
    kind: EventKind,
    /// Whether the member's publisher's exit is an event of the group.
    gone: bool,
    /// Whether the member's events run the group's pump instead of being reported.
    pump: bool,
}

/// A watcher of one subscriber's topic.
struct TopicWatch {
    core: Core,
    /// The subscriber's last returned value.
    last: Arc<SharedLast>,
    /// The last value reported: (seq, lineage).
    reported: (u64, u64),
    deadline: Option<Deadline>,
    /// Whether the publisher was seen alive (`None`: not looked yet).
    alive: Option<bool>,
    next_check_ns: u64,
    /// The file and its wake word when this topic was last slept on without a new value.
    last_ticket: Option<(Arc<Segment<ReadOnly>>, u32)>,
    /// An error was reported by a `Value` event, and not yet followed by a success.
    failing: bool,
    /// This step's file and its wake word, read before the step looks at any topic.
    current: Option<(Arc<Segment<ReadOnly>>, u32)>,
}

struct Deadline {
    period_ns: u64,
    /// Publish time of the newest value seen (or when the attachment was made).
    last_value_ns: u64,
    /// The (seq, lineage) whose time `last_value_ns` holds.
    seen: (u64, u64),
    /// When it last fired (0: never).
    fired_ns: u64,
}

impl Default for WaitSet {
    fn default() -> WaitSet {
        WaitSet::new()
    }
}

impl std::fmt::Debug for WaitSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitSet")
            .field("attachments", &self.attachments.len())
            .field("spin_ns", &self.spin_ns)
            .field("fallback", &self.fallback)
            .finish()
    }
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn deadline_of(timeout: Option<Duration>) -> u64 {
    timeout.map_or(u64::MAX, |t| {
        sys::monotonic_ns().saturating_add(duration_ns(t))
    })
}

/// Why an attachment cannot be made.
#[derive(Debug)]
#[non_exhaustive]
pub enum AttachError {
    /// A period or deadline of zero (it would fire on every look).
    ZeroPeriod,
    /// The subscriber's topic could not be watched (see the error).
    Subscribe(SubscribeError),
    /// Another thread held the action server in a receive for longer than a second.
    Busy {
        /// The action's name.
        what: String,
    },
}

impl std::fmt::Display for AttachError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttachError::ZeroPeriod => f.write_str(
                "a wait set's interval or deadline must be longer than zero (it would fire on \
                 every wait)",
            ),
            AttachError::Subscribe(e) => write!(f, "cannot watch the topic: {e}"),
            AttachError::Busy { what } => write!(
                f,
                "cannot watch action {what}: another thread kept receiving on it for a second"
            ),
        }
    }
}

impl std::error::Error for AttachError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AttachError::Subscribe(e) => Some(e),
            AttachError::ZeroPeriod | AttachError::Busy { .. } => None,
        }
    }
}

impl From<SubscribeError> for AttachError {
    fn from(e: SubscribeError) -> AttachError {
        AttachError::Subscribe(e)
    }
}

impl WaitSet {
    /// An empty set, spinning [`DEFAULT_SPIN`](crate::wait::DEFAULT_SPIN) before it sleeps
    /// (as a subscriber's blocking wait does).
    pub fn new() -> WaitSet {
        WaitSet {
            attachments: Vec::new(),
            aliases: HashMap::new(),
            groups: HashMap::new(),
            next_id: 1,
            spin_ns: duration_ns(crate::wait::DEFAULT_SPIN),
            waker: Arc::new(AtomicU32::new(0)),
            waker_seen: 0,
            notify: Arc::new(AtomicU32::new(0)),
            notify_seen: 0,
            notices: 0,
            pumps: HashMap::new(),
            fallback: std::env::var(FALLBACK_ENV).is_ok_and(|v| v == "1"),
            sleepers: Vec::new(),
            words: Vec::new(),
            spin_pending: true,
            woken_hint: None,
            next_full_ns: 0,
            max_sleep_ns: check_interval_ns(),
        }
    }

    /// How long a wait polls its topics before it sleeps (0: sleep at once). A value
    /// published during the spin is seen within a microsecond instead of a wake-up's few.
    pub fn set_spin(&mut self, spin: Duration) -> &mut WaitSet {
        self.spin_ns = duration_ns(spin);
        self
    }

    fn add(&mut self, what: What) -> AttachmentId {
        let id = AttachmentId(self.next_id);
        self.next_id += 1;
        self.woken_hint = None;
        self.attachments.push(Attachment { id, what });
        id
    }

    fn watch(
        &self,
        sub: &impl Watchable,
        deadline: Option<Duration>,
    ) -> Result<TopicWatch, AttachError> {
        self.watch_source(private::Sealed::watch_source(sub), deadline)
    }

    fn watch_source(
        &self,
        WatchSource(options, expect, last): WatchSource,
        deadline: Option<Duration>,
    ) -> Result<TopicWatch, AttachError> {
        let core = Core::open(options, expect)?;
        let now = sys::monotonic_ns();
        let deadline = match deadline {
            Some(d) if d.is_zero() => return Err(AttachError::ZeroPeriod),
            Some(d) => Some(Deadline {
                period_ns: duration_ns(d),
                last_value_ns: now,
                seen: (0, 0),
                fired_ns: 0,
            }),
            None => None,
        };
        Ok(TopicWatch {
            core,
            last,
            reported: (0, 0),
            deadline,
            alive: None,
            next_check_ns: 0,
            last_ticket: None,
            failing: false,
            current: None,
        })
    }

    /// Watches a subscriber, a server or a pending call, which stays yours:
    /// - a [`Subscriber`] or [`AnySubscriber`]: reports new values on its topic
    ///   ([`EventKind::Value`]) and its publisher's exit ([`EventKind::PublisherGone`]). The
    ///   topic need not exist yet: its creation is noticed within 5 ms. Read it when an event
    ///   says so.
    /// - a [`Server`](crate::Server), [`ActionServer`](crate::ActionServer) or their untyped
    ///   forms: reports [`EventKind::Request`] when requests (goals) came; take them with
    ///   `try_recv` until it returns `None` (what is left unread is not reported again). A
    ///   client's first request may take up to 5 ms to be noticed (its request topic is new).
    /// - a [`Pending`](crate::Pending) call or an [`AnyPending`](crate::service::AnyPending):
    ///   reports [`EventKind::Reply`] once the call has ended (its reply came, or the server
    ///   went away: noticed within [`CHECK_INTERVAL`](crate::wait::CHECK_INTERVAL)); take its
    ///   outcome with `try_wait`, and detach it. The set keeps no timeout for it: give up a
    ///   call by dropping it.
    ///
    /// Errors: a topic exists but cannot be opened (damaged, an owner not trusted, no
    /// permission); a server's request topic that cannot be opened is left out (the server
    /// is looked at every second for it instead).
    pub fn attach(&mut self, what: &impl Attachable) -> Result<AttachmentId, AttachError> {
        match private::Planned::plan(what)? {
            Plan::Topic(source) => {
                let watch = self.watch_source(source, None)?;
                Ok(self.add(What::Topic(Box::new(watch))))
            }
            Plan::Group(group) => self.attach_group(group),
        }
    }

    /// Attaches a group's members, each reporting as the group.
    fn attach_group(&mut self, group: Group) -> Result<AttachmentId, AttachError> {
        let mut members = Vec::new();
        for (source, gone) in group.topics {
            members.push((
                What::Topic(Box::new(self.watch_source(source, None)?)),
                gone,
            ));
        }
        if let Some(notice) = group.notice {
            notice.register(&self.notify);
            let count = notice.count.load(Ordering::SeqCst);
            let ready = notice.ready.load(Ordering::SeqCst);
            // Raised already: reported at the first look.
            let seen = if ready { count.wrapping_sub(1) } else { count };
            members.push((What::Notice { notice, seen }, true));
        }
        let now = sys::monotonic_ns();
        if let Some(period) = group.poll {
            let period_ns = duration_ns(period).max(1);
            let next_ns = now.saturating_add(period_ns);
            members.push((What::Interval { period_ns, next_ns }, true));
        }
        if group.ready {
            // An interval due now, once: reported at the first look.
            members.push((
                What::Interval {
                    period_ns: u64::MAX,
                    next_ns: now,
                },
                true,
            ));
        }
        let id = AttachmentId(self.next_id);
        self.next_id += 1;
        self.groups.insert(id, members.len());
        let pumped = group.pump.is_some();
        if let Some(pump) = group.pump {
            self.pumps.insert(id, pump);
        }
        for (what, gone) in members {
            let is_notice = matches!(what, What::Notice { .. });
            if is_notice {
                self.notices += 1;
            }
            let member = self.add(what);
            self.aliases.insert(
                member,
                Alias {
                    id,
                    kind: group.kind,
                    gone,
                    pump: pumped && !is_notice,
                },
            );
        }
        Ok(id)
    }

    /// Rewrites the events of group members as their groups' (one per group and kind, the
    /// first), runs the pumps of groups whose topics had news (what they find is reported
    /// by the next look), and orders the events by time.
    fn finish(&mut self, events: &mut Vec<Event>) {
        if !self.aliases.is_empty() {
            let mut pumped = Vec::new();
            events.retain_mut(|e| {
                let Some(alias) = self.aliases.get(&e.id) else {
                    return true;
                };
                if alias.pump {
                    pumped.push(alias.id);
                    return false;
                }
                if e.kind == EventKind::PublisherGone && !alias.gone {
                    return false;
                }
                e.id = alias.id;
                e.kind = alias.kind;
                true
            });
            pumped.sort_unstable();
            pumped.dedup();
            for id in pumped {
                if let Some(pump) = self.pumps.get_mut(&id) {
                    pump();
                }
            }
        }
        events.sort_by_key(|e| e.at.0);
        if !self.aliases.is_empty() {
            let mut seen = std::collections::HashSet::new();
            events.retain(|e| seen.insert((e.id, e.kind)));
        }
    }

    /// As [`attach`](Self::attach), and reports [`EventKind::Deadline`] whenever no new value
    /// was published for `deadline` (counted from the newest value's publish time, or from
    /// now if there is none yet; again every `deadline` while the silence lasts).
    pub fn attach_deadline(
        &mut self,
        subscriber: &impl Watchable,
        deadline: Duration,
    ) -> Result<AttachmentId, AttachError> {
        let watch = self.watch(subscriber, Some(deadline))?;
        Ok(self.add(What::Topic(Box::new(watch))))
    }

    /// Reports [`EventKind::Interval`] every `period`, from now on. Ticks keep their phase: a
    /// wait that comes late gets one tick for the ones it missed, and the next tick comes at
    /// its time.
    pub fn attach_interval(&mut self, period: Duration) -> Result<AttachmentId, AttachError> {
        if period.is_zero() {
            return Err(AttachError::ZeroPeriod);
        }
        let period_ns = duration_ns(period);
        let next_ns = sys::monotonic_ns().saturating_add(period_ns);
        Ok(self.add(What::Interval { period_ns, next_ns }))
    }

    /// Removes an attachment; `false` if the set has none of that id.
    pub fn detach(&mut self, id: AttachmentId) -> bool {
        let before = self.attachments.len();
        self.woken_hint = None;
        let group = self.groups.remove(&id).is_some();
        self.pumps.remove(&id);
        let (aliases, notices) = (&mut self.aliases, &mut self.notices);
        self.attachments.retain(|a| {
            let member = group && aliases.get(&a.id).is_some_and(|alias| alias.id == id);
            if member {
                aliases.remove(&a.id);
                if matches!(a.what, What::Notice { .. }) {
                    *notices -= 1;
                }
            }
            a.id != id && !member
        });
        self.attachments.len() != before
    }

    /// Number of attachments (a server or a call counts once).
    pub fn len(&self) -> usize {
        self.attachments.len() - self.aliases.len() + self.groups.len()
    }

    /// Whether the set has no attachment.
    pub fn is_empty(&self) -> bool {
        self.attachments.is_empty()
    }

    /// Forgets the wake-ups of its [`Waker`]s so far: the next wait does not return at once
    /// for them (an executor that returned on a stop request consumes the wake-up that came
    /// with it).
    pub fn clear_wakes(&mut self) {
        self.waker_seen = self.waker.load(Ordering::SeqCst);
    }

    /// A handle that makes this set's wait return, from any thread.
    pub fn waker(&self) -> Waker {
        Waker(Arc::clone(&self.waker))
    }

    /// Waits until at least one event, `timeout` passes (`None`: no timeout), or a [`Waker`]
    /// wakes the set; returns the events in the order they happened (empty on a timeout or a
    /// wake). Costs no CPU while nothing happens (after the spin).
    pub fn wait(&mut self, timeout: Option<Duration>) -> Vec<Event> {
        let deadline_ns = deadline_of(timeout);
        self.spin_pending = true;
        loop {
            if let Some(events) = self.step(deadline_ns) {
                return events;
            }
        }
    }

    /// As [`wait`](Self::wait) until `deadline`.
    pub fn wait_deadline(&mut self, deadline: Instant) -> Vec<Event> {
        self.wait(Some(deadline.saturating_duration_since(Instant::now())))
    }

    /// Waits and calls `f` with each event, until `f` returns [`ControlFlow::Break`],
    /// `timeout` passes (`None`: no timeout) or a [`Waker`] wakes the set.
    pub fn wait_and_process(
        &mut self,
        timeout: Option<Duration>,
        mut f: impl FnMut(Event) -> ControlFlow<()>,
    ) {
        let deadline_ns = deadline_of(timeout);
        loop {
            let left = deadline_ns.saturating_sub(sys::monotonic_ns());
            if left == 0 {
                return;
            }
            let events = self.wait(Some(Duration::from_nanos(left)));
            if events.is_empty() {
                // The timeout, or a `Waker`.
                return;
            }
            for event in events {
                if f(event).is_break() {
                    return;
                }
            }
        }
    }

    /// One step of a wait until `deadline` (`None`: none): the events if there are any, or
    /// an empty list once the deadline passed or a [`Waker`] woke the set; `None` after
    /// sleeping once (at most [`CHECK_INTERVAL`](crate::wait::CHECK_INTERVAL); a signal ends
    /// the sleep early): call again. For bindings that must do something between sleeps
    /// (check for Ctrl-C); begin each wait with [`begin_wait`](Self::begin_wait).
    pub fn wait_step(&mut self, deadline: Option<Instant>) -> Option<Vec<Event>> {
        let deadline_ns = deadline.map_or(u64::MAX, |d| {
            sys::monotonic_ns()
                .saturating_add(duration_ns(d.saturating_duration_since(Instant::now())))
        });
        self.step(deadline_ns)
    }

    /// Starts a wait made of [`wait_step`](Self::wait_step)s (it spins before its first
    /// sleep).
    pub fn begin_wait(&mut self) {
        self.spin_pending = true;
    }

    /// Looks at everything once; returns the events (or an empty list at the deadline or on
    /// a wake), or sleeps once and returns `None`.
    fn step(&mut self, deadline_ns: u64) -> Option<Vec<Event>> {
        let now = sys::monotonic_ns();
        let mut events = Vec::new();
        let mut until = deadline_ns;
        self.sleepers.clear();
        let waker = self.waker.load(Ordering::SeqCst);
        let woken = waker != self.waker_seen;
        self.waker_seen = waker;
        // Before the notices are looked at: a notice raised after this wakes the sleep.
        self.notify_seen = self.notify.load(Ordering::SeqCst);
        // Woken by one topic's word: that topic alone first (its memory is what a wake-up
        // must touch; the others' is cold), unless a timer or a check is due.
        if let Some(k) = self.woken_hint.take()
            && now < self.next_full_ns
            && !woken
            && let Some(Attachment {
                id,
                what: What::Topic(t),
            }) = self.attachments.get_mut(k)
        {
            t.prepare(now, &mut events, *id);
            std::sync::atomic::fence(Ordering::SeqCst);
            t.look(*id, k, now, &mut events, &mut self.sleepers);
            self.sleepers.clear();
            self.finish(&mut events);
            if !events.is_empty() {
                return Some(events);
            }
        }
        // Every file's wake word first, then one fence, then the topics: a wake-up after
        // this point is not lost (see `segment::wake::wake_ticket`, here for all at once).
        for a in &mut self.attachments {
            if let What::Topic(t) = &mut a.what {
                t.prepare(now, &mut events, a.id);
            }
        }
        std::sync::atomic::fence(Ordering::SeqCst);
        for (k, a) in self.attachments.iter_mut().enumerate() {
            match &mut a.what {
                What::Interval { period_ns, next_ns } => {
                    if now >= *next_ns {
                        events.push(Event {
                            id: a.id,
                            kind: EventKind::Interval,
                            at: Timestamp(*next_ns),
                        });
                        let behind = (now - *next_ns) / *period_ns + 1;
                        *next_ns = next_ns.saturating_add(behind.saturating_mul(*period_ns));
                    }
                    until = until.min(*next_ns);
                }
                What::Topic(t) => {
                    until = until.min(t.look(a.id, k, now, &mut events, &mut self.sleepers));
                }
                What::Notice { notice, seen } => {
                    let count = notice.count.load(Ordering::SeqCst);
                    if count != *seen {
                        *seen = count;
                        // Lowered meanwhile: what it announced was taken already.
                        if notice.ready.load(Ordering::SeqCst) {
                            events.push(Event {
                                id: a.id,
                                kind: EventKind::Value,
                                at: Timestamp(now),
                            });
                        }
                    }
                }
            }
        }
        self.finish(&mut events);
        if !events.is_empty() || woken || now >= deadline_ns {
            return Some(events);
        }
        self.next_full_ns = until;
        self.sleep(now, until);
        None
    }

    /// Sleeps until `until` at most (and at most a check interval: a step returns to its
    /// caller that often), or until a topic slept on may have changed.
    fn sleep(&mut self, now: u64, until: u64) {
        let mut until = until.min(now.saturating_add(self.max_sleep_ns));
        let waker_word = self.waker.as_ptr().cast_const();
        if self.spin_pending {
            self.spin_pending = false;
            if self.spin_ns > 0 {
                let (waker, seen) = (&self.waker, self.waker_seen);
                let (notify, notified) = (&self.notify, self.notify_seen);
                let sleepers = &self.sleepers;
                spin_until(until.min(now.saturating_add(self.spin_ns)), || {
                    waker.load(Ordering::Relaxed) != seen
                        || notify.load(Ordering::Relaxed) != notified
                        || sleepers.iter().any(|s| s.seg.moved_past(s.seen))
                });
                return;
            }
        }
        // The words this sleep waits on: the waker's while a `Waker` exists, then as many
        // topic files as fit (one without `futex_waitv`); the others are looked at every
        // millisecond, and ask their publishers for nothing.
        let with_waker = Arc::strong_count(&self.waker) > 1;
        // A waker that woke the set and was dropped since the step looked (so that its word is
        // not slept on): its wake-up is in the word. (Acquire: the count that went down was
        // released after the wake-up.)
        std::sync::atomic::fence(Ordering::Acquire);
        if self.waker.load(Ordering::SeqCst) != self.waker_seen
            || self.notify.load(Ordering::SeqCst) != self.notify_seen
        {
            return;
        }
        let with_notify = self.notices > 0;
        let own_words = usize::from(with_waker) + usize::from(with_notify);
        let waitv = !self.fallback && !WAITV_UNSUPPORTED.load(Ordering::Relaxed);
        let room = if waitv {
            FUTEX_WAITV_MAX - own_words
        } else {
            1
        };
        if self.sleepers.len() > room
            || (!waitv && with_waker && !self.sleepers.is_empty())
            || (!waitv && with_notify)
        {
            until = until.min(now.saturating_add(POLL_NS));
        }
        // The sleeper's half of the handshake, for every file at once: flags, one full fence
        // (one `membarrier` for light-fenced publishers), then look at each file again.
        let mut asked = false;
        for s in self.sleepers.iter().take(room) {
            if s.seg.request_wake_up() {
                asked = true;
            } else {
                // Another user's file, which this process may only read: look every 1 ms.
                until = until.min(now.saturating_add(UNREGISTERED_POLL_NS));
            }
        }
        std::sync::atomic::fence(Ordering::SeqCst);
        if asked && !sys::heavy_fence() {
            until = until.min(now.saturating_add(UNREGISTERED_POLL_NS));
        }
        if self.sleepers.iter().any(|s| s.seg.moved_past(s.seen)) {
            return;
        }
        if waitv {
            self.words.clear();
            if with_waker {
                self.words
                    .push(FutexWaitv::private(waker_word, self.waker_seen));
            }
            if with_notify {
                self.words.push(FutexWaitv::private(
                    self.notify.as_ptr().cast_const(),
                    self.notify_seen,
                ));
            }
            for s in self.sleepers.iter().take(room) {
                self.words
                    .push(FutexWaitv::shared(s.seg.wake_word_addr(), s.ticket));
            }
            if !self.words.is_empty() {
                // SAFETY: the waker word lives in `self.waker`, the notice word in
                // `self.notify` and every topic word in a segment `self.sleepers` holds, all
                // until the call returns; all 4-aligned.
                match unsafe { sys::futex_waitv(&self.words, until) } {
                    Waitv::Returned(woke) => {
                        self.woken_hint = woke
                            .and_then(|i| i.checked_sub(own_words))
                            .and_then(|i| self.sleepers.get(i))
                            .map(|s| s.attachment);
                        return;
                    }
                    Waitv::Unsupported => WAITV_UNSUPPORTED.store(true, Ordering::Relaxed),
                }
            }
        }
        // Without `futex_waitv` (or a kernel that just said it has none): one word; `until`
        // was brought within a millisecond above when other topics or a waker need looking at.
        match self.sleepers.first() {
            None => {
                // SAFETY: the waker word is 4-aligned and lives in `self.waker`.
                unsafe { sys::futex_wait_private(waker_word, self.waker_seen, until) }
            }
            Some(first) => {
                let until = if self.sleepers.len() > 1 || with_waker || waitv {
                    until.min(now.saturating_add(POLL_NS))
                } else {
                    until
                };
                // SAFETY: the word is 4-aligned in a live shared mapping `first` holds.
                unsafe { sys::futex_wait(first.seg.wake_word_addr(), first.ticket, until) }
            }
        }
    }
}

/// Set once a `futex_waitv` call said the kernel has none.
static WAITV_UNSUPPORTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl TopicWatch {
    /// Attaches as needed and reads the attached file's wake word (the caller fences after
    /// every topic's); an error is reported once by a `Value` event.
    fn prepare(&mut self, now: u64, events: &mut Vec<Event>, id: AttachmentId) {
        self.current = None;
        if self.failing && now < self.next_check_ns {
            return;
        }
        match self.core.watched() {
            Ok(seg) => {
                self.failing = false;
                self.current = seg.map(|seg| {
                    let ticket = crate::segment::wake::WakeWords::wake_word(&*seg);
                    (seg, ticket)
                });
            }
            Err(_) => {
                if !self.failing {
                    // The subscriber's read reports the error.
                    events.push(Event {
                        id,
                        kind: EventKind::Value,
                        at: Timestamp(now),
                    });
                }
                self.failing = true;
                self.next_check_ns = now.saturating_add(check_interval_ns());
            }
        }
    }

    /// Looks at the topic (after [`prepare`](Self::prepare)): pushes its events, and the file
    /// to sleep on; returns when it must be looked at again at the latest.
    fn look(
        &mut self,
        id: AttachmentId,
        index: usize,
        now: u64,
        events: &mut Vec<Event>,
        sleepers: &mut Vec<Sleeper>,
    ) -> u64 {
        let Some((seg, ticket)) = self.current.take() else {
            self.alive = None;
            self.last_ticket = None;
            let again = if self.failing {
                self.next_check_ns
            } else {
                now.saturating_add(DETACHED_POLL_NS)
            };
            return again.min(self.deadline_check(id, now, None, events));
        };
        // Another file than last time (the topic was made anew): its words and its publisher
        // are new.
        let ticket_before = match &self.last_ticket {
            Some((before, t)) if Arc::ptr_eq(before, &seg) => Some(*t),
            Some(_) => {
                self.alive = None;
                None
            }
            None => None,
        };
        let (seq, lineage) = (seg.publish_seq(), seg.lineage());
        let reported = events.len();
        self.report_value(id, &seg, seq, lineage, now, events);
        let had_value = events.len() > reported;
        // The publisher's liveness, and a file replaced by hand, at the checks' pace (at once
        // when the wake word moved without a new value: a publisher's exit bumps it).
        let woken = !had_value && ticket_before.is_some_and(|t| t != ticket);
        if now >= self.next_check_ns || woken {
            self.next_check_ns = now.saturating_add(check_interval_ns());
            // A failed look keeps what was known (a later look reports a death).
            if let Ok(alive) = self.core.watch_check() {
                let gone = self.alive == Some(true) && !alive;
                self.alive = Some(alive);
                if gone {
                    // Its last values were published before its lock went, one of them
                    // perhaps stamped but not yet named (a publisher killed in between).
                    let named = seg.publish_seq();
                    let stamped = crate::segment::ring::highest_stamped_seq(&*seg);
                    let newest = if stamped == named.saturating_add(1) {
                        stamped
                    } else {
                        named
                    };
                    self.report_value(id, &seg, newest, lineage, now, events);
                    events.push(Event {
                        id,
                        kind: EventKind::PublisherGone,
                        at: Timestamp(sys::monotonic_ns()),
                    });
                }
            }
            if !self.core.is_attached_to(&seg) {
                // Reattached (or detached) by the check: look again at once.
                self.last_ticket = None;
                return now;
            }
        }
        // After a value, the ticket it woke on stays the one compared with: a publisher that
        // published and then exited bumped the word twice, and the next look checks on it.
        if !had_value || ticket_before.is_none() {
            self.last_ticket = Some((Arc::clone(&seg), ticket));
        }
        let until = self.next_check_ns.min(self.deadline_check(
            id,
            now,
            Some((&seg, seq, lineage)),
            events,
        ));
        sleepers.push(Sleeper {
            attachment: index,
            seg,
            ticket,
            seen: seq,
        });
        until
    }

    /// Reports value `seq` of `lineage` if it is newer than what the subscriber returned and
    /// what was reported.
    fn report_value(
        &mut self,
        id: AttachmentId,
        seg: &Segment<ReadOnly>,
        seq: u64,
        lineage: u64,
        now: u64,
        events: &mut Vec<Event>,
    ) {
        let reported = if self.reported.1 == lineage {
            self.reported.0
        } else {
            0
        };
        if seq <= reported {
            return;
        }
        let (read, read_lineage) = self.last.get();
        let read = if read_lineage == lineage { read } else { 0 };
        // Reported now, or read by the subscriber already: either way not again.
        self.reported = (seq, lineage);
        if seq <= read {
            return;
        }
        let at = seg.publish_time_of(seq).unwrap_or(now).min(now);
        // Too old for the subscriber (`max_age`): it would read nothing.
        if self
            .core
            .max_age_ns()
            .is_some_and(|age| now.saturating_sub(at) > age)
        {
            return;
        }
        events.push(Event {
            id,
            kind: EventKind::Value,
            at: Timestamp(at),
        });
    }

    /// The deadline: fires when due; returns when it is due next (`u64::MAX`: none).
    fn deadline_check(
        &mut self,
        id: AttachmentId,
        now: u64,
        newest: Option<(&Segment<ReadOnly>, u64, u64)>,
        events: &mut Vec<Event>,
    ) -> u64 {
        let Some(d) = &mut self.deadline else {
            return u64::MAX;
        };
        if let Some((seg, seq, lineage)) = newest
            && seq > 0
            && (seq, lineage) != d.seen
        {
            d.seen = (seq, lineage);
            // A value whose time cannot be read any more was overwritten by a newer one: now
            // is a bound from above of when the newest was published.
            let at = seg.publish_time_of(seq).unwrap_or(now).min(now);
            d.last_value_ns = d.last_value_ns.max(at);
        }
        let due = d.last_value_ns.max(d.fired_ns).saturating_add(d.period_ns);
        if now >= due {
            d.fired_ns = now;
            events.push(Event {
                id,
                kind: EventKind::Deadline,
                at: Timestamp(due),
            });
            return now.saturating_add(d.period_ns);
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The set sleeps on its waker's word only while a waker exists. A waker that woke it and
    /// was dropped after the set's look, before its sleep, must still end the wait (the race
    /// is made deterministic here by calling the sleep directly after such a waker).
    #[test]
    fn a_wake_up_from_a_waker_dropped_before_the_sleep_is_not_lost() {
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let root = base.join(format!("shm-waitset-test.{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        let _p = crate::Publisher::<u64>::builder("t")
            .root(&root)
            .create()
            .unwrap();
        let sub = Subscriber::<u64>::builder("t").root(&root).open().unwrap();
        let mut set = WaitSet::new();
        set.set_spin(Duration::ZERO);
        // Sleeps as long as asked: a lost wake-up shows as a 5 s sleep.
        set.max_sleep_ns = 10_000_000_000;
        set.attach(&sub).unwrap();
        // One step looks at the topic and sleeps briefly: it leaves the topic to sleep on.
        assert!(set.step(sys::monotonic_ns() + 1_000_000).is_none());
        assert_eq!(set.sleepers.len(), 1);
        let waker = set.waker();
        waker.wake();
        drop(waker);
        let start = Instant::now();
        let now = sys::monotonic_ns();
        set.sleep(now, now + 5_000_000_000);
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "the wake-up of a dropped waker was lost"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}

//! The client side of an action, on bytes of types given at run time: [`AnyActionClient`] and
//! the goals it sent ([`AnyGoalHandle`]).

use std::collections::VecDeque;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::wire::{ActionWire, ENDED, KIND_CANCEL, KIND_GOAL, KIND_RESULT};
use super::{GoalError, GoalStatus};
use crate::dynamic::AnySubscriber;
use crate::error::RecvError;
use crate::owner::{PublisherProcess, TopicOwner};
use crate::schema::TopicSchema;
use crate::service::wire::word;
use crate::service::{AnyClient, CallError, LIVENESS_INTERVAL};

/// How often a waiting [`AnyGoalHandle::result`] asks the server (besides reading the result
/// topic, which wakes it when the goal ends).
pub const RESULT_ASK_INTERVAL: Duration = Duration::from_millis(250);

/// `start + timeout`, or a time too far to matter when that does not fit.
pub(crate) fn deadline_after(start: Instant, timeout: Duration) -> Instant {
    start
        .checked_add(timeout)
        .unwrap_or_else(|| start + Duration::from_secs(100 * 365 * 24 * 3600))
}

/// A client of one action; see the [module documentation](super). It may be shared by
/// threads (`&self` methods).
pub struct AnyActionClient {
    shared: Arc<Shared>,
}

/// How a goal ended: [`AnyGoalHandle::result`].
#[derive(Debug, Clone, PartialEq)]
pub struct AnyGoalResult {
    /// Succeeded, aborted or canceled.
    pub status: GoalStatus,
    /// The outcome's bytes; `None` when the server went away before the goal ended (status
    /// aborted).
    pub outcome: Option<Vec<u8>>,
}

impl AnyActionClient {
    /// A client of action `name` with goals, feedback and outcomes of these types (checked
    /// against the server's, as a service's are), in `root` (`None`: `$SHM_ROOT` or
    /// `/dev/shm`), of a server run by this user.
    pub fn new(
        name: &str,
        types: [Arc<TopicSchema>; 3],
        root: Option<PathBuf>,
    ) -> Result<AnyActionClient, CallError> {
        AnyActionClient::trusting(name, types, root, TopicOwner::Me)
    }

    /// As [`new`](Self::new), of a server run by `owner`: another user's that admits this one
    /// ([`AnyActionServerBuilder::admit_user`](super::AnyActionServerBuilder::admit_user)),
    /// as [`AnyClientBuilder::server_owner`](crate::service::AnyClientBuilder::server_owner)
    /// says (a server of a user not trusted is [`CallError::UntrustedServer`]; with
    /// [`TopicOwner::Anyone`], whichever user's server runs). This user's goals are then
    /// followed in topics of its own, readable by it only, named after the server it sent
    /// them to.
    pub fn trusting(
        name: &str,
        types: [Arc<TopicSchema>; 3],
        root: Option<PathBuf>,
        owner: TopicOwner,
    ) -> Result<AnyActionClient, CallError> {
        let [goal, feedback, outcome] = types;
        let wire = Arc::new(ActionWire::new(goal, feedback, outcome).map_err(CallError::Claim)?);
        let root = root.unwrap_or_else(crate::default_root);
        let client = AnyClient::builder(name)
            .root(&root)
            .server_owner(owner)
            .types(
                Arc::clone(&wire.request.schema),
                Arc::clone(&wire.reply.schema),
            )
            .create()?;
        Ok(AnyActionClient {
            shared: Arc::new(Shared {
                name: name.to_owned(),
                root,
                wire,
                client,
            }),
        })
    }

    /// A client of action `name` of whatever types its server serves (learnt from the
    /// action's files, as a tool needs): [`CallError::NoServer`] without them,
    /// [`CallError::NotAService`] when they are no action's.
    pub fn discover(name: &str, root: Option<PathBuf>) -> Result<AnyActionClient, CallError> {
        AnyActionClient::discover_trusting(name, root, TopicOwner::Me)
    }

    /// As [`discover`](Self::discover), of a server run by `owner` (see
    /// [`trusting`](Self::trusting)).
    pub fn discover_trusting(
        name: &str,
        root: Option<PathBuf>,
        owner: TopicOwner,
    ) -> Result<AnyActionClient, CallError> {
        let root = root.unwrap_or_else(crate::default_root);
        let schema_of = |topic: &str| -> Result<Arc<TopicSchema>, CallError> {
            match crate::inspect::inspect(Some(&root), topic) {
                Ok(info) => Ok(info.schema),
                Err(crate::InspectError::Missing { .. }) => Err(CallError::NoServer {
                    service: name.to_owned(),
                }),
                Err(e) => Err(CallError::NotAService {
                    service: name.to_owned(),
                    found: e.to_string(),
                }),
            }
        };
        let descriptor = schema_of(&format!("{name}/.service"))?;
        let not_an_action = |found: String| CallError::NotAService {
            service: name.to_owned(),
            found,
        };
        let wire = crate::service::wire::Wire::of_descriptor(&descriptor)
            .ok_or_else(|| not_an_action(descriptor.type_name()))?;
        // The types topic, readable by every user the server admits (an older server's own
        // feedback topic, else).
        let feedback = schema_of(&super::server::types_topic(name))
            .or_else(|_| schema_of(&format!("{name}/.feedback")))?;
        let types = [
            (&wire.request, "goal"),
            (&feedback, "feedback"),
            (&wire.reply, "outcome"),
        ]
        .map(|(schema, field)| crate::schema::field_schema(schema, field));
        match types {
            [Some(goal), Some(feedback), Some(outcome)] => {
                AnyActionClient::trusting(name, [goal, feedback, outcome], Some(root), owner)
            }
            _ => Err(not_an_action(wire.request.type_name())),
        }
    }

    /// The goal, feedback and outcome types.
    pub fn types(&self) -> [&Arc<TopicSchema>; 3] {
        let w = &self.shared.wire;
        [&w.goal, &w.feedback, &w.outcome]
    }

    /// Sends a goal (bytes of the goal type) and waits up to `timeout` for the server to
    /// accept it: a handle to follow it, or [`GoalError::Rejected`].
    pub fn send_goal(&self, goal: &[u8], timeout: Duration) -> Result<AnyGoalHandle, GoalError> {
        let s = &self.shared;
        crate::service::wire::check_value(&s.wire.goal, goal)
            .map_err(|e| GoalError::Call(CallError::InvalidRequest(e)))?;
        // Which topics this user's goals are followed in, and whose they are: the server's.
        let topics = s.topics()?;
        // Follows the feedback from before the goal exists: none of its records is missed.
        let mut feedback = topics
            .open(&topics.names[0], &s.root, &s.wire.feedback_record.schema)
            .map_err(CallError::Open)?;
        let mut results = topics
            .open(&topics.names[1], &s.root, &s.wire.result_record.schema)
            .map_err(CallError::Open)?;
        let mut stale = Vec::new();
        let _ = feedback.try_recv_all_into(&mut stale);
        let _ = results.try_recv_all_into(&mut stale);
        let request = s.wire.request.bytes(&[KIND_GOAL, 0], Some(goal));
        let reply = s.client.call(&request, timeout)?;
        let (id, status) = (word(&reply, 0), word(&reply, 8));
        if GoalStatus::of_code(status) == Some(GoalStatus::Rejected) || id == 0 {
            return Err(GoalError::Rejected {
                action: s.name.clone(),
            });
        }
        Ok(AnyGoalHandle {
            client: Arc::clone(&self.shared),
            id,
            feedback,
            queued: VecDeque::new(),
            ended: None,
            asked_at: None,
            server: s.client.server().unwrap_or_else(PublisherProcess::unknown),
            status_sub: None,
            results,
            result: None,
            topics,
        })
    }

    /// The status of every active goal and of the latest ended ones, as the server last
    /// published it (empty without a server).
    pub fn statuses(&self) -> Vec<(u64, GoalStatus)> {
        let s = &self.shared;
        // Without connecting (which would take a client slot of the server).
        let Some(server_uid) = s.client.descriptor_uid() else {
            return Vec::new();
        };
        let topics = s.topics_of(server_uid);
        match topics.open(&topics.names[2], &s.root, &s.wire.status) {
            Ok(mut sub) => statuses_in(&mut sub),
            Err(_) => Vec::new(),
        }
    }
}

/// The topics a client follows its goals in: its user's of the server it is connected to.
struct Topics {
    /// Feedback, result and status.
    names: [String; 3],
    /// The server's user, whose files they are.
    server_uid: u32,
}

impl Topics {
    /// A subscriber of one of them, reading only the server's user's file.
    fn open(
        &self,
        name: &str,
        root: &std::path::Path,
        schema: &Arc<TopicSchema>,
    ) -> Result<AnySubscriber, crate::SubscribeError> {
        AnySubscriber::builder(name)
            .root(root)
            .owner(TopicOwner::Uid(self.server_uid))
            .expect(Arc::clone(schema))
            .open()
    }
}

impl Shared {
    /// This user's topics of the server (connecting to it first).
    fn topics(&self) -> Result<Topics, CallError> {
        self.client.connect()?;
        let server_uid = self
            .client
            .server_uid()
            .ok_or_else(|| CallError::NoServer {
                service: self.name.clone(),
            })?;
        Ok(self.topics_of(server_uid))
    }

    /// This user's topics of a server run by `server_uid`.
    fn topics_of(&self, server_uid: u32) -> Topics {
        let me = crate::owner::effective_uid();
        Topics {
            names: super::server::topic_names(&self.name, me, server_uid),
            server_uid,
        }
    }
}

/// The goals the status topic lists now.
fn statuses_in(sub: &mut AnySubscriber) -> Vec<(u64, GoalStatus)> {
    let Ok(Some(sample)) = sub.latest() else {
        return Vec::new();
    };
    ActionWire::status_of(&sample.value.bytes)
        .into_iter()
        .filter_map(|(id, code)| Some((id, GoalStatus::of_code(code)?)))
        .collect()
}

impl fmt::Debug for AnyActionClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyActionClient")
            .field("name", &self.shared.name)
            .finish_non_exhaustive()
    }
}

/// What a goal handle shares with its client.
struct Shared {
    name: String,
    root: PathBuf,
    wire: Arc<ActionWire>,
    client: AnyClient,
}

/// A goal a client sent and the server accepted: its feedback, its result, a cancel.
pub struct AnyGoalHandle {
    client: Arc<Shared>,
    id: u64,
    feedback: AnySubscriber,
    /// Feedback read and not yet returned.
    queued: VecDeque<Vec<u8>>,
    /// How the goal ended, once the feedback topic said so (or the server went away).
    ended: Option<GoalStatus>,
    /// When the server was last asked for the result.
    asked_at: Option<Instant>,
    /// The server that accepted the goal.
    server: PublisherProcess,
    /// The status topic, once looked at.
    status_sub: Option<AnySubscriber>,
    /// The result topic (the outcome of each ended goal, readable after the server exited).
    results: AnySubscriber,
    /// This goal's result, once read there.
    result: Option<AnyGoalResult>,
    /// Where its feedback, result and status are published.
    topics: Topics,
}

impl AnyGoalHandle {
    /// The goal's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The next feedback value (bytes of the feedback type), waiting up to `timeout`; `None`
    /// once the goal has ended (or its server went away); [`CallError::Timeout`] when nothing
    /// came in time.
    pub fn feedback(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>, CallError> {
        let started = Instant::now();
        let deadline = deadline_after(started, timeout);
        // What already came, without waiting (a zero timeout reads too).
        self.read_feedback(Duration::ZERO)?;
        loop {
            if let Some(value) = self.queued.pop_front() {
                return Ok(Some(value));
            }
            if self.ended.is_some() {
                return Ok(None);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(CallError::Timeout {
                    service: self.client.name.clone(),
                    waited: started.elapsed(),
                });
            }
            self.read_feedback((deadline - now).min(LIVENESS_INTERVAL))?;
        }
    }

    /// Reads the feedback topic, waiting up to `wait` for a record; after a wait with nothing
    /// (or records lost unread), looks whether the goal ended all the same.
    fn read_feedback(&mut self, wait: Duration) -> Result<(), CallError> {
        let batch = if wait.is_zero() {
            self.feedback.try_recv_all().map_err(CallError::Open)?
        } else {
            match self.feedback.recv_all_timeout(wait) {
                Ok(batch) => batch,
                Err(RecvError::Timeout { .. } | RecvError::PublisherGone { .. }) => Vec::new(),
                Err(RecvError::Subscribe(e)) => return Err(CallError::Open(e)),
            }
        };
        let missed = batch.iter().any(|s| s.missed > 0);
        let empty = batch.is_empty();
        for sample in batch {
            self.take(&sample.value.bytes);
        }
        if self.ended.is_none() && (missed || (empty && !wait.is_zero())) {
            self.look_for_end()?;
        }
        Ok(())
    }

    /// Keeps a feedback record of this goal.
    fn take(&mut self, record: &[u8]) {
        if word(record, 0) != self.id {
            return;
        }
        if word(record, 8) == ENDED {
            self.ended = Some(GoalStatus::of_code(word(record, 16)).unwrap_or(GoalStatus::Aborted));
        } else {
            let value = self.client.wire.feedback_record.value(record).to_vec();
            self.queued.push_back(value);
        }
    }

    /// Ends the feedback when the goal ended though its end record was not read (overwritten):
    /// its result was published, the status topic says so, or the server that runs it is gone
    /// (exited, or replaced by another).
    fn look_for_end(&mut self) -> Result<(), CallError> {
        let ended = if let Some(result) = self.published_result() {
            Some(result.status)
        } else if self.server_gone() {
            Some(GoalStatus::Aborted)
        } else {
            self.listed_status().filter(|s| s.has_ended())
        };
        if ended.is_some() {
            // Feedback published right before the end is returned first.
            let batch = self.feedback.try_recv_all().map_err(CallError::Open)?;
            for sample in batch {
                self.take(&sample.value.bytes);
            }
            self.ended = self.ended.or(ended);
        }
        Ok(())
    }

    /// Whether the server that accepted the goal no longer runs it: it is gone, or another
    /// server took the action over (goal ids are never shared between servers).
    fn server_gone(&self) -> bool {
        let s = &self.client;
        match crate::inspect::inspect(Some(&s.root), &format!("{}/.service", s.name)) {
            Ok(info) => {
                !info.publisher_alive
                    || (info.publisher.pid, info.publisher.start_ticks)
                        != (self.server.pid, self.server.start_ticks)
            }
            Err(_) => true,
        }
    }

    /// Waits up to `timeout` for the goal to end: its status and outcome. A server that went
    /// away before the goal ended gives status aborted without an outcome.
    pub fn result(&mut self, timeout: Duration) -> Result<AnyGoalResult, GoalError> {
        let started = Instant::now();
        match self.result_until(deadline_after(started, timeout))? {
            Some(result) => Ok(result),
            None => Err(GoalError::Call(CallError::Timeout {
                service: self.client.name.clone(),
                waited: started.elapsed(),
            })),
        }
    }

    /// Waits until `until` for the goal to end: `None` when `until` passed first. For
    /// bindings that do something between waits. The result comes from the result topic
    /// (published when the goal ends, readable after the server exited); the server is asked
    /// for it at the start and every [`RESULT_ASK_INTERVAL`] (its answer is immediate: a
    /// record overwritten unread is not waited for).
    pub fn result_until(&mut self, until: Instant) -> Result<Option<AnyGoalResult>, GoalError> {
        loop {
            if let Some(result) = self.published_result() {
                return Ok(Some(result));
            }
            let now = Instant::now();
            if self.asked_at.is_none_or(|t| now >= t + RESULT_ASK_INTERVAL) {
                self.asked_at = Some(now);
                let timeout = until
                    .saturating_duration_since(now)
                    .min(Duration::from_secs(1));
                if let Some(result) = self.ask_result(timeout.max(Duration::from_millis(1)))? {
                    return Ok(Some(result));
                }
            }
            let now = Instant::now();
            if now >= until {
                return Ok(None);
            }
            // The result topic wakes this wait when the goal ends.
            let wait = (until - now).min(LIVENESS_INTERVAL);
            match self.results.recv_all_timeout(wait) {
                Ok(batch) => self.take_results(batch),
                Err(RecvError::Timeout { .. }) => {}
                Err(RecvError::PublisherGone { .. }) => self.asked_at = None,
                Err(RecvError::Subscribe(e)) => return Err(GoalError::Call(CallError::Open(e))),
            }
        }
    }

    /// Asks the server for the goal's result: `Some` once it ended (or the server is gone).
    fn ask_result(&mut self, timeout: Duration) -> Result<Option<AnyGoalResult>, GoalError> {
        let s = Arc::clone(&self.client);
        let request = s.wire.request.bytes(&[KIND_RESULT, self.id], None);
        let reply = s.client.call(&request, timeout);
        match reply {
            Err(CallError::Timeout { .. } | CallError::Busy { .. }) => Ok(None),
            reply => {
                let result = self.outcome(reply)?;
                Ok(result.status.has_ended().then_some(result))
            }
        }
    }

    /// This goal's result if the result topic has it (published when the goal ended; still
    /// there after the server exited).
    fn published_result(&mut self) -> Option<AnyGoalResult> {
        if self.result.is_none()
            && let Ok(batch) = self.results.try_recv_all()
        {
            self.take_results(batch);
        }
        self.result.clone()
    }

    /// Keeps this goal's result from records of the result topic.
    fn take_results(&mut self, batch: Vec<crate::Sample<crate::dynamic::RawValue>>) {
        let wire = &self.client.wire;
        for sample in batch {
            let record = &sample.value.bytes;
            if word(record, 0) == self.id
                && let Some(status) = GoalStatus::of_code(word(record, 8))
            {
                self.result = Some(AnyGoalResult {
                    status,
                    outcome: Some(wire.result_record.value(record).to_vec()),
                });
            }
        }
    }

    /// What a result request's answer says.
    fn outcome(&mut self, reply: Result<Vec<u8>, CallError>) -> Result<AnyGoalResult, GoalError> {
        let reply = match reply {
            // Another server now (the goal's died): it does not know the goal.
            Ok(reply) if word(&reply, 8) == 0 && self.server_gone() => {
                return Ok(self.published_result().unwrap_or(AnyGoalResult {
                    status: GoalStatus::Aborted,
                    outcome: None,
                }));
            }
            Err(CallError::ServerGone { .. } | CallError::NoServer { .. }) => {
                // Ended before the server went away: its result was published.
                if let Some(result) = self.published_result() {
                    return Ok(result);
                }
                return Ok(AnyGoalResult {
                    status: GoalStatus::Aborted,
                    outcome: None,
                });
            }
            reply => reply?,
        };
        let Some(status) = GoalStatus::of_code(word(&reply, 8)) else {
            // Code 0: the server does not know the goal (ended too long ago).
            return Err(GoalError::UnknownGoal {
                action: self.client.name.clone(),
                goal_id: self.id,
            });
        };
        Ok(AnyGoalResult {
            status,
            outcome: status
                .has_ended()
                .then(|| self.client.wire.reply.value(&reply).to_vec()),
        })
    }

    /// Asks the server to cancel the goal, waiting up to `timeout` for its answer: the goal's
    /// status then (canceling, or how it ended already).
    pub fn cancel(&self, timeout: Duration) -> Result<GoalStatus, GoalError> {
        let reply = self.request(KIND_CANCEL, timeout)?;
        Ok(GoalStatus::of_code(word(&reply, 8)).unwrap_or(GoalStatus::Aborted))
    }

    /// The goal's status as the server last published it (`None`: not listed).
    pub fn status(&mut self) -> Option<GoalStatus> {
        if let Some(ended) = self.ended {
            return Some(ended);
        }
        self.listed_status()
    }

    /// The goal's status in the status topic.
    fn listed_status(&mut self) -> Option<GoalStatus> {
        let sub = match &mut self.status_sub {
            Some(sub) => sub,
            slot => {
                let s = &self.client;
                let name = &self.topics.names[2];
                slot.insert(self.topics.open(name, &s.root, &s.wire.status).ok()?)
            }
        };
        statuses_in(sub)
            .into_iter()
            .find_map(|(id, status)| (id == self.id).then_some(status))
    }

    /// A cancel or result request for this goal: the reply, or `UnknownGoal`.
    fn request(&self, kind: u64, timeout: Duration) -> Result<Vec<u8>, GoalError> {
        let s = &self.client;
        let request = s.wire.request.bytes(&[kind, self.id], None);
        let reply = s.client.call(&request, timeout)?;
        if word(&reply, 8) == 0 {
            return Err(GoalError::UnknownGoal {
                action: s.name.clone(),
                goal_id: self.id,
            });
        }
        Ok(reply)
    }
}

impl fmt::Debug for AnyGoalHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyGoalHandle")
            .field("action", &self.client.name)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

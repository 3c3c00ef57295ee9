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
use crate::schema::TopicSchema;
use crate::service::wire::word;
use crate::service::{AnyClient, AnyPending, CallError, LIVENESS_INTERVAL};

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
    /// `/dev/shm`).
    pub fn new(
        name: &str,
        types: [Arc<TopicSchema>; 3],
        root: Option<PathBuf>,
    ) -> Result<AnyActionClient, CallError> {
        let [goal, feedback, outcome] = types;
        let wire = Arc::new(ActionWire::new(goal, feedback, outcome).map_err(CallError::Claim)?);
        let root = root.unwrap_or_else(crate::default_root);
        let client = AnyClient::builder(name)
            .root(&root)
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

    /// Sends a goal (bytes of the goal type) and waits up to `timeout` for the server to
    /// accept it: a handle to follow it, or [`GoalError::Rejected`].
    pub fn send_goal(&self, goal: &[u8], timeout: Duration) -> Result<AnyGoalHandle, GoalError> {
        let s = &self.shared;
        crate::service::wire::check_value(&s.wire.goal, goal)
            .map_err(|e| GoalError::Call(CallError::InvalidRequest(e)))?;
        // Follows the feedback from before the goal exists: none of its records is missed.
        let feedback = AnySubscriber::builder(&format!("{}/.feedback", s.name))
            .root(&s.root)
            .expect(Arc::clone(&s.wire.feedback_record.schema))
            .open()
            .map_err(CallError::Open)?;
        let mut feedback = feedback;
        let mut results = AnySubscriber::builder(&format!("{}/.result", s.name))
            .root(&s.root)
            .expect(Arc::clone(&s.wire.result_record.schema))
            .open()
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
            result_call: None,
            status_sub: None,
            results,
            result: None,
        })
    }

    /// The status of every active goal and of the latest ended ones, as the server last
    /// published it (empty without a server).
    pub fn statuses(&self) -> Vec<(u64, GoalStatus)> {
        let s = &self.shared;
        statuses(&s.name, &s.root, &s.wire)
    }
}

fn statuses(name: &str, root: &std::path::Path, wire: &ActionWire) -> Vec<(u64, GoalStatus)> {
    match status_topic(name, root, wire) {
        Ok(mut sub) => statuses_in(&mut sub),
        Err(_) => Vec::new(),
    }
}

fn status_topic(
    name: &str,
    root: &std::path::Path,
    wire: &ActionWire,
) -> Result<AnySubscriber, crate::SubscribeError> {
    AnySubscriber::builder(&format!("{name}/.status"))
        .root(root)
        .expect(Arc::clone(&wire.status))
        .open()
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
    /// The result request waiting for the goal to end, between waits.
    result_call: Option<AnyPending>,
    /// The status topic, once looked at.
    status_sub: Option<AnySubscriber>,
    /// The result topic (the outcome of each ended goal, readable after the server exited).
    results: AnySubscriber,
    /// This goal's result, once read there.
    result: Option<AnyGoalResult>,
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
        let deadline = started + timeout;
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
            match self
                .feedback
                .recv_all_timeout((deadline - now).min(LIVENESS_INTERVAL))
            {
                Ok(batch) => {
                    let mut missed = false;
                    for sample in batch {
                        missed |= sample.missed > 0;
                        self.take(&sample.value.bytes);
                    }
                    if missed {
                        // Records were overwritten unread: the status topic says whether this
                        // goal's end was among them.
                        self.look_at_status();
                    }
                }
                Err(RecvError::Timeout { .. }) => self.look_at_status(),
                Err(RecvError::PublisherGone { .. }) => self.ended = Some(GoalStatus::Aborted),
                Err(RecvError::Subscribe(e)) => return Err(CallError::Open(e)),
            }
        }
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

    /// Ends the feedback when the status topic says the goal ended, or no server publishes it.
    fn look_at_status(&mut self) {
        let alive = self.feedback.publisher_alive().unwrap_or(false);
        if !alive {
            self.ended = Some(GoalStatus::Aborted);
            return;
        }
        if let Some(status) = self.listed_status()
            && status.has_ended()
        {
            self.ended = Some(status);
        }
    }

    /// Waits up to `timeout` for the goal to end: its status and outcome. A server that went
    /// away before the goal ended gives status aborted without an outcome.
    pub fn result(&mut self, timeout: Duration) -> Result<AnyGoalResult, GoalError> {
        let started = Instant::now();
        match self.result_until(started + timeout)? {
            Some(result) => Ok(result),
            None => {
                self.result_call = None; // given up: a late answer is dropped
                Err(GoalError::Call(CallError::Timeout {
                    service: self.client.name.clone(),
                    waited: started.elapsed(),
                }))
            }
        }
    }

    /// Waits until `until` for the goal to end: `None` when `until` passed first (the request
    /// stays with the server: wait again). For bindings that do something between waits.
    pub fn result_until(&mut self, until: Instant) -> Result<Option<AnyGoalResult>, GoalError> {
        if let Some(result) = self.published_result() {
            return Ok(Some(result));
        }
        let s = Arc::clone(&self.client);
        let pending = match &mut self.result_call {
            Some(pending) => pending,
            slot => {
                let request = s.wire.request.bytes(&[KIND_RESULT, self.id], None);
                match s.client.send(&request) {
                    Ok(pending) => slot.insert(pending),
                    Err(e) => return self.outcome(Err(e)).map(Some),
                }
            }
        };
        let reply = match pending.wait_until(until) {
            Ok(None) => return Ok(self.published_result()),
            Ok(Some(reply)) => Ok(reply),
            Err(e) => Err(e),
        };
        self.result_call = None;
        self.outcome(reply).map(Some)
    }

    /// This goal's result if the result topic has it (published when the goal ended; still
    /// there after the server exited).
    fn published_result(&mut self) -> Option<AnyGoalResult> {
        if self.result.is_none()
            && let Ok(batch) = self.results.try_recv_all()
        {
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
        self.result.clone()
    }

    /// What a result request's answer says.
    fn outcome(&mut self, reply: Result<Vec<u8>, CallError>) -> Result<AnyGoalResult, GoalError> {
        let reply = match reply {
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
            return Err(GoalError::UnknownGoal {
                action: self.client.name.clone(),
                goal_id: self.id,
            });
        };
        Ok(AnyGoalResult {
            status,
            outcome: Some(self.client.wire.reply.value(&reply).to_vec()),
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
                slot.insert(status_topic(&s.name, &s.root, &s.wire).ok()?)
            }
        };
        statuses_in(sub)
            .into_iter()
            .find_map(|(id, status)| (id == self.id).then_some(status))
    }

    /// Gives up the result request [`result_until`](Self::result_until) left waiting.
    pub fn forget_result(&mut self) {
        self.result_call = None;
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

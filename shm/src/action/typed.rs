//! The typed faces of an action: [`ActionServer`], [`GoalRequest`], [`ActiveGoal`],
//! [`ActionClient`], [`GoalHandle`] and [`GoalResult`], thin wrappers of their untyped twins.

use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::time::Duration;

use super::{
    AnyActionClient, AnyActionServer, AnyActionServerBuilder, AnyActiveGoal, AnyGoalHandle,
    AnyGoalRequest, FeedbackError, GoalError, GoalStatus,
};
use crate::ShmMessage;
use crate::error::CreateError;
use crate::service::{
    CallError, ClientInfo, ReplyError, ServerError, bytes_of, schema_of, value_of,
};

/// The types of an action: goal, feedback, outcome.
type Types<G, F, O> = PhantomData<fn(G, F) -> O>;

/// Options for starting an [`ActionServer`]; see [`ActionServer::builder`].
#[must_use = "call .create() to start the server"]
pub struct ActionServerBuilder<G, F, O> {
    inner: AnyActionServerBuilder,
    _types: Types<G, F, O>,
}

impl<G: ShmMessage, F: ShmMessage, O: ShmMessage> ActionServerBuilder<G, F, O> {
    /// Directory of the action's files (default: `$SHM_ROOT`, else `/dev/shm`).
    pub fn root(self, dir: impl Into<PathBuf>) -> Self {
        ActionServerBuilder {
            inner: self.inner.root(dir),
            _types: PhantomData,
        }
    }

    /// Serves goals of clients run by user `uid` too; see
    /// [`AnyActionServerBuilder::admit_user`].
    pub fn admit_user(self, uid: u32) -> Self {
        ActionServerBuilder {
            inner: self.inner.admit_user(uid),
            _types: PhantomData,
        }
    }

    /// Serves goals of clients run by members of group `gid` too; see
    /// [`AnyActionServerBuilder::admit_group`].
    pub fn admit_group(self, gid: u32) -> Self {
        ActionServerBuilder {
            inner: self.inner.admit_group(gid),
            _types: PhantomData,
        }
    }

    /// Feedback records the feedback topic holds (default 64).
    pub fn feedback_buffer(self, n: usize) -> Self {
        ActionServerBuilder {
            inner: self.inner.feedback_buffer(n),
            _types: PhantomData,
        }
    }

    /// Starts serving; see [`AnyActionServerBuilder::create`].
    pub fn create(self) -> Result<ActionServer<G, F, O>, CreateError> {
        Ok(ActionServer {
            inner: self.inner.create()?,
            _types: PhantomData,
        })
    }
}

/// The server of one action: receives goals of `G` from clients in other processes, runs
/// them publishing feedback of `F`, and ends each with an outcome of `O`. One live server per
/// action. See the [module documentation](super).
pub struct ActionServer<G, F, O> {
    inner: AnyActionServer,
    _types: Types<G, F, O>,
}

impl<G: ShmMessage, F: ShmMessage, O: ShmMessage> ActionServer<G, F, O> {
    /// Starts serving action `name` (in `$SHM_ROOT` or `/dev/shm`).
    pub fn new(name: &str) -> Result<ActionServer<G, F, O>, CreateError> {
        Self::builder(name).create()
    }

    /// Options for serving action `name`.
    pub fn builder(name: &str) -> ActionServerBuilder<G, F, O> {
        ActionServerBuilder {
            inner: AnyActionServer::builder(
                name,
                schema_of::<G>(),
                schema_of::<F>(),
                schema_of::<O>(),
            ),
            _types: PhantomData,
        }
    }

    /// The next goal, waiting up to `timeout` for one; see
    /// [`AnyActionServer::recv_timeout`].
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<GoalRequest<G, F, O>, ServerError> {
        Ok(GoalRequest::new(self.inner.recv_timeout(timeout)?))
    }

    /// The next goal if one has arrived; never waits. See [`AnyActionServer::try_recv`].
    pub fn try_recv(&mut self) -> Result<Option<GoalRequest<G, F, O>>, ServerError> {
        Ok(self.inner.try_recv()?.map(GoalRequest::new))
    }

    /// The untyped server inside.
    pub fn as_any(&self) -> &AnyActionServer {
        &self.inner
    }
}

impl<G, F, O> crate::waitset::private::Planned for ActionServer<G, F, O> {
    fn plan(&self) -> Result<crate::waitset::Plan, crate::AttachError> {
        crate::waitset::private::Planned::plan(&self.inner)
    }
}

impl<G, F, O> crate::waitset::Attachable for ActionServer<G, F, O> {}

impl<G, F, O> fmt::Debug for ActionServer<G, F, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

/// A goal an [`ActionServer`] received: accept or reject it (dropping it rejects it).
pub struct GoalRequest<G, F, O> {
    value: Box<G>,
    inner: AnyGoalRequest,
    _types: Types<G, F, O>,
}

impl<G: ShmMessage, F: ShmMessage, O: ShmMessage> GoalRequest<G, F, O> {
    fn new(inner: AnyGoalRequest) -> GoalRequest<G, F, O> {
        GoalRequest {
            value: value_of(inner.bytes()),
            inner,
            _types: PhantomData,
        }
    }

    /// The goal.
    pub fn value(&self) -> &G {
        &self.value
    }

    /// Who sent it.
    pub fn client(&self) -> Option<ClientInfo> {
        self.inner.client()
    }

    /// Accepts it: the goal runs until ended through the returned [`ActiveGoal`].
    pub fn accept(self) -> Result<ActiveGoal<G, F, O>, ReplyError> {
        Ok(ActiveGoal {
            inner: self.inner.accept()?,
            value: self.value,
            _types: PhantomData,
        })
    }

    /// Rejects it.
    pub fn reject(self) {
        self.inner.reject();
    }
}

/// A goal an [`ActionServer`] runs; dropped unended, it ends aborted.
pub struct ActiveGoal<G, F, O> {
    inner: AnyActiveGoal,
    value: Box<G>,
    _types: Types<G, F, O>,
}

impl<G: ShmMessage, F: ShmMessage, O: ShmMessage> ActiveGoal<G, F, O> {
    /// The goal.
    pub fn value(&self) -> &G {
        &self.value
    }

    /// Its id.
    pub fn id(&self) -> u64 {
        self.inner.id()
    }

    /// Whether a client asked to cancel it.
    pub fn is_cancel_requested(&self) -> bool {
        self.inner.is_cancel_requested()
    }

    /// Publishes feedback for its clients.
    pub fn publish_feedback(&self, feedback: &F) -> Result<(), FeedbackError> {
        self.inner.publish_feedback(bytes_of(feedback))
    }

    /// Ends it: reached.
    pub fn succeed(self, outcome: &O) -> Result<(), FeedbackError> {
        self.inner.end(GoalStatus::Succeeded, bytes_of(outcome))
    }

    /// Ends it: given up.
    pub fn abort(self, outcome: &O) -> Result<(), FeedbackError> {
        self.inner.end(GoalStatus::Aborted, bytes_of(outcome))
    }

    /// Ends it: canceled, as a client asked.
    pub fn canceled(self, outcome: &O) -> Result<(), FeedbackError> {
        self.inner.end(GoalStatus::Canceled, bytes_of(outcome))
    }
}

/// A client of one action: sends goals of `G`, follows their feedback of `F`, gets their
/// outcome of `O`.
pub struct ActionClient<G, F, O> {
    inner: AnyActionClient,
    _types: Types<G, F, O>,
}

impl<G: ShmMessage, F: ShmMessage, O: ShmMessage> ActionClient<G, F, O> {
    /// A client of action `name` (in `$SHM_ROOT` or `/dev/shm`).
    pub fn new(name: &str) -> Result<ActionClient<G, F, O>, CallError> {
        Self::in_root(name, None)
    }

    /// A client of action `name` in directory `root` (`None`: the default).
    pub fn in_root(name: &str, root: Option<PathBuf>) -> Result<ActionClient<G, F, O>, CallError> {
        Self::trusting(name, root, crate::TopicOwner::Me)
    }

    /// A client of action `name` in `root`, of a server run by `owner`: another user's that
    /// admits this one ([`ActionServerBuilder::admit_user`]); see
    /// [`AnyActionClient::trusting`].
    pub fn trusting(
        name: &str,
        root: Option<PathBuf>,
        owner: crate::TopicOwner,
    ) -> Result<ActionClient<G, F, O>, CallError> {
        let types = [schema_of::<G>(), schema_of::<F>(), schema_of::<O>()];
        Ok(ActionClient {
            inner: AnyActionClient::trusting(name, types, root, owner)?,
            _types: PhantomData,
        })
    }

    /// Sends a goal and waits up to `timeout` for it to be accepted.
    pub fn send_goal(&self, goal: &G, timeout: Duration) -> Result<GoalHandle<F, O>, GoalError> {
        Ok(GoalHandle {
            inner: self.inner.send_goal(bytes_of(goal), timeout)?,
            _types: PhantomData,
        })
    }

    /// The status of every active goal and of the latest ended ones.
    pub fn statuses(&self) -> Vec<(u64, GoalStatus)> {
        self.inner.statuses()
    }
}

/// How a goal ended.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalResult<O> {
    /// Succeeded, aborted or canceled.
    pub status: GoalStatus,
    /// The outcome; `None` when the server went away before the goal ended (status aborted).
    pub outcome: Option<O>,
}

/// A goal an [`ActionClient`] sent and its server accepted.
pub struct GoalHandle<F, O> {
    inner: AnyGoalHandle,
    _types: PhantomData<fn() -> (F, O)>,
}

impl<F: ShmMessage, O: ShmMessage> GoalHandle<F, O> {
    /// The goal's id.
    pub fn id(&self) -> u64 {
        self.inner.id()
    }

    /// The next feedback, waiting up to `timeout`; `None` once the goal has ended.
    pub fn feedback(&mut self, timeout: Duration) -> Result<Option<F>, CallError> {
        Ok(self.inner.feedback(timeout)?.map(|b| *value_of(&b)))
    }

    /// Waits up to `timeout` for the goal to end.
    pub fn result(&mut self, timeout: Duration) -> Result<GoalResult<O>, GoalError> {
        let r = self.inner.result(timeout)?;
        Ok(GoalResult {
            status: r.status,
            outcome: r.outcome.map(|b| *value_of(&b)),
        })
    }

    /// Asks the server to cancel the goal; its status then.
    pub fn cancel(&self, timeout: Duration) -> Result<GoalStatus, GoalError> {
        self.inner.cancel(timeout)
    }

    /// The goal's status as the server last published it.
    pub fn status(&mut self) -> Option<GoalStatus> {
        self.inner.status()
    }
}

impl<F, O> fmt::Debug for GoalHandle<F, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl<G, F, O> fmt::Debug for ActionClient<G, F, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl<G, F, O> fmt::Debug for GoalRequest<G, F, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl<G, F, O> fmt::Debug for ActiveGoal<G, F, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

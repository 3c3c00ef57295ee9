//! Actions: a long-running goal with feedback, a final outcome and cancellation, between
//! processes, typed three ways (goal, feedback, outcome).
//!
//! An [`ActionServer`] serves one action name; [`ActionClient`]s in other processes send it
//! goals. A goal is accepted or rejected at once; an accepted one runs on the server, which
//! publishes feedback as it goes and ends it as succeeded, aborted or canceled, with an outcome
//! value. A client follows its goal's feedback, asks for its result, or asks to cancel it;
//! several goals may run at once (each has an id). A server that dies ends its goals as
//! aborted ("server gone") for their clients.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! // Process A: counts to the goal, reporting each step.
//! let mut server = shm::ActionServer::<u64, u64, u64>::new("count")?;
//! let goal = server.recv_timeout(Duration::from_secs(10))?.accept()?;
//! for i in 1..=*goal.value() {
//!     if goal.is_cancel_requested() {
//!         return Ok(goal.canceled(&i)?);
//!     }
//!     goal.publish_feedback(&i)?;
//! }
//! let n = *goal.value();
//! goal.succeed(&n)?;
//!
//! // Process B
//! let client = shm::ActionClient::<u64, u64, u64>::new("count")?;
//! let mut handle = client.send_goal(&3, Duration::from_secs(1))?;
//! while let Some(step) = handle.feedback(Duration::from_secs(5))? {
//!     println!("at {step}");
//! }
//! let result = handle.result(Duration::from_secs(5))?;
//! assert_eq!((result.status, result.outcome), (shm::GoalStatus::Succeeded, Some(3)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How it works
//!
//! An action is a [service](crate::service) and two topics, so it has their guarantees:
//!
//! - the service `NAME` takes three kinds of request (`ActionRequest { kind, goal_id, goal }`):
//!   a goal (answered accepted, with its id, or rejected), a cancel (answered with the goal's
//!   status), and a result (answered at once: the goal's status, and its outcome once ended);
//! - `NAME/.feedback` carries `ActionFeedback { goal_id, kind, status, feedback }` records:
//!   each feedback value, and one record when a goal ends;
//! - `NAME/.result` carries `ActionResult { goal_id, status, outcome }`, one per ended goal
//!   (the latest 64): a client waiting for a result is woken by it, and reads it even after
//!   the server exited;
//! - `NAME/.status` carries the status of every active goal and of the latest ended ones
//!   (`BoundedVec<GoalState { goal_id, status }, 64>`).
//!
//! The server answers cancel and result requests whenever it looks at its service: while it
//! waits for goals, and when a goal asks [`is_cancel_requested`](ActiveGoal::is_cancel_requested),
//! publishes feedback or ends.

mod client;
mod server;
mod typed;
pub(crate) mod wire;

use std::fmt;

pub use client::{AnyActionClient, AnyGoalHandle, AnyGoalResult, RESULT_ASK_INTERVAL};
pub use server::{
    AnyActionServer, AnyActionServerBuilder, AnyActiveGoal, AnyGoalRequest, FeedbackError,
};
pub use typed::{
    ActionClient, ActionServer, ActionServerBuilder, ActiveGoal, GoalHandle, GoalRequest,
    GoalResult,
};

use crate::service::CallError;

/// Where a goal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GoalStatus {
    /// Accepted, running.
    Executing,
    /// Running, and a client asked to cancel it.
    Canceling,
    /// Ended: the server reached the goal.
    Succeeded,
    /// Ended: the server gave up (or is gone).
    Aborted,
    /// Ended: canceled on request.
    Canceled,
    /// Refused when it was sent.
    Rejected,
}

impl GoalStatus {
    /// Its code in the action's topics.
    pub(crate) fn code(self) -> u64 {
        match self {
            GoalStatus::Executing => 1,
            GoalStatus::Canceling => 2,
            GoalStatus::Succeeded => 3,
            GoalStatus::Aborted => 4,
            GoalStatus::Canceled => 5,
            GoalStatus::Rejected => 6,
        }
    }

    /// The status of a code; `None` for a code no status has (0: a goal the server does not
    /// know).
    pub(crate) fn of_code(code: u64) -> Option<GoalStatus> {
        Some(match code {
            1 => GoalStatus::Executing,
            2 => GoalStatus::Canceling,
            3 => GoalStatus::Succeeded,
            4 => GoalStatus::Aborted,
            5 => GoalStatus::Canceled,
            6 => GoalStatus::Rejected,
            _ => return None,
        })
    }

    /// `"executing"`, `"canceling"`, `"succeeded"`, `"aborted"`, `"canceled"` or
    /// `"rejected"`.
    pub fn as_str(self) -> &'static str {
        match self {
            GoalStatus::Executing => "executing",
            GoalStatus::Canceling => "canceling",
            GoalStatus::Succeeded => "succeeded",
            GoalStatus::Aborted => "aborted",
            GoalStatus::Canceled => "canceled",
            GoalStatus::Rejected => "rejected",
        }
    }

    /// Whether the goal has ended (succeeded, aborted, canceled or rejected).
    pub fn has_ended(self) -> bool {
        !matches!(self, GoalStatus::Executing | GoalStatus::Canceling)
    }
}

impl fmt::Display for GoalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a goal was not started, or an action request failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum GoalError {
    /// The server rejected the goal.
    Rejected {
        /// The action.
        action: String,
    },
    /// The server does not know the goal (it ended long ago, or another server sent it).
    UnknownGoal {
        /// The action.
        action: String,
        /// The goal's id.
        goal_id: u64,
    },
    /// The request did not get through (no server, a timeout, the server gone, ...).
    Call(CallError),
}

impl fmt::Display for GoalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GoalError::Rejected { action } => {
                write!(f, "the server of action '{action}' rejected the goal")
            }
            GoalError::UnknownGoal { action, goal_id } => write!(
                f,
                "the server of action '{action}' does not know goal {goal_id} (it ended too long ago, or was sent to an earlier server)"
            ),
            GoalError::Call(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for GoalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            GoalError::Call(e) => Some(e),
            _ => None,
        }
    }
}

impl From<CallError> for GoalError {
    fn from(e: CallError) -> GoalError {
        GoalError::Call(e)
    }
}

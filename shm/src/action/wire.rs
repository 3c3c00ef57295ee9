//! What an action puts in its topics: one service (`NAME`, requests of three kinds: a goal, a
//! cancel, a result), a feedback topic (`NAME/.feedback`) and a status topic (`NAME/.status`),
//! with the records around the user's goal, feedback and outcome values.

use std::sync::Arc;

use crate::error::CreateError;
use crate::schema::{Primitive, SchemaDesc, TopicSchema};
use crate::service::wire::{Record, schema_of, word};

/// Request kinds.
pub(crate) const KIND_GOAL: u64 = 1;
pub(crate) const KIND_CANCEL: u64 = 2;
pub(crate) const KIND_RESULT: u64 = 3;

/// Feedback record kinds: a feedback value, or the end of a goal.
pub(crate) const FEEDBACK: u64 = 0;
pub(crate) const ENDED: u64 = 1;

/// Goals the status topic lists at most (the active ones first, then the latest ended).
pub(crate) const STATUS_ROOM: u64 = 64;

/// The schemas of one action.
#[derive(Debug)]
pub(crate) struct ActionWire {
    pub(crate) goal: Arc<TopicSchema>,
    pub(crate) feedback: Arc<TopicSchema>,
    pub(crate) outcome: Arc<TopicSchema>,
    /// The service's request: `ActionRequest { kind, goal_id, goal }`.
    pub(crate) request: Record,
    /// The service's reply: `ActionReply { goal_id, status, outcome }`.
    pub(crate) reply: Record,
    /// `NAME/.feedback`: `ActionFeedback { goal_id, kind, status, feedback }`.
    pub(crate) feedback_record: Record,
    /// `NAME/.result`: `ActionResult { goal_id, status, outcome }`, one per ended goal (read
    /// by clients even after the server exited).
    pub(crate) result_record: Record,
    /// `NAME/.status`: `BoundedVec<GoalState { goal_id, status }, 64>`.
    pub(crate) status: Arc<TopicSchema>,
}

impl ActionWire {
    pub(crate) fn new(
        goal: Arc<TopicSchema>,
        feedback: Arc<TopicSchema>,
        outcome: Arc<TopicSchema>,
    ) -> Result<ActionWire, CreateError> {
        let build = || -> Result<ActionWire, String> {
            let state = SchemaDesc::c_struct(
                "GoalState",
                vec![
                    ("goal_id".to_owned(), SchemaDesc::primitive(Primitive::U64)),
                    ("status".to_owned(), SchemaDesc::primitive(Primitive::U64)),
                ],
            )
            .map_err(|e| e.to_string())?;
            let status = SchemaDesc::sequence(state, STATUS_ROOM).map_err(|e| e.to_string())?;
            Ok(ActionWire {
                request: Record::new("ActionRequest", &["kind", "goal_id"], "goal", goal.desc())?,
                reply: Record::new(
                    "ActionReply",
                    &["goal_id", "status"],
                    "outcome",
                    outcome.desc(),
                )?,
                feedback_record: Record::new(
                    "ActionFeedback",
                    &["goal_id", "kind", "status"],
                    "feedback",
                    feedback.desc(),
                )?,
                result_record: Record::new(
                    "ActionResult",
                    &["goal_id", "status"],
                    "outcome",
                    outcome.desc(),
                )?,
                status: schema_of("ActionStatus", vec![("goals".to_owned(), status)])?,
                goal,
                feedback,
                outcome,
            })
        };
        build().map_err(|detail| CreateError::UnsupportedType { detail })
    }

    /// A status topic value listing `goals` (goal id, status), at most [`STATUS_ROOM`].
    pub(crate) fn status_bytes(&self, goals: &[(u64, u64)]) -> Vec<u8> {
        let mut out = vec![0u8; self.status.size()];
        let n = goals.len().min(STATUS_ROOM as usize);
        out[..8].copy_from_slice(&(n as u64).to_ne_bytes());
        for (i, (id, status)) in goals.iter().take(n).enumerate() {
            let at = 8 + 16 * i;
            out[at..at + 8].copy_from_slice(&id.to_ne_bytes());
            out[at + 8..at + 16].copy_from_slice(&status.to_ne_bytes());
        }
        out
    }

    /// The goals a status value lists (its length validated by the read: at most the room).
    pub(crate) fn status_of(bytes: &[u8]) -> Vec<(u64, u64)> {
        let n = (word(bytes, 0) as usize).min(STATUS_ROOM as usize);
        (0..n)
            .map(|i| (word(bytes, 8 + 16 * i), word(bytes, 16 + 16 * i)))
            .collect()
    }
}

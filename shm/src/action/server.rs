//! The server side of an action, on bytes of types given at run time: [`AnyActionServer`],
//! the goals it receives ([`AnyGoalRequest`]) and those it runs ([`AnyActiveGoal`]).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::GoalStatus;
use super::wire::{ActionWire, ENDED, FEEDBACK, KIND_CANCEL, KIND_GOAL, KIND_RESULT};
use crate::dynamic::AnyPublisher;
use crate::error::{CreateError, PublishError};
use crate::schema::TopicSchema;
use crate::service::wire::{check_value, word};
use crate::service::{AnyRequest, AnyServer, ClientInfo, ReplyError, ServerError};
use crate::sys::{Readers, random_nonzero_u64};
use crate::{DEFAULT_MODE, ValueError};

/// Ended goals whose outcome the server keeps for clients that ask for it late.
const KEPT_ENDED: usize = 64;

/// The server of one action; see the [module documentation](super).
pub struct AnyActionServer {
    core: Arc<Core>,
}

struct Core {
    name: String,
    wire: Arc<ActionWire>,
    state: Mutex<State>,
    /// Raised while `incoming` holds goals (read by a goal's own calls, which the wait sets
    /// the server is attached to would not see otherwise).
    notice: Arc<crate::waitset::Notice>,
}

struct State {
    /// The action's service; `None` while a thread waits on it without the lock.
    server: Option<AnyServer>,
    /// The feedback, result and status topics of each user with goals: this user's are the
    /// action's own (`NAME/.feedback`, ...), made at start; an admitted user's are its own
    /// (`NAME/.feedback/u<uid>`, ...), readable by it only, made at its first goal.
    topics: HashMap<u32, Topics>,
    /// `NAME/.types`: no value, only the feedback record's type, readable by every admitted
    /// user (whose clients learn the action's types there; the server's own feedback topic
    /// is its user's only).
    _types: AnyPublisher,
    root: std::path::PathBuf,
    feedback_buffer: usize,
    goals: BTreeMap<u64, Goal>,
    /// Ended goals, oldest first (the ones kept).
    ended: VecDeque<u64>,
    /// Goal requests read and not yet handed out.
    incoming: VecDeque<AnyRequest>,
}

/// The topics a user's clients read their goals' feedback, results and status in.
struct Topics {
    feedback: AnyPublisher,
    results: AnyPublisher,
    status: AnyPublisher,
}

/// The topic that carries action `name`'s feedback record type for every user it admits.
pub(crate) fn types_topic(name: &str) -> String {
    format!("{name}/.types")
}

/// The names of the feedback, result and status topics of action `name` for user `uid`
/// (`me`: the server's user, whose are the action's own).
pub(crate) fn topic_names(name: &str, uid: u32, me: u32) -> [String; 3] {
    [".feedback", ".result", ".status"].map(|t| {
        if uid == me {
            format!("{name}/{t}")
        } else {
            format!("{name}/{t}/u{uid}")
        }
    })
}

struct Goal {
    /// The user whose client sent it: only its clients follow, cancel or ask for it.
    uid: u32,
    status: GoalStatus,
    /// The outcome, once ended.
    outcome: Option<Vec<u8>>,
}

fn lock(core: &Core) -> MutexGuard<'_, State> {
    core.state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Core {
    /// Answers `request` with the goal's id, status and outcome (zeros without one).
    fn answer(&self, request: AnyRequest, id: u64, status: u64, outcome: Option<&[u8]>) {
        let bytes = self.wire.reply.bytes(&[id, status], outcome);
        let _ = request.reply(&bytes);
    }
}

impl State {
    /// Handles a request of the action's service: a goal is kept for the server's next
    /// receive; a cancel or a result request is answered (or held) here.
    fn handle(&mut self, core: &Core, request: AnyRequest) {
        let bytes = request.bytes();
        let (kind, id) = (word(bytes, 0), word(bytes, 8));
        // Another user's goal is no goal to this one: answered as an id nobody holds (the
        // answer must not tell the two apart).
        let uid = request.sender_uid();
        let theirs = self.goals.get(&id).is_some_and(|goal| goal.uid != uid);
        match kind {
            KIND_GOAL => {
                self.incoming.push_back(request);
                core.notice.raise();
            }
            KIND_CANCEL => {
                let status = match self.goals.get_mut(&id).filter(|_| !theirs) {
                    Some(goal) if goal.status == GoalStatus::Executing => {
                        goal.status = GoalStatus::Canceling;
                        self.publish_status(core, uid);
                        GoalStatus::Canceling.code()
                    }
                    Some(goal) => goal.status.code(),
                    None => 0,
                };
                core.answer(request, id, status, None);
            }
            // Answered at once (a request held until the goal ends would take a place of its
            // client's in the service): the client waits on the result topic meanwhile.
            KIND_RESULT => match self.goals.get(&id).filter(|_| !theirs) {
                Some(goal) => {
                    let outcome = goal.outcome.clone();
                    core.answer(request, id, goal.status.code(), outcome.as_deref());
                }
                None => core.answer(request, id, 0, None),
            },
            _ => {} // no request of this protocol: dropped (its client gets NoReply)
        }
    }

    /// Handles every request that came, if no other thread waits on the service.
    fn pump(&mut self, core: &Core) {
        let Some(mut server) = self.server.take() else {
            return; // the thread that waits on it handles them
        };
        loop {
            match server.try_recv() {
                Ok(Some(request)) => self.handle(core, request),
                Ok(None) => break,
                // Bytes that were no request: answered already; the next one.
                Err(_) => {}
            }
        }
        self.server = Some(server);
    }

    /// Publishes the status of user `uid`'s active goals and latest ended ones, in its status
    /// topic.
    fn publish_status(&mut self, core: &Core, uid: u32) {
        let active = self
            .goals
            .iter()
            .filter(|(_, g)| g.uid == uid && !g.status.has_ended())
            .map(|(id, g)| (*id, g.status.code()));
        let ended = self.ended.iter().rev().filter_map(|id| {
            let g = self.goals.get(id).filter(|g| g.uid == uid)?;
            Some((*id, g.status.code()))
        });
        let list: Vec<(u64, u64)> = active.chain(ended).collect();
        if let Some(topics) = self.topics.get_mut(&uid) {
            let _ = topics.status.publish(&core.wire.status_bytes(&list));
        }
    }

    /// User `uid`'s topics, made if they are not yet.
    fn topics_for(&mut self, core: &Core, uid: u32) -> Result<&mut Topics, CreateError> {
        if !self.topics.contains_key(&uid) {
            let topics = Topics::create(core, &self.root, uid, self.feedback_buffer)?;
            self.topics.insert(uid, topics);
        }
        Ok(self.topics.get_mut(&uid).expect("made above"))
    }
}

impl Topics {
    /// The feedback, result and status topics of `core`'s action for user `uid`: readable by
    /// that user only (with this one).
    fn create(
        core: &Core,
        root: &std::path::Path,
        uid: u32,
        feedback_buffer: usize,
    ) -> Result<Topics, CreateError> {
        let me = crate::owner::effective_uid();
        let readers = if uid == me {
            Readers::default()
        } else {
            Readers::new([uid], [])
        };
        let [feedback, results, status] = topic_names(&core.name, uid, me);
        let topic = |name: &str, schema: &Arc<TopicSchema>, buffers: usize| {
            AnyPublisher::builder(name, Arc::clone(schema))
                .root(root)
                .mode(DEFAULT_MODE)
                .readers(readers.clone())
                .buffer_num(buffers)
                .create()
        };
        let w = &core.wire;
        Ok(Topics {
            feedback: topic(&feedback, &w.feedback_record.schema, feedback_buffer)?,
            results: topic(&results, &w.result_record.schema, KEPT_ENDED)?,
            status: topic(&status, &w.status, 3)?,
        })
    }
}

/// Options for starting an [`AnyActionServer`].
#[must_use = "call .create() to start the server"]
#[derive(Debug, Clone)]
pub struct AnyActionServerBuilder {
    name: String,
    types: [Arc<TopicSchema>; 3],
    root: Option<std::path::PathBuf>,
    feedback_buffer: usize,
    admit_uids: Vec<u32>,
    admit_gids: Vec<u32>,
}

impl AnyActionServerBuilder {
    /// Serves goals of clients run by user `uid` too, as
    /// [`AnyServerBuilder::admit_user`](crate::service::AnyServerBuilder::admit_user) does for a
    /// service: that user's goals' feedback, results and status go to topics of its own,
    /// readable by it only, and its clients can neither see nor cancel other users' goals.
    pub fn admit_user(mut self, uid: u32) -> Self {
        self.admit_uids.push(uid);
        self
    }

    /// Serves goals of clients run by members of group `gid` too; see
    /// [`admit_user`](Self::admit_user).
    pub fn admit_group(mut self, gid: u32) -> Self {
        self.admit_gids.push(gid);
        self
    }

    /// Directory of the action's files (default: `$SHM_ROOT`, else `/dev/shm`).
    pub fn root(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.root = Some(dir.into());
        self
    }

    /// Feedback records the feedback topic holds (default 64): a client that reads less
    /// often than the server publishes loses the oldest.
    pub fn feedback_buffer(mut self, n: usize) -> Self {
        self.feedback_buffer = n;
        self
    }

    /// Starts serving: refused with [`CreateError::Busy`] while another live server serves the
    /// action.
    pub fn create(self) -> Result<AnyActionServer, CreateError> {
        let [goal, feedback, outcome] = self.types;
        let wire = Arc::new(ActionWire::new(goal, feedback, outcome)?);
        let root = self.root.unwrap_or_else(crate::default_root);
        let mut service = AnyServer::builder(
            &self.name,
            Arc::clone(&wire.request.schema),
            Arc::clone(&wire.reply.schema),
        )
        .root(&root);
        for &uid in &self.admit_uids {
            service = service.admit_user(uid);
        }
        for &gid in &self.admit_gids {
            service = service.admit_group(gid);
        }
        let mut server = service.create()?;
        let types = AnyPublisher::builder(
            &types_topic(server.name()),
            Arc::clone(&wire.feedback_record.schema),
        )
        .root(&root)
        .mode(DEFAULT_MODE)
        .readers(Readers::new(self.admit_uids, self.admit_gids))
        .buffer_num(2)
        .create()?;
        server.begin_wait();
        let core = Arc::new(Core {
            notice: Arc::default(),
            name: server.name().to_owned(),
            state: Mutex::new(State {
                server: Some(server),
                topics: HashMap::new(),
                _types: types,
                root,
                feedback_buffer: self.feedback_buffer,
                goals: BTreeMap::new(),
                ended: VecDeque::new(),
                incoming: VecDeque::new(),
            }),
            wire,
        });
        let me = crate::owner::effective_uid();
        let mut state = lock(&core);
        state.topics_for(&core, me)?;
        state.publish_status(&core, me);
        drop(state);
        Ok(AnyActionServer { core })
    }
}

impl AnyActionServer {
    /// Options for serving action `name` with goals, feedback and outcomes of these types.
    pub fn builder(
        name: &str,
        goal: Arc<TopicSchema>,
        feedback: Arc<TopicSchema>,
        outcome: Arc<TopicSchema>,
    ) -> AnyActionServerBuilder {
        AnyActionServerBuilder {
            name: name.to_owned(),
            types: [goal, feedback, outcome],
            root: None,
            feedback_buffer: 64,
            admit_uids: Vec::new(),
            admit_gids: Vec::new(),
        }
    }

    /// The next goal, waiting up to `timeout` for one (cancel and result requests are
    /// answered meanwhile).
    pub fn recv_timeout(&self, timeout: Duration) -> Result<AnyGoalRequest, ServerError> {
        let started = Instant::now();
        let deadline = super::client::deadline_after(started, timeout);
        self.begin_wait();
        loop {
            match self.recv_step(Some(deadline)) {
                Some(Ok(Some(goal))) => return Ok(goal),
                Some(Ok(None)) => {
                    return Err(ServerError::Timeout {
                        service: self.core.name.clone(),
                        waited: started.elapsed(),
                    });
                }
                Some(Err(e)) => return Err(e),
                None => {}
            }
        }
    }

    /// One step of a wait for a goal until `deadline`: a goal, `Some(Ok(None))` once the
    /// deadline passed, or `None` after sleeping once (at most
    /// [`CHECK_INTERVAL`](crate::wait::CHECK_INTERVAL)): call again. The server is not held
    /// while this sleeps: goals running in other threads publish and end meanwhile.
    pub fn recv_step(
        &self,
        deadline: Option<Instant>,
    ) -> Option<Result<Option<AnyGoalRequest>, ServerError>> {
        let core = &self.core;
        let mut state = lock(core);
        if let Some(request) = state.incoming.pop_front() {
            if state.incoming.is_empty() {
                core.notice.lower();
            }
            return Some(Ok(Some(self.goal_request(request))));
        }
        let Some(mut server) = state.server.take() else {
            // Another thread waits on the service: it hands goals over through `incoming`.
            drop(state);
            std::thread::sleep(Duration::from_millis(1));
            return deadline
                .is_some_and(|d| Instant::now() >= d)
                .then_some(Ok(None));
        };
        drop(state);
        let step = server.recv_step(deadline);
        let mut state = lock(core);
        state.server = Some(server);
        match step? {
            Ok(Some(request)) => {
                state.handle(core, request);
                let goal = state.incoming.pop_front()?;
                if state.incoming.is_empty() {
                    core.notice.lower();
                }
                Some(Ok(Some(self.goal_request(goal))))
            }
            Ok(None) => Some(Ok(None)),
            // Bytes that were no request: answered already, and no goal; the wait goes on.
            Err(ServerError::BadRequest { .. }) => None,
            Err(e) => Some(Err(e)),
        }
    }

    /// The next goal if one has arrived (cancel and result requests are answered meanwhile);
    /// never waits (but for a moment while another thread's receive holds the service).
    pub fn try_recv(&self) -> Result<Option<AnyGoalRequest>, ServerError> {
        loop {
            match self.recv_step(Some(Instant::now())) {
                Some(outcome) => return outcome,
                None => continue, // a request that was no goal: the next one
            }
        }
    }

    /// Starts a wait made of [`recv_step`](Self::recv_step)s (it spins before its first
    /// sleep).
    pub fn begin_wait(&self) {
        if let Some(server) = lock(&self.core).server.as_mut() {
            server.begin_wait();
        }
    }

    /// What a wait set watches for this action's requests (its service's), reported at once
    /// if goals were read and not handed out yet. Waits for a receive of another thread to
    /// give the service back (one sleep of its, at most
    /// [`CHECK_INTERVAL`](crate::wait::CHECK_INTERVAL)).
    fn watch_group(&self) -> Result<crate::waitset::Group, crate::AttachError> {
        let until = Instant::now() + Duration::from_secs(1);
        loop {
            let state = lock(&self.core);
            if let Some(server) = &state.server {
                let mut group = server.watch_group();
                group.ready |= !state.incoming.is_empty();
                group.notice = Some(Arc::clone(&self.core.notice));
                return Ok(group);
            }
            drop(state);
            if Instant::now() >= until {
                return Err(crate::AttachError::Busy {
                    what: self.core.name.clone(),
                });
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn goal_request(&self, request: AnyRequest) -> AnyGoalRequest {
        AnyGoalRequest {
            core: Arc::clone(&self.core),
            request: Some(request),
        }
    }

    /// The action's name.
    pub fn name(&self) -> &str {
        &self.core.name
    }

    /// The goal, feedback and outcome types.
    pub fn types(&self) -> [&Arc<TopicSchema>; 3] {
        let w = &self.core.wire;
        [&w.goal, &w.feedback, &w.outcome]
    }
}

impl Drop for AnyActionServer {
    fn drop(&mut self) {
        // The service ends with its server, though goals still running may end (their
        // results are published): clients see no server rather than goals nobody takes.
        let server = lock(&self.core).server.take();
        drop(server);
    }
}

impl crate::waitset::private::Planned for AnyActionServer {
    fn plan(&self) -> Result<crate::waitset::Plan, crate::AttachError> {
        Ok(crate::waitset::Plan::Group(self.watch_group()?))
    }
}

impl crate::waitset::Attachable for AnyActionServer {}

impl fmt::Debug for AnyActionServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyActionServer")
            .field("name", &self.core.name)
            .finish_non_exhaustive()
    }
}

/// A goal a server received: accept it (to run it) or reject it. Dropping it rejects it.
pub struct AnyGoalRequest {
    core: Arc<Core>,
    request: Option<AnyRequest>,
}

impl AnyGoalRequest {
    /// The goal's value (bytes of the goal type).
    pub fn bytes(&self) -> &[u8] {
        let request = self
            .request
            .as_ref()
            .expect("a goal request until accepted or rejected");
        self.core.wire.request.value(request.bytes())
    }

    /// Who sent it.
    pub fn client(&self) -> Option<ClientInfo> {
        self.request.as_ref()?.client()
    }

    /// Accepts the goal: the client learns its id, and the goal runs until it is ended
    /// through the returned [`AnyActiveGoal`] (dropped unended, it ends aborted). Fails if the
    /// goal's user's feedback topics cannot be made (a file of another user planted at their
    /// name): the client is then answered rejected, and the server may go on with other goals.
    pub fn accept(mut self) -> Result<AnyActiveGoal, ReplyError> {
        let request = self.request.take().expect("not answered yet");
        let goal = self.core.wire.request.value(request.bytes()).to_vec();
        let uid = request.sender_uid();
        let mut state = lock(&self.core);
        // Its user's topics before its id is known: its client follows them from before.
        if let Err(e) = state.topics_for(&self.core, uid) {
            drop(state);
            self.core
                .answer(request, 0, GoalStatus::Rejected.code(), None);
            return Err(ReplyError::Create(e));
        }
        // Random: unique across servers of the action (a goal of an earlier server is never
        // taken for one of this one), and telling nothing of other users' goals.
        let id = loop {
            let id = random_nonzero_u64() >> 11;
            if id != 0 && !state.goals.contains_key(&id) {
                break id;
            }
        };
        state.goals.insert(
            id,
            Goal {
                uid,
                status: GoalStatus::Executing,
                outcome: None,
            },
        );
        state.publish_status(&self.core, uid);
        drop(state);
        // Made first: if the client cannot be told, dropping it ends the goal (aborted).
        let active = AnyActiveGoal {
            core: Arc::clone(&self.core),
            id,
            uid,
            goal,
            ended: false,
        };
        let bytes = self
            .core
            .wire
            .reply
            .bytes(&[id, GoalStatus::Executing.code()], None);
        request.reply(&bytes)?;
        Ok(active)
    }

    /// Rejects the goal.
    pub fn reject(mut self) {
        self.refuse();
    }

    fn refuse(&mut self) {
        if let Some(request) = self.request.take() {
            self.core
                .answer(request, 0, GoalStatus::Rejected.code(), None);
        }
    }
}

impl Drop for AnyGoalRequest {
    fn drop(&mut self) {
        self.refuse();
    }
}

impl fmt::Debug for AnyGoalRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyGoalRequest")
            .field("action", &self.core.name)
            .finish_non_exhaustive()
    }
}

/// A goal the server accepted and runs: publish feedback, look for a cancel request, and end
/// it with an outcome. Dropped unended, it ends aborted (with an all-zero outcome). It may be
/// moved to another thread.
pub struct AnyActiveGoal {
    core: Arc<Core>,
    id: u64,
    /// Its client's user (whose topics its feedback and result go to).
    uid: u32,
    goal: Vec<u8>,
    ended: bool,
}

impl AnyActiveGoal {
    /// The goal's id (what its client knows it by).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The goal's value.
    pub fn bytes(&self) -> &[u8] {
        &self.goal
    }

    /// Whether a client asked to cancel the goal (the server looks at its requests first).
    pub fn is_cancel_requested(&self) -> bool {
        let mut state = lock(&self.core);
        state.pump(&self.core);
        state
            .goals
            .get(&self.id)
            .is_some_and(|g| g.status == GoalStatus::Canceling)
    }

    /// Publishes one feedback value (bytes of the feedback type, checked) for the goal's
    /// clients.
    pub fn publish_feedback(&self, feedback: &[u8]) -> Result<(), FeedbackError> {
        check_value(&self.core.wire.feedback, feedback).map_err(FeedbackError::Invalid)?;
        let mut state = lock(&self.core);
        state.pump(&self.core);
        let status = state.goals.get(&self.id).map_or(0, |g| g.status.code());
        let uid = self.uid;
        let record = self
            .core
            .wire
            .feedback_record
            .bytes(&[self.id, FEEDBACK, status], Some(feedback));
        let Some(topics) = state.topics.get_mut(&uid) else {
            return Ok(()); // made at accept, never removed
        };
        topics
            .feedback
            .publish(&record)
            .map(drop)
            .map_err(FeedbackError::Publish)
    }

    /// Ends the goal with `status` (succeeded, aborted or canceled) and `outcome` (bytes of
    /// the outcome type, checked): its clients' result requests are answered.
    pub fn end(mut self, status: GoalStatus, outcome: &[u8]) -> Result<(), FeedbackError> {
        if !status.has_ended() || status == GoalStatus::Rejected {
            return Err(FeedbackError::NotAnEnd(status));
        }
        check_value(&self.core.wire.outcome, outcome).map_err(FeedbackError::Invalid)?;
        self.finish(status, Some(outcome));
        Ok(())
    }

    fn finish(&mut self, status: GoalStatus, outcome: Option<&[u8]>) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        let outcome =
            outcome.map_or_else(|| vec![0; self.core.wire.outcome.size()], <[u8]>::to_vec);
        let mut state = lock(&self.core);
        state.pump(&self.core);
        if let Some(goal) = state.goals.get_mut(&self.id) {
            goal.status = status;
            goal.outcome = Some(outcome.clone());
        }
        state.ended.push_back(self.id);
        // Each user's latest ended goals are kept: another user's many goals push none of
        // them out.
        let uid = self.uid;
        let of_user: Vec<u64> = state
            .ended
            .iter()
            .copied()
            .filter(|id| state.goals.get(id).is_some_and(|g| g.uid == uid))
            .collect();
        if of_user.len() > KEPT_ENDED {
            let old = of_user[0];
            state.ended.retain(|id| *id != old);
            state.goals.remove(&old);
        }
        let record = self
            .core
            .wire
            .feedback_record
            .bytes(&[self.id, ENDED, status.code()], None);
        let result = self
            .core
            .wire
            .result_record
            .bytes(&[self.id, status.code()], Some(&outcome));
        if let Some(topics) = state.topics.get_mut(&self.uid) {
            let _ = topics.feedback.publish(&record);
            let _ = topics.results.publish(&result);
        }
        state.publish_status(&self.core, self.uid);
    }
}

impl Drop for AnyActiveGoal {
    fn drop(&mut self) {
        self.finish(GoalStatus::Aborted, None);
    }
}

impl fmt::Debug for AnyActiveGoal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyActiveGoal")
            .field("action", &self.core.name)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Why feedback or an outcome was not published.
#[derive(Debug)]
#[non_exhaustive]
pub enum FeedbackError {
    /// The bytes are not a value of the type.
    Invalid(ValueError),
    /// A goal ends only as succeeded, aborted or canceled.
    NotAnEnd(GoalStatus),
    /// The feedback topic could not be written.
    Publish(PublishError),
}

impl fmt::Display for FeedbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeedbackError::Invalid(e) => write!(f, "not a value of the action's type: {e}"),
            FeedbackError::NotAnEnd(s) => {
                write!(f, "a goal ends as succeeded, aborted or canceled, not {s}")
            }
            FeedbackError::Publish(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for FeedbackError {}

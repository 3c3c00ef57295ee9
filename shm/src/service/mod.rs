//! Services: request and reply between processes, typed both ways.
//!
//! A [`Server`] serves one service name; any number of [`Client`]s in other processes call
//! it. Each call ends with its own reply or a [`CallError`]: never another call's reply, and
//! never a wait without an end.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! // Process A
//! let mut server = shm::Server::<u64, u64>::new("math/square")?;
//! let request = server.recv_timeout(Duration::from_secs(10))?;
//! let x = *request.value();
//! request.reply(&(x * x))?;
//!
//! // Process B
//! let client = shm::Client::<u64, u64>::new("math/square")?;
//! assert_eq!(client.call(&7, Duration::from_secs(1))?, 49);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How it works
//!
//! A service is made of topics, so it has their guarantees (seqlock copies, files only their
//! writer may write, owner-only by default, a dead writer taken over):
//!
//! - `NAME/.service`: the server's descriptor, written once at start. Its publisher *is* the
//!   server: one live server per service, a crashed one taken over by the next. It holds a
//!   random *epoch* (which server this is), the server's limits, and, in its schema, the
//!   request and reply types (`Service { epoch, max_clients, per_client, queue, request,
//!   reply }`), so that a client of other types is refused with the fields that differ.
//! - `NAME/.call/K`: the requests of the client in slot `K` (a client claims the first slot
//!   whose topic has no live publisher). A request carries the epoch it is for and the client's
//!   random identity; its sequence number in the topic names it.
//! - `NAME/.reply/K`: the server's replies to slot `K`: the request's sequence number, epoch,
//!   client identity and a status, then the reply.
//!
//! The contract, and where it comes from:
//!
//! - **At most once.** The server reads each request topic with one subscriber, which returns
//!   each value once; requests for another epoch (left from an earlier server) are passed over.
//! - **Only its own reply.** A client takes a reply only if its epoch, identity and sequence
//!   number are those of a call it waits for; a reply to a call that timed out is dropped.
//! - **[`CallError::ServerGone`]** within [`LIVENESS_INTERVAL`] (25 ms) of the server's death:
//!   a waiting call looks at the descriptor's publisher that often.
//! - **[`CallError::Busy`]**: the server holds at most `queue` requests (received, not yet
//!   answered) and `per_client` of one client; it answers more Busy at once. A client has at
//!   most `per_client` calls outstanding (timed-out calls whose reply has not come count).
//! - **A client killed mid-call** leaves its slot to the next client (its topic's publisher is
//!   dead); the server's reply to it is read by nobody.
//! - **Bad request bytes** (an invalid `bool`, a length above capacity) are refused by the
//!   server's read: the server gets [`ServerError::BadRequest`] in their place, the client
//!   [`CallError::BadRequest`].
//!
//! [`AnyServer`] and [`AnyClient`] are the same on bytes of types given at run time (or, for a
//! client, learnt from the server): what the `shm` tool and the Python module use.

mod client;
mod server;
mod typed;
pub(crate) mod wire;

use std::fmt;
use std::time::Duration;

pub use client::{AnyClient, AnyClientBuilder, AnyPending, LIVENESS_INTERVAL};
pub use server::{
    AnyRequest, AnyServer, AnyServerBuilder, DEFAULT_MAX_CLIENTS, DEFAULT_PER_CLIENT,
    DEFAULT_QUEUE, MAX_CLIENTS, MAX_PER_CLIENT,
};
pub use typed::{Client, ClientBuilder, Pending, Request, Server, ServerBuilder};
pub(crate) use typed::{bytes_of, schema_of, value_of};

use crate::error::{CreateError, NameError, PublishError, RemoveError, SubscribeError, ValueError};
use crate::owner::{FileOwner, PublisherProcess, TopicOwner, Uid};
use crate::{SchemaMismatch, text::printable};

/// Who sent a request: [`AnyRequest::client`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client slot it holds.
    pub slot: usize,
    /// The user its process runs as (the owner of its request topic's file).
    pub uid: u32,
    /// Its process (id, name, start time, node name).
    pub process: PublisherProcess,
}

/// Why a call ended without a reply.
#[derive(Debug)]
#[non_exhaustive]
pub enum CallError {
    /// No reply within the call's timeout. The call is given up: its reply, if it comes, is
    /// dropped.
    Timeout {
        /// The service.
        service: String,
        /// How long the call waited.
        waited: Duration,
    },
    /// The server exited or was killed before it answered.
    ServerGone {
        /// The service.
        service: String,
        /// The server that went away.
        server: PublisherProcess,
    },
    /// No server runs for this service.
    NoServer {
        /// The service.
        service: String,
    },
    /// The server holds as many requests as it may (its queue, or this client's share of it),
    /// or this client already waits for as many replies as the server lets one client have.
    Busy {
        /// The service.
        service: String,
        /// `Some(n)`: refused by this client, which waits for `n` replies (nothing was sent);
        /// `None`: answered so by the server.
        waiting: Option<usize>,
    },
    /// The server serves other request or reply types.
    SchemaMismatch(Box<SchemaMismatch>),
    /// The server could not read the request's bytes as a value of its request type.
    BadRequest {
        /// The service.
        service: String,
    },
    /// The server dropped the request without answering it.
    NoReply {
        /// The service.
        service: String,
    },
    /// The server admits no more clients.
    TooManyClients {
        /// The service.
        service: String,
        /// How many it admits.
        max_clients: usize,
    },
    /// The request's bytes are not a value of the request type (an untyped call); nothing was
    /// sent.
    InvalidRequest(ValueError),
    /// The service's descriptor topic carries a type that is no service's.
    NotAService {
        /// The service.
        service: String,
        /// The type it carries.
        found: String,
    },
    /// The service is served by another user than the one this client trusts
    /// ([`AnyClientBuilder::server_owner`]); nothing was sent.
    UntrustedServer {
        /// The service.
        service: String,
        /// The owner of its files.
        owner: FileOwner,
        /// Whose servers this client calls.
        trusted: TopicOwner,
    },
    /// The server runs as another user and does not admit this one
    /// ([`AnyServerBuilder::admit_user`], `admit_group`): its files cannot be read.
    NotAdmitted {
        /// The service.
        service: String,
    },
    /// The service name is invalid.
    InvalidName(NameError),
    /// The service's topics cannot be read (damaged, an owner not trusted, no permission).
    Open(SubscribeError),
    /// A client slot's request topic cannot be created.
    Claim(CreateError),
    /// The request could not be written.
    Send(PublishError),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Timeout { service, waited } => write!(
                f,
                "no reply from service '{service}' within {waited:?}; the call was given up (a late reply is dropped): is its server overloaded or stuck?"
            ),
            CallError::ServerGone { service, server } => write!(
                f,
                "the server of service '{service}' ({server}) exited before it answered; the call may or may not have been carried out; call again once a server runs"
            ),
            CallError::NoServer { service } => write!(
                f,
                "no server runs for service '{service}'; start its server (`shm list` shows the services that run)"
            ),
            CallError::Busy {
                service,
                waiting: Some(n),
            } => write!(
                f,
                "this client of service '{service}' already waits for {n} replies, as many as its server lets one client have; wait for some before calling again (nothing was sent)"
            ),
            CallError::Busy { service, .. } => write!(
                f,
                "the server of service '{service}' holds as many requests as it may (its queue, or this client's share); wait for replies and call again"
            ),
            CallError::SchemaMismatch(m) => {
                // The envelope's own filler fields are no difference a user made.
                // A hostile file's schema may name things at length: each line is cut.
                let differences: Vec<String> = m
                    .differences
                    .iter()
                    .filter(|d| !d.starts_with("field `_pad"))
                    .take(8)
                    .map(|d| d.chars().take(200).collect())
                    .collect();
                write!(
                    f,
                    "the server of service '{}' serves other types than this client's: {}; use the server's request and reply types",
                    m.topic,
                    printable(&differences.join("; "))
                )
            }
            CallError::BadRequest { service } => write!(
                f,
                "the server of service '{service}' could not read the request as a value of its request type (an invalid bool, a length above its capacity); the writer of this client's request topic is not a well-behaved client"
            ),
            CallError::NoReply { service } => write!(
                f,
                "the server of service '{service}' dropped the request without answering it"
            ),
            CallError::TooManyClients {
                service,
                max_clients,
            } => write!(
                f,
                "the server of service '{service}' admits {max_clients} clients and all are connected; close one, or start the server with a larger max_clients"
            ),
            CallError::InvalidRequest(e) => write!(f, "not a request of this service: {e}"),
            CallError::NotAService { service, found } => write!(
                f,
                "'{service}' is not a service: its descriptor topic carries {}",
                printable(found)
            ),
            CallError::UntrustedServer {
                service,
                owner,
                trusted,
            } => write!(
                f,
                "service '{service}' is served by {}, but this client calls servers of {trusted} only (another user could start a server first and read the requests); nothing was sent. If that user serves it for you, trust it: ClientBuilder::server_owner(TopicOwner::Uid({})) (Python: owner={}; the tool: shm call --owner {})",
                owner.uid, owner.uid.0, owner.uid.0, owner.uid.0
            ),
            CallError::NotAdmitted { service } => {
                let me = Uid::current();
                write!(
                    f,
                    "the server of service '{service}' runs as another user and does not admit this one ({me}); nothing was sent. Its server admits a user with admit_user({}) or a group with admit_group(gid) (Python: admit_users=[{}]); a user just added to an admitted group logs in again to get its credentials",
                    me.0, me.0
                )
            }
            CallError::InvalidName(e) => e.fmt(f),
            CallError::Open(e) => e.fmt(f),
            CallError::Claim(e) => e.fmt(f),
            CallError::Send(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for CallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CallError::Open(e) => e.source(),
            CallError::Claim(e) => e.source(),
            _ => None,
        }
    }
}

/// Why a server's wait for a request ended without one.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerError {
    /// No request within the timeout.
    Timeout {
        /// The service.
        service: String,
        /// How long the wait lasted.
        waited: Duration,
    },
    /// A request's bytes were not a value of the request type: the client was answered
    /// [`CallError::BadRequest`]; the next request is had by waiting again.
    BadRequest {
        /// The service.
        service: String,
        /// The client slot it came from.
        slot: usize,
        /// Its sequence number in that client's stream.
        seq: u64,
    },
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Timeout { service, waited } => {
                write!(f, "no request for service '{service}' within {waited:?}")
            }
            ServerError::BadRequest { service, slot, seq } => write!(
                f,
                "request #{seq} of client slot {slot} of service '{service}' is not a value of the request type (an invalid bool, a length above its capacity); it was answered as a bad request, and serving goes on"
            ),
        }
    }
}

impl std::error::Error for ServerError {}

/// Why a reply was not sent.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReplyError {
    /// The reply's bytes are not a value of the reply type (an untyped reply); the request
    /// was answered [`CallError::NoReply`].
    Invalid(ValueError),
    /// The client's reply topic cannot be created (a file of another user in its place).
    Create(CreateError),
    /// The reply could not be written.
    Publish(PublishError),
    /// The client's reply topic, left by an earlier server or made for another user, cannot
    /// be removed to be made anew.
    Clear(RemoveError),
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::Invalid(e) => write!(f, "not a reply of this service: {e}"),
            ReplyError::Create(e) => write!(f, "cannot answer the client: {e}"),
            ReplyError::Publish(e) => write!(f, "cannot answer the client: {e}"),
            ReplyError::Clear(e) => write!(f, "cannot answer the client: {e}"),
        }
    }
}

impl std::error::Error for ReplyError {}

//! `shm call` and `shm action send`: call a service or send an action a goal, of whatever
//! types its server serves (learnt from its files), with values written as JSON; and the
//! services and actions `shm list` shows.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use clap::{Args, Subcommand};
use shm::action::{AnyActionClient, GoalError};
use shm::dynamic::{AnySubscriber, TopicSchema};
use shm::inspect::TopicInfo;
use shm::service::{AnyClient, CallError};

use crate::common::Owner;
use crate::publish::encode_json;
use crate::{Failure, common, format, out, out_with};

/// Arguments of `shm call`.
#[derive(Args, Debug)]
#[command(
    after_help = "REQUEST is JSON, as `shm pub` takes it (`7`, `{\"goal\": [1, 2]}`, `-` \
    to read it from standard input). The reply is printed as one line of JSON. Exit status 1 \
    when the call fails (no server, a timeout, the server gone, busy, a request that does not \
    fit the service's request type)."
)]
pub(crate) struct CallArgs {
    /// The service.
    service: String,
    /// The request, as JSON.
    #[arg(allow_hyphen_values = true)]
    request: String,
    /// Seconds to wait for the reply.
    #[arg(long, short, default_value = "1", value_parser = common::seconds)]
    timeout: Duration,
    /// Whose server to call: `me` (default: a server of this user only, as the library does),
    /// the uid of a server that admits this user, or `any`.
    #[arg(long, default_value = "me")]
    owner: Owner,
}

/// `shm action ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum ActionCommand {
    /// Send a goal (JSON) and print its feedback, one JSON line each, then how it ended.
    Send(SendArgs),
}

/// Arguments of `shm action send`.
#[derive(Args, Debug)]
pub(crate) struct SendArgs {
    /// The action.
    action: String,
    /// The goal, as JSON.
    #[arg(allow_hyphen_values = true)]
    goal: String,
    /// Seconds to wait for the goal to be accepted, and for each feedback or the result.
    #[arg(long, short, default_value = "10", value_parser = common::seconds)]
    timeout: Duration,
    /// Ask the server to cancel the goal after this many feedback values.
    #[arg(long, value_name = "N")]
    cancel_after: Option<u64>,
    /// Whose server to send it to: `me` (default), the uid of a server that admits this
    /// user, or `any`.
    #[arg(long, default_value = "me")]
    owner: Owner,
}

fn call_failure(e: CallError) -> Failure {
    Failure::new(e)
}

/// The JSON of a value of `schema`, on one line.
fn json(schema: &TopicSchema, bytes: &[u8]) -> Result<String, Failure> {
    let mut text = Vec::new();
    format::write_json(schema.desc(), bytes, u64::MAX, &mut text)
        .map_err(|e| Failure::new(format!("cannot write the value: {e}")))?;
    Ok(String::from_utf8_lossy(&text).into_owned())
}

pub(crate) fn call(root: Option<&Path>, args: &CallArgs) -> Result<(), Failure> {
    let mut builder = AnyClient::builder(&args.service).server_owner(args.owner.0);
    if let Some(root) = root {
        builder = builder.root(root);
    }
    let client = builder.create().map_err(call_failure)?;
    client.connect().map_err(call_failure)?;
    let (Some(request), Some(reply)) = (client.request_schema(), client.reply_schema()) else {
        return Err(Failure::new("the service's types are unknown"));
    };
    let bytes = encode_json(&request, &args.request)?;
    let answer = client.call(&bytes, args.timeout).map_err(call_failure)?;
    let text = json(&reply, &answer)?;
    out_with(|w| w.write_all(text.as_bytes()))
}

pub(crate) fn action(root: Option<&Path>, command: &ActionCommand) -> Result<(), Failure> {
    let ActionCommand::Send(args) = command;
    let client =
        AnyActionClient::discover_trusting(&args.action, root.map(Path::to_path_buf), args.owner.0)
            .map_err(call_failure)?;
    let [goal_type, feedback_type, outcome_type] = client.types().map(std::sync::Arc::clone);
    let goal = encode_json(&goal_type, &args.goal)?;
    let goal_error = |e: GoalError| Failure::new(e);
    let mut handle = client.send_goal(&goal, args.timeout).map_err(goal_error)?;
    out(format!("accepted goal {}", handle.id()))?;
    let mut seen = 0;
    while let Some(feedback) = handle.feedback(args.timeout).map_err(call_failure)? {
        if shm::stop::requested() {
            break;
        }
        seen += 1;
        out(format!("feedback {}", json(&feedback_type, &feedback)?))?;
        if args.cancel_after == Some(seen) {
            let status = handle.cancel(args.timeout).map_err(goal_error)?;
            out(format!("cancel asked: {status}"))?;
        }
    }
    let result = handle.result(args.timeout).map_err(goal_error)?;
    match result.outcome {
        Some(outcome) => out(format!(
            "{} {}",
            result.status,
            json(&outcome_type, &outcome)?
        )),
        None => out(format!("{} (the server is gone)", result.status)),
    }
}

/// A service or action as `shm list` shows it, gathered from its files.
#[derive(Default)]
pub(crate) struct ServiceRow {
    /// Its descriptor topic (`NAME/.service`), once seen.
    descriptor: Option<TopicInfo>,
    /// Per client slot: the sequence number of its newest request, while its client lives.
    calls: BTreeMap<u64, u64>,
}

/// The service a topic of a service or action belongs to (one whose descriptor file exists in
/// `root`), and the kind of file it is: `("robot/plan", ".call", Some(3))`.
pub(crate) fn service_of(root: &Path, topic: &str) -> Option<(String, String, Option<u64>)> {
    let (service, kind, slot) = service_part(topic)?;
    Services::is_service(root, service).then(|| (service.to_owned(), kind.to_owned(), slot))
}

fn service_part(topic: &str) -> Option<(&str, &str, Option<u64>)> {
    let (rest, last) = topic.rsplit_once('/')?;
    if let Ok(slot) = last.parse::<u64>() {
        let (service, kind) = rest.rsplit_once('/')?;
        return matches!(kind, ".call" | ".reply").then_some((service, kind, Some(slot)));
    }
    matches!(last, ".service" | ".feedback" | ".result" | ".status").then_some((rest, last, None))
}

/// Services by name.
#[derive(Default)]
pub(crate) struct Services(BTreeMap<String, ServiceRow>);

impl Services {
    /// Whether no service was seen.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Keeps what `info` (a topic of service `service`) says of it.
    pub(crate) fn add(&mut self, service: &str, kind: &str, slot: Option<u64>, info: TopicInfo) {
        let row = self.0.entry(service.to_owned()).or_default();
        match (kind, slot) {
            (".service", _) => row.descriptor = Some(info),
            (".call", Some(slot)) if info.publisher_alive => {
                row.calls.insert(slot, info.last_seq);
            }
            _ => {}
        }
    }

    /// Whether `service` is one (its descriptor file exists), so that its topics are shown
    /// as it rather than one by one.
    pub(crate) fn is_service(root: &Path, service: &str) -> bool {
        shm::TopicName::new(&format!("{service}/.service"))
            .is_ok_and(|n| root.join(n.file_name()).exists())
    }

    /// The table's rows: service, kind and types, server, clients, requests waiting.
    pub(crate) fn rows(self, root: &Path) -> Vec<[String; 5]> {
        let mut rows = Vec::new();
        for (name, row) in self.0 {
            let Some(info) = row.descriptor else { continue };
            let field = |schema: &TopicSchema, f: &str| {
                shm::schema::field_schema(schema, f)
                    .map_or_else(|| "?".to_owned(), |s| s.type_name())
            };
            let request = shm::schema::field_schema(&info.schema, "request");
            let reply = shm::schema::field_schema(&info.schema, "reply");
            let kind = match (&request, &reply) {
                (Some(q), Some(r)) if q.desc().name == "ActionRequest" => {
                    format!("action {} -> {}", field(q, "goal"), field(r, "outcome"))
                }
                (Some(q), Some(r)) => format!("service {} -> {}", q.type_name(), r.type_name()),
                _ => "service ?".to_owned(),
            };
            let server = if info.publisher_alive {
                info.publisher.to_string()
            } else {
                format!("gone: {}", info.publisher)
            };
            let waiting: u64 = row
                .calls
                .iter()
                .map(|(slot, last)| last.saturating_sub(answered(root, &name, *slot)))
                .sum();
            rows.push([
                format::printable(&name).into_owned(),
                kind,
                server,
                row.calls.len().to_string(),
                waiting.to_string(),
            ]);
        }
        rows
    }
}

/// The sequence number of the newest request of slot `slot` the server answered (the first
/// word of its newest reply), or 0.
fn answered(root: &Path, service: &str, slot: u64) -> u64 {
    let sub = AnySubscriber::builder(&format!("{service}/.reply/{slot}"))
        .root(root)
        .open();
    match sub.and_then(|mut s| s.latest()) {
        Ok(Some(sample)) if sample.value.bytes.len() >= 8 => {
            let mut word = [0u8; 8];
            word.copy_from_slice(&sample.value.bytes[..8]);
            u64::from_ne_bytes(word)
        }
        _ => 0,
    }
}

/// `shm info SERVICE`: a service's or action's types (as struct declarations) and server.
pub(crate) fn info(root: Option<&Path>, name: &str, as_json: bool) -> Result<(), Failure> {
    let descriptor = shm::inspect::inspect(root, &format!("{name}/.service"))?;
    let field = |schema: &TopicSchema, f: &str| shm::schema::field_schema(schema, f);
    let (Some(request), Some(reply)) = (
        field(&descriptor.schema, "request"),
        field(&descriptor.schema, "reply"),
    ) else {
        return Err(Failure::new(format!(
            "'{name}' is not a service: its descriptor is damaged"
        )));
    };
    let action = request.desc().name == "ActionRequest";
    let mut types: Vec<(&str, std::sync::Arc<TopicSchema>)> = Vec::new();
    if action {
        let feedback = shm::inspect::inspect(root, &format!("{name}/.feedback"))
            .ok()
            .and_then(|i| field(&i.schema, "feedback"));
        types.extend(field(&request, "goal").map(|s| ("goal", s)));
        types.extend(feedback.map(|s| ("feedback", s)));
        types.extend(field(&reply, "outcome").map(|s| ("outcome", s)));
    } else {
        types.push(("request", request));
        types.push(("reply", reply));
    }
    let server = &descriptor.publisher;
    if as_json {
        let mut obj = serde_json::json!({
            "service": name,
            "kind": if action { "action" } else { "service" },
            "server": {"pid": server.pid, "name": server.process_name, "alive": descriptor.publisher_alive},
        });
        for (role, schema) in &types {
            obj[*role] = serde_json::json!({
                "type": schema.type_name(),
                "declaration": format::declaration(schema),
            });
        }
        return crate::out_json(&obj);
    }
    let state = if descriptor.publisher_alive {
        ""
    } else {
        ", gone"
    };
    out(format!(
        "{} {name} (server {server}{state})",
        if action { "action" } else { "service" }
    ))?;
    for (role, schema) in types {
        out(format!("{role}: {}", schema.type_name()))?;
        crate::out_lines(&format::declaration(&schema))?;
    }
    Ok(())
}

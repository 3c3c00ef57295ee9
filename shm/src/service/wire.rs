//! What a service puts in its topics: the names of its topics and the envelopes around a
//! request and a reply (schemas built from the request's and reply's schemas, so that a type
//! mismatch of either names its fields), encoded and decoded as bytes.

use std::sync::Arc;

use crate::error::{CreateError, NameError};
use crate::schema::{DescKind, FieldDesc, LayoutError, Primitive, SchemaDesc, TopicSchema};
use crate::{SchemaDecodeError, TopicName, ValueError, ValueErrorKind};

/// A reply's status word: the reply carries the server's answer.
pub(crate) const STATUS_OK: u64 = 0;
/// The server's queue was full, or this client had as many requests in it as it may.
pub(crate) const STATUS_BUSY: u64 = 1;
/// The request's bytes were not a valid value of the request type.
pub(crate) const STATUS_BAD_REQUEST: u64 = 2;
/// The server dropped the request without replying.
pub(crate) const STATUS_NO_REPLY: u64 = 3;

/// The topic of a service's descriptor (published by its server; its publisher is the server).
pub(crate) fn service_topic(service: &TopicName) -> String {
    format!("{}/.service", service.as_str())
}

/// The topic a client in slot `slot` writes its requests to.
pub(crate) fn call_topic(service: &TopicName, slot: usize) -> String {
    format!("{}/.call/{slot}", service.as_str())
}

/// The topic the server writes the replies of slot `slot` to.
pub(crate) fn reply_topic(service: &TopicName, slot: usize) -> String {
    format!("{}/.reply/{slot}", service.as_str())
}

/// A service name, checked as topic names are (its topics are `NAME/.service`, ...).
pub(crate) fn service_name(name: &str) -> Result<TopicName, NameError> {
    TopicName::new(name)
}

/// The schemas of one service: its descriptor, request envelope and reply envelope, and where
/// the payload sits in each envelope.
#[derive(Debug, Clone)]
pub(crate) struct Wire {
    pub(crate) request: Arc<TopicSchema>,
    pub(crate) reply: Arc<TopicSchema>,
    pub(crate) descriptor: Arc<TopicSchema>,
    pub(crate) request_envelope: Record,
    pub(crate) reply_envelope: Record,
}

/// A struct of `u64` words (named, from offset 0) and one value of another type after them,
/// padded explicitly: the envelopes of services and actions.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) schema: Arc<TopicSchema>,
    /// Offset of the value.
    at: usize,
    /// Its size.
    size: usize,
}

impl Record {
    /// The record `name { words..., value_name: value }`.
    pub(crate) fn new(
        name: &str,
        words: &[&str],
        value_name: &str,
        value: &SchemaDesc,
    ) -> Result<Record, String> {
        let mut fields = u64_fields(words);
        fields.push((value_name.to_owned(), value.clone()));
        let schema = schema_of(name, fields)?;
        Ok(Record {
            at: offset_of(&schema, value_name),
            size: value.size as usize,
            schema,
        })
    }

    /// A record of these words and value (`None`: zeros, a valid value of every type).
    pub(crate) fn bytes(&self, words: &[u64], value: Option<&[u8]>) -> Vec<u8> {
        let mut out = vec![0u8; self.schema.size()];
        for (i, w) in words.iter().enumerate() {
            put(&mut out, 8 * i, *w);
        }
        if let Some(value) = value {
            out[self.at..self.at + value.len()].copy_from_slice(value);
        }
        out
    }

    /// The value in a record's bytes.
    pub(crate) fn value<'a>(&self, record: &'a [u8]) -> &'a [u8] {
        &record[self.at..self.at + self.size]
    }
}

fn u64_fields(names: &[&str]) -> Vec<(String, SchemaDesc)> {
    names
        .iter()
        .map(|n| ((*n).to_owned(), SchemaDesc::primitive(Primitive::U64)))
        .collect()
}

/// The schema of the padded struct `name { fields... }`.
pub(crate) fn schema_of(
    name: &str,
    fields: Vec<(String, SchemaDesc)>,
) -> Result<Arc<TopicSchema>, String> {
    let desc = envelope(name, fields).map_err(|e| e.to_string())?;
    TopicSchema::new(&desc)
        .map(Arc::new)
        .map_err(|e: SchemaDecodeError| e.to_string())
}

/// Offsets of the words of the descriptor (`Service`).
pub(crate) const DESC_EPOCH: usize = 0;
pub(crate) const DESC_MAX_CLIENTS: usize = 8;
pub(crate) const DESC_PER_CLIENT: usize = 16;
pub(crate) const DESC_QUEUE: usize = 24;
/// The descriptor's words before its types.
pub(crate) const DESC_SIZE: usize = 32;

/// Offsets of the words of a request envelope (`ServiceRequest`).
pub(crate) const REQ_EPOCH: usize = 0;
pub(crate) const REQ_CLIENT: usize = 8;

/// Offsets of the words of a reply envelope (`ServiceReply`).
pub(crate) const REP_SEQ: usize = 0;
pub(crate) const REP_EPOCH: usize = 8;
pub(crate) const REP_CLIENT: usize = 16;
pub(crate) const REP_STATUS: usize = 24;

impl Wire {
    /// The schemas of a service of these request and reply types; refused (as
    /// [`CreateError::UnsupportedType`]) when an envelope cannot be built.
    pub(crate) fn new(
        request: Arc<TopicSchema>,
        reply: Arc<TopicSchema>,
    ) -> Result<Wire, CreateError> {
        let build = || -> Result<Wire, String> {
            let mut desc = u64_fields(&["epoch", "max_clients", "per_client", "queue"]);
            desc.push(("request".to_owned(), request.desc().clone()));
            desc.push(("reply".to_owned(), reply.desc().clone()));
            Ok(Wire {
                descriptor: schema_of("Service", desc)?,
                request_envelope: Record::new(
                    "ServiceRequest",
                    &["epoch", "client"],
                    "request",
                    request.desc(),
                )?,
                reply_envelope: Record::new(
                    "ServiceReply",
                    &["request_seq", "epoch", "client", "status"],
                    "reply",
                    reply.desc(),
                )?,
                request: Arc::clone(&request),
                reply: Arc::clone(&reply),
            })
        };
        build().map_err(|detail| CreateError::UnsupportedType { detail })
    }

    /// The request and reply schemas a service's descriptor schema was built from (what a
    /// client that knows no types learns from a server), or `None` when it is not one.
    pub(crate) fn of_descriptor(descriptor: &TopicSchema) -> Option<Wire> {
        let DescKind::Struct(fields) = &descriptor.desc().kind else {
            return None;
        };
        let field = |name: &str| fields.iter().find(|f: &&FieldDesc| f.name == name);
        let request = TopicSchema::new(&field("request")?.ty).ok()?;
        let reply = TopicSchema::new(&field("reply")?.ty).ok()?;
        let wire = Wire::new(Arc::new(request), Arc::new(reply)).ok()?;
        (wire.descriptor.hash() == descriptor.hash()).then_some(wire)
    }

    /// A descriptor value.
    pub(crate) fn descriptor_bytes(&self, epoch: u64, limits: [u64; 3]) -> Vec<u8> {
        let mut out = vec![0u8; self.descriptor.size()];
        put(&mut out, DESC_EPOCH, epoch);
        put(&mut out, DESC_MAX_CLIENTS, limits[0]);
        put(&mut out, DESC_PER_CLIENT, limits[1]);
        put(&mut out, DESC_QUEUE, limits[2]);
        out
    }

    /// A request envelope around `request` (one value of the request type).
    pub(crate) fn request_bytes(&self, epoch: u64, client: u64, request: &[u8]) -> Vec<u8> {
        self.request_envelope.bytes(&[epoch, client], Some(request))
    }

    /// A reply envelope; `reply` is one value of the reply type, or `None` (zeros, a valid
    /// value of every type) for a status without a reply.
    pub(crate) fn reply_bytes(&self, head: ReplyHead, reply: Option<&[u8]>) -> Vec<u8> {
        let words = [head.request_seq, head.epoch, head.client, head.status];
        self.reply_envelope.bytes(&words, reply)
    }

    /// The request in a request envelope.
    pub(crate) fn request_of<'a>(&self, envelope: &'a [u8]) -> &'a [u8] {
        self.request_envelope.value(envelope)
    }

    /// The reply in a reply envelope.
    pub(crate) fn reply_of<'a>(&self, envelope: &'a [u8]) -> &'a [u8] {
        self.reply_envelope.value(envelope)
    }
}

/// The words before a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReplyHead {
    pub(crate) request_seq: u64,
    pub(crate) epoch: u64,
    pub(crate) client: u64,
    pub(crate) status: u64,
}

impl ReplyHead {
    pub(crate) fn of(envelope: &[u8]) -> ReplyHead {
        ReplyHead {
            request_seq: word(envelope, REP_SEQ),
            epoch: word(envelope, REP_EPOCH),
            client: word(envelope, REP_CLIENT),
            status: word(envelope, REP_STATUS),
        }
    }
}

/// Checks that `bytes` are exactly one valid value of `schema` (`TopicSchema::validate`
/// accepts longer bytes, whose tail it ignores: a request or reply is copied whole).
pub(crate) fn check_value(schema: &TopicSchema, bytes: &[u8]) -> Result<(), ValueError> {
    if bytes.len() != schema.size() {
        return Err(ValueError::new(
            "",
            ValueErrorKind::Length,
            format!(
                "{} bytes are not a value of `{}`, which has {} bytes",
                bytes.len(),
                crate::text::printable(&schema.type_name()),
                schema.size()
            ),
        ));
    }
    schema.validate(bytes)
}

/// The `u64` at `at` of a value (native byte order). Panics past the end: callers read the
/// fixed words of an envelope whose size the schema guarantees.
pub(crate) fn word(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_ne_bytes(w)
}

fn put(bytes: &mut [u8], at: usize, v: u64) {
    bytes[at..at + 8].copy_from_slice(&v.to_ne_bytes());
}

fn offset_of(schema: &TopicSchema, field: &str) -> usize {
    match &schema.desc().kind {
        DescKind::Struct(fields) => fields
            .iter()
            .find(|f| f.name == field)
            .map_or(0, |f| f.offset as usize),
        _ => 0,
    }
}

/// A `#[repr(C)]` struct of these fields with the gaps a compiler would leave filled by
/// explicit `_padN: [u8; n]` fields (a value in shared memory has no padding).
fn envelope(name: &str, fields: Vec<(String, SchemaDesc)>) -> Result<SchemaDesc, LayoutError> {
    let align = fields
        .iter()
        .map(|(_, t)| t.align.max(1))
        .max()
        .unwrap_or(1);
    let mut out = Vec::with_capacity(fields.len() + 2);
    let mut end = 0u64;
    let mut pad = 0;
    let mut gap = |out: &mut Vec<(String, SchemaDesc)>, bytes: u64| {
        if bytes > 0 {
            let filler = SchemaDesc::array(SchemaDesc::primitive(Primitive::U8), bytes);
            out.push((format!("_pad{pad}"), filler));
            pad += 1;
        }
    };
    for (field, ty) in fields {
        let at = end.next_multiple_of(ty.align.max(1));
        gap(&mut out, at - end);
        end = at.saturating_add(ty.size);
        out.push((field, ty));
    }
    gap(&mut out, end.next_multiple_of(align) - end);
    SchemaDesc::c_struct(name, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(p: Primitive) -> Arc<TopicSchema> {
        Arc::new(TopicSchema::new(&SchemaDesc::primitive(p)).unwrap())
    }

    #[test]
    fn envelopes_fill_their_gaps_and_name_their_payloads() {
        let wire = Wire::new(of(Primitive::U8), of(Primitive::I32)).unwrap();
        assert_eq!(wire.request_envelope.at, 16);
        assert_eq!(
            wire.request_envelope.schema.size(),
            24,
            "8 + 8 + 1, then 7 bytes to 8"
        );
        assert_eq!(wire.reply_envelope.at, 32);
        assert_eq!(wire.reply_envelope.schema.size(), 40);
        let DescKind::Struct(fields) = &wire.request_envelope.schema.desc().kind else {
            panic!("a struct");
        };
        let names: Vec<_> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["epoch", "client", "request", "_pad0"]);
        let bytes = wire.request_bytes(7, 9, &[42]);
        assert_eq!((word(&bytes, REQ_EPOCH), word(&bytes, REQ_CLIENT)), (7, 9));
        assert_eq!(wire.request_of(&bytes), [42]);
        let head = ReplyHead {
            request_seq: 3,
            epoch: 7,
            client: 9,
            status: STATUS_BUSY,
        };
        let reply = wire.reply_bytes(head, Some(&5i32.to_ne_bytes()));
        assert_eq!(ReplyHead::of(&reply), head);
        assert_eq!(wire.reply_of(&reply), 5i32.to_ne_bytes());
    }

    #[test]
    fn a_descriptor_gives_back_its_types() {
        let wire = Wire::new(of(Primitive::F64), of(Primitive::Bool)).unwrap();
        let back = Wire::of_descriptor(&wire.descriptor).unwrap();
        assert_eq!(back.request.hash(), wire.request.hash());
        assert_eq!(back.reply.hash(), wire.reply.hash());
        assert!(Wire::of_descriptor(&of(Primitive::U64)).is_none());
    }
}

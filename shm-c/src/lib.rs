//! The C API of shm: typed publish/subscribe between processes over shared memory, from C.
//! Its header, `<shm/shm.h>`, is generated from this file by cbindgen and kept in the
//! repository (a test fails when it drifts).
//!
//! # Conventions
//! - A function that can fail returns a [`shm_status`]: `SHM_OK`, an outcome that is no error
//!   (`SHM_NO_DATA`, `SHM_TIMEOUT`, `SHM_PUBLISHER_GONE`), or an error (`SHM_ERR_*`), whose
//!   message (the Rust library's wording) [`shm_last_error_message`] returns on the same thread.
//! - Handles are owned by the caller once a constructor returned `SHM_OK`, and freed with their
//!   `*_drop` function (which accepts `NULL`). A constructor that fails leaves `*out` `NULL`.
//! - No panic crosses this boundary: one inside becomes `SHM_ERR_PANIC` (a bug: drop the handle
//!   it happened on, whose state is then unknown).
//! - Thread safety: a schema and a client may be used from any number of threads at once; a
//!   publisher, a subscriber, a server, a request or a struct builder from one thread at a time
//!   (it may move between threads).
//! - Strings are NUL-terminated UTF-8; pointers documented as optional may be `NULL`.

#![allow(non_camel_case_types)]

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use shm::dynamic::{AnyPublisher, AnySubscriber, RawValue, TopicSchema};
use shm::schema::{Primitive, SchemaDesc};
use shm::service::{AnyClient, AnyRequest, AnyServer, CallError, ReplyError, ServerError};
use shm::{CreateError, PublishError, RecvError, RemoveError, Sample, SubscribeError, TopicOwner};

/// What a call of this API came to.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum shm_status {
    /// Done.
    SHM_OK = 0,
    /// No value (none published yet, or none newer than the last one returned).
    SHM_NO_DATA = 1,
    /// No new value within the timeout.
    SHM_TIMEOUT = 2,
    /// The topic's publisher exited (or was killed) while the wait went on.
    SHM_PUBLISHER_GONE = 3,
    /// A null pointer, a string that is no UTF-8, a buffer of the wrong size, an option out of
    /// range.
    SHM_ERR_INVALID_ARGUMENT = 10,
    /// The topic name is not valid.
    SHM_ERR_INVALID_NAME = 11,
    /// The topic carries another type; the message names the fields that differ.
    SHM_ERR_SCHEMA_MISMATCH = 12,
    /// The struct would have padding, or two fields of one name: the message says where.
    SHM_ERR_LAYOUT = 13,
    /// Another live publisher holds the topic.
    SHM_ERR_TOPIC_BUSY = 14,
    /// The topic's file belongs to another user than the one trusted (or others may write it).
    SHM_ERR_FOREIGN_FILE = 15,
    /// The file or directory may not be opened by this process.
    SHM_ERR_PERMISSION = 16,
    /// The topic's file is damaged or of another format.
    SHM_ERR_FORMAT = 17,
    /// The bytes are not a value of the type (a `bool` that is neither 0 nor 1, a length
    /// above a capacity).
    SHM_ERR_INVALID_VALUE = 18,
    /// Another failure of the file system.
    SHM_ERR_IO = 19,
    /// A bug inside the library (a panic), caught at the boundary.
    SHM_ERR_PANIC = 20,
    /// Anything else; the message says what.
    SHM_ERR_OTHER = 21,
    /// The publisher overwrote the value on every attempt to copy it: try again.
    SHM_ERR_CONTENDED = 22,
    /// This publisher's topic was taken by another publisher after its file was removed:
    /// it publishes no more (drop it).
    SHM_ERR_DISPLACED = 23,
    /// No server runs for the service.
    SHM_ERR_NO_SERVER = 24,
    /// The server exited (or was killed) before it answered.
    SHM_ERR_SERVER_GONE = 25,
    /// The server's queue is full, it admits no more clients, or this client already waits
    /// for as many replies as the server allows one client: try again later.
    SHM_ERR_SERVER_BUSY = 26,
    /// The request was not a value of the request type (the server said so, or a server
    /// received one: it was answered so, and serving goes on).
    SHM_ERR_BAD_REQUEST = 27,
    /// The server dropped the request without answering it.
    SHM_ERR_NO_REPLY = 28,
}

use shm_status::*;

/// Every status, for `shm_status_name`.
const ALL_STATUSES: [shm_status; 23] = [
    SHM_OK,
    SHM_NO_DATA,
    SHM_TIMEOUT,
    SHM_PUBLISHER_GONE,
    SHM_ERR_INVALID_ARGUMENT,
    SHM_ERR_INVALID_NAME,
    SHM_ERR_SCHEMA_MISMATCH,
    SHM_ERR_LAYOUT,
    SHM_ERR_TOPIC_BUSY,
    SHM_ERR_FOREIGN_FILE,
    SHM_ERR_PERMISSION,
    SHM_ERR_FORMAT,
    SHM_ERR_INVALID_VALUE,
    SHM_ERR_IO,
    SHM_ERR_PANIC,
    SHM_ERR_OTHER,
    SHM_ERR_CONTENDED,
    SHM_ERR_DISPLACED,
    SHM_ERR_NO_SERVER,
    SHM_ERR_SERVER_GONE,
    SHM_ERR_SERVER_BUSY,
    SHM_ERR_BAD_REQUEST,
    SHM_ERR_NO_REPLY,
];

// What the documentation promises about threads: handles may move between threads, a schema
// may be shared.
const _: fn() = || {
    fn send<T: Send>() {}
    fn sync<T: Send + Sync>() {}
    send::<shm_publisher>();
    send::<shm_subscriber>();
    send::<shm_struct_builder>();
    send::<shm_server>();
    send::<shm_request>();
    sync::<shm_client>();
    sync::<shm_schema>();
};

/// The primitive types of a schema.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum shm_primitive {
    /// `bool` (one byte, 0 or 1).
    SHM_BOOL = 1,
    /// `int8_t`.
    SHM_I8 = 2,
    /// `int16_t`.
    SHM_I16 = 3,
    /// `int32_t`.
    SHM_I32 = 4,
    /// `int64_t`.
    SHM_I64 = 5,
    /// `uint8_t`.
    SHM_U8 = 6,
    /// `uint16_t`.
    SHM_U16 = 7,
    /// `uint32_t`.
    SHM_U32 = 8,
    /// `uint64_t`.
    SHM_U64 = 9,
    /// `float`.
    SHM_F32 = 10,
    /// `double`.
    SHM_F64 = 11,
}

/// A value's type: a primitive, an array, a struct, a bounded sequence or string. Made by the
/// `shm_schema_*` functions and `shm_struct_builder_finish`; freed with `shm_schema_drop`.
pub struct shm_schema {
    topic: Arc<TopicSchema>,
}

/// A struct type being described, field by field, in declaration order.
pub struct shm_struct_builder {
    name: String,
    fields: Vec<(String, SchemaDesc)>,
}

/// The publisher of one topic.
pub struct shm_publisher {
    inner: AnyPublisher,
}

/// A subscriber of one topic.
pub struct shm_subscriber {
    inner: AnySubscriber,
    size: usize,
    /// Values read by `shm_subscriber_recv_all` that did not fit, for its next call.
    pending: std::collections::VecDeque<Sample<RawValue>>,
}

/// Options of a publisher; all-zero (or a `NULL` pointer) means every default.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct shm_publisher_options {
    /// Directory of the topic files (`NULL`: `$SHM_ROOT`, else `/dev/shm`).
    pub root: *const c_char,
    /// Values the ring holds (0: the default, 3).
    pub buffer_num: u32,
    /// Permission bits of the topic file (0: `0600`, owner only; `0640`, `0644` widen reads).
    pub mode: u32,
}

/// Whose topic files a subscriber reads.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum shm_owner {
    /// This process's user (the default).
    SHM_OWNER_ME = 0,
    /// The user `owner_uid` names.
    SHM_OWNER_UID = 1,
    /// Any user (for tools that show who owns what).
    SHM_OWNER_ANYONE = 2,
}

/// Options of a subscriber; all-zero (or a `NULL` pointer) means every default.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct shm_subscriber_options {
    /// Directory of the topic files (`NULL`: `$SHM_ROOT`, else `/dev/shm`).
    pub root: *const c_char,
    /// Whose files to read: a `shm_owner` (an integer here, so that any value is defined
    /// behaviour; one that names no owner is `SHM_ERR_INVALID_ARGUMENT`).
    pub owner: u32,
    /// The user, with `SHM_OWNER_UID`.
    pub owner_uid: u32,
}

/// What came with a value.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct shm_sample_info {
    /// Its sequence number (1 for a topic's first value, +1 per publish).
    pub seq: u64,
    /// Values published between the previous new value returned and this one, never seen.
    pub missed: u64,
    /// When it was published (`CLOCK_MONOTONIC`, ns).
    pub published_ns: u64,
    /// Whether this subscriber had not returned it before (`shm_subscriber_latest` returns
    /// the newest value again, with `false`).
    pub is_new: bool,
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// A failure: its status and message.
struct Failure(shm_status, String);

fn fail<T>(status: shm_status, message: impl Into<String>) -> Result<T, Failure> {
    Err(Failure(status, message.into()))
}

/// Runs `body`, turning its failure or its panic into a status and the thread's last message.
fn guard(body: impl FnOnce() -> Result<shm_status, Failure>) -> shm_status {
    let (status, message) = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(status)) => return status,
        Ok(Err(Failure(status, message))) => (status, message),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_owned());
            (
                SHM_ERR_PANIC,
                format!("internal error in the shm library (please report it): {what}"),
            )
        }
    };
    // A message holds no NUL byte (one would be a bug of ours): cut there if it does.
    let message = message.split('\0').next().unwrap_or_default().to_owned();
    // (After the thread's locals were destroyed, in a destructor at its exit, the message is
    // lost rather than the process aborted.)
    let _ = LAST_ERROR.try_with(|e| {
        if let Ok(mut slot) = e.try_borrow_mut() {
            *slot = CString::new(message).unwrap_or_default();
        }
    });
    status
}

/// The message of the last call on this thread that failed, or that returned
/// `SHM_PUBLISHER_GONE`, or `SHM_TIMEOUT` from `shm_client_call` (`""` before any): valid until
/// the next such call on this thread.
#[unsafe(no_mangle)]
pub extern "C" fn shm_last_error_message() -> *const c_char {
    // The thread's buffer outlives the call; it is replaced only by a later failing call of
    // this thread, as documented.
    LAST_ERROR
        .try_with(|e| e.try_borrow().map_or(c"".as_ptr(), |m| m.as_ptr()))
        .unwrap_or(c"".as_ptr())
}

/// A name for a status (`"SHM_ERR_SCHEMA_MISMATCH"`), a static string; `"SHM_UNKNOWN"` for a
/// value that is no status (an integer here, so that any value is defined behaviour).
#[unsafe(no_mangle)]
pub extern "C" fn shm_status_name(status: u32) -> *const c_char {
    let known = ALL_STATUSES.iter().find(|s| **s as u32 == status);
    let Some(&status) = known else {
        return c"SHM_UNKNOWN".as_ptr();
    };
    let name: &'static CStr = match status {
        SHM_OK => c"SHM_OK",
        SHM_NO_DATA => c"SHM_NO_DATA",
        SHM_TIMEOUT => c"SHM_TIMEOUT",
        SHM_PUBLISHER_GONE => c"SHM_PUBLISHER_GONE",
        SHM_ERR_INVALID_ARGUMENT => c"SHM_ERR_INVALID_ARGUMENT",
        SHM_ERR_INVALID_NAME => c"SHM_ERR_INVALID_NAME",
        SHM_ERR_SCHEMA_MISMATCH => c"SHM_ERR_SCHEMA_MISMATCH",
        SHM_ERR_LAYOUT => c"SHM_ERR_LAYOUT",
        SHM_ERR_TOPIC_BUSY => c"SHM_ERR_TOPIC_BUSY",
        SHM_ERR_FOREIGN_FILE => c"SHM_ERR_FOREIGN_FILE",
        SHM_ERR_PERMISSION => c"SHM_ERR_PERMISSION",
        SHM_ERR_FORMAT => c"SHM_ERR_FORMAT",
        SHM_ERR_INVALID_VALUE => c"SHM_ERR_INVALID_VALUE",
        SHM_ERR_IO => c"SHM_ERR_IO",
        SHM_ERR_PANIC => c"SHM_ERR_PANIC",
        SHM_ERR_OTHER => c"SHM_ERR_OTHER",
        SHM_ERR_CONTENDED => c"SHM_ERR_CONTENDED",
        SHM_ERR_DISPLACED => c"SHM_ERR_DISPLACED",
        SHM_ERR_NO_SERVER => c"SHM_ERR_NO_SERVER",
        SHM_ERR_SERVER_GONE => c"SHM_ERR_SERVER_GONE",
        SHM_ERR_SERVER_BUSY => c"SHM_ERR_SERVER_BUSY",
        SHM_ERR_BAD_REQUEST => c"SHM_ERR_BAD_REQUEST",
        SHM_ERR_NO_REPLY => c"SHM_ERR_NO_REPLY",
    };
    name.as_ptr()
}

// ---- arguments ----

/// The string at `s` (`what` names it in the message).
///
/// # Safety
/// `s` is null or a NUL-terminated string valid for the call.
unsafe fn text<'a>(s: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if s.is_null() {
        return fail(SHM_ERR_INVALID_ARGUMENT, format!("{what} is NULL"));
    }
    // SAFETY: not null, and NUL-terminated and valid for the call (the caller's contract).
    let c = unsafe { CStr::from_ptr(s) };
    c.to_str().or_else(|_| {
        fail(
            SHM_ERR_INVALID_ARGUMENT,
            format!("{what} is not UTF-8 text"),
        )
    })
}

/// The optional string at `s`.
///
/// # Safety
/// As [`text`].
unsafe fn optional_text<'a>(s: *const c_char, what: &str) -> Result<Option<&'a str>, Failure> {
    if s.is_null() {
        Ok(None)
    } else {
        // SAFETY: the caller's contract.
        unsafe { text(s, what) }.map(Some)
    }
}

/// The object at `p`.
///
/// # Safety
/// `p` is null or points to a live object of this API, not used mutably elsewhere meanwhile.
unsafe fn object<'a, T>(p: *const T, what: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller's contract.
    unsafe { p.as_ref() }
        .ok_or_else(|| Failure(SHM_ERR_INVALID_ARGUMENT, format!("{what} is NULL")))
}

/// The object at `p`, to change.
///
/// # Safety
/// `p` is null or points to a live object of this API, used by this call only.
unsafe fn object_mut<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: the caller's contract.
    unsafe { p.as_mut() }
        .ok_or_else(|| Failure(SHM_ERR_INVALID_ARGUMENT, format!("{what} is NULL")))
}

/// Stores `value` (boxed) at `out`.
///
/// # Safety
/// `out` is null or valid for a write of a pointer.
unsafe fn give<T>(out: *mut *mut T, value: T) -> Result<shm_status, Failure> {
    if out.is_null() {
        return fail(SHM_ERR_INVALID_ARGUMENT, "the out pointer is NULL");
    }
    // SAFETY: not null, valid for a write (the caller's contract).
    unsafe { out.write(Box::into_raw(Box::new(value))) };
    Ok(SHM_OK)
}

/// Sets `*out` to NULL first, so that a failed constructor leaves it so.
///
/// # Safety
/// `out` is null or valid for a write of a pointer.
unsafe fn clear<T>(out: *mut *mut T) {
    if !out.is_null() {
        // SAFETY: not null, valid for a write (the caller's contract).
        unsafe { out.write(std::ptr::null_mut()) };
    }
}

/// Frees a handle made by [`give`] (`NULL` is ignored); a panic in its drop stays here.
///
/// # Safety
/// `p` is null or a handle of this type from this API, not used afterwards.
unsafe fn drop_handle<T>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: made by `Box::into_raw` in `give`, given back once (the caller's contract).
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(p) })));
    }
}

// ---- schemas ----

fn schema_of(desc: SchemaDesc) -> Result<shm_schema, Failure> {
    TopicSchema::new(&desc)
        .map(|t| shm_schema { topic: Arc::new(t) })
        .or_else(|e| fail(SHM_ERR_LAYOUT, e.to_string()))
}

/// A primitive type: `kind` is a `shm_primitive` (an integer here, so that any value a C
/// caller passes is defined behaviour: one that names no primitive is
/// `SHM_ERR_INVALID_ARGUMENT`).
///
/// # Safety
/// `out` is valid for a write of a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_schema_primitive(kind: u32, out: *mut *mut shm_schema) -> shm_status {
    // SAFETY: the caller's contract.
    unsafe { clear(out) };
    guard(|| {
        use shm_primitive as k;
        let p = match kind {
            x if x == k::SHM_BOOL as u32 => Primitive::Bool,
            x if x == k::SHM_I8 as u32 => Primitive::I8,
            x if x == k::SHM_I16 as u32 => Primitive::I16,
            x if x == k::SHM_I32 as u32 => Primitive::I32,
            x if x == k::SHM_I64 as u32 => Primitive::I64,
            x if x == k::SHM_U8 as u32 => Primitive::U8,
            x if x == k::SHM_U16 as u32 => Primitive::U16,
            x if x == k::SHM_U32 as u32 => Primitive::U32,
            x if x == k::SHM_U64 as u32 => Primitive::U64,
            x if x == k::SHM_F32 as u32 => Primitive::F32,
            x if x == k::SHM_F64 as u32 => Primitive::F64,
            other => {
                return fail(
                    SHM_ERR_INVALID_ARGUMENT,
                    format!("{other} is no shm_primitive"),
                );
            }
        };
        let schema = schema_of(SchemaDesc::primitive(p))?;
        // SAFETY: the caller's contract.
        unsafe { give(out, schema) }
    })
}

/// An array of `len` elements of `elem` (which stays the caller's).
///
/// # Safety
/// `elem` is a live schema; `out` is valid for a write of a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_schema_array(
    elem: *const shm_schema,
    len: u64,
    out: *mut *mut shm_schema,
) -> shm_status {
    // SAFETY: the caller's contract.
    unsafe { clear(out) };
    guard(|| {
        // SAFETY: the caller's contract.
        let elem = unsafe { object(elem, "elem") }?;
        if len == 0 {
            return fail(
                SHM_ERR_INVALID_ARGUMENT,
                "an array has at least one element",
            );
        }
        let schema = schema_of(SchemaDesc::array(elem.topic.desc().clone(), len))?;
        // SAFETY: the caller's contract.
        unsafe { give(out, schema) }
    })
}

/// A bounded UTF-8 string of at most `cap` bytes (Rust's `BoundedString<cap>`).
///
/// # Safety
/// `out` is valid for a write of a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_schema_string(cap: u64, out: *mut *mut shm_schema) -> shm_status {
    // SAFETY: the caller's contract.
    unsafe { clear(out) };
    guard(|| {
        let desc = SchemaDesc::string(cap).or_else(|e| fail(SHM_ERR_LAYOUT, e.to_string()))?;
        let schema = schema_of(desc)?;
        // SAFETY: the caller's contract.
        unsafe { give(out, schema) }
    })
}

/// A bounded sequence of at most `cap` elements of `elem` (Rust's `BoundedVec<elem, cap>`).
///
/// # Safety
/// `elem` is a live schema; `out` is valid for a write of a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_schema_sequence(
    elem: *const shm_schema,
    cap: u64,
    out: *mut *mut shm_schema,
) -> shm_status {
    // SAFETY: the caller's contract.
    unsafe { clear(out) };
    guard(|| {
        // SAFETY: the caller's contract.
        let elem = unsafe { object(elem, "elem") }?;
        let desc = SchemaDesc::sequence(elem.topic.desc().clone(), cap)
            .or_else(|e| fail(SHM_ERR_LAYOUT, e.to_string()))?;
        let schema = schema_of(desc)?;
        // SAFETY: the caller's contract.
        unsafe { give(out, schema) }
    })
}

/// Starts describing a struct named `name` (the name is part of the type: `Pose` here must be
/// `Pose` in Rust and Python).
///
/// # Safety
/// `name` is a NUL-terminated string; `out` is valid for a write of a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_struct_builder_new(
    name: *const c_char,
    out: *mut *mut shm_struct_builder,
) -> shm_status {
    // SAFETY: the caller's contract.
    unsafe { clear(out) };
    guard(|| {
        // SAFETY: the caller's contract.
        let name = unsafe { text(name, "name") }?.to_owned();
        // SAFETY: the caller's contract.
        unsafe {
            give(
                out,
                shm_struct_builder {
                    name,
                    fields: Vec::new(),
                },
            )
        }
    })
}

/// Adds the next field, `name` of type `ty` (which stays the caller's).
///
/// # Safety
/// `builder` and `ty` are live; `name` is a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_struct_builder_add(
    builder: *mut shm_struct_builder,
    name: *const c_char,
    ty: *const shm_schema,
) -> shm_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let builder = unsafe { object_mut(builder, "builder") }?;
        // SAFETY: the caller's contract.
        let name = unsafe { text(name, "name") }?.to_owned();
        // SAFETY: the caller's contract.
        let ty = unsafe { object(ty, "ty") }?;
        builder.fields.push((name, ty.topic.desc().clone()));
        Ok(SHM_OK)
    })
}

/// The struct described, laid out as a C compiler lays it out: `SHM_ERR_LAYOUT` when that
/// leaves padding (the message names the field after which, and how many bytes). Frees the
/// builder, whatever the outcome.
///
/// # Safety
/// `builder` is a live builder, not used afterwards; `out` is valid for a write of a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_struct_builder_finish(
    builder: *mut shm_struct_builder,
    out: *mut *mut shm_schema,
) -> shm_status {
    // SAFETY: the caller's contract.
    unsafe { clear(out) };
    guard(|| {
        if builder.is_null() {
            return fail(SHM_ERR_INVALID_ARGUMENT, "builder is NULL");
        }
        // SAFETY: a builder from `shm_struct_builder_new`, given back once.
        let builder = unsafe { Box::from_raw(builder) };
        if builder.fields.is_empty() {
            return fail(
                SHM_ERR_LAYOUT,
                format!("struct `{}` has no field", builder.name),
            );
        }
        let desc = SchemaDesc::c_struct(&builder.name, builder.fields)
            .or_else(|e| fail(SHM_ERR_LAYOUT, e.to_string()))?;
        let schema = schema_of(desc)?;
        // SAFETY: the caller's contract.
        unsafe { give(out, schema) }
    })
}

/// Frees a builder not finished (`NULL` is ignored).
///
/// # Safety
/// `builder` is null or a live builder, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_struct_builder_drop(builder: *mut shm_struct_builder) {
    // SAFETY: the caller's contract.
    unsafe { drop_handle(builder) };
}

/// The size of a value of the type, in bytes (0 for `NULL`).
///
/// # Safety
/// `schema` is null or a live schema.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_schema_size(schema: *const shm_schema) -> usize {
    // SAFETY: the caller's contract.
    unsafe { schema.as_ref() }.map_or(0, |s| s.topic.size())
}

/// The type's structural hash (what a topic's header records; equal for equal types in Rust,
/// Python, C and C++). 0 for `NULL`.
///
/// # Safety
/// `schema` is null or a live schema.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_schema_hash(schema: *const shm_schema) -> u64 {
    // SAFETY: the caller's contract.
    unsafe { schema.as_ref() }.map_or(0, |s| s.topic.hash())
}

/// Frees a schema (`NULL` is ignored). Publishers and subscribers made with it keep their own.
///
/// # Safety
/// `schema` is null or a live schema, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_schema_drop(schema: *mut shm_schema) {
    // SAFETY: the caller's contract.
    unsafe { drop_handle(schema) };
}

// ---- errors of the library ----

fn create_failure(e: CreateError) -> Failure {
    Failure(create_failure_status(&e), e.to_string())
}

fn create_failure_status(e: &CreateError) -> shm_status {
    match e {
        CreateError::InvalidName(_) => SHM_ERR_INVALID_NAME,
        CreateError::InvalidBufferNum { .. } | CreateError::InvalidMode { .. } => {
            SHM_ERR_INVALID_ARGUMENT
        }
        CreateError::Busy { .. } => SHM_ERR_TOPIC_BUSY,
        CreateError::ForeignFile { .. } => SHM_ERR_FOREIGN_FILE,
        CreateError::PermissionDenied(_) => SHM_ERR_PERMISSION,
        CreateError::Format { .. } => SHM_ERR_FORMAT,
        CreateError::Io(_) => SHM_ERR_IO,
        CreateError::UnsupportedType { .. } | CreateError::TooLarge { .. } => SHM_ERR_LAYOUT,
        _ => SHM_ERR_OTHER,
    }
}

fn subscribe_failure(e: SubscribeError) -> Failure {
    Failure(subscribe_failure_status(&e), e.to_string())
}

fn subscribe_failure_status(e: &SubscribeError) -> shm_status {
    match e {
        SubscribeError::InvalidName(_) => SHM_ERR_INVALID_NAME,
        SubscribeError::SchemaMismatch(_) => SHM_ERR_SCHEMA_MISMATCH,
        SubscribeError::Format { .. } => SHM_ERR_FORMAT,
        SubscribeError::UntrustedOwner { .. } => SHM_ERR_FOREIGN_FILE,
        SubscribeError::InvalidValue { .. } => SHM_ERR_INVALID_VALUE,
        SubscribeError::PermissionDenied(_) => SHM_ERR_PERMISSION,
        SubscribeError::Io(_) => SHM_ERR_IO,
        SubscribeError::Contended { .. } => SHM_ERR_CONTENDED,
        SubscribeError::WrongBufferSize { .. } => SHM_ERR_INVALID_ARGUMENT,
        _ => SHM_ERR_OTHER,
    }
}

fn publish_failure(e: PublishError) -> Failure {
    Failure(publish_failure_status(&e), e.to_string())
}

fn publish_failure_status(e: &PublishError) -> shm_status {
    match e {
        PublishError::InvalidValue(_) => SHM_ERR_INVALID_VALUE,
        PublishError::WrongSize { .. } => SHM_ERR_INVALID_ARGUMENT,
        PublishError::Displaced { .. } => SHM_ERR_DISPLACED,
        _ => SHM_ERR_OTHER,
    }
}

// ---- publishers ----

/// Creates the publisher of `topic` with values of `schema` (or takes the topic over from a
/// publisher that is gone). `options` may be `NULL`.
///
/// # Safety
/// `topic` is a NUL-terminated string; `schema` is live; `options` is null or valid to read
/// (its `root` null or a NUL-terminated string); `out` is valid for a write of a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_publisher_new(
    topic: *const c_char,
    schema: *const shm_schema,
    options: *const shm_publisher_options,
    out: *mut *mut shm_publisher,
) -> shm_status {
    // SAFETY: the caller's contract.
    unsafe { clear(out) };
    guard(|| {
        // SAFETY: the caller's contract.
        let topic = unsafe { text(topic, "topic") }?;
        // SAFETY: the caller's contract.
        let schema = unsafe { object(schema, "schema") }?;
        // SAFETY: the caller's contract.
        let options = unsafe { options.as_ref() };
        let mut builder = AnyPublisher::builder(topic, Arc::clone(&schema.topic));
        if let Some(o) = options {
            // SAFETY: the caller's contract.
            if let Some(root) = unsafe { optional_text(o.root, "options.root") }? {
                builder = builder.root(root);
            }
            if o.buffer_num != 0 {
                builder = builder.buffer_num(o.buffer_num as usize);
            }
            if o.mode != 0 {
                builder = builder.mode(o.mode);
            }
        }
        let inner = builder.create().map_err(create_failure)?;
        // SAFETY: the caller's contract.
        unsafe { give(out, shm_publisher { inner }) }
    })
}

/// Publishes the value at `value` (`size` bytes: the schema's size); its sequence number goes
/// to `seq` (optional). Wait-free, no system call unless a subscriber sleeps waiting.
///
/// # Safety
/// `publisher` is live; `value` is valid for reads of `size` bytes; `seq` is null or valid
/// for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_publish(
    publisher: *mut shm_publisher,
    value: *const core::ffi::c_void,
    size: usize,
    seq: *mut u64,
) -> shm_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let publisher = unsafe { object_mut(publisher, "publisher") }?;
        if value.is_null() {
            return fail(SHM_ERR_INVALID_ARGUMENT, "value is NULL");
        }
        let want = publisher.inner.schema().size();
        if size != want {
            // Before the bytes are looked at: `size` may say more than the caller has.
            return fail(
                SHM_ERR_INVALID_ARGUMENT,
                format!("the value is {size} bytes, but a value of this topic's type is {want}"),
            );
        }
        // SAFETY: `value` is valid for reads of `size` bytes (the caller's contract), the
        // type's size; the bytes are the caller's, not another process's.
        let bytes = unsafe { std::slice::from_raw_parts(value.cast::<u8>(), size) };
        let n = publisher.inner.publish(bytes).map_err(publish_failure)?;
        // SAFETY: the caller's contract.
        unsafe { put(seq, n) };
        Ok(SHM_OK)
    })
}

/// Frees a publisher (`NULL` is ignored): the topic and its last value stay for subscribers
/// and the next publisher.
///
/// # Safety
/// `publisher` is null or live, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_publisher_drop(publisher: *mut shm_publisher) {
    // SAFETY: the caller's contract.
    unsafe { drop_handle(publisher) };
}

// ---- subscribers ----

/// Opens a subscriber of `topic`, reading values of `schema` only (a topic of another type is
/// `SHM_ERR_SCHEMA_MISMATCH`, its message naming the fields). Succeeds when the topic does
/// not exist yet. `options` may be `NULL`.
///
/// # Safety
/// As for `shm_publisher_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_subscriber_new(
    topic: *const c_char,
    schema: *const shm_schema,
    options: *const shm_subscriber_options,
    out: *mut *mut shm_subscriber,
) -> shm_status {
    // SAFETY: the caller's contract.
    unsafe { clear(out) };
    guard(|| {
        // SAFETY: the caller's contract.
        let topic = unsafe { text(topic, "topic") }?;
        // SAFETY: the caller's contract.
        let schema = unsafe { object(schema, "schema") }?;
        // SAFETY: the caller's contract.
        let options = unsafe { options.as_ref() };
        let mut builder = AnySubscriber::builder(topic).expect(Arc::clone(&schema.topic));
        if let Some(o) = options {
            // SAFETY: the caller's contract.
            if let Some(root) = unsafe { optional_text(o.root, "options.root") }? {
                builder = builder.root(root);
            }
            builder = builder.owner(owner_of(o.owner, o.owner_uid, "options.owner")?);
        }
        let inner = builder.open().map_err(subscribe_failure)?;
        let sub = shm_subscriber {
            inner,
            size: schema.topic.size(),
            pending: Default::default(),
        };
        // SAFETY: the caller's contract.
        unsafe { give(out, sub) }
    })
}

/// The owner a `shm_owner` integer names (`what` names the field in the message).
fn owner_of(owner: u32, uid: u32, what: &str) -> Result<TopicOwner, Failure> {
    match owner {
        x if x == shm_owner::SHM_OWNER_ME as u32 => Ok(TopicOwner::Me),
        x if x == shm_owner::SHM_OWNER_UID as u32 => Ok(TopicOwner::Uid(uid)),
        x if x == shm_owner::SHM_OWNER_ANYONE as u32 => Ok(TopicOwner::Anyone),
        other => fail(
            SHM_ERR_INVALID_ARGUMENT,
            format!("{what} {other} is no shm_owner"),
        ),
    }
}

/// The writable buffer at `out` of `size` bytes, checked against the subscriber's type.
///
/// # Safety
/// `out` is null or valid for writes of `size` bytes, not read by anyone meanwhile.
unsafe fn out_buffer<'a>(
    sub: &shm_subscriber,
    out: *mut core::ffi::c_void,
    size: usize,
) -> Result<&'a mut [u8], Failure> {
    if out.is_null() {
        return fail(SHM_ERR_INVALID_ARGUMENT, "out is NULL");
    }
    if size != sub.size {
        return fail(
            SHM_ERR_INVALID_ARGUMENT,
            format!(
                "the buffer holds {size} bytes, but a value of this topic's type is {} bytes",
                sub.size
            ),
        );
    }
    // SAFETY: valid for writes of `size` bytes, this process's own memory (the caller's
    // contract).
    Ok(unsafe { std::slice::from_raw_parts_mut(out.cast::<u8>(), size) })
}

fn info_of<T>(sample: &Sample<T>) -> shm_sample_info {
    shm_sample_info {
        seq: sample.seq,
        missed: sample.missed,
        published_ns: sample.published.as_nanos(),
        is_new: sample.is_new,
    }
}

/// Writes `value` at `p` if it is not null (an optional out parameter).
///
/// # Safety
/// `p` is null or valid for a write.
unsafe fn put<T>(p: *mut T, value: T) {
    if !p.is_null() {
        // SAFETY: not null, valid for a write (the caller's contract).
        unsafe { p.write(value) };
    }
}

/// Copies a read sample's value out and reports it.
///
/// # Safety
/// As [`out_buffer`] and [`put`].
unsafe fn deliver(
    sub: &shm_subscriber,
    sample: &Sample<RawValue>,
    out: *mut core::ffi::c_void,
    size: usize,
    info: *mut shm_sample_info,
) -> Result<shm_status, Failure> {
    // SAFETY: the caller's contract.
    let buf = unsafe { out_buffer(sub, out, size) }?;
    buf.copy_from_slice(&sample.value.bytes);
    // SAFETY: the caller's contract.
    unsafe { put(info, info_of(sample)) };
    Ok(SHM_OK)
}

/// The newest value (whether or not returned before) into `out` (`size` bytes: the schema's
/// size), and what came with it into `info` (optional): `SHM_OK`, or `SHM_NO_DATA` when none
/// was published yet. Never waits.
///
/// # Safety
/// `subscriber` is live; `out` is valid for writes of `size` bytes; `info` is null or valid
/// for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_subscriber_latest(
    subscriber: *mut shm_subscriber,
    out: *mut core::ffi::c_void,
    size: usize,
    info: *mut shm_sample_info,
) -> shm_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let sub = unsafe { object_mut(subscriber, "subscriber") }?;
        // SAFETY: the caller's contract.
        let buf = unsafe { out_buffer(sub, out, size) }?;
        match sub.inner.latest_into(buf).map_err(subscribe_failure)? {
            Some(sample) => {
                let mut info_now = info_of(&sample);
                // Values `shm_subscriber_recv_all` read but did not hand out were never the
                // caller's: the newest is new to it if it is one of them. They are passed over
                // now, as older values are by a read of the newest.
                if let Some(first) = sub.pending.front() {
                    info_now.is_new |= sample.seq >= first.seq;
                    sub.pending.clear();
                }
                // SAFETY: the caller's contract.
                unsafe { put(info, info_now) };
                Ok(SHM_OK)
            }
            None => Ok(SHM_NO_DATA),
        }
    })
}

/// The next value this subscriber has not returned yet (the newest one: a slow reader skips,
/// `info.missed` says how many): `SHM_OK`, or `SHM_NO_DATA`. Never waits.
///
/// # Safety
/// As for `shm_subscriber_latest`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_subscriber_try_recv(
    subscriber: *mut shm_subscriber,
    out: *mut core::ffi::c_void,
    size: usize,
    info: *mut shm_sample_info,
) -> shm_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let sub = unsafe { object_mut(subscriber, "subscriber") }?;
        // Checked before reading: a wrong buffer is no reason to consume a value.
        // SAFETY: the caller's contract.
        let buf = unsafe { out_buffer(sub, out, size) }?;
        // Values `shm_subscriber_recv_all` read and could not hand out come first.
        if let Some(sample) = sub.pending.pop_front() {
            buf.copy_from_slice(&sample.value.bytes);
            // SAFETY: the caller's contract.
            unsafe { put(info, info_of(&sample)) };
            return Ok(SHM_OK);
        }
        // Straight into the caller's buffer, no allocation.
        match sub.inner.try_recv_into(buf).map_err(subscribe_failure)? {
            Some(sample) => {
                // SAFETY: the caller's contract.
                unsafe { put(info, info_of(&sample)) };
                Ok(SHM_OK)
            }
            None => Ok(SHM_NO_DATA),
        }
    })
}

/// Waits up to `timeout_ns` for a value this subscriber has not returned yet: `SHM_OK`,
/// `SHM_TIMEOUT`, or `SHM_PUBLISHER_GONE` when the publisher exited during the wait.
///
/// # Safety
/// As for `shm_subscriber_latest`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_subscriber_recv_timeout(
    subscriber: *mut shm_subscriber,
    out: *mut core::ffi::c_void,
    size: usize,
    timeout_ns: u64,
    info: *mut shm_sample_info,
) -> shm_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let sub = unsafe { object_mut(subscriber, "subscriber") }?;
        // Checked before waiting: a wrong buffer is no reason to consume a value.
        // SAFETY: the caller's contract.
        unsafe { out_buffer(sub, out, size) }?;
        if let Some(sample) = sub.pending.pop_front() {
            // SAFETY: the caller's contract.
            return unsafe { deliver(sub, &sample, out, size, info) };
        }
        match sub.inner.recv_timeout(Duration::from_nanos(timeout_ns)) {
            // SAFETY: the caller's contract.
            Ok(sample) => unsafe { deliver(sub, &sample, out, size, info) },
            Err(RecvError::Timeout { .. }) => Ok(SHM_TIMEOUT),
            // Not an error, but its message (which publisher, when) is the caller's too.
            Err(e @ RecvError::PublisherGone { .. }) => fail(SHM_PUBLISHER_GONE, e.to_string()),
            Err(RecvError::Subscribe(e)) => Err(subscribe_failure(e)),
            Err(e) => fail(SHM_ERR_OTHER, e.to_string()),
        }
    })
}

/// Every value not returned yet that the ring still holds, oldest first: up to `capacity`
/// values into `out` (an array of `capacity` values of `size` bytes each) and their infos into
/// `infos` (optional: `capacity` entries); how many into `count`. Values that did not fit are
/// returned by the next call. Never waits; `SHM_OK` even when `count` is 0.
///
/// # Safety
/// `subscriber` is live; `out` is valid for writes of `capacity * size` bytes; `infos` is
/// null or valid for `capacity` writes, not overlapping `out`; `count` is valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_subscriber_recv_all(
    subscriber: *mut shm_subscriber,
    out: *mut core::ffi::c_void,
    capacity: usize,
    size: usize,
    infos: *mut shm_sample_info,
    count: *mut usize,
) -> shm_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let sub = unsafe { object_mut(subscriber, "subscriber") }?;
        if count.is_null() {
            return fail(SHM_ERR_INVALID_ARGUMENT, "count is NULL");
        }
        if capacity == 0 {
            return fail(SHM_ERR_INVALID_ARGUMENT, "capacity is 0: room for no value");
        }
        // Checked before reading: a wrong buffer is no reason to consume values.
        // SAFETY: the caller's contract (`out` is valid for at least one value).
        unsafe { out_buffer(sub, out, size) }?;
        if sub.pending.is_empty() {
            let mut batch = Vec::new();
            let read = sub.inner.try_recv_all_into(&mut batch);
            // Values read before a failure are the caller's all the same: kept.
            sub.pending.extend(batch);
            read.map_err(subscribe_failure)?;
        }
        let n = capacity.min(sub.pending.len());
        // SAFETY: `out` is valid for writes of `capacity * size` bytes, this process's memory
        // (the caller's contract), of which the first `n * size` are written.
        let all = unsafe { std::slice::from_raw_parts_mut(out.cast::<u8>(), n * size) };
        for (i, sample) in sub.pending.drain(..n).enumerate() {
            all[i * size..(i + 1) * size].copy_from_slice(&sample.value.bytes);
            if !infos.is_null() {
                // SAFETY: `i < capacity`, and `infos` is valid for `capacity` writes (and does
                // not overlap `out`: the caller's contract).
                unsafe { infos.add(i).write(info_of(&sample)) };
            }
        }
        // SAFETY: not null, valid for a write (the caller's contract).
        unsafe { count.write(n) };
        Ok(SHM_OK)
    })
}

/// Whether a live publisher holds the topic, into `alive`.
///
/// # Safety
/// `subscriber` is live; `alive` is valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_subscriber_publisher_alive(
    subscriber: *mut shm_subscriber,
    alive: *mut bool,
) -> shm_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let sub = unsafe { object_mut(subscriber, "subscriber") }?;
        if alive.is_null() {
            return fail(SHM_ERR_INVALID_ARGUMENT, "alive is NULL");
        }
        let is = sub.inner.publisher_alive().map_err(subscribe_failure)?;
        // SAFETY: not null, valid for a write (the caller's contract).
        unsafe { alive.write(is) };
        Ok(SHM_OK)
    })
}

/// Frees a subscriber (`NULL` is ignored).
///
/// # Safety
/// `subscriber` is null or live, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_subscriber_drop(subscriber: *mut shm_subscriber) {
    // SAFETY: the caller's contract.
    unsafe { drop_handle(subscriber) };
}

// ---- services ----

/// The server of one service: requests of one type in, replies of another out.
pub struct shm_server {
    inner: AnyServer,
    request_size: usize,
    reply_size: usize,
}

/// One request a server received, to answer once with `shm_request_reply` (or to drop: its
/// client is then told `SHM_ERR_NO_REPLY`).
pub struct shm_request {
    inner: AnyRequest,
    reply_size: usize,
}

/// A client of one service. May be used by several threads at once (each call waits for its
/// own reply; at most the server's `per_client` calls wait at once, more are
/// `SHM_ERR_SERVER_BUSY`).
pub struct shm_client {
    inner: AnyClient,
    request_size: usize,
    reply_size: usize,
}

/// Options of a server; all-zero (or a `NULL` pointer) means every default.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct shm_server_options {
    /// Directory of the service's files (`NULL`: `$SHM_ROOT`, else `/dev/shm`).
    pub root: *const c_char,
    /// Clients served at once (0: the default, 64; at most 1024).
    pub max_clients: u32,
    /// Requests received and not yet answered, at most (0: the default).
    pub queue: u32,
    /// Calls of one client waiting for their replies at once, at most (0: the default, 8); a
    /// client's call beyond it is `SHM_ERR_SERVER_BUSY`.
    pub per_client: u32,
}

/// Options of a client; all-zero (or a `NULL` pointer) means every default.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct shm_client_options {
    /// Directory of the service's files (`NULL`: `$SHM_ROOT`, else `/dev/shm`).
    pub root: *const c_char,
    /// Whose server to trust: a `shm_owner` (an integer, as `shm_subscriber_options.owner`).
    pub server_owner: u32,
    /// The user, with `SHM_OWNER_UID`.
    pub server_uid: u32,
}

fn call_failure(e: CallError) -> Failure {
    let status = match &e {
        CallError::Timeout { .. } => SHM_TIMEOUT,
        CallError::ServerGone { .. } => SHM_ERR_SERVER_GONE,
        CallError::NoServer { .. } => SHM_ERR_NO_SERVER,
        CallError::Busy { .. } | CallError::TooManyClients { .. } => SHM_ERR_SERVER_BUSY,
        CallError::SchemaMismatch(_) => SHM_ERR_SCHEMA_MISMATCH,
        CallError::BadRequest { .. } => SHM_ERR_BAD_REQUEST,
        CallError::NoReply { .. } => SHM_ERR_NO_REPLY,
        CallError::InvalidRequest(_) => SHM_ERR_INVALID_VALUE,
        CallError::NotAService { .. } => SHM_ERR_FORMAT,
        CallError::UntrustedServer { .. } => SHM_ERR_FOREIGN_FILE,
        CallError::NotAdmitted { .. } => SHM_ERR_PERMISSION,
        CallError::InvalidName(_) => SHM_ERR_INVALID_NAME,
        CallError::Open(e) => subscribe_failure_status(e),
        CallError::Claim(e) => create_failure_status(e),
        CallError::Send(e) => publish_failure_status(e),
        _ => SHM_ERR_OTHER,
    };
    Failure(status, e.to_string())
}

fn reply_failure(e: ReplyError) -> Failure {
    let status = match &e {
        ReplyError::Invalid(_) => SHM_ERR_INVALID_VALUE,
        ReplyError::Create(e) => create_failure_status(e),
        ReplyError::Publish(e) => publish_failure_status(e),
        _ => SHM_ERR_IO,
    };
    Failure(status, e.to_string())
}

/// Starts serving `name` with requests of `request` and replies of `reply` (the schemas stay
/// the caller's). One server per service: another live one is `SHM_ERR_TOPIC_BUSY`; one that
/// is gone is taken over. `options` may be `NULL`.
///
/// # Safety
/// `name` is a NUL-terminated string; `request` and `reply` are live schemas; `options` is
/// null or valid to read (its `root` null or a NUL-terminated string); `out` is valid for a
/// write of a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_server_new(
    name: *const c_char,
    request: *const shm_schema,
    reply: *const shm_schema,
    options: *const shm_server_options,
    out: *mut *mut shm_server,
) -> shm_status {
    // SAFETY: the caller's contract.
    unsafe { clear(out) };
    guard(|| {
        // SAFETY: the caller's contract.
        let name = unsafe { text(name, "name") }?;
        // SAFETY: the caller's contract.
        let request = unsafe { object(request, "request schema") }?;
        // SAFETY: the caller's contract.
        let reply = unsafe { object(reply, "reply schema") }?;
        let mut builder =
            AnyServer::builder(name, Arc::clone(&request.topic), Arc::clone(&reply.topic));
        // SAFETY: the caller's contract.
        if let Some(o) = unsafe { options.as_ref() } {
            // SAFETY: the caller's contract.
            if let Some(root) = unsafe { optional_text(o.root, "options.root") }? {
                builder = builder.root(root);
            }
            if o.max_clients as usize > shm::service::MAX_CLIENTS {
                return fail(
                    SHM_ERR_INVALID_ARGUMENT,
                    format!(
                        "options.max_clients {} is out of range; use 1 to {}",
                        o.max_clients,
                        shm::service::MAX_CLIENTS
                    ),
                );
            }
            if o.per_client as usize > shm::service::MAX_PER_CLIENT {
                return fail(
                    SHM_ERR_INVALID_ARGUMENT,
                    format!(
                        "options.per_client {} is out of range; use 1 to {}",
                        o.per_client,
                        shm::service::MAX_PER_CLIENT
                    ),
                );
            }
            if o.max_clients != 0 {
                builder = builder.max_clients(o.max_clients as usize);
            }
            if o.queue != 0 {
                builder = builder.queue(o.queue as usize);
            }
            if o.per_client != 0 {
                builder = builder.per_client(o.per_client as usize);
            }
        }
        let inner = builder.create().map_err(create_failure)?;
        let server = shm_server {
            inner,
            request_size: request.topic.size(),
            reply_size: reply.topic.size(),
        };
        // SAFETY: the caller's contract.
        unsafe { give(out, server) }
    })
}

/// Hands a received request to the caller: its value into `value_out`, the request (to
/// answer) into `out`.
///
/// # Safety
/// `value_out` is valid for writes of the request type's size; `out` for a pointer.
unsafe fn hand_out(
    server: &shm_server,
    request: AnyRequest,
    value_out: *mut core::ffi::c_void,
    out: *mut *mut shm_request,
) -> Result<shm_status, Failure> {
    let bytes = request.bytes();
    if bytes.len() != server.request_size {
        return fail(
            SHM_ERR_FORMAT,
            format!(
                "the request is {} bytes, not the request type's {}",
                bytes.len(),
                server.request_size
            ),
        );
    }
    // SAFETY: `bytes` is the request's value, exactly the request type's size (checked just
    // above), and `value_out` is valid for that many bytes (the caller's contract, its size
    // checked before); the two do not overlap (`bytes` is ours).
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), value_out.cast::<u8>(), bytes.len()) };
    let handle = shm_request {
        inner: request,
        reply_size: server.reply_size,
    };
    // SAFETY: the caller's contract.
    unsafe { give(out, handle) }
}

/// Checks a server call's arguments before anything is received.
fn check_request_buffer(
    server: &shm_server,
    value_out: *mut core::ffi::c_void,
    size: usize,
    out: *mut *mut shm_request,
) -> Result<(), Failure> {
    if value_out.is_null() || out.is_null() {
        return fail(SHM_ERR_INVALID_ARGUMENT, "request_out or out is NULL");
    }
    if size != server.request_size {
        return fail(
            SHM_ERR_INVALID_ARGUMENT,
            format!(
                "the request buffer is {size} bytes, but a request of this service is {}",
                server.request_size
            ),
        );
    }
    Ok(())
}

/// Waits up to `timeout_ns` for a request: `SHM_OK` with its value in `request_out` (`size`
/// bytes: the request type's size) and the request to answer in `*out`, or `SHM_TIMEOUT`. A
/// request that is no value of the type was answered so (`SHM_ERR_BAD_REQUEST`, with a
/// message): serving goes on with the next call.
///
/// # Safety
/// `server` is live; `request_out` is valid for writes of `size` bytes; `out` is valid for a
/// write of a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_server_recv_timeout(
    server: *mut shm_server,
    request_out: *mut core::ffi::c_void,
    size: usize,
    timeout_ns: u64,
    out: *mut *mut shm_request,
) -> shm_status {
    // SAFETY: the caller's contract.
    unsafe { clear(out) };
    guard(|| {
        // SAFETY: the caller's contract.
        let server = unsafe { object_mut(server, "server") }?;
        check_request_buffer(server, request_out, size, out)?;
        match server.inner.recv_timeout(Duration::from_nanos(timeout_ns)) {
            // SAFETY: the caller's contract, the sizes checked above.
            Ok(request) => unsafe { hand_out(server, request, request_out, out) },
            Err(ServerError::Timeout { .. }) => Ok(SHM_TIMEOUT),
            Err(e @ ServerError::BadRequest { .. }) => fail(SHM_ERR_BAD_REQUEST, e.to_string()),
            Err(e) => fail(SHM_ERR_OTHER, e.to_string()),
        }
    })
}

/// A request if one has arrived (`SHM_OK`, as `shm_server_recv_timeout`), else
/// `SHM_NO_DATA`. Never waits.
///
/// # Safety
/// As for `shm_server_recv_timeout`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_server_try_recv(
    server: *mut shm_server,
    request_out: *mut core::ffi::c_void,
    size: usize,
    out: *mut *mut shm_request,
) -> shm_status {
    // SAFETY: the caller's contract.
    unsafe { clear(out) };
    guard(|| {
        // SAFETY: the caller's contract.
        let server = unsafe { object_mut(server, "server") }?;
        check_request_buffer(server, request_out, size, out)?;
        match server.inner.try_recv() {
            // SAFETY: the caller's contract, the sizes checked above.
            Ok(Some(request)) => unsafe { hand_out(server, request, request_out, out) },
            Ok(None) => Ok(SHM_NO_DATA),
            Err(e @ ServerError::BadRequest { .. }) => fail(SHM_ERR_BAD_REQUEST, e.to_string()),
            Err(e) => fail(SHM_ERR_OTHER, e.to_string()),
        }
    })
}

/// Frees a server (`NULL` is ignored): requests still held are answered `SHM_ERR_NO_REPLY`
/// when dropped; clients waiting are told the server is gone.
///
/// # Safety
/// `server` is null or live, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_server_drop(server: *mut shm_server) {
    // SAFETY: the caller's contract.
    unsafe { drop_handle(server) };
}

/// Answers `request` with the reply at `reply` (`size` bytes: the reply type's size), and
/// frees the request whatever the outcome. A client that stopped waiting drops the reply.
/// `SHM_ERR_INVALID_VALUE` when the bytes are no value of the reply type, or the arguments are
/// refused (the client is then told `SHM_ERR_NO_REPLY`); when the reply cannot be written (a
/// file system error), the client waits until its timeout.
///
/// # Safety
/// `request` is a live request, not used afterwards; `reply` is valid for reads of `size`
/// bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_request_reply(
    request: *mut shm_request,
    reply: *const core::ffi::c_void,
    size: usize,
) -> shm_status {
    guard(|| {
        if request.is_null() {
            return fail(SHM_ERR_INVALID_ARGUMENT, "request is NULL");
        }
        // SAFETY: made by `give`, given back once (the caller's contract).
        let request = unsafe { Box::from_raw(request) };
        if reply.is_null() {
            return fail(SHM_ERR_INVALID_ARGUMENT, "reply is NULL");
        }
        if size != request.reply_size {
            return fail(
                SHM_ERR_INVALID_ARGUMENT,
                format!(
                    "the reply is {size} bytes, but a reply of this service is {}",
                    request.reply_size
                ),
            );
        }
        // SAFETY: `reply` is valid for reads of `size` bytes (the caller's contract); they
        // are the caller's, not another process's.
        let bytes = unsafe { std::slice::from_raw_parts(reply.cast::<u8>(), size) };
        request.inner.reply(bytes).map_err(reply_failure)?;
        Ok(SHM_OK)
    })
}

/// Frees a request without answering it (`NULL` is ignored): its client is told
/// `SHM_ERR_NO_REPLY`.
///
/// # Safety
/// `request` is null or live, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_request_drop(request: *mut shm_request) {
    // SAFETY: the caller's contract.
    unsafe { drop_handle(request) };
}

/// The sequence number of `request` in its client's stream (0 for `NULL`).
///
/// # Safety
/// `request` is null or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_request_seq(request: *const shm_request) -> u64 {
    // SAFETY: the caller's contract.
    unsafe { request.as_ref() }.map_or(0, |r| r.inner.seq())
}

/// A client of `name`, for requests of `request` and replies of `reply` (the schemas stay the
/// caller's). Succeeds when no server runs yet: a call then is `SHM_ERR_NO_SERVER`. `options`
/// may be `NULL`.
///
/// # Safety
/// As for `shm_server_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_client_new(
    name: *const c_char,
    request: *const shm_schema,
    reply: *const shm_schema,
    options: *const shm_client_options,
    out: *mut *mut shm_client,
) -> shm_status {
    // SAFETY: the caller's contract.
    unsafe { clear(out) };
    guard(|| {
        // SAFETY: the caller's contract.
        let name = unsafe { text(name, "name") }?;
        // SAFETY: the caller's contract.
        let request = unsafe { object(request, "request schema") }?;
        // SAFETY: the caller's contract.
        let reply = unsafe { object(reply, "reply schema") }?;
        let mut builder =
            AnyClient::builder(name).types(Arc::clone(&request.topic), Arc::clone(&reply.topic));
        // SAFETY: the caller's contract.
        if let Some(o) = unsafe { options.as_ref() } {
            // SAFETY: the caller's contract.
            if let Some(root) = unsafe { optional_text(o.root, "options.root") }? {
                builder = builder.root(root);
            }
            builder = builder.server_owner(owner_of(
                o.server_owner,
                o.server_uid,
                "options.server_owner",
            )?);
        }
        let inner = builder.create().map_err(call_failure)?;
        let client = shm_client {
            inner,
            request_size: request.topic.size(),
            reply_size: reply.topic.size(),
        };
        // SAFETY: the caller's contract.
        unsafe { give(out, client) }
    })
}

/// Sends the request at `request` (`request_size` bytes: the request type's size) and waits up
/// to `timeout_ns` for its reply, into `reply_out` (`reply_size` bytes: the reply type's size):
/// `SHM_OK`, `SHM_TIMEOUT` (a late reply goes nowhere), or an error: `SHM_ERR_NO_SERVER`,
/// `SHM_ERR_SERVER_GONE`, `SHM_ERR_SERVER_BUSY`, `SHM_ERR_SCHEMA_MISMATCH` (the server serves
/// other types), `SHM_ERR_BAD_REQUEST`, `SHM_ERR_NO_REPLY`, `SHM_ERR_INVALID_VALUE` (the
/// request is no value of its type: nothing was sent), ...
///
/// # Safety
/// `client` is live; `request` is valid for reads of `request_size` bytes; `reply_out` for
/// writes of `reply_size` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_client_call(
    client: *const shm_client,
    request: *const core::ffi::c_void,
    request_size: usize,
    reply_out: *mut core::ffi::c_void,
    reply_size: usize,
    timeout_ns: u64,
) -> shm_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let client = unsafe { object(client, "client") }?;
        if request.is_null() || reply_out.is_null() {
            return fail(SHM_ERR_INVALID_ARGUMENT, "request or reply_out is NULL");
        }
        if request_size != client.request_size || reply_size != client.reply_size {
            return fail(
                SHM_ERR_INVALID_ARGUMENT,
                format!(
                    "the request is {request_size} bytes and the reply buffer {reply_size}, but this service's are {} and {}",
                    client.request_size, client.reply_size
                ),
            );
        }
        // SAFETY: valid for reads of `request_size` bytes (the caller's contract); the
        // caller's memory, not another process's.
        let bytes = unsafe { std::slice::from_raw_parts(request.cast::<u8>(), request_size) };
        let reply = client
            .inner
            .call(bytes, Duration::from_nanos(timeout_ns))
            .map_err(call_failure)?;
        if reply.len() != reply_size {
            return fail(
                SHM_ERR_FORMAT,
                format!(
                    "the reply is {} bytes, not the reply type's {reply_size}",
                    reply.len()
                ),
            );
        }
        // SAFETY: `reply_out` is valid for `reply_size` bytes (the caller's contract), the
        // reply is that long, and ours (no overlap).
        unsafe {
            std::ptr::copy_nonoverlapping(reply.as_ptr(), reply_out.cast::<u8>(), reply_size)
        };
        Ok(SHM_OK)
    })
}

/// Frees a client (`NULL` is ignored).
///
/// # Safety
/// `client` is null or live, not used afterwards (by any thread).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_client_drop(client: *mut shm_client) {
    // SAFETY: the caller's contract.
    unsafe { drop_handle(client) };
}

// ---- topics ----

/// Removes `topic`'s file from `root` (`NULL`: `$SHM_ROOT`, else `/dev/shm`) unless a live
/// publisher holds it (`SHM_ERR_TOPIC_BUSY`); whether there was one into `existed` (optional).
///
/// # Safety
/// `topic` is a NUL-terminated string; `root` is null or one; `existed` is null or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shm_remove_topic(
    topic: *const c_char,
    root: *const c_char,
    existed: *mut bool,
) -> shm_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let topic = unsafe { text(topic, "topic") }?;
        // SAFETY: the caller's contract.
        let root = unsafe { optional_text(root, "root") }?;
        let result = match root {
            Some(root) => shm::remove_topic_in(std::path::Path::new(root), topic),
            None => shm::remove_topic(topic),
        };
        let was = result.map_err(|e| {
            let status = match &e {
                RemoveError::Busy { .. } => SHM_ERR_TOPIC_BUSY,
                RemoveError::InvalidName(_) => SHM_ERR_INVALID_NAME,
                RemoveError::ForeignFile { .. } => SHM_ERR_FOREIGN_FILE,
                RemoveError::PermissionDenied(_) => SHM_ERR_PERMISSION,
                _ => SHM_ERR_IO,
            };
            Failure(status, e.to_string())
        })?;
        // SAFETY: the caller's contract.
        unsafe { put(existed, was) };
        Ok(SHM_OK)
    })
}

/// Panics inside the library: for the test that no panic crosses the boundary (returns
/// `SHM_ERR_PANIC`). Only in a library built with the `testing` feature.
#[cfg(feature = "testing")]
#[unsafe(no_mangle)]
pub extern "C" fn shm_testing_panic() -> shm_status {
    guard(|| panic!("a panic made on purpose by shm_testing_panic"))
}

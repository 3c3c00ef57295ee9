/* The C++17 layer of shm: typed publish/subscribe between processes over shared memory.
 *
 * Header-only, over the C API (<shm/shm.h>, libshm). A message is a plain struct plus one line
 * naming its fields, in declaration order:
 *
 *     struct Pose { double position[3]; double orientation[4]; uint32_t map_id; bool tracking;
 *                   uint8_t _reserved[3]; };
 *     SHM_MESSAGE(Pose, position, orientation, map_id, tracking, _reserved);
 *
 * which is the same type (schema and hash) as the Rust struct `#[derive(ShmMessage)]` and the
 * Python `Message` class of the same name and fields, so the three languages share a topic.
 * SHM_MESSAGE refuses at compile time what another process could not read: padding, a type that
 * is not trivially copyable or not standard layout, pointers, std::string, a field left out.
 * Guide: docs/c.md. */

#ifndef SHM_SHM_HPP
#define SHM_SHM_HPP

#if !defined(__cplusplus) || __cplusplus < 201703L
#error "<shm/shm.hpp> needs C++17 or later (-std=c++17)"
#endif

#include <shm/shm.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace shm {

// ---------------------------------------------------------------------------------------------
// Errors: every failure of the C API becomes an exception deriving from shm::Error (itself a
// std::runtime_error) whose what() is the library's message, the same wording as Rust's.

/// A failed call; `status()` says which kind, `what()` the library's message.
class Error : public std::runtime_error {
 public:
  Error(shm_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  /// The C API's status (`SHM_ERR_*`, or `SHM_PUBLISHER_GONE`).
  shm_status status() const noexcept { return status_; }

 private:
  shm_status status_;
};

#define SHM_DETAIL_ERROR(name, doc)                                                          \
  /** doc */                                                                                 \
  class name : public Error {                                                                \
   public:                                                                                   \
    using Error::Error;                                                                      \
  };

SHM_DETAIL_ERROR(InvalidArgument, "An argument out of range, or text that is no UTF-8.")
SHM_DETAIL_ERROR(InvalidName, "The topic name is not valid.")
SHM_DETAIL_ERROR(SchemaMismatch, "The topic carries another type; what() names the fields that differ.")
SHM_DETAIL_ERROR(LayoutError, "The struct would have padding, or two fields of one name.")
SHM_DETAIL_ERROR(TopicBusy, "Another live publisher holds the topic.")
SHM_DETAIL_ERROR(ForeignFile, "The topic's file belongs to another user than the one trusted.")
SHM_DETAIL_ERROR(PermissionDenied, "The file or directory may not be opened by this process.")
SHM_DETAIL_ERROR(FormatError, "The topic's file is damaged or of another format.")
SHM_DETAIL_ERROR(InvalidValue, "The bytes are not a value of the type (a bool neither 0 nor 1, a length above a capacity).")
SHM_DETAIL_ERROR(IoError, "Another failure of the file system.")
SHM_DETAIL_ERROR(InternalError, "A bug inside the library, caught at the boundary: drop the object it happened on.")
SHM_DETAIL_ERROR(Contended, "The publisher overwrote the value on every attempt to copy it: try again.")
SHM_DETAIL_ERROR(Displaced, "The topic was taken by another publisher after its file was removed: this one publishes no more.")
SHM_DETAIL_ERROR(PublisherGone, "The topic's publisher exited (or was killed) while a wait went on.")
SHM_DETAIL_ERROR(OtherError, "Any other failure; what() says what.")
SHM_DETAIL_ERROR(Timeout, "A call's reply did not come within its timeout (a late reply goes nowhere).")
SHM_DETAIL_ERROR(NoServer, "No server runs for the service.")
SHM_DETAIL_ERROR(ServerGone, "The server exited (or was killed) before it answered.")
SHM_DETAIL_ERROR(ServerBusy, "The server's queue is full or it admits no more clients: try again later.")
SHM_DETAIL_ERROR(BadRequest, "The request was not a value of the request type.")
SHM_DETAIL_ERROR(NoReply, "The server dropped the request without answering it.")
#undef SHM_DETAIL_ERROR

namespace detail {

/// Throws the exception class of `status` with `message`.
[[noreturn]] inline void throw_error(shm_status status, const std::string& message) {
  switch (status) {
    case SHM_ERR_INVALID_ARGUMENT: throw InvalidArgument(status, message);
    case SHM_ERR_INVALID_NAME: throw InvalidName(status, message);
    case SHM_ERR_SCHEMA_MISMATCH: throw SchemaMismatch(status, message);
    case SHM_ERR_LAYOUT: throw LayoutError(status, message);
    case SHM_ERR_TOPIC_BUSY: throw TopicBusy(status, message);
    case SHM_ERR_FOREIGN_FILE: throw ForeignFile(status, message);
    case SHM_ERR_PERMISSION: throw PermissionDenied(status, message);
    case SHM_ERR_FORMAT: throw FormatError(status, message);
    case SHM_ERR_INVALID_VALUE: throw InvalidValue(status, message);
    case SHM_ERR_IO: throw IoError(status, message);
    case SHM_ERR_PANIC: throw InternalError(status, message);
    case SHM_ERR_CONTENDED: throw Contended(status, message);
    case SHM_ERR_DISPLACED: throw Displaced(status, message);
    case SHM_PUBLISHER_GONE: throw PublisherGone(status, message);
    case SHM_TIMEOUT: throw Timeout(status, message);
    case SHM_ERR_NO_SERVER: throw NoServer(status, message);
    case SHM_ERR_SERVER_GONE: throw ServerGone(status, message);
    case SHM_ERR_SERVER_BUSY: throw ServerBusy(status, message);
    case SHM_ERR_BAD_REQUEST: throw BadRequest(status, message);
    case SHM_ERR_NO_REPLY: throw NoReply(status, message);
    default: throw OtherError(status, message);
  }
}

/// Throws the exception of a status the C API just returned, with its message.
[[noreturn]] inline void throw_status(shm_status status) {
  const char* text = shm_last_error_message();
  throw_error(status, text != nullptr && *text != '\0' ? std::string(text) : std::string(shm_status_name(status)));
}

/// A topic name for the C API: one with a NUL byte inside would be cut there, so it is refused.
inline const char* topic_name(const std::string& topic) {
  if (topic.find('\0') != std::string::npos) throw_error(SHM_ERR_INVALID_NAME, "invalid topic name: it contains a NUL byte");
  return topic.c_str();
}

inline void check(shm_status status) {
  if (status != SHM_OK) throw_status(status);
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Bounded values: the same layout as Rust's BoundedString<N> / BoundedVec<T, N> and Python's
// bounded fields (a 64-bit length, then the room). Aggregates, so that a message holding one
// stays a plain struct.

/// A UTF-8 string of at most `N` bytes (Rust's `BoundedString<N>`); `N` a multiple of 8.
template <std::size_t N>
struct alignas(8) BoundedString {
  static_assert(N % 8 == 0, "shm::BoundedString<N>: N must be a multiple of 8 (no padding may follow the bytes; round N up)");
  /// Bytes in use.
  std::uint64_t len = 0;
  /// The room; bytes past `len` are zero when published by shm.
  char bytes[N] = {};

  /// The capacity, `N`.
  static constexpr std::size_t capacity() noexcept { return N; }
  /// Bytes in use (at most `N`, however the value was made).
  std::size_t size() const noexcept { return len < N ? static_cast<std::size_t>(len) : N; }
  /// Whether it is empty.
  bool empty() const noexcept { return len == 0; }
  /// The text.
  std::string_view view() const noexcept { return std::string_view(bytes, size()); }
  /// The text.
  operator std::string_view() const noexcept { return view(); }
  /// Replaces the text; `std::length_error` when it is longer than `N` bytes (nothing changed).
  void assign(std::string_view text) {
    if (text.size() > N) throw std::length_error("shm::BoundedString: " + std::to_string(text.size()) + " bytes do not fit in " + std::to_string(N));
    std::memset(bytes, 0, N);
    if (!text.empty()) std::memcpy(bytes, text.data(), text.size());
    len = text.size();
  }
  /// A string holding `text`; `std::length_error` when it is longer than `N` bytes.
  static BoundedString from(std::string_view text) {
    BoundedString s;
    s.assign(text);
    return s;
  }
  friend bool operator==(const BoundedString& a, std::string_view b) noexcept { return a.view() == b; }
  friend bool operator!=(const BoundedString& a, std::string_view b) noexcept { return a.view() != b; }
};

/// At most `N` values of `T` (Rust's `BoundedVec<T, N>`); `N * sizeof(T)` a multiple of 8.
template <class T, std::size_t N>
struct alignas(8) BoundedVec {
  static_assert(N * sizeof(T) % 8 == 0 && alignof(T) <= 8, "shm::BoundedVec<T, N>: N * sizeof(T) must be a multiple of 8 (no padding may follow the elements; round N up), and T aligned to at most 8");
  /// Elements in use.
  std::uint64_t len = 0;
  /// The room; elements past `len` are zero when published by shm.
  T items[N] = {};

  /// The capacity, `N`.
  static constexpr std::size_t capacity() noexcept { return N; }
  /// Elements in use (at most `N`, however the value was made).
  std::size_t size() const noexcept { return len < N ? static_cast<std::size_t>(len) : N; }
  /// Whether it is empty.
  bool empty() const noexcept { return len == 0; }
  /// The elements.
  T* data() noexcept { return items; }
  /// The elements.
  const T* data() const noexcept { return items; }
  T* begin() noexcept { return items; }
  T* end() noexcept { return items + size(); }
  const T* begin() const noexcept { return items; }
  const T* end() const noexcept { return items + size(); }
  /// Element `i` (unchecked, as `std::vector`'s).
  T& operator[](std::size_t i) noexcept { return items[i]; }
  /// Element `i` (unchecked).
  const T& operator[](std::size_t i) const noexcept { return items[i]; }
  /// Appends; `std::length_error` when full (nothing changed).
  void push_back(const T& value) {
    if (size() >= N) throw std::length_error("shm::BoundedVec: full (capacity " + std::to_string(N) + ")");
    items[size()] = value;
    len = size() + 1;
  }
  /// Empties it (the room zeroed).
  void clear() noexcept {
    for (auto& item : items) item = T{};
    len = 0;
  }
};

// ---------------------------------------------------------------------------------------------
// Schemas: what a message's type is, built through the C API from the SHM_MESSAGE description.

/// An owned schema (`shm_schema*`), freed on destruction.
class Schema {
 public:
  Schema() noexcept = default;
  explicit Schema(shm_schema* raw) noexcept : raw_(raw) {}
  Schema(Schema&& other) noexcept : raw_(std::exchange(other.raw_, nullptr)) {}
  Schema& operator=(Schema&& other) noexcept {
    if (this != &other) {
      shm_schema_drop(raw_);
      raw_ = std::exchange(other.raw_, nullptr);
    }
    return *this;
  }
  Schema(const Schema&) = delete;
  Schema& operator=(const Schema&) = delete;
  ~Schema() { shm_schema_drop(raw_); }

  /// The C handle (still owned by this object).
  const shm_schema* get() const noexcept { return raw_; }
  /// Bytes of a value.
  std::size_t size() const noexcept { return shm_schema_size(raw_); }
  /// The structural hash a topic records (equal for equal types in every language).
  std::uint64_t hash() const noexcept { return shm_schema_hash(raw_); }

 private:
  shm_schema* raw_ = nullptr;
};

namespace detail {

template <class T>
struct tag {};

/// One field of a message: its name, and how to make its type's schema.
struct field_info {
  const char* name;
  Schema (*make)();
};

/// What SHM_MESSAGE says of a struct.
struct message_info {
  const char* name;
  const field_info* fields;
  std::size_t count;
};

template <class T, class = void>
struct has_message : std::false_type {};
template <class T>
struct has_message<T, std::void_t<decltype(shm_message_info(tag<T>{}))>> : std::true_type {};

template <class T>
struct is_bounded : std::false_type {};
template <std::size_t N>
struct is_bounded<BoundedString<N>> : std::true_type {};
template <class T, std::size_t N>
struct is_bounded<BoundedVec<T, N>> : std::true_type {};

/// The element type below every C array and std::array level.
template <class T>
struct element {
  using type = T;
};
template <class T, std::size_t N>
struct element<T[N]> : element<T> {};
template <class T, std::size_t N>
struct element<std::array<T, N>> : element<T> {};
template <class T>
using element_t = typename element<std::remove_cv_t<T>>::type;

/// Whether a field's type is const or volatile at any level of its arrays.
template <class T>
struct cv_inside : std::bool_constant<std::is_const_v<T> || std::is_volatile_v<T>> {};
template <class T, std::size_t N>
struct cv_inside<T[N]> : cv_inside<T> {};
template <class T, std::size_t N>
struct cv_inside<std::array<T, N>> : cv_inside<T> {};

template <class T>
constexpr bool is_character =
    std::is_same_v<T, char> || std::is_same_v<T, wchar_t> || std::is_same_v<T, char16_t> || std::is_same_v<T, char32_t>
#if defined(__cpp_char8_t)
    || std::is_same_v<T, char8_t>
#endif
    ;

/// bool, a fixed-width integer, float, double.
template <class T>
constexpr bool is_primitive = std::is_same_v<T, bool> || std::is_same_v<T, float> || std::is_same_v<T, double> ||
                              (std::is_integral_v<T> && !is_character<T> &&
                               (sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8));

template <class T>
struct is_std_string : std::false_type {};
template <class C, class Tr, class A>
struct is_std_string<std::basic_string<C, Tr, A>> : std::true_type {};
template <class C, class Tr>
struct is_std_string<std::basic_string_view<C, Tr>> : std::true_type {};

template <class T>
struct is_std_vector : std::false_type {};
template <class T, class A>
struct is_std_vector<std::vector<T, A>> : std::true_type {};

template <class T>
constexpr bool carriable_element();

/// Whether a field (or a topic) may have type `T`.
template <class T>
constexpr bool carriable() {
  using E = element_t<T>;
  return !std::is_reference_v<T> && carriable_element<std::remove_cv_t<E>>();
}

template <class T>
struct bounded_element_ok : std::true_type {};
template <class T, std::size_t N>
struct bounded_element_ok<BoundedVec<T, N>> : std::bool_constant<carriable<T>()> {};

template <class E>
constexpr bool carriable_element() {
  if constexpr (is_primitive<E>) {
    return true;
  } else if constexpr (is_bounded<E>::value) {
    return bounded_element_ok<E>::value;
  } else {
    return has_message<E>::value;
  }
}

/// A conversion to any type: counts a struct's fields (`T{{any}, {any}, ...}` compiles with at
/// most as many braces as it has fields).
struct any_field {
  template <class U>
  constexpr operator U() const noexcept;  // never defined: only in unevaluated operands
};
template <class T, class Seq, class = void>
struct brace_initializable : std::false_type {};
template <class T, std::size_t... I>
struct brace_initializable<T, std::index_sequence<I...>, std::void_t<decltype(T{{((void)I, any_field{})}...})>>
    : std::true_type {};
/// Whether `T` has exactly `N` fields (an aggregate).
template <class T, std::size_t N>
constexpr bool field_count_is() {
  if constexpr (!std::is_aggregate_v<T>) {
    return false;
  } else {
    return brace_initializable<T, std::make_index_sequence<N>>::value &&
           !brace_initializable<T, std::make_index_sequence<N + 1>>::value;
  }
}

/// Fails to compile with the number of padding bytes in its name
/// (`padding_bytes_after_field<Pose, 4>`); the SHM_MESSAGE assertion next to it names the field.
template <class Struct, std::size_t Bytes>
struct padding_bytes_after_field {
  static_assert(Bytes == 0, "shm: SHM_MESSAGE: padding (this template's second argument is how many bytes)");
  static constexpr bool none = Bytes == 0;
};

/// Stands in for padding_bytes_after_field when an earlier check failed already.
struct padding_unchecked {
  static constexpr bool none = true;
};
/// Checks the bytes between two fields only when the checks before it passed.
template <bool Check, class Struct, std::size_t Bytes>
using padding_check = std::conditional_t<Check, padding_bytes_after_field<Struct, Bytes>, padding_unchecked>;

/// The name after the last `::` (a message's schema name is its unqualified name).
constexpr const char* unqualified(const char* name) noexcept {
  const char* last = name;
  for (const char* p = name; *p != '\0'; ++p) {
    if (p[0] == ':' && p[1] == ':') last = p + 2;
  }
  return last;
}

inline Schema primitive(shm_primitive kind) {
  shm_schema* out = nullptr;
  check(shm_schema_primitive(static_cast<std::uint32_t>(kind), &out));
  return Schema(out);
}

template <class T>
Schema make_schema();

template <class T>
struct array_info {
  static constexpr bool is_array = false;
};
template <class T, std::size_t N>
struct array_info<T[N]> {
  static constexpr bool is_array = true;
  using elem = T;
  static constexpr std::size_t len = N;
};
template <class T, std::size_t N>
struct array_info<std::array<T, N>> : array_info<T[N]> {};

template <std::size_t N>
Schema make_bounded(tag<BoundedString<N>>);
template <class T, std::size_t N>
Schema make_bounded(tag<BoundedVec<T, N>>);

template <class T>
Schema make_struct() {
  const message_info info = shm_message_info(tag<T>{});
  shm_struct_builder* raw = nullptr;
  check(shm_struct_builder_new(info.name, &raw));
  struct builder_guard {
    shm_struct_builder* b;
    ~builder_guard() { shm_struct_builder_drop(b); }
  } guard{raw};
  for (std::size_t i = 0; i < info.count; ++i) {
    const Schema field = info.fields[i].make();
    check(shm_struct_builder_add(guard.b, info.fields[i].name, field.get()));
  }
  shm_schema* out = nullptr;
  const shm_status status = shm_struct_builder_finish(std::exchange(guard.b, nullptr), &out);
  check(status);
  Schema schema(out);
  if (schema.size() != sizeof(T)) {
    throw LayoutError(SHM_ERR_LAYOUT, std::string("shm: the fields of ") + info.name + " take " + std::to_string(schema.size()) +
                                          " bytes laid out as C lays them out, but the C++ struct has " + std::to_string(sizeof(T)) +
                                          " (an alignas, or a packed struct?)");
  }
  return schema;
}

/// A field's schema (a field of a type no message carries fails to compile with a message naming
/// it, from SHM_MESSAGE: this does not repeat it).
template <class T>
Schema field_schema() {
  if constexpr (carriable<T>()) {
    return make_schema<T>();
  } else {
    throw LayoutError(SHM_ERR_LAYOUT, "shm: not a type a message can carry");
  }
}

template <class T>
Schema make_schema() {
  using U = std::remove_cv_t<T>;
  static_assert(carriable<U>(), "shm: not a type a message can carry");
  if constexpr (array_info<U>::is_array) {
    const Schema elem = make_schema<typename array_info<U>::elem>();
    shm_schema* out = nullptr;
    check(shm_schema_array(elem.get(), array_info<U>::len, &out));
    return Schema(out);
  } else if constexpr (std::is_same_v<U, bool>) {
    return primitive(SHM_BOOL);
  } else if constexpr (std::is_same_v<U, float>) {
    return primitive(SHM_F32);
  } else if constexpr (std::is_same_v<U, double>) {
    return primitive(SHM_F64);
  } else if constexpr (std::is_integral_v<U>) {
    constexpr bool s = std::is_signed_v<U>;
    if constexpr (sizeof(U) == 1) return primitive(s ? SHM_I8 : SHM_U8);
    else if constexpr (sizeof(U) == 2) return primitive(s ? SHM_I16 : SHM_U16);
    else if constexpr (sizeof(U) == 4) return primitive(s ? SHM_I32 : SHM_U32);
    else return primitive(s ? SHM_I64 : SHM_U64);
  } else if constexpr (is_bounded<U>::value) {
    return make_bounded(tag<U>{});
  } else {
    return make_struct<U>();
  }
}

template <std::size_t N>
Schema make_bounded(tag<BoundedString<N>>) {
  shm_schema* out = nullptr;
  check(shm_schema_string(N, &out));
  return Schema(out);
}
template <class T, std::size_t N>
Schema make_bounded(tag<BoundedVec<T, N>>) {
  const Schema elem = make_schema<T>();
  shm_schema* out = nullptr;
  check(shm_schema_sequence(elem.get(), N, &out));
  return Schema(out);
}

}  // namespace detail

/// The schema of `T` (built once, on first use, and kept).
template <class T>
const Schema& schema_of() {
  static_assert(detail::carriable<T>(),
                "shm: not a message type: declare SHM_MESSAGE(T, fields...) after the struct (in its namespace), or use "
                "bool, a fixed-width integer, float, double, or an array of them");
  static const Schema schema = detail::make_schema<T>();
  return schema;
}

}  // namespace shm

namespace shm {
namespace detail {

/// A duration as whole nanoseconds for the C API: negative is 0, beyond 2^64 - 1 ns (584 years) is
/// that much.
template <class Rep, class Period>
std::uint64_t to_ns(std::chrono::duration<Rep, Period> timeout) {
  if (timeout <= timeout.zero()) return 0;
  const long double ns = std::chrono::duration<long double, std::nano>(timeout).count();
  if (!(ns < 18446744073709551615.0L)) return std::numeric_limits<std::uint64_t>::max();
  return static_cast<std::uint64_t>(ns);
}

}  // namespace detail
}  // namespace shm

namespace shm {

/// A value read, with what came with it.
template <class T>
struct Sample {
  /// The value.
  T value;
  /// Its sequence number (1 for a topic's first value, +1 per publish).
  std::uint64_t seq = 0;
  /// Values published between the previous new value returned and this one, never seen.
  std::uint64_t missed = 0;
  /// When it was published (CLOCK_MONOTONIC, ns).
  std::uint64_t published_ns = 0;
  /// Whether this subscriber had not returned it before (`latest()` returns the newest value
  /// again, with `false`).
  bool is_new = false;
};

namespace detail {

template <class T>
void fill(Sample<T>& sample, const shm_sample_info& info) noexcept {
  sample.seq = info.seq;
  sample.missed = info.missed;
  sample.published_ns = info.published_ns;
  sample.is_new = info.is_new;
}

template <class T>
Sample<T> sample(const void* value, const shm_sample_info& info) noexcept {
  Sample<T> s{};
  std::memcpy(static_cast<void*>(&s.value), value, sizeof(T));
  fill(s, info);
  return s;
}

}  // namespace detail

/// What came with a value read into the caller's own `T` (the `*_into` reads).
struct SampleInfo {
  /// Its sequence number.
  std::uint64_t seq = 0;
  /// Values published between the previous new value returned and this one, never seen.
  std::uint64_t missed = 0;
  /// When it was published (CLOCK_MONOTONIC, ns).
  std::uint64_t published_ns = 0;
  /// Whether this subscriber had not returned it before.
  bool is_new = false;
};

/// Options of a publisher; the defaults are the library's.
struct PublisherOptions {
  /// Directory of the topic files (empty: `$SHM_ROOT`, else `/dev/shm`).
  std::string root;
  /// Values the ring holds (0: the default, 3).
  std::uint32_t buffer_num = 0;
  /// Permission bits of the topic file (0: `0600`, owner only; `0640`, `0644` widen reads).
  std::uint32_t mode = 0;
};

/// Whose topic files a subscriber reads.
enum class Owner : std::uint32_t {
  /// This process's user (the default).
  Me = SHM_OWNER_ME,
  /// The user `SubscriberOptions::owner_uid` names.
  Uid = SHM_OWNER_UID,
  /// Any user (for tools that show who owns what).
  Anyone = SHM_OWNER_ANYONE,
};

/// Options of a subscriber; the defaults are the library's.
struct SubscriberOptions {
  /// Directory of the topic files (empty: `$SHM_ROOT`, else `/dev/shm`).
  std::string root;
  /// Whose files to read.
  Owner owner = Owner::Me;
  /// The user, with `Owner::Uid`.
  std::uint32_t owner_uid = 0;
};

/// The publisher of one topic, of values of `T` (a type with SHM_MESSAGE, or a primitive or an
/// array of them). Move-only; one thread at a time (it may move between threads).
template <class T>
class Publisher {
  static_assert(detail::carriable<T>(),
                "shm::Publisher<T>: T is not a message type: declare SHM_MESSAGE(T, fields...) after the struct (in its "
                "namespace), or use bool, a fixed-width integer, float, double, or an array of them");

 public:
  /// Creates the publisher of `topic` (or takes the topic over from a publisher that is gone).
  /// Throws shm::TopicBusy (another live publisher holds it), shm::SchemaMismatch is not
  /// thrown: a publisher replaces a topic of another type only when its publisher is gone.
  explicit Publisher(const std::string& topic, const PublisherOptions& options = {}) {
    shm_publisher_options raw{};
    raw.root = options.root.empty() ? nullptr : options.root.c_str();
    raw.buffer_num = options.buffer_num;
    raw.mode = options.mode;
    detail::check(shm_publisher_new(detail::topic_name(topic), schema_of<T>().get(), &raw, &raw_));
  }
  Publisher(Publisher&& other) noexcept : raw_(std::exchange(other.raw_, nullptr)) {}
  Publisher& operator=(Publisher&& other) noexcept {
    if (this != &other) {
      shm_publisher_drop(raw_);
      raw_ = std::exchange(other.raw_, nullptr);
    }
    return *this;
  }
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;
  /// Frees the publisher: the topic and its last value stay for subscribers and the next
  /// publisher.
  ~Publisher() { shm_publisher_drop(raw_); }

  /// Publishes `value`; returns its sequence number. Wait-free, no system call unless a
  /// subscriber sleeps waiting. Throws shm::InvalidValue (a bool neither 0 nor 1, a bounded
  /// length above its capacity) and shm::Displaced.
  std::uint64_t publish(const T& value) {
    std::uint64_t seq = 0;
    const shm_status status = shm_publish(handle(), &value, sizeof(T), &seq);
    if (status != SHM_OK) detail::throw_status(status);
    return seq;
  }

  /// The C handle (still owned by this object).
  shm_publisher* c_handle() const noexcept { return raw_; }

 private:
  shm_publisher* handle() const {
    if (raw_ == nullptr) throw InvalidArgument(SHM_ERR_INVALID_ARGUMENT, "shm::Publisher: used after it was moved from");
    return raw_;
  }
  shm_publisher* raw_ = nullptr;
};

/// A subscriber of one topic, reading values of `T` only (a topic of another type throws
/// shm::SchemaMismatch, naming the fields that differ). Move-only; one thread at a time.
template <class T>
class Subscriber {
  static_assert(!detail::cv_inside<T>::value, "shm::Subscriber<T>: T is const or volatile: a subscriber writes the values it reads");
  static_assert(detail::carriable<T>(),
                "shm::Subscriber<T>: T is not a message type: declare SHM_MESSAGE(T, fields...) after the struct (in its "
                "namespace), or use bool, a fixed-width integer, float, double, or an array of them");

 public:
  /// Opens a subscriber of `topic`; succeeds when the topic does not exist yet.
  explicit Subscriber(const std::string& topic, const SubscriberOptions& options = {}) {
    shm_subscriber_options raw{};
    raw.root = options.root.empty() ? nullptr : options.root.c_str();
    raw.owner = static_cast<std::uint32_t>(options.owner);
    raw.owner_uid = options.owner_uid;
    detail::check(shm_subscriber_new(detail::topic_name(topic), schema_of<T>().get(), &raw, &raw_));
  }
  Subscriber(Subscriber&& other) noexcept : raw_(std::exchange(other.raw_, nullptr)) {}
  Subscriber& operator=(Subscriber&& other) noexcept {
    if (this != &other) {
      shm_subscriber_drop(raw_);
      raw_ = std::exchange(other.raw_, nullptr);
    }
    return *this;
  }
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;
  ~Subscriber() { shm_subscriber_drop(raw_); }

  /// The newest value, whether or not returned before (`is_new` says); empty when none was
  /// published yet. Never waits.
  std::optional<Sample<T>> latest() { return read([this](void* out, shm_sample_info* info) { return shm_subscriber_latest(handle(), out, sizeof(T), info); }); }

  /// The next value not returned yet (the newest: a slow reader skips, `missed` says how many);
  /// empty when there is none. Never waits.
  std::optional<Sample<T>> try_recv() { return read([this](void* out, shm_sample_info* info) { return shm_subscriber_try_recv(handle(), out, sizeof(T), info); }); }

  /// Waits up to `timeout` for a value not returned yet; empty on timeout. Throws
  /// shm::PublisherGone when the publisher exited during the wait.
  template <class Rep, class Period>
  std::optional<Sample<T>> recv_timeout(std::chrono::duration<Rep, Period> timeout) {
    const std::uint64_t ns = detail::to_ns(timeout);
    return read([this, ns](void* out, shm_sample_info* info) { return shm_subscriber_recv_timeout(handle(), out, sizeof(T), ns, info); });
  }

  /// Every value not returned yet that the ring still holds, oldest first. Never waits. (When
  /// a read fails after some values were gathered, those are returned, and the failure comes
  /// with the next call.)
  std::vector<Sample<T>> recv_all() {
    constexpr std::size_t chunk = 16;
    // On the heap: a value may be large (a frame), and a chunk of them more so.
    std::vector<unsigned char> values(chunk * sizeof(T));
    std::array<shm_sample_info, chunk> infos{};
    std::vector<Sample<T>> all;
    for (;;) {
      std::size_t count = 0;
      const shm_status status = shm_subscriber_recv_all(handle(), values.data(), chunk, sizeof(T), infos.data(), &count);
      if (status != SHM_OK) {
        if (all.empty()) detail::throw_status(status);
        return all;
      }
      for (std::size_t i = 0; i < count; ++i) all.push_back(detail::sample<T>(values.data() + i * sizeof(T), infos[i]));
      if (count < chunk) return all;
    }
  }

  /// `latest()` into the caller's `out` (for large values: no copy on the stack); the info, or
  /// empty when none was published yet (`out` then unchanged).
  std::optional<SampleInfo> latest_into(T& out) {
    return read_into(&out, [this](void* o, shm_sample_info* info) { return shm_subscriber_latest(handle(), o, sizeof(T), info); });
  }

  /// `try_recv()` into the caller's `out`.
  std::optional<SampleInfo> try_recv_into(T& out) {
    return read_into(&out, [this](void* o, shm_sample_info* info) { return shm_subscriber_try_recv(handle(), o, sizeof(T), info); });
  }

  /// `recv_timeout()` into the caller's `out`.
  template <class Rep, class Period>
  std::optional<SampleInfo> recv_timeout_into(T& out, std::chrono::duration<Rep, Period> timeout) {
    const std::uint64_t ns = detail::to_ns(timeout);
    return read_into(&out, [this, ns](void* o, shm_sample_info* info) { return shm_subscriber_recv_timeout(handle(), o, sizeof(T), ns, info); });
  }

  /// Whether a live publisher holds the topic.
  bool publisher_alive() {
    bool alive = false;
    detail::check(shm_subscriber_publisher_alive(handle(), &alive));
    return alive;
  }

  /// The C handle (still owned by this object).
  shm_subscriber* c_handle() const noexcept { return raw_; }

 private:
  template <class F>
  std::optional<Sample<T>> read(F call) {
    std::optional<Sample<T>> sample;  // one object returned on every path: built in place
    sample.emplace();
    shm_sample_info info{};
    const shm_status status = call(static_cast<void*>(&sample->value), &info);
    if (status == SHM_OK) {
      detail::fill(*sample, info);
    } else if (status == SHM_NO_DATA || status == SHM_TIMEOUT) {
      sample.reset();
    } else {
      detail::throw_status(status);
    }
    return sample;
  }
  template <class F>
  std::optional<SampleInfo> read_into(T* out, F call) {
    shm_sample_info info{};
    const shm_status status = call(static_cast<void*>(out), &info);
    if (status == SHM_NO_DATA || status == SHM_TIMEOUT) return std::nullopt;
    if (status != SHM_OK) detail::throw_status(status);
    return SampleInfo{info.seq, info.missed, info.published_ns, info.is_new};
  }
  shm_subscriber* handle() const {
    if (raw_ == nullptr) throw InvalidArgument(SHM_ERR_INVALID_ARGUMENT, "shm::Subscriber: used after it was moved from");
    return raw_;
  }
  shm_subscriber* raw_ = nullptr;
};


// ---------------------------------------------------------------------------------------------
// Services: request and reply between processes (the Rust Server<Req, Resp> / Client<Req,
// Resp>, the Python Server / Client of the same types).

/// Options of a server; the defaults are the library's.
struct ServerOptions {
  /// Directory of the service's files (empty: `$SHM_ROOT`, else `/dev/shm`).
  std::string root;
  /// Clients served at once (0: the default, 64; at most 1024).
  std::uint32_t max_clients = 0;
  /// Requests received and not yet answered, at most (0: the default).
  std::uint32_t queue = 0;
  /// Calls of one client waiting at once, at most (0: the default, 8); more are
  /// shm::ServerBusy.
  std::uint32_t per_client = 0;
};

/// Options of a client; the defaults are the library's.
struct ClientOptions {
  /// Directory of the service's files (empty: `$SHM_ROOT`, else `/dev/shm`).
  std::string root;
  /// Whose server to trust.
  Owner server_owner = Owner::Me;
  /// The user, with `Owner::Uid`.
  std::uint32_t server_uid = 0;
};

template <class Req, class Resp>
class Server;

/// One request a server received: its value, and the way to answer it, once. Dropping it
/// unanswered tells its client shm::NoReply. Move-only.
template <class Req, class Resp>
class Request {
 public:
  /// The request's value.
  Req value;

  Request(Request&& other) noexcept : value(other.value), raw_(std::exchange(other.raw_, nullptr)) {}
  Request& operator=(Request&& other) noexcept {
    if (this != &other) {
      shm_request_drop(raw_);
      value = other.value;
      raw_ = std::exchange(other.raw_, nullptr);
    }
    return *this;
  }
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
  ~Request() { shm_request_drop(raw_); }

  /// Its sequence number in its client's stream.
  std::uint64_t seq() const noexcept { return shm_request_seq(raw_); }

  /// Answers it with `reply` (a client that stopped waiting drops it). Throws
  /// shm::InvalidArgument when it was answered already, shm::InvalidValue when `reply` is no
  /// value of its type (the client is then told shm::NoReply).
  void reply(const Resp& reply) {
    if (raw_ == nullptr) throw InvalidArgument(SHM_ERR_INVALID_ARGUMENT, "shm::Request: answered already (or moved from)");
    detail::check(shm_request_reply(std::exchange(raw_, nullptr), &reply, sizeof(Resp)));
  }

 private:
  friend class Server<Req, Resp>;
  Request() = default;
  shm_request* raw_ = nullptr;
};

/// The server of one service: requests of `Req` in, replies of `Resp` out (types with
/// SHM_MESSAGE, primitives or arrays). One per service. Move-only; one thread at a time.
template <class Req, class Resp>
class Server {
  static_assert(detail::carriable<Req>() && detail::carriable<Resp>() && !detail::cv_inside<Req>::value,
                "shm::Server<Req, Resp>: Req and Resp are message types (SHM_MESSAGE), primitives or std::arrays");
  static_assert(!std::is_array_v<Req> && !std::is_array_v<Resp>, "shm::Server<Req, Resp>: use std::array, not a C array");

 public:
  /// Starts serving `name`. Throws shm::TopicBusy when another live server serves it.
  explicit Server(const std::string& name, const ServerOptions& options = {}) {
    shm_server_options raw{};
    raw.root = options.root.empty() ? nullptr : options.root.c_str();
    raw.max_clients = options.max_clients;
    raw.queue = options.queue;
    raw.per_client = options.per_client;
    detail::check(shm_server_new(detail::topic_name(name), schema_of<Req>().get(), schema_of<Resp>().get(), &raw, &raw_));
  }
  Server(Server&& other) noexcept : raw_(std::exchange(other.raw_, nullptr)) {}
  Server& operator=(Server&& other) noexcept {
    if (this != &other) {
      shm_server_drop(raw_);
      raw_ = std::exchange(other.raw_, nullptr);
    }
    return *this;
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server() { shm_server_drop(raw_); }

  /// The next request, waiting up to `timeout`; empty on timeout. A request that is no value
  /// of `Req` is answered so (its client gets shm::BadRequest) and the wait goes on.
  template <class Rep, class Period>
  std::optional<Request<Req, Resp>> recv_timeout(std::chrono::duration<Rep, Period> timeout) {
    const std::uint64_t total = detail::to_ns(timeout);
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
      const auto spent = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
      const std::uint64_t left = spent >= total ? 0 : total - spent;
      Request<Req, Resp> request;
      const shm_status status =
          shm_server_recv_timeout(handle(), static_cast<void*>(&request.value), sizeof(Req), left, &request.raw_);
      if (status == SHM_OK) return std::optional<Request<Req, Resp>>(std::move(request));
      if (status == SHM_TIMEOUT) return std::nullopt;
      if (status != SHM_ERR_BAD_REQUEST) detail::throw_status(status);
      // A bad request was answered; wait on, but never past the deadline (a client sending
      // bad requests without end does not keep this call going).
      if (spent >= total) return std::nullopt;
    }
  }

  /// A request if one has arrived; empty otherwise. Never waits (bad requests are answered,
  /// a bounded number of them per call).
  std::optional<Request<Req, Resp>> try_recv() {
    for (int bad = 0; bad < 64; ++bad) {
      Request<Req, Resp> request;
      const shm_status status = shm_server_try_recv(handle(), static_cast<void*>(&request.value), sizeof(Req), &request.raw_);
      if (status == SHM_OK) return std::optional<Request<Req, Resp>>(std::move(request));
      if (status == SHM_NO_DATA) return std::nullopt;
      if (status != SHM_ERR_BAD_REQUEST) detail::throw_status(status);
    }
    return std::nullopt;
  }

  /// The C handle (still owned by this object).
  shm_server* c_handle() const noexcept { return raw_; }

 private:
  shm_server* handle() const {
    if (raw_ == nullptr) throw InvalidArgument(SHM_ERR_INVALID_ARGUMENT, "shm::Server: used after it was moved from");
    return raw_;
  }
  shm_server* raw_ = nullptr;
};

/// A client of one service. Move-only; `call` may be used by several threads at once (at most
/// the server's `per_client` calls wait at once: more throw shm::ServerBusy).
template <class Req, class Resp>
class Client {
  static_assert(detail::carriable<Req>() && detail::carriable<Resp>() && !detail::cv_inside<Resp>::value,
                "shm::Client<Req, Resp>: Req and Resp are message types (SHM_MESSAGE), primitives or std::arrays");
  static_assert(!std::is_array_v<Req> && !std::is_array_v<Resp>, "shm::Client<Req, Resp>: use std::array, not a C array");

 public:
  /// A client of `name`; succeeds when no server runs yet (a call then throws shm::NoServer).
  explicit Client(const std::string& name, const ClientOptions& options = {}) {
    shm_client_options raw{};
    raw.root = options.root.empty() ? nullptr : options.root.c_str();
    raw.server_owner = static_cast<std::uint32_t>(options.server_owner);
    raw.server_uid = options.server_uid;
    detail::check(shm_client_new(detail::topic_name(name), schema_of<Req>().get(), schema_of<Resp>().get(), &raw, &raw_));
  }
  Client(Client&& other) noexcept : raw_(std::exchange(other.raw_, nullptr)) {}
  Client& operator=(Client&& other) noexcept {
    if (this != &other) {
      shm_client_drop(raw_);
      raw_ = std::exchange(other.raw_, nullptr);
    }
    return *this;
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client() { shm_client_drop(raw_); }

  /// Sends `request` and waits up to `timeout` for the reply. Throws shm::Timeout,
  /// shm::NoServer, shm::ServerGone, shm::ServerBusy, shm::SchemaMismatch (the server serves
  /// other types), shm::BadRequest, shm::NoReply, shm::InvalidValue (nothing was sent), ...
  template <class Rep, class Period>
  Resp call(const Req& request, std::chrono::duration<Rep, Period> timeout) const {
    Resp reply{};
    call_into(request, reply, timeout);
    return reply;
  }

  /// `call`, the reply into the caller's `reply` (for a large one: no copy on the stack);
  /// `reply` is unchanged when it throws.
  template <class Rep, class Period>
  void call_into(const Req& request, Resp& reply, std::chrono::duration<Rep, Period> timeout) const {
    detail::check(shm_client_call(handle(), &request, sizeof(Req), static_cast<void*>(&reply), sizeof(Resp), detail::to_ns(timeout)));
  }

  /// The C handle (still owned by this object).
  shm_client* c_handle() const noexcept { return raw_; }

 private:
  shm_client* handle() const {
    if (raw_ == nullptr) throw InvalidArgument(SHM_ERR_INVALID_ARGUMENT, "shm::Client: used after it was moved from");
    return raw_;
  }
  shm_client* raw_ = nullptr;
};

/// Removes `topic`'s file from `root` (empty: `$SHM_ROOT`, else `/dev/shm`) unless a live
/// publisher holds it (shm::TopicBusy); whether there was one.
inline bool remove_topic(const std::string& topic, const std::string& root = {}) {
  bool existed = false;
  detail::check(shm_remove_topic(detail::topic_name(topic), root.empty() ? nullptr : root.c_str(), &existed));
  return existed;
}

}  // namespace shm

// ---------------------------------------------------------------------------------------------
// SHM_MESSAGE(T, field, ...): declares a struct a message, in the namespace of the struct, after
// it. Its fields are listed in declaration order (at most 64). Checked at compile time: each
// assertion's message starts with "shm: SHM_MESSAGE(T)" and names the problem.

#define SHM_DETAIL_CAT(a, b) SHM_DETAIL_CAT_(a, b)
#define SHM_DETAIL_CAT_(a, b) a##b
#define SHM_DETAIL_CALL3(m, t, a, b) m(t, a, b)
#define SHM_DETAIL_FIRST(...) SHM_DETAIL_FIRST_(__VA_ARGS__, ~)
#define SHM_DETAIL_FIRST_(a, ...) a

#define SHM_DETAIL_FIELD_INFO(T, f) {#f, &::shm::detail::field_schema<decltype(T::f)>},

// Per field: what it may not be, each named, one assertion failing at most.
#define SHM_DETAIL_FIELD_CHECK(T, f)                                                                              \
  static_assert(!::shm::detail::cv_inside<decltype(T::f)>::value,                                                 \
                "shm: SHM_MESSAGE(" #T "): field '" #f "' is const (or volatile): a subscriber writes every "       \
                "field of the values it reads");                                                                  \
  static_assert(!::std::is_pointer_v<::shm::detail::element_t<decltype(T::f)>>,                                    \
                "shm: SHM_MESSAGE(" #T "): field '" #f "' is a pointer, which means nothing in another process: "  \
                "copy the values into an array or a shm::BoundedVec<T, N>");                                      \
  static_assert(!::shm::detail::is_std_string<::shm::detail::element_t<decltype(T::f)>>::value,                   \
                "shm: SHM_MESSAGE(" #T "): field '" #f "' is a std::string, which holds a pointer to its text: "    \
                "use shm::BoundedString<N>");                                                                     \
  static_assert(!::shm::detail::is_character<::shm::detail::element_t<decltype(T::f)>>,                           \
                "shm: SHM_MESSAGE(" #T "): field '" #f "' is a char (whose sign and size C does not fix): use "     \
                "int8_t or uint8_t, or shm::BoundedString<N> for text");                                          \
  static_assert(!::shm::detail::is_std_vector<::shm::detail::element_t<decltype(T::f)>>::value,                   \
                "shm: SHM_MESSAGE(" #T "): field '" #f "' is a std::vector, which holds a pointer to its values: "  \
                "use shm::BoundedVec<T, N>");                                                                     \
  static_assert(::std::is_pointer_v<::shm::detail::element_t<decltype(T::f)>> ||                                    \
                    ::shm::detail::is_std_string<::shm::detail::element_t<decltype(T::f)>>::value ||              \
                    ::shm::detail::is_std_vector<::shm::detail::element_t<decltype(T::f)>>::value ||              \
                    ::shm::detail::is_character<::shm::detail::element_t<decltype(T::f)>> ||                      \
                    ::shm::detail::carriable<decltype(T::f)>(),                                                   \
                "shm: SHM_MESSAGE(" #T "): field '" #f "' has a type a message cannot carry: bool, int8_t..uint64_t, " \
                "float, double, C arrays and std::array of them, structs with their own SHM_MESSAGE (declared "  \
                "before), shm::BoundedString<N>, shm::BoundedVec<T, N>");

#define SHM_DETAIL_ORDERED(T, a, b) &&offsetof(T, b) >= offsetof(T, a) + sizeof(T::a)

// Per pair of neighbours: in declaration order, nothing between them.
#define SHM_DETAIL_PAIR_CHECK(T, a, b)                                                                            \
  static_assert(!shm_detail_shape_ok_ || offsetof(T, b) >= offsetof(T, a) + sizeof(T::a),                         \
                "shm: SHM_MESSAGE(" #T "): field '" #b "' is listed after '" #a "' but declared before it (or "    \
                "listed twice): list the fields in declaration order");                                          \
  static_assert(::shm::detail::padding_check<shm_detail_ordered_,                                                \
                                             T, offsetof(T, b) - offsetof(T, a) - sizeof(T::a)>::none,             \
                "shm: SHM_MESSAGE(" #T "): padding after field '" #a "' (bytes no field covers, which another "     \
                "language lays out differently): make them an explicit field, e.g. uint8_t _reserved[N], or "   \
                "reorder the fields");

#define SHM_MESSAGE(T, ...)                                                                                       \
  [[maybe_unused]] inline ::shm::detail::message_info shm_message_info(::shm::detail::tag<T>) noexcept {         \
    static const ::shm::detail::field_info fields[] = {                                                           \
        SHM_DETAIL_CAT(SHM_DETAIL_EACH_, SHM_DETAIL_COUNT(__VA_ARGS__))(SHM_DETAIL_FIELD_INFO, T, __VA_ARGS__)};  \
    return {::shm::detail::unqualified(#T), fields, sizeof(fields) / sizeof(fields[0])};                         \
  }                                                                                                               \
  static_assert(::std::is_trivially_copyable_v<T>,                                                                  \
                "shm: SHM_MESSAGE(" #T "): the struct is not trivially copyable (a std::string, a std::vector, a " \
                "user-written copy or destructor?): a message is plain bytes");                                   \
  static_assert(::std::is_standard_layout_v<T>,                                                                     \
                "shm: SHM_MESSAGE(" #T "): the struct is not standard layout (virtual functions, private "          \
                "fields, a base with fields?): a message is a plain struct");                                     \
  static_assert(::std::is_aggregate_v<T>,                                                                           \
                "shm: SHM_MESSAGE(" #T "): the struct is not an aggregate (constructors, private or protected "     \
                "fields, virtual functions?): a message is a plain struct"); \
  static_assert(alignof(T) <= 8, "shm: SHM_MESSAGE(" #T "): aligned to more than 8 bytes (alignas?)");          \
  SHM_DETAIL_CAT(SHM_DETAIL_EACH_, SHM_DETAIL_COUNT(__VA_ARGS__))(SHM_DETAIL_FIELD_CHECK, T, __VA_ARGS__)         \
  static_assert(!(::std::is_trivially_copyable_v<T> && ::std::is_aggregate_v<T> && ::std::is_standard_layout_v<T>) ||    \
                    ::shm::detail::field_count_is<T, SHM_DETAIL_COUNT(__VA_ARGS__)>(),                           \
                "shm: SHM_MESSAGE(" #T "): the list does not name every field of the struct (a field left out, "   \
                "or one too many; or a base class, which a message may not have): list each field once, in "    \
                "declaration order");                                   \
  SHM_DETAIL_SHAPE_SCOPE(T, __VA_ARGS__)                                                                          \
  static_assert(true, "")

// The pair and tail checks, inside a scope that knows whether the basic checks passed (so that a
// left-out field is reported as such, not also as padding).
#define SHM_DETAIL_SHAPE_SCOPE(T, ...)                                                                            \
  [[maybe_unused]] inline void shm_message_shape_check(::shm::detail::tag<T>) noexcept {                         \
    constexpr bool shm_detail_shape_ok_ = ::std::is_trivially_copyable_v<T> && ::std::is_standard_layout_v<T> &&     \
                                          ::std::is_aggregate_v<T> &&                                               \
                                          ::shm::detail::field_count_is<T, SHM_DETAIL_COUNT(__VA_ARGS__)>();      \
    constexpr bool shm_detail_ordered_ =                                                                          \
        shm_detail_shape_ok_ SHM_DETAIL_CAT(SHM_DETAIL_PAIRS_, SHM_DETAIL_COUNT(__VA_ARGS__))(SHM_DETAIL_ORDERED, T, __VA_ARGS__); \
    static_assert(!shm_detail_shape_ok_ || offsetof(T, SHM_DETAIL_FIRST(__VA_ARGS__)) == 0,                      \
                  "shm: SHM_MESSAGE(" #T "): bytes before the first field listed that no field covers (a field "   \
                  "left out, or a base class with fields, which a message may not have)");                        \
    SHM_DETAIL_CAT(SHM_DETAIL_PAIRS_, SHM_DETAIL_COUNT(__VA_ARGS__))(SHM_DETAIL_PAIR_CHECK, T, __VA_ARGS__)      \
    static_assert(::shm::detail::padding_check<                                                                   \
                          shm_detail_ordered_, T, sizeof(T) - offsetof(T, SHM_DETAIL_CAT(SHM_DETAIL_LAST_, SHM_DETAIL_COUNT(__VA_ARGS__))(__VA_ARGS__)) - \
                                 sizeof(T::SHM_DETAIL_CAT(SHM_DETAIL_LAST_, SHM_DETAIL_COUNT(__VA_ARGS__))(__VA_ARGS__))>::none, \
                  "shm: SHM_MESSAGE(" #T "): padding after the last field (bytes no field covers, at the end): make " \
                  "them an explicit field, e.g. uint8_t _reserved[N]");                                           \
  }


// The macro tables below: up to 64 fields.
#define SHM_DETAIL_COUNT(...) SHM_DETAIL_COUNT_(__VA_ARGS__, 64, 63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define SHM_DETAIL_COUNT_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, _31, _32, _33, _34, _35, _36, _37, _38, _39, _40, _41, _42, _43, _44, _45, _46, _47, _48, _49, _50, _51, _52, _53, _54, _55, _56, _57, _58, _59, _60, _61, _62, _63, _64, n, ...) n
#define SHM_DETAIL_EACH_1(m, t, a) m(t, a)
#define SHM_DETAIL_EACH_2(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_1(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_3(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_2(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_4(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_3(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_5(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_4(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_6(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_5(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_7(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_6(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_8(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_7(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_9(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_8(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_10(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_9(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_11(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_10(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_12(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_11(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_13(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_12(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_14(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_13(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_15(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_14(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_16(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_15(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_17(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_16(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_18(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_17(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_19(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_18(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_20(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_19(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_21(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_20(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_22(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_21(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_23(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_22(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_24(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_23(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_25(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_24(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_26(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_25(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_27(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_26(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_28(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_27(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_29(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_28(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_30(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_29(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_31(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_30(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_32(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_31(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_33(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_32(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_34(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_33(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_35(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_34(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_36(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_35(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_37(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_36(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_38(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_37(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_39(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_38(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_40(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_39(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_41(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_40(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_42(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_41(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_43(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_42(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_44(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_43(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_45(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_44(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_46(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_45(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_47(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_46(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_48(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_47(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_49(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_48(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_50(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_49(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_51(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_50(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_52(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_51(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_53(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_52(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_54(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_53(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_55(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_54(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_56(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_55(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_57(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_56(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_58(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_57(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_59(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_58(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_60(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_59(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_61(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_60(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_62(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_61(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_63(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_62(m, t, __VA_ARGS__)
#define SHM_DETAIL_EACH_64(m, t, a, ...) m(t, a) SHM_DETAIL_EACH_63(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_1(m, t, a)
#define SHM_DETAIL_PAIRS_2(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_1(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_3(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_2(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_4(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_3(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_5(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_4(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_6(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_5(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_7(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_6(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_8(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_7(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_9(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_8(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_10(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_9(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_11(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_10(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_12(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_11(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_13(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_12(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_14(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_13(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_15(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_14(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_16(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_15(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_17(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_16(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_18(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_17(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_19(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_18(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_20(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_19(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_21(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_20(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_22(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_21(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_23(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_22(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_24(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_23(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_25(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_24(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_26(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_25(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_27(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_26(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_28(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_27(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_29(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_28(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_30(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_29(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_31(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_30(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_32(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_31(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_33(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_32(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_34(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_33(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_35(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_34(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_36(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_35(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_37(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_36(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_38(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_37(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_39(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_38(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_40(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_39(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_41(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_40(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_42(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_41(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_43(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_42(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_44(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_43(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_45(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_44(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_46(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_45(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_47(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_46(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_48(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_47(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_49(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_48(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_50(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_49(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_51(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_50(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_52(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_51(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_53(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_52(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_54(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_53(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_55(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_54(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_56(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_55(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_57(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_56(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_58(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_57(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_59(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_58(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_60(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_59(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_61(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_60(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_62(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_61(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_63(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_62(m, t, __VA_ARGS__)
#define SHM_DETAIL_PAIRS_64(m, t, a, ...) SHM_DETAIL_CALL3(m, t, a, SHM_DETAIL_FIRST(__VA_ARGS__)) SHM_DETAIL_PAIRS_63(m, t, __VA_ARGS__)
#define SHM_DETAIL_LAST_1(a) a
#define SHM_DETAIL_LAST_2(a, ...) SHM_DETAIL_LAST_1(__VA_ARGS__)
#define SHM_DETAIL_LAST_3(a, ...) SHM_DETAIL_LAST_2(__VA_ARGS__)
#define SHM_DETAIL_LAST_4(a, ...) SHM_DETAIL_LAST_3(__VA_ARGS__)
#define SHM_DETAIL_LAST_5(a, ...) SHM_DETAIL_LAST_4(__VA_ARGS__)
#define SHM_DETAIL_LAST_6(a, ...) SHM_DETAIL_LAST_5(__VA_ARGS__)
#define SHM_DETAIL_LAST_7(a, ...) SHM_DETAIL_LAST_6(__VA_ARGS__)
#define SHM_DETAIL_LAST_8(a, ...) SHM_DETAIL_LAST_7(__VA_ARGS__)
#define SHM_DETAIL_LAST_9(a, ...) SHM_DETAIL_LAST_8(__VA_ARGS__)
#define SHM_DETAIL_LAST_10(a, ...) SHM_DETAIL_LAST_9(__VA_ARGS__)
#define SHM_DETAIL_LAST_11(a, ...) SHM_DETAIL_LAST_10(__VA_ARGS__)
#define SHM_DETAIL_LAST_12(a, ...) SHM_DETAIL_LAST_11(__VA_ARGS__)
#define SHM_DETAIL_LAST_13(a, ...) SHM_DETAIL_LAST_12(__VA_ARGS__)
#define SHM_DETAIL_LAST_14(a, ...) SHM_DETAIL_LAST_13(__VA_ARGS__)
#define SHM_DETAIL_LAST_15(a, ...) SHM_DETAIL_LAST_14(__VA_ARGS__)
#define SHM_DETAIL_LAST_16(a, ...) SHM_DETAIL_LAST_15(__VA_ARGS__)
#define SHM_DETAIL_LAST_17(a, ...) SHM_DETAIL_LAST_16(__VA_ARGS__)
#define SHM_DETAIL_LAST_18(a, ...) SHM_DETAIL_LAST_17(__VA_ARGS__)
#define SHM_DETAIL_LAST_19(a, ...) SHM_DETAIL_LAST_18(__VA_ARGS__)
#define SHM_DETAIL_LAST_20(a, ...) SHM_DETAIL_LAST_19(__VA_ARGS__)
#define SHM_DETAIL_LAST_21(a, ...) SHM_DETAIL_LAST_20(__VA_ARGS__)
#define SHM_DETAIL_LAST_22(a, ...) SHM_DETAIL_LAST_21(__VA_ARGS__)
#define SHM_DETAIL_LAST_23(a, ...) SHM_DETAIL_LAST_22(__VA_ARGS__)
#define SHM_DETAIL_LAST_24(a, ...) SHM_DETAIL_LAST_23(__VA_ARGS__)
#define SHM_DETAIL_LAST_25(a, ...) SHM_DETAIL_LAST_24(__VA_ARGS__)
#define SHM_DETAIL_LAST_26(a, ...) SHM_DETAIL_LAST_25(__VA_ARGS__)
#define SHM_DETAIL_LAST_27(a, ...) SHM_DETAIL_LAST_26(__VA_ARGS__)
#define SHM_DETAIL_LAST_28(a, ...) SHM_DETAIL_LAST_27(__VA_ARGS__)
#define SHM_DETAIL_LAST_29(a, ...) SHM_DETAIL_LAST_28(__VA_ARGS__)
#define SHM_DETAIL_LAST_30(a, ...) SHM_DETAIL_LAST_29(__VA_ARGS__)
#define SHM_DETAIL_LAST_31(a, ...) SHM_DETAIL_LAST_30(__VA_ARGS__)
#define SHM_DETAIL_LAST_32(a, ...) SHM_DETAIL_LAST_31(__VA_ARGS__)
#define SHM_DETAIL_LAST_33(a, ...) SHM_DETAIL_LAST_32(__VA_ARGS__)
#define SHM_DETAIL_LAST_34(a, ...) SHM_DETAIL_LAST_33(__VA_ARGS__)
#define SHM_DETAIL_LAST_35(a, ...) SHM_DETAIL_LAST_34(__VA_ARGS__)
#define SHM_DETAIL_LAST_36(a, ...) SHM_DETAIL_LAST_35(__VA_ARGS__)
#define SHM_DETAIL_LAST_37(a, ...) SHM_DETAIL_LAST_36(__VA_ARGS__)
#define SHM_DETAIL_LAST_38(a, ...) SHM_DETAIL_LAST_37(__VA_ARGS__)
#define SHM_DETAIL_LAST_39(a, ...) SHM_DETAIL_LAST_38(__VA_ARGS__)
#define SHM_DETAIL_LAST_40(a, ...) SHM_DETAIL_LAST_39(__VA_ARGS__)
#define SHM_DETAIL_LAST_41(a, ...) SHM_DETAIL_LAST_40(__VA_ARGS__)
#define SHM_DETAIL_LAST_42(a, ...) SHM_DETAIL_LAST_41(__VA_ARGS__)
#define SHM_DETAIL_LAST_43(a, ...) SHM_DETAIL_LAST_42(__VA_ARGS__)
#define SHM_DETAIL_LAST_44(a, ...) SHM_DETAIL_LAST_43(__VA_ARGS__)
#define SHM_DETAIL_LAST_45(a, ...) SHM_DETAIL_LAST_44(__VA_ARGS__)
#define SHM_DETAIL_LAST_46(a, ...) SHM_DETAIL_LAST_45(__VA_ARGS__)
#define SHM_DETAIL_LAST_47(a, ...) SHM_DETAIL_LAST_46(__VA_ARGS__)
#define SHM_DETAIL_LAST_48(a, ...) SHM_DETAIL_LAST_47(__VA_ARGS__)
#define SHM_DETAIL_LAST_49(a, ...) SHM_DETAIL_LAST_48(__VA_ARGS__)
#define SHM_DETAIL_LAST_50(a, ...) SHM_DETAIL_LAST_49(__VA_ARGS__)
#define SHM_DETAIL_LAST_51(a, ...) SHM_DETAIL_LAST_50(__VA_ARGS__)
#define SHM_DETAIL_LAST_52(a, ...) SHM_DETAIL_LAST_51(__VA_ARGS__)
#define SHM_DETAIL_LAST_53(a, ...) SHM_DETAIL_LAST_52(__VA_ARGS__)
#define SHM_DETAIL_LAST_54(a, ...) SHM_DETAIL_LAST_53(__VA_ARGS__)
#define SHM_DETAIL_LAST_55(a, ...) SHM_DETAIL_LAST_54(__VA_ARGS__)
#define SHM_DETAIL_LAST_56(a, ...) SHM_DETAIL_LAST_55(__VA_ARGS__)
#define SHM_DETAIL_LAST_57(a, ...) SHM_DETAIL_LAST_56(__VA_ARGS__)
#define SHM_DETAIL_LAST_58(a, ...) SHM_DETAIL_LAST_57(__VA_ARGS__)
#define SHM_DETAIL_LAST_59(a, ...) SHM_DETAIL_LAST_58(__VA_ARGS__)
#define SHM_DETAIL_LAST_60(a, ...) SHM_DETAIL_LAST_59(__VA_ARGS__)
#define SHM_DETAIL_LAST_61(a, ...) SHM_DETAIL_LAST_60(__VA_ARGS__)
#define SHM_DETAIL_LAST_62(a, ...) SHM_DETAIL_LAST_61(__VA_ARGS__)
#define SHM_DETAIL_LAST_63(a, ...) SHM_DETAIL_LAST_62(__VA_ARGS__)
#define SHM_DETAIL_LAST_64(a, ...) SHM_DETAIL_LAST_63(__VA_ARGS__)

#endif  // SHM_SHM_HPP

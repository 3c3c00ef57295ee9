// The C++ layer (<shm/shm.hpp>) as a C++ program uses it: every test in a topic directory of its
// own under /dev/shm (removed afterwards). Cross-process and cross-language tests: peer.cpp and
// python/tests/test_cpp.py; compile-time refusals: compile_fail/.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <signal.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "../../../examples/cpp/messages.hpp"

namespace {

/// A topic directory of this test's own (the tests run in parallel with others).
struct TempRoot {
  std::string path;
  TempRoot() {
    const char* base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    std::string pattern = std::string(base) + "/shm-cpp-test-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  ~TempRoot() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  shm::PublisherOptions pub(std::uint32_t buffer_num = 0) const {
    shm::PublisherOptions o;
    o.root = path;
    o.buffer_num = buffer_num;
    return o;
  }
  shm::SubscriberOptions sub() const {
    shm::SubscriberOptions o;
    o.root = path;
    return o;
  }
};

/// The same Pose described through the C API field by field (its schema and hash are those of
/// the Rust and Python types: the C API's own tests check that against Rust).
std::uint64_t pose_hash_through_c() {
  shm_schema *f64 = nullptr, *u32 = nullptr, *b = nullptr, *u8 = nullptr, *a3 = nullptr, *a4 = nullptr, *r3 = nullptr;
  shm_schema* pose = nullptr;
  shm_struct_builder* builder = nullptr;
  REQUIRE(shm_schema_primitive(SHM_F64, &f64) == SHM_OK);
  REQUIRE(shm_schema_primitive(SHM_U32, &u32) == SHM_OK);
  REQUIRE(shm_schema_primitive(SHM_BOOL, &b) == SHM_OK);
  REQUIRE(shm_schema_primitive(SHM_U8, &u8) == SHM_OK);
  REQUIRE(shm_schema_array(f64, 3, &a3) == SHM_OK);
  REQUIRE(shm_schema_array(f64, 4, &a4) == SHM_OK);
  REQUIRE(shm_schema_array(u8, 3, &r3) == SHM_OK);
  REQUIRE(shm_struct_builder_new("Pose", &builder) == SHM_OK);
  REQUIRE(shm_struct_builder_add(builder, "position", a3) == SHM_OK);
  REQUIRE(shm_struct_builder_add(builder, "orientation", a4) == SHM_OK);
  REQUIRE(shm_struct_builder_add(builder, "map_id", u32) == SHM_OK);
  REQUIRE(shm_struct_builder_add(builder, "tracking", b) == SHM_OK);
  REQUIRE(shm_struct_builder_add(builder, "_reserved", r3) == SHM_OK);
  REQUIRE(shm_struct_builder_finish(builder, &pose) == SHM_OK);
  const std::uint64_t hash = shm_schema_hash(pose);
  for (shm_schema* s : {f64, u32, b, u8, a3, a4, r3, pose}) shm_schema_drop(s);
  return hash;
}

robot::Pose pose(std::uint32_t map_id) { return robot::Pose{{1.0, 2.0, 3.0}, {0.0, 0.0, 0.0, 1.0}, map_id, true, {0, 0, 0}}; }

// Two structs of one name and field names, in different namespaces: one type.
namespace a {
struct Point {
  double x;
  double y;
};
SHM_MESSAGE(Point, x, y);
}  // namespace a
namespace b {
struct Point {
  double x;
  double y;
};
SHM_MESSAGE(Point, x, y);
struct Swapped {
  double y;
  double x;
};
SHM_MESSAGE(Swapped, y, x);
}  // namespace b

struct Grid {
  double cells[2][3];
  std::array<std::array<int16_t, 2>, 2> small;
  bool flags[2][2];
  uint8_t _reserved[4];
};
SHM_MESSAGE(Grid, cells, small, flags, _reserved);

struct Labelled {
  shm::BoundedString<16> name;
  shm::BoundedVec<robot::BoundingBox, 2> boxes;
  int64_t id;
};
SHM_MESSAGE(Labelled, name, boxes, id);

}  // namespace

std::uint64_t pose_hash_in_second_unit();

TEST_CASE("one message declared in two translation units is one schema") {
  CHECK(pose_hash_in_second_unit() == shm::schema_of<robot::Pose>().hash());
}

TEST_CASE("SHM_MESSAGE gives the schema of the same type described through the C API") {
  const shm::Schema& schema = shm::schema_of<robot::Pose>();
  CHECK(schema.size() == sizeof(robot::Pose));
  CHECK(schema.hash() == pose_hash_through_c());
  // The unqualified name is the type's name: a::Point and b::Point are one type; field order
  // and names count.
  CHECK(shm::schema_of<a::Point>().hash() == shm::schema_of<b::Point>().hash());
  CHECK(shm::schema_of<b::Swapped>().hash() != shm::schema_of<b::Point>().hash());
  CHECK(shm::schema_of<robot::Detection>().size() == sizeof(robot::Detection));
  CHECK(shm::schema_of<Grid>().size() == sizeof(Grid));
  CHECK(shm::schema_of<Labelled>().size() == sizeof(Labelled));
  CHECK(shm::schema_of<std::int64_t>().size() == 8);
}

TEST_CASE("a published pose is read back: latest, try_recv, recv_timeout") {
  TempRoot root;
  shm::Publisher<robot::Pose> publisher("robot/pose", root.pub());
  shm::Subscriber<robot::Pose> subscriber("robot/pose", root.sub());
  CHECK_FALSE(subscriber.latest().has_value());
  CHECK_FALSE(subscriber.try_recv().has_value());

  CHECK(publisher.publish(pose(1)) == 1);
  auto latest = subscriber.latest();
  REQUIRE(latest.has_value());
  CHECK(latest->value.map_id == 1);
  CHECK(latest->value.position[2] == 3.0);
  CHECK(latest->value.tracking);
  CHECK(latest->seq == 1);
  CHECK(latest->is_new);
  CHECK(latest->published_ns > 0);
  // latest() again: the same value, no longer new; try_recv(): nothing new.
  auto again = subscriber.latest();
  REQUIRE(again.has_value());
  CHECK(again->seq == 1);
  CHECK_FALSE(again->is_new);
  CHECK_FALSE(subscriber.try_recv().has_value());

  CHECK(publisher.publish(pose(2)) == 2);
  auto next = subscriber.try_recv();
  REQUIRE(next.has_value());
  CHECK(next->value.map_id == 2);
  CHECK(next->missed == 0);

  publisher.publish(pose(3));
  auto waited = subscriber.recv_timeout(std::chrono::seconds(5));
  REQUIRE(waited.has_value());
  CHECK(waited->value.map_id == 3);
  CHECK(waited->seq == 3);
}

TEST_CASE("recv_timeout returns nothing after its timeout, and a negative timeout does not wait") {
  TempRoot root;
  shm::Publisher<double> publisher("t", root.pub());
  shm::Subscriber<double> subscriber("t", root.sub());
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(subscriber.recv_timeout(std::chrono::milliseconds(50)).has_value());
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(50));
  CHECK_FALSE(subscriber.recv_timeout(std::chrono::milliseconds(-5)).has_value());
  publisher.publish(2.5);
  auto sample = subscriber.recv_timeout(std::chrono::hours(1));
  REQUIRE(sample.has_value());
  CHECK(sample->value == 2.5);
}

TEST_CASE("a slow reader skips to the newest value and is told how many it missed; recv_all hands out the ring") {
  TempRoot root;
  shm::Publisher<std::int64_t> publisher("counter", root.pub(4));
  shm::Subscriber<std::int64_t> subscriber("counter", root.sub());
  publisher.publish(0);
  REQUIRE(subscriber.try_recv().has_value());
  for (std::int64_t i = 1; i <= 10; ++i) publisher.publish(i * 10);
  auto newest = subscriber.try_recv();
  REQUIRE(newest.has_value());
  CHECK(newest->value == 100);
  CHECK(newest->missed == 9);

  for (std::int64_t i = 11; i <= 13; ++i) publisher.publish(i * 10);
  const auto all = subscriber.recv_all();
  REQUIRE(all.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(all[i].value == static_cast<std::int64_t>(110 + 10 * i));
    CHECK(all[i].seq == 12 + i);
  }
  CHECK(subscriber.recv_all().empty());
}

TEST_CASE("recv_all past one chunk: 40 values in order") {
  TempRoot root;
  shm::Publisher<std::int64_t> publisher("counter", root.pub(64));
  shm::Subscriber<std::int64_t> subscriber("counter", root.sub());
  for (std::int64_t i = 1; i <= 40; ++i) publisher.publish(i);
  const auto all = subscriber.recv_all();
  REQUIRE(all.size() == 40);
  for (std::size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i].value == static_cast<std::int64_t>(i + 1));
    CHECK(all[i].seq == i + 1);
  }
}

TEST_CASE("arrays as topics, and the _into reads into the caller's value") {
  TempRoot root;
  shm::Publisher<double[3]> publisher("xyz", root.pub());
  shm::Subscriber<double[3]> subscriber("xyz", root.sub());
  const double first[3] = {1, 2, 3};
  publisher.publish(first);
  const auto all = subscriber.recv_all();
  REQUIRE(all.size() == 1);
  CHECK(all[0].value[2] == 3);

  double out[3] = {0, 0, 0};
  CHECK_FALSE(subscriber.try_recv_into(out).has_value());
  const double second[3] = {4, 5, 6};
  publisher.publish(second);
  const auto info = subscriber.try_recv_into(out);
  REQUIRE(info.has_value());
  CHECK(info->seq == 2);
  CHECK(info->is_new);
  CHECK(out[0] == 4);
  CHECK(subscriber.latest_into(out)->seq == 2);
  CHECK_FALSE(subscriber.recv_timeout_into(out, std::chrono::milliseconds(1)).has_value());

  // A large value through the heap: no copy of it on the stack.
  auto big = std::make_unique<std::array<uint8_t, 480 * 640 * 3>>();
  (*big)[12345] = 7;
  shm::Publisher<std::array<uint8_t, 480 * 640 * 3>> frames("frames", root.pub());
  shm::Subscriber<std::array<uint8_t, 480 * 640 * 3>> reader("frames", root.sub());
  frames.publish(*big);
  auto back = std::make_unique<std::array<uint8_t, 480 * 640 * 3>>();
  REQUIRE(reader.recv_timeout_into(*back, std::chrono::seconds(5)).has_value());
  CHECK((*back)[12345] == 7);
}

TEST_CASE("a topic name with a NUL byte inside is refused, not cut short") {
  TempRoot root;
  const std::string name("robot\0pose", 10);
  CHECK_THROWS_AS(shm::Publisher<double>(name, root.pub()), shm::InvalidName);
  CHECK_THROWS_AS(shm::Subscriber<double>(name, root.sub()), shm::InvalidName);
  CHECK_FALSE(std::filesystem::exists(root.path + "/robot"));
}

TEST_CASE("nested structs, 2-D arrays, std::array and bools cross intact") {
  TempRoot root;
  robot::Detection d{};
  d.boxes[0] = {{1, 2}, {3, 4}};
  d.boxes[1] = {{5, 6}, {7, 8}};
  for (int c = 0; c < 3; ++c)
    for (int k = 0; k < 2; ++k) d.scores[c][k] = static_cast<float>(c * 2 + k);
  d.label = 9;
  d.valid = true;
  Grid g{};
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 3; ++c) g.cells[r][c] = r * 3 + c;
  g.small = {{{{1, -2}}, {{3, -4}}}};
  g.flags[0][1] = true;
  g.flags[1][0] = true;

  shm::Publisher<robot::Detection> pd("detections", root.pub());
  shm::Publisher<Grid> pg("grid", root.pub());
  pd.publish(d);
  pg.publish(g);
  auto d2 = shm::Subscriber<robot::Detection>("detections", root.sub()).latest();
  auto g2 = shm::Subscriber<Grid>("grid", root.sub()).latest();
  REQUIRE(d2.has_value());
  REQUIRE(g2.has_value());
  CHECK(std::memcmp(&d2->value, &d, sizeof d) == 0);
  CHECK(std::memcmp(&g2->value, &g, sizeof g) == 0);
}

TEST_CASE("bounded strings and sequences: capacity kept, bad lengths refused") {
  TempRoot root;
  Labelled l{};
  l.name.assign("héllo");
  l.boxes.push_back({{1, 2}, {3, 4}});
  l.id = 5;
  CHECK_THROWS_AS(l.name.assign("seventeen bytes!!"), std::length_error);
  CHECK(l.name == "héllo");  // unchanged by the refusal
  l.boxes.push_back({{5, 6}, {7, 8}});
  CHECK_THROWS_AS(l.boxes.push_back({{0, 0}, {0, 0}}), std::length_error);
  CHECK(l.boxes.size() == 2);

  shm::Publisher<Labelled> publisher("labelled", root.pub());
  shm::Subscriber<Labelled> subscriber("labelled", root.sub());
  publisher.publish(l);
  auto got = subscriber.try_recv();
  REQUIRE(got.has_value());
  CHECK(got->value.name.view() == "héllo");
  REQUIRE(got->value.boxes.size() == 2);
  CHECK(got->value.boxes[1].max[1] == 8);

  // A length above the capacity, written by hand: refused, nothing published.
  Labelled bad = l;
  bad.name.len = 17;
  CHECK_THROWS_AS(publisher.publish(bad), shm::InvalidValue);
  bad = l;
  bad.boxes.len = 3;
  CHECK_THROWS_AS(publisher.publish(bad), shm::InvalidValue);
  CHECK_FALSE(subscriber.try_recv().has_value());
}

TEST_CASE("a bool that is neither 0 nor 1 is refused, and nothing is published") {
  TempRoot root;
  shm::Publisher<robot::Pose> publisher("robot/pose", root.pub());
  shm::Subscriber<robot::Pose> subscriber("robot/pose", root.sub());
  robot::Pose p = pose(4);
  const unsigned char two = 2;
  std::memcpy(&p.tracking, &two, 1);
  try {
    publisher.publish(p);
    FAIL("published an invalid bool");
  } catch (const shm::InvalidValue& e) {
    INFO(e.what());
    CHECK(std::string(e.what()).find("bool") != std::string::npos);
    CHECK(e.status() == SHM_ERR_INVALID_VALUE);
  }
  CHECK_FALSE(subscriber.latest().has_value());
}

TEST_CASE("a subscriber of another type is refused, naming the fields that differ") {
  TempRoot root;
  shm::Publisher<robot::Pose> publisher("robot/pose", root.pub());
  publisher.publish(pose(1));
  try {
    shm::Subscriber<robot::Detection> wrong("robot/pose", root.sub());
    FAIL("a Detection subscriber opened a Pose topic");
  } catch (const shm::SchemaMismatch& e) {
    const std::string what = e.what();
    CHECK(what.find("carries `Pose` but this side expects `Detection`") != std::string::npos);
    CHECK(what.find("field `map_id`") != std::string::npos);
    // The exception is the library's message, word for word.
    CHECK(what == shm_last_error_message());
    const std::runtime_error& base = e;
    CHECK(base.what() == what);
  }
  // Same fields in another order: another type too.
  shm::Publisher<b::Point> points("point", root.pub());
  CHECK_THROWS_AS(shm::Subscriber<b::Swapped>("point", root.sub()), shm::SchemaMismatch);
  CHECK_NOTHROW(shm::Subscriber<a::Point>("point", root.sub()));
}

TEST_CASE("a second live publisher, a bad name and a bad root are refused with their own exceptions") {
  TempRoot root;
  shm::Publisher<robot::Pose> publisher("robot/pose", root.pub());
  CHECK_THROWS_AS(shm::Publisher<robot::Pose>("robot/pose", root.pub()), shm::TopicBusy);
  CHECK_THROWS_AS(shm::Publisher<robot::Pose>("../escape", root.pub()), shm::InvalidName);
  CHECK_THROWS_AS(shm::Subscriber<robot::Pose>("", root.sub()), shm::InvalidName);
  shm::PublisherOptions nowhere = root.pub();
  nowhere.root = root.path + "/no/such/dir";
  CHECK_THROWS_AS(shm::Publisher<robot::Pose>("t", nowhere), shm::Error);
  shm::PublisherOptions ring = root.pub(0);
  ring.buffer_num = 1u << 31;
  CHECK_THROWS_AS(shm::Publisher<robot::Pose>("big", ring), shm::Error);
}

TEST_CASE("publisher_alive and remove_topic follow the publisher's life") {
  TempRoot root;
  std::optional<shm::Publisher<double>> publisher;
  publisher.emplace("t", root.pub());
  publisher->publish(1.0);
  shm::Subscriber<double> subscriber("t", root.sub());
  CHECK(subscriber.publisher_alive());
  CHECK_THROWS_AS(shm::remove_topic("t", root.path), shm::TopicBusy);
  publisher.reset();
  CHECK_FALSE(subscriber.publisher_alive());
  // The last value stays for subscribers.
  auto last = subscriber.latest();
  REQUIRE(last.has_value());
  CHECK(last->value == 1.0);
  CHECK(shm::remove_topic("t", root.path));
  CHECK_FALSE(shm::remove_topic("t", root.path));
}

TEST_CASE("a moved-from publisher or subscriber throws instead of crashing; the moved-to one works") {
  TempRoot root;
  shm::Publisher<double> first("t", root.pub());
  shm::Publisher<double> second(std::move(first));
  CHECK_THROWS_AS(first.publish(1.0), shm::InvalidArgument);  // NOLINT(bugprone-use-after-move)
  CHECK(second.publish(2.0) == 1);
  shm::Subscriber<double> s1("t", root.sub());
  shm::Subscriber<double> s2 = std::move(s1);
  CHECK_THROWS_AS(s1.latest(), shm::InvalidArgument);  // NOLINT(bugprone-use-after-move)
  CHECK(s2.latest()->value == 2.0);
  static_assert(!std::is_copy_constructible_v<shm::Publisher<double>>);
  static_assert(!std::is_copy_constructible_v<shm::Subscriber<double>>);
}

TEST_CASE("a publisher that exits during a wait: PublisherGone, from another process") {
  TempRoot root;
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child: publish one value, say so, exit a little later (without running the parent's
    // destructors).
    close(ready[0]);
    int code = 0;
    try {
      shm::Publisher<double> publisher("t", root.pub());
      publisher.publish(7.0);
      const char byte = 'r';
      if (write(ready[1], &byte, 1) != 1) code = 1;
      usleep(200 * 1000);
    } catch (...) {
      code = 1;
    }
    _exit(code);
  }
  close(ready[1]);
  char byte = 0;
  REQUIRE(read(ready[0], &byte, 1) == 1);
  close(ready[0]);
  shm::Subscriber<double> subscriber("t", root.sub());
  auto first = subscriber.try_recv();
  REQUIRE(first.has_value());
  CHECK(first->value == 7.0);
  // An unrelated failure first: the exception below must not carry its message.
  CHECK_THROWS_AS(shm::Subscriber<double>("bad\nname", root.sub()), shm::InvalidName);
  const auto start = std::chrono::steady_clock::now();
  try {
    (void)subscriber.recv_timeout(std::chrono::seconds(30));
    FAIL("the wait outlived its publisher");
  } catch (const shm::PublisherGone& e) {
    // The library's own message, about this topic (not a stale one of another call).
    const std::string what = e.what();
    CHECK(what.find("the publisher of topic 't'") != std::string::npos);
    // (The child drops its publisher, then exits: the wait may end at either.)
    CHECK(what.find("while waiting for a new value") != std::string::npos);
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("exceptions derive from shm::Error and std::runtime_error, with the status") {
  static_assert(std::is_base_of_v<std::runtime_error, shm::Error>);
  static_assert(std::is_base_of_v<shm::Error, shm::SchemaMismatch>);
  static_assert(std::is_base_of_v<shm::Error, shm::TopicBusy>);
  static_assert(std::is_base_of_v<shm::Error, shm::PublisherGone>);
  TempRoot root;
  try {
    shm::Subscriber<double> s("bad\nname", root.sub());
    FAIL("a name with a newline was accepted");
  } catch (const shm::Error& e) {
    CHECK(e.status() == SHM_ERR_INVALID_NAME);
    CHECK(std::string(e.what()).size() > 10);
  }
}

// ---- services ----

namespace {

/// A server process (forked): answers `n` requests of the path planner service: goal x 999 is
/// answered late (after 300 ms), x -1 is dropped unanswered, x -2 makes it exit without
/// answering; any other with the straight plan. Writes one byte to `ready` once serving.
pid_t serve_in_child(const TempRoot& root, int n) {
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(ready[0]);
    int code = 0;
    try {
      shm::ServerOptions options;
      options.root = root.path;
      shm::Server<robot::PlanRequest, robot::Plan> server("plan", options);
      const char byte = 'r';
      if (write(ready[1], &byte, 1) != 1) _exit(1);
      for (int served = 0; served < n;) {
        auto request = server.recv_timeout(std::chrono::seconds(30));
        if (!request) _exit(3);
        ++served;
        const double x = request->value.goal[0];
        if (x == -2) _exit(0);  // no destructor runs: the request is never answered
        if (x == -1) continue;  // dropped: its client is told NoReply
        if (x == 999) usleep(300 * 1000);
        request->reply(robot::straight(request->value));
      }
    } catch (...) {
      code = 2;
    }
    _exit(code);
  }
  close(ready[1]);
  char byte = 0;
  REQUIRE(read(ready[0], &byte, 1) == 1);
  close(ready[0]);
  return child;
}

/// A forked process, killed and reaped if the test ends before it was waited for.
struct Child {
  pid_t pid;
  explicit Child(pid_t p) : pid(p) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

int exit_code(Child& child) {
  int status = 0;
  REQUIRE(waitpid(child.pid, &status, 0) == child.pid);
  child.pid = -1;
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

shm::ClientOptions client_options(const TempRoot& root) {
  shm::ClientOptions options;
  options.root = root.path;
  return options;
}

}  // namespace

TEST_CASE("a call to a server in another process: the reply, a timeout, a dropped request") {
  TempRoot root;
  Child child(serve_in_child(root, 4));
  const shm::Client<robot::PlanRequest, robot::Plan> client("plan", client_options(root));

  const robot::Plan plan = client.call(robot::PlanRequest{{0, 0}, {3, 4}}, std::chrono::seconds(10));
  CHECK(plan.length == 5.0);
  CHECK(plan.steps == 10);
  CHECK(plan.reachable);

  try {
    (void)client.call(robot::PlanRequest{{0, 0}, {999, 0}}, std::chrono::milliseconds(50));
    FAIL("a late reply came in time");
  } catch (const shm::Timeout& e) {
    CHECK(e.status() == SHM_TIMEOUT);
  }
  CHECK_THROWS_AS((void)client.call(robot::PlanRequest{{0, 0}, {-1, 0}}, std::chrono::seconds(10)), shm::NoReply);
  // The late reply went nowhere: the next call gets its own.
  CHECK(client.call(robot::PlanRequest{{1, 1}, {1, 2}}, std::chrono::seconds(10)).steps == 2);
  CHECK(exit_code(child) == 0);
}

TEST_CASE("a server that exits mid-call: ServerGone; none at all: NoServer") {
  TempRoot root;
  const shm::Client<robot::PlanRequest, robot::Plan> client("plan", client_options(root));
  try {
    (void)client.call(robot::PlanRequest{{0, 0}, {1, 0}}, std::chrono::seconds(5));
    FAIL("a call without a server");
  } catch (const shm::NoServer& e) {
    CHECK(std::string(e.what()).find("plan") != std::string::npos);
  }
  Child child(serve_in_child(root, 1));
  CHECK_THROWS_AS((void)client.call(robot::PlanRequest{{0, 0}, {-2, 0}}, std::chrono::seconds(20)), shm::ServerGone);
  CHECK(exit_code(child) == 0);
}

TEST_CASE("a client of other types is refused naming them; a second server is refused") {
  TempRoot root;
  Child child(serve_in_child(root, 1));
  try {
    // Refused when it connects: at once here, as the server runs (else at its first call).
    const shm::Client<robot::PlanRequest, double> wrong("plan", client_options(root));
    (void)wrong.call(robot::PlanRequest{{0, 0}, {1, 0}}, std::chrono::seconds(5));
    FAIL("a client of another reply type was served");
  } catch (const shm::SchemaMismatch& e) {
    CHECK(std::string(e.what()).find("Plan") != std::string::npos);
  }
  shm::ServerOptions options;
  options.root = root.path;
  CHECK_THROWS_AS((shm::Server<robot::PlanRequest, robot::Plan>("plan", options)), shm::TopicBusy);
  // Let the child serve its one request and exit.
  const shm::Client<robot::PlanRequest, robot::Plan> client("plan", client_options(root));
  CHECK(client.call(robot::PlanRequest{{0, 0}, {0, 1}}, std::chrono::seconds(10)).steps == 2);
  CHECK(exit_code(child) == 0);
}

TEST_CASE("a request is answered once; a server's recv times out") {
  TempRoot root;
  shm::ServerOptions options;
  options.root = root.path;
  shm::Server<robot::PlanRequest, robot::Plan> server("plan", options);
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(server.recv_timeout(std::chrono::milliseconds(30)).has_value());
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(30));
  CHECK_FALSE(server.try_recv().has_value());

  // A client in another process.
  Child child(fork());
  REQUIRE(child.pid >= 0);
  if (child.pid == 0) {
    int code = 1;
    try {
      const shm::Client<robot::PlanRequest, robot::Plan> client("plan", client_options(root));
      code = client.call(robot::PlanRequest{{0, 0}, {0, 3}}, std::chrono::seconds(20)).steps == 6 ? 0 : 4;
    } catch (...) {
      code = 2;
    }
    _exit(code);
  }
  auto request = server.recv_timeout(std::chrono::seconds(20));
  REQUIRE(request.has_value());
  CHECK(request->value.goal[1] == 3);
  CHECK(request->seq() >= 1);
  request->reply(robot::straight(request->value));
  CHECK_THROWS_AS(request->reply(robot::straight(request->value)), shm::InvalidArgument);
  CHECK(exit_code(child) == 0);
}

TEST_CASE("one client called from several threads at once: each call gets its own reply") {
  TempRoot root;
  Child child(serve_in_child(root, 24));
  const shm::Client<robot::PlanRequest, robot::Plan> client("plan", client_options(root));
  std::vector<std::thread> threads;
  std::atomic<int> right{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&client, &right, t] {
      for (int i = 1; i <= 6; ++i) {
        const double y = t * 10 + i;  // a distinct goal per call: its own plan
        const robot::Plan plan = client.call(robot::PlanRequest{{0, 0}, {0, y}}, std::chrono::seconds(20));
        if (plan.length == y && plan.steps == static_cast<uint32_t>(2 * y)) ++right;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(right == 24);
  CHECK(exit_code(child) == 0);
}

TEST_CASE("server options out of range are refused as such") {
  TempRoot root;
  shm::ServerOptions options;
  options.root = root.path;
  options.max_clients = 5000;
  CHECK_THROWS_AS((shm::Server<robot::PlanRequest, robot::Plan>("plan", options)), shm::InvalidArgument);
  options.max_clients = 0;
  options.per_client = 100000;
  CHECK_THROWS_AS((shm::Server<robot::PlanRequest, robot::Plan>("plan", options)), shm::InvalidArgument);
}

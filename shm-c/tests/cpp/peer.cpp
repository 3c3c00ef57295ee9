// A C++ process on the same topics as Rust and Python ones, for python/tests/test_cpp.py.
//
//   shm_cpp_peer pose-pub TOPIC N             publishes N poses, prints "PUBLISHED N", waits for stdin
//   shm_cpp_peer pose-sub TOPIC N             prints "READY", then "POSE ..." per pose (N of them)
//   shm_cpp_peer detection-pub TOPIC          publishes one Detection, prints "PUBLISHED 1", waits
//   shm_cpp_peer detection-sub TOPIC          prints "READY", then "DETECTION ..." for one
//   shm_cpp_peer scan-pub TOPIC               publishes one Scan (bounded string and sequences), waits
//   shm_cpp_peer scan-sub TOPIC               prints "READY", then "SCAN ..." for one
//   shm_cpp_peer widths-pub TOPIC             publishes one Widths (every primitive width), waits
//   shm_cpp_peer scalar-pub TOPIC TYPE VALUE  TYPE i64, f64 or bool; prints "PUBLISHED 1", waits
//   shm_cpp_peer scalar-sub TOPIC TYPE N      prints "READY", then "VALUE <v> seq=<s>" per value
//
// A refused subscriber or publisher prints "REFUSED <exception class>: <what()>" and exits 2.
#include <array>
#include <chrono>
#include <cinttypes>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <typeinfo>

#include "../../../examples/cpp/messages.hpp"

namespace {

/// Every primitive width, and a 2-D std::array: the same type as test_cpp.py's `Widths`.
struct Widths {
  int64_t a_i64;
  double a_f64;
  uint64_t a_u64;
  int32_t a_i32;
  uint32_t a_u32;
  float a_f32;
  int16_t a_i16;
  uint16_t a_u16;
  std::array<std::array<int16_t, 2>, 2> grid;
  int8_t a_i8;
  uint8_t a_u8;
  bool flag;
  uint8_t _reserved[5];
};
SHM_MESSAGE(Widths, a_i64, a_f64, a_u64, a_i32, a_u32, a_f32, a_i16, a_u16, grid, a_i8, a_u8, flag, _reserved);

constexpr auto kWait = std::chrono::seconds(30);

void wait_for_stdin() {
  std::string line;
  std::getline(std::cin, line);
}

template <class T>
T next(shm::Subscriber<T>& subscriber, std::uint64_t* seq) {
  for (;;) {
    try {
      auto sample = subscriber.recv_timeout(kWait);
      if (!sample) {
        std::fprintf(stderr, "shm_cpp_peer: nothing within 30 s\n");
        std::exit(3);
      }
      *seq = sample->seq;
      return sample->value;
    } catch (const shm::PublisherGone&) {
      // Its last values were read first; a new publisher may come.
    }
  }
}

robot::Pose pose_number(int i) {
  return robot::Pose{{1.0 * i, -1.0 * i, 0.5 * i}, {0.0, 0.0, 0.0, 1.0}, static_cast<uint32_t>(100 + i), i % 2 == 1, {0, 0, 0}};
}

int pose_pub(const std::string& topic, int n) {
  shm::Publisher<robot::Pose> publisher(topic);
  for (int i = 1; i <= n; ++i) publisher.publish(pose_number(i));
  std::printf("PUBLISHED %d\n", n);
  std::fflush(stdout);
  wait_for_stdin();
  return 0;
}

int pose_sub(const std::string& topic, int n) {
  shm::Subscriber<robot::Pose> subscriber(topic);
  std::printf("READY\n");
  std::fflush(stdout);
  for (int i = 0; i < n; ++i) {
    std::uint64_t seq = 0;
    const robot::Pose p = next(subscriber, &seq);
    std::printf("POSE seq=%" PRIu64 " x=%g y=%g z=%g q=%g,%g,%g,%g map=%u tracking=%d\n", seq, p.position[0], p.position[1],
                p.position[2], p.orientation[0], p.orientation[1], p.orientation[2], p.orientation[3], p.map_id,
                p.tracking ? 1 : 0);
    std::fflush(stdout);
  }
  return 0;
}

int detection_pub(const std::string& topic) {
  robot::Detection d{};
  d.boxes[0] = {{1, 2}, {3, 4}};
  d.boxes[1] = {{5, 6}, {7, 8}};
  for (int c = 0; c < 3; ++c)
    for (int b = 0; b < 2; ++b) d.scores[c][b] = static_cast<float>(c * 10 + b) + 0.5f;
  d.label = 41;
  d.valid = true;
  shm::Publisher<robot::Detection> publisher(topic);
  publisher.publish(d);
  std::printf("PUBLISHED 1\n");
  std::fflush(stdout);
  wait_for_stdin();
  return 0;
}

int detection_sub(const std::string& topic) {
  shm::Subscriber<robot::Detection> subscriber(topic);
  std::printf("READY\n");
  std::fflush(stdout);
  std::uint64_t seq = 0;
  const robot::Detection d = next(subscriber, &seq);
  std::printf("DETECTION seq=%" PRIu64 " label=%u valid=%d boxes=", seq, d.label, d.valid ? 1 : 0);
  for (const auto& box : d.boxes) std::printf("%g,%g,%g,%g;", box.min[0], box.min[1], box.max[0], box.max[1]);
  std::printf(" scores=");
  for (const auto& row : d.scores) std::printf("%g,%g;", row[0], row[1]);
  std::printf("\n");
  std::fflush(stdout);
  return 0;
}

int scan_pub(const std::string& topic) {
  robot::Scan scan{};
  scan.stamp_ns = 123456789;
  scan.frame_id.assign("lidar-\xc3\xbc");  // "lidar-ü"
  for (float r : {0.5f, 1.5f, 2.5f}) scan.ranges.push_back(r);
  scan.echoes.push_back(robot::Echo{0.25f, 7, 3});
  scan.echoes.push_back(robot::Echo{-0.5f, 65535, 15});
  shm::Publisher<robot::Scan> publisher(topic);
  publisher.publish(scan);
  std::printf("PUBLISHED 1\n");
  std::fflush(stdout);
  wait_for_stdin();
  return 0;
}

int scan_sub(const std::string& topic) {
  shm::Subscriber<robot::Scan> subscriber(topic);
  std::printf("READY\n");
  std::fflush(stdout);
  std::uint64_t seq = 0;
  const robot::Scan scan = next(subscriber, &seq);
  std::printf("SCAN seq=%" PRIu64 " stamp=%" PRIu64 " frame=%s ranges=", seq, scan.stamp_ns,
              std::string(scan.frame_id.view()).c_str());
  for (float r : scan.ranges) std::printf("%g,", r);
  std::printf(" echoes=");
  for (const auto& e : scan.echoes) std::printf("%g/%u/%u;", e.angle, e.intensity, e.ring);
  std::printf("\n");
  std::fflush(stdout);
  return 0;
}

int widths_pub(const std::string& topic) {
  Widths w{};
  w.a_i64 = INT64_MIN;
  w.a_f64 = -0.125;
  w.a_u64 = UINT64_MAX;
  w.a_i32 = -5;
  w.a_u32 = 4000000000u;
  w.a_f32 = 1.5f;
  w.a_i16 = -300;
  w.a_u16 = 60000;
  w.grid = {{{{1, -2}}, {{3, -4}}}};
  w.a_i8 = -100;
  w.a_u8 = 200;
  w.flag = true;
  shm::Publisher<Widths> publisher(topic);
  publisher.publish(w);
  std::printf("PUBLISHED 1\n");
  std::fflush(stdout);
  wait_for_stdin();
  return 0;
}

template <class T>
int scalar_pub(const std::string& topic, T value) {
  shm::Publisher<T> publisher(topic);
  publisher.publish(value);
  std::printf("PUBLISHED 1\n");
  std::fflush(stdout);
  wait_for_stdin();
  return 0;
}

template <class T>
int scalar_sub(const std::string& topic, int n) {
  shm::Subscriber<T> subscriber(topic);
  std::printf("READY\n");
  std::fflush(stdout);
  for (int i = 0; i < n; ++i) {
    std::uint64_t seq = 0;
    const T value = next(subscriber, &seq);
    std::cout << "VALUE " << std::boolalpha << value << " seq=" << seq << std::endl;
  }
  return 0;
}

int run(int argc, char** argv) {
  const std::string mode = argc >= 3 ? argv[1] : "";
  const std::string topic = argc >= 3 ? argv[2] : "";
  if (mode == "pose-pub" && argc == 4) return pose_pub(topic, std::atoi(argv[3]));
  if (mode == "pose-sub" && argc == 4) return pose_sub(topic, std::atoi(argv[3]));
  if (mode == "detection-pub" && argc == 3) return detection_pub(topic);
  if (mode == "detection-sub" && argc == 3) return detection_sub(topic);
  if (mode == "scan-pub" && argc == 3) return scan_pub(topic);
  if (mode == "scan-sub" && argc == 3) return scan_sub(topic);
  if (mode == "widths-pub" && argc == 3) return widths_pub(topic);
  if ((mode == "scalar-pub" || mode == "scalar-sub") && argc == 5) {
    const std::string type = argv[3];
    const bool pub = mode == "scalar-pub";
    if (type == "i64") return pub ? scalar_pub<std::int64_t>(topic, std::strtoll(argv[4], nullptr, 10)) : scalar_sub<std::int64_t>(topic, std::atoi(argv[4]));
    if (type == "f64") return pub ? scalar_pub<double>(topic, std::strtod(argv[4], nullptr)) : scalar_sub<double>(topic, std::atoi(argv[4]));
    if (type == "bool") return pub ? scalar_pub<bool>(topic, std::strcmp(argv[4], "true") == 0) : scalar_sub<bool>(topic, std::atoi(argv[4]));
  }
  std::fprintf(stderr, "usage: shm_cpp_peer pose-pub|pose-sub TOPIC N | detection-pub|detection-sub TOPIC | scalar-pub TOPIC TYPE VALUE | scalar-sub TOPIC TYPE N\n");
  return 2;
}

const char* kind(const shm::Error& e) {
  if (dynamic_cast<const shm::SchemaMismatch*>(&e) != nullptr) return "SchemaMismatch";
  if (dynamic_cast<const shm::TopicBusy*>(&e) != nullptr) return "TopicBusy";
  return "Error";
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const shm::Error& e) {
    std::printf("REFUSED %s: %s\n", kind(e), e.what());
    std::fflush(stdout);
    return 2;
  }
}

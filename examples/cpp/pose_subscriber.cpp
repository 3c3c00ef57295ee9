// Prints the poses of any pose publisher (C++, Rust or Python): the C++ twin of the Rust
// `pose_subscriber` and the Python `pose_listener.py`.
//
//   build/pose_subscriber [--topic demo/robot/pose] [--count 0] [--timeout 30]
//
// Exits 3 when no pose came within the timeout (0: wait for ever).
#include <chrono>
#include <cstdio>

#include "args.hpp"
#include "messages.hpp"

int main(int argc, char** argv) {
  const char* usage = "Prints robot poses.\n\nUsage:\n  pose_subscriber [--topic demo/robot/pose] [--count 0] [--timeout 30]";
  const std::string topic = examples::arg(argc, argv, "topic", "demo/robot/pose", usage);
  const double count = examples::number(argc, argv, "count", "0", usage);
  const double timeout = examples::number(argc, argv, "timeout", "30", usage);
  const auto wait = timeout > 0 ? std::chrono::duration<double>(timeout) : std::chrono::hours(24 * 365);
  try {
    shm::Subscriber<robot::Pose> subscriber(topic);
    std::printf("subscribed to '%s'; waiting for poses\n", topic.c_str());
    std::fflush(stdout);
    for (double received = 0; count == 0 || received < count;) {
      std::optional<shm::Sample<robot::Pose>> sample;
      try {
        sample = subscriber.recv_timeout(wait);
      } catch (const shm::PublisherGone& e) {
        std::fprintf(stderr, "pose_subscriber: %s\n", e.what());  // a restarted publisher takes over
        continue;
      }
      if (!sample) {
        std::fprintf(stderr, "pose_subscriber: timed out after %g s with %g pose(s)\n", timeout, received);
        return 3;
      }
      const auto now = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
      const robot::Pose& p = sample->value;
      std::printf("sub #%llu: x=%+.3f y=%+.3f tracking=%s (%llu µs after publish", static_cast<unsigned long long>(sample->seq),
                  p.position[0], p.position[1], p.tracking ? "true" : "false",
                  static_cast<unsigned long long>(now > sample->published_ns ? (now - sample->published_ns) / 1000 : 0));
      if (sample->missed != 0) std::printf(", %llu missed", static_cast<unsigned long long>(sample->missed));
      std::printf(")\n");
      std::fflush(stdout);
      ++received;
    }
  } catch (const shm::Error& e) {
    std::fprintf(stderr, "pose_subscriber: %s\n", e.what());
    return 1;
  }
  return 0;
}

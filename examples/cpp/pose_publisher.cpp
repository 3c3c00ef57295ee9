// Publishes a robot pose moving on a circle: the C++ twin of the Rust `pose_publisher` and the
// Python `pose_talker.py` (any of their subscribers reads it).
//
//   build/pose_publisher [--topic demo/robot/pose] [--rate 10] [--count 0]
//
// `--count 0` publishes until interrupted.
#include <chrono>
#include <cstdio>
#include <thread>

#include "args.hpp"
#include "messages.hpp"

int main(int argc, char** argv) {
  const char* usage = "Publishes a robot pose moving on a circle.\n\nUsage:\n  pose_publisher [--topic demo/robot/pose] [--rate 10] [--count 0]";
  const std::string topic = examples::arg(argc, argv, "topic", "demo/robot/pose", usage);
  const double rate = examples::number(argc, argv, "rate", "10", usage);
  const double count = examples::number(argc, argv, "count", "0", usage);
  try {
    shm::Publisher<robot::Pose> publisher(topic);
    std::printf("publishing Pose on '%s' at %g Hz\n", topic.c_str(), rate);
    std::fflush(stdout);
    const auto start = std::chrono::steady_clock::now();
    const auto period = std::chrono::duration<double>(1.0 / (rate > 0.001 ? rate : 0.001));
    for (double n = 0; count == 0 || n < count; ++n) {
      const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const robot::Pose pose = robot::on_circle(t);
      const std::uint64_t seq = publisher.publish(pose);
      std::printf("pub #%llu: x=%+.3f y=%+.3f tracking=%s\n", static_cast<unsigned long long>(seq), pose.position[0],
                  pose.position[1], pose.tracking ? "true" : "false");
      std::fflush(stdout);
      std::this_thread::sleep_for(period);
    }
  } catch (const shm::Error& e) {
    std::fprintf(stderr, "pose_publisher: %s\n", e.what());
    return 1;
  }
  return 0;
}

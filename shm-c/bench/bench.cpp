// The C++ side of `make bench-cpp` (benches/benches/cpp.rs runs it next to the same loops in
// Rust, in one run): publish, latest and a cross-process round trip of an 8-byte value through
// <shm/shm.hpp>.
//
//   shm_cpp_bench ROOT      prints "publish_ns=<ns/op> latest_ns=<ns/op> roundtrip_p50_ns=<ns>"
//
// ROOT is an empty topic directory. The round trip's echo side is a forked child pinned to CPU
// 1 (this process to CPU 0), both busy-polling try_recv, as the Rust benchmark does.
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <shm/shm.hpp>

namespace {

constexpr std::uint64_t kOps = 2'000'000;
constexpr std::uint64_t kWarmup = 200'000;
constexpr std::uint64_t kRoundTrips = 100'000;
constexpr std::uint64_t kRoundTripWarmup = 10'000;
constexpr std::uint64_t kStop = ~std::uint64_t{0};

volatile std::uint64_t sink;

void pin(int cpu) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

double publish_ns(const std::string& root) {
  shm::PublisherOptions options;
  options.root = root;
  shm::Publisher<std::uint64_t> publisher("publish", options);
  for (std::uint64_t i = 0; i < kWarmup; ++i) publisher.publish(i);
  const std::uint64_t t0 = now_ns();
  for (std::uint64_t i = 0; i < kOps; ++i) publisher.publish(i);
  return static_cast<double>(now_ns() - t0) / kOps;
}

double latest_ns(const std::string& root) {
  shm::PublisherOptions po;
  po.root = root;
  shm::SubscriberOptions so;
  so.root = root;
  shm::Publisher<std::uint64_t> publisher("latest", po);
  publisher.publish(42);
  shm::Subscriber<std::uint64_t> subscriber("latest", so);
  for (std::uint64_t i = 0; i < kWarmup; ++i) sink = subscriber.latest()->value;
  const std::uint64_t t0 = now_ns();
  for (std::uint64_t i = 0; i < kOps; ++i) sink = subscriber.latest()->value;
  return static_cast<double>(now_ns() - t0) / kOps;
}

void echo(const std::string& root, int ready) {
  pin(1);
  shm::SubscriberOptions so;
  so.root = root;
  shm::PublisherOptions po;
  po.root = root;
  shm::Subscriber<std::uint64_t> ping("ping", so);
  shm::Publisher<std::uint64_t> pong("pong", po);
  const char byte = 'r';
  if (write(ready, &byte, 1) != 1) return;
  for (;;) {
    if (auto s = ping.try_recv()) {
      pong.publish(s->value);
      if (s->value == kStop) return;
    }
  }
}

double roundtrip_p50_ns(const std::string& root) {
  int ready[2];
  if (pipe(ready) != 0) throw std::runtime_error("pipe");
  const pid_t child = fork();
  if (child < 0) throw std::runtime_error("fork");
  if (child == 0) {
    close(ready[0]);
    try {
      echo(root, ready[1]);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "echo: %s\n", e.what());
      _exit(1);
    }
    _exit(0);
  }
  close(ready[1]);
  shm::PublisherOptions po;
  po.root = root;
  shm::SubscriberOptions so;
  so.root = root;
  shm::Publisher<std::uint64_t> ping("ping", po);
  char byte = 0;
  if (read(ready[0], &byte, 1) != 1) throw std::runtime_error("the echo process did not start");
  close(ready[0]);
  shm::Subscriber<std::uint64_t> pong("pong", so);
  std::vector<std::uint64_t> samples;
  samples.reserve(kRoundTrips);
  for (std::uint64_t i = 1; i <= kRoundTripWarmup + kRoundTrips; ++i) {
    const std::uint64_t t0 = now_ns();
    ping.publish(i);
    for (;;) {
      auto s = pong.try_recv();
      if (s && s->value == i) break;
    }
    if (i > kRoundTripWarmup) samples.push_back(now_ns() - t0);
  }
  ping.publish(kStop);
  int status = 0;
  waitpid(child, &status, 0);
  std::sort(samples.begin(), samples.end());
  return static_cast<double>(samples[samples.size() / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: shm_cpp_bench ROOT\n");
    return 2;
  }
  const std::string root = argv[1];
  try {
    pin(0);
    const double publish = publish_ns(root);
    const double latest = latest_ns(root);
    const double roundtrip = roundtrip_p50_ns(root);
    std::printf("publish_ns=%.2f latest_ns=%.2f roundtrip_p50_ns=%.0f\n", publish, latest, roundtrip);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shm_cpp_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}

// A service in C++: plans straight paths for whoever asks (`PlanRequest` in, `Plan` out), the
// twin of the Rust `path_planner` and the Python `path_planner.py` (any of their clients calls
// it).
//
//   build/path_planner [--service demo/plan] [--count 0]
//
// `--count 0` serves until interrupted.
#include <chrono>
#include <cstdio>

#include "args.hpp"
#include "messages.hpp"

int main(int argc, char** argv) {
  const char* usage = "A service: plans straight paths for whoever asks (PlanRequest in, Plan out).\n\nUsage:\n  path_planner [--service demo/plan] [--count 0]";
  const std::string service = examples::arg(argc, argv, "service", "demo/plan", usage);
  const double count = examples::number(argc, argv, "count", "0", usage);
  try {
    shm::Server<robot::PlanRequest, robot::Plan> server(service);
    std::printf("serving '%s'\n", service.c_str());
    std::fflush(stdout);
    double served = 0;
    while (count == 0 || served < count) {
      auto request = server.recv_timeout(std::chrono::milliseconds(100));
      if (!request) continue;
      const robot::PlanRequest& r = request->value;
      const robot::Plan plan = robot::straight(r);
      std::printf("#%llu: [%g, %g] -> [%g, %g]: %.2f m, %u steps\n", static_cast<unsigned long long>(request->seq()), r.start[0],
                  r.start[1], r.goal[0], r.goal[1], plan.length, plan.steps);
      std::fflush(stdout);
      try {
        request->reply(plan);
      } catch (const shm::Error& e) {
        std::fprintf(stderr, "path_planner: %s\n", e.what());
      }
      ++served;
    }
    std::printf("served %g request(s)\n", served);
  } catch (const shm::Error& e) {
    std::fprintf(stderr, "path_planner: %s\n", e.what());
    return 1;
  }
  return 0;
}

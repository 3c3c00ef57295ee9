// Calls the path planner service once (the C++, Rust or Python `path_planner`): sends a
// `PlanRequest` and prints the `Plan` it gets, or why there is none (no server, a timeout, a
// server that died mid-call).
//
//   build/plan_client [--service demo/plan] [--x 3] [--y 4] [--timeout-ms 1000]
#include <chrono>
#include <cstdio>

#include "args.hpp"
#include "messages.hpp"

int main(int argc, char** argv) {
  const char* usage = "Calls the path planner service once.\n\nUsage:\n  plan_client [--service demo/plan] [--x 3] [--y 4] [--timeout-ms 1000]";
  const std::string service = examples::arg(argc, argv, "service", "demo/plan", usage);
  const double x = examples::number(argc, argv, "x", "3", usage);
  const double y = examples::number(argc, argv, "y", "4", usage);
  const double timeout_ms = examples::number(argc, argv, "timeout-ms", "1000", usage);
  try {
    const shm::Client<robot::PlanRequest, robot::Plan> client(service);
    const robot::Plan plan = client.call(robot::PlanRequest{{0, 0}, {x, y}}, std::chrono::duration<double, std::milli>(timeout_ms));
    std::printf("plan to [%g, %g]: %.2f m in %u steps%s\n", x, y, plan.length, plan.steps, plan.reachable ? "" : " (out of reach)");
  } catch (const shm::Error& e) {
    std::fprintf(stderr, "plan_client: %s\n", e.what());
    return 1;
  }
  return 0;
}

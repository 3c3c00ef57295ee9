// The message types of the C++ examples: the same types as the Rust structs of the same names
// and fields (examples/src/lib.rs) and the Python classes (examples/python/structs/messages.py),
// so the three languages share their topics.
#pragma once

#include <shm/shm.hpp>

#include <cmath>
#include <cstdint>

namespace robot {

/// A robot's pose as a localisation process would publish it.
struct Pose {
  double position[3];     // metres, map frame
  double orientation[4];  // unit quaternion (x, y, z, w)
  uint32_t map_id;        // which map the pose refers to
  bool tracking;          // whether localisation is tracking
  uint8_t _reserved[3];   // explicit padding: a message has no hidden padding
};
SHM_MESSAGE(Pose, position, orientation, map_id, tracking, _reserved);

/// A pose on a circle of radius 2 m, `t` seconds into the run (as the Rust example's).
inline Pose on_circle(double t) {
  const double heading = t * 0.5;
  return Pose{{2.0 * std::cos(heading), 2.0 * std::sin(heading), 0.0},
              {0.0, 0.0, std::sin(heading / 2.0), std::cos(heading / 2.0)},
              7,
              true,
              {0, 0, 0}};
}

/// An axis-aligned box in an image, in pixels.
struct BoundingBox {
  float min[2];  // top-left corner (x, y)
  float max[2];  // bottom-right corner (x, y)
};
SHM_MESSAGE(BoundingBox, min, max);

/// What a detector found in a frame: nested structs, a 2-D array and a flag.
struct Detection {
  BoundingBox boxes[2];
  float scores[3][2];  // scores[class][box]
  uint16_t label;
  bool valid;
  uint8_t _reserved[1];
};
SHM_MESSAGE(Detection, boxes, scores, label, valid, _reserved);

/// One lidar return.
struct Echo {
  float angle;         // beam angle, radians
  uint16_t intensity;  // return strength
  uint16_t ring;       // laser ring
};
SHM_MESSAGE(Echo, angle, intensity, ring);

/// A lidar scan: data whose length changes every turn, in bounded sequences and a bounded
/// string (Rust's `BoundedVec` / `BoundedString`, Python's `seq[...]` / `string[...]`).
struct Scan {
  uint64_t stamp_ns;                      // capture time, ns on CLOCK_MONOTONIC
  shm::BoundedString<32> frame_id;        // the sensor's frame, up to 32 bytes of UTF-8
  shm::BoundedVec<float, 4096> ranges;    // measured ranges, metres
  shm::BoundedVec<Echo, 64> echoes;       // the strongest returns
};
SHM_MESSAGE(Scan, stamp_ns, frame_id, ranges, echoes);

/// Where the robot is and where it should go, in metres (x, y): the path planner's request.
struct PlanRequest {
  double start[2];
  double goal[2];
};
SHM_MESSAGE(PlanRequest, start, goal);

/// A planned path: how long it is and in how many steps of at most 0.5 m.
struct Plan {
  double length;         // metres
  uint32_t steps;        // steps of at most 0.5 m
  bool reachable;        // whether the goal is within reach (100 m)
  uint8_t _reserved[3];  // explicit padding
};
SHM_MESSAGE(Plan, length, steps, reachable, _reserved);

/// A straight-line plan for `request` (as the Rust example's `Plan::straight`).
inline Plan straight(const PlanRequest& request) {
  const double length = std::hypot(request.goal[0] - request.start[0], request.goal[1] - request.start[1]);
  return Plan{length, static_cast<uint32_t>(std::ceil(length / 0.5)), length <= 100.0, {0, 0, 0}};
}

}  // namespace robot

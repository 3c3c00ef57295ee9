// The harness itself: a message of every kind of field compiles (no expect line).
#include <shm/shm.hpp>

#include <array>

namespace robot {
struct Box {
  float min[2];
  float max[2];
};
SHM_MESSAGE(Box, min, max);

struct Everything {
  Box boxes[2];
  std::array<std::array<float, 2>, 3> scores;
  double grid[2][3];
  shm::BoundedString<16> name;
  shm::BoundedVec<Box, 2> more;
  int64_t i64;
  uint32_t u32;
  int16_t i16;
  uint8_t u8;
  bool flag;
};
SHM_MESSAGE(Everything, boxes, scores, grid, name, more, i64, u32, i16, u8, flag);
}  // namespace robot

int main() {
  // Instantiates every template a program uses (the schema builder, both handles).
  const shm::Schema& schema = shm::schema_of<robot::Everything>();
  shm::Publisher<robot::Everything> publisher("t");
  shm::Subscriber<robot::Everything> subscriber("t");
  shm::Subscriber<int64_t> scalars("s");
  return schema.size() == sizeof(robot::Everything) && subscriber.latest() && scalars.recv_all().empty() &&
                 publisher.publish(robot::Everything{}) > 0
             ? 0
             : 1;
}

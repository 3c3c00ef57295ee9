// Padding between two fields: refused, naming the struct, the field and the number of bytes.
// expect: SHM_MESSAGE\(Reading\): padding after field .id.
// expect: padding_bytes_after_field<Reading, 4>
#include <shm/shm.hpp>

struct Reading {
  uint32_t id;
  double value;
};
SHM_MESSAGE(Reading, id, value);

// Padding after the last field: refused.
// expect: SHM_MESSAGE\(Reading\): padding after the last field
// expect: padding_bytes_after_field<Reading, 7>
#include <shm/shm.hpp>

struct Reading {
  double value;
  bool ok;
};
SHM_MESSAGE(Reading, value, ok);

// A const field: a subscriber could not write it, refused.
// expect: SHM_MESSAGE\(Fixed\): field .id. is const
#include <shm/shm.hpp>

struct Fixed {
  const int64_t id;
};
SHM_MESSAGE(Fixed, id);

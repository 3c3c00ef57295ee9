// A field left out of the list: refused as such (not as padding).
// expect: SHM_MESSAGE\(Point\): the list does not name every field
#include <shm/shm.hpp>

struct Point {
  double x;
  double y;
  double z;
};
SHM_MESSAGE(Point, x, z);

// Fields listed out of declaration order: refused.
// expect: SHM_MESSAGE\(Point\): field .x. is listed after .y. but declared before it
#include <shm/shm.hpp>

struct Point {
  double x;
  double y;
};
SHM_MESSAGE(Point, y, x);

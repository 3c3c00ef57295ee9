// A field listed twice (and another left out): refused.
// expect: SHM_MESSAGE\(Point\): field .x. is listed after .x. but declared before it \(or listed twice\)
#include <shm/shm.hpp>

struct Point {
  double x;
  double y;
};
SHM_MESSAGE(Point, x, x);

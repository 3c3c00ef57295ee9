// A std::vector field: refused, pointing to shm::BoundedVec.
// expect: SHM_MESSAGE\(Cloud\): field .points. is a std::vector.*shm::BoundedVec<T, N>
#include <shm/shm.hpp>

#include <vector>

struct Cloud {
  std::vector<float> points;
};
SHM_MESSAGE(Cloud, points);

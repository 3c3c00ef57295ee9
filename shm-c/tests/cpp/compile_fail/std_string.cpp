// A std::string field: refused, pointing to shm::BoundedString.
// expect: SHM_MESSAGE\(Named\): field .name. is a std::string.*shm::BoundedString<N>
#include <shm/shm.hpp>

#include <string>

struct Named {
  std::string name;
  int64_t id;
};
SHM_MESSAGE(Named, name, id);

// A second translation unit including the same message declarations: linked with tests.cpp,
// it checks that SHM_MESSAGE's definitions are one per program (no ODR clash) and that both
// units see one schema.
#include <cstdint>

#include "../../../examples/cpp/messages.hpp"

std::uint64_t pose_hash_in_second_unit();

std::uint64_t pose_hash_in_second_unit() { return shm::schema_of<robot::Pose>().hash(); }

// Publishes a pose and reads it back through the installed <shm/shm.hpp> and libshm; prints
// "consumer ok <hash>" (the topic directory is the first argument).
#include <shm/shm.hpp>

#include <cinttypes>
#include <cstdio>
#include <string>

struct Pose {
  double position[3];
  double orientation[4];
  uint32_t map_id;
  bool tracking;
  uint8_t _reserved[3];
};
SHM_MESSAGE(Pose, position, orientation, map_id, tracking, _reserved);

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  shm::PublisherOptions po;
  po.root = argv[1];
  shm::SubscriberOptions so;
  so.root = argv[1];
  shm::Publisher<Pose> publisher("consumer/pose", po);
  shm::Subscriber<Pose> subscriber("consumer/pose", so);
  publisher.publish(Pose{{1, 2, 3}, {0, 0, 0, 1}, 7, true, {0, 0, 0}});
  const auto sample = subscriber.try_recv();
  if (!sample || sample->value.map_id != 7) return 1;
  std::printf("consumer ok %016" PRIx64 "\n", shm::schema_of<Pose>().hash());
  return 0;
}

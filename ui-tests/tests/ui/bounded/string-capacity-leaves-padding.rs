// A string of up to 20 bytes: 4 bytes of padding would follow them.
use shm::BoundedString;

fn main() {
    let _name = BoundedString::<20>::new();
}

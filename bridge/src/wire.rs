//! What travels with each value: a small header in the Zenoh attachment (little-endian), and
//! the value's bytes as the payload, in the layout of the topic file: little-endian too, as
//! `shm` builds only for little-endian targets (x86-64, aarch64).

/// `SHMB` + format version 2.
const MAGIC: [u8; 8] = *b"SHMB\x02\0\0\0";
/// Bytes of a header.
pub(crate) const LEN: usize = 48;

/// The sample data of a value sent over Zenoh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// Schema hash of the value's type.
    pub(crate) hash: u64,
    /// Its sequence number on the exporting machine.
    pub(crate) seq: u64,
    /// When it was published there (`CLOCK_MONOTONIC` of that machine, ns).
    pub(crate) published_ns: u64,
    /// Values published there before it that the exporting bridge never read.
    pub(crate) missed: u64,
    /// Which export it comes from (random per export: a bridge restarted, a file recreated, a
    /// machine rebooted start a new one). Sequence numbers are ordered within one export.
    pub(crate) export: u64,
}

impl Header {
    pub(crate) fn encode(&self) -> [u8; LEN] {
        let mut out = [0u8; LEN];
        out[..8].copy_from_slice(&MAGIC);
        for (i, word) in [
            self.hash,
            self.seq,
            self.published_ns,
            self.missed,
            self.export,
        ]
        .into_iter()
        .enumerate()
        {
            out[8 + i * 8..16 + i * 8].copy_from_slice(&word.to_le_bytes());
        }
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<Header> {
        if bytes.len() != LEN || bytes[..8] != MAGIC {
            return None;
        }
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[8 + i * 8..16 + i * 8]);
            u64::from_le_bytes(w)
        };
        Some(Header {
            hash: word(0),
            seq: word(1),
            published_ns: word(2),
            missed: word(3),
            export: word(4),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_and_foreign_bytes_are_refused() {
        let h = Header {
            hash: 0x85cc_1e74_da34_a4b0,
            seq: 7,
            published_ns: 123,
            missed: 2,
            export: 0x1234_5678_9abc_def0,
        };
        assert_eq!(Header::decode(&h.encode()), Some(h));
        assert_eq!(Header::decode(&h.encode()[..LEN - 1]), None);
        let mut other = h.encode();
        other[4] = 1;
        assert_eq!(Header::decode(&other), None, "another format version");
    }
}

//! What travels with each value: a small header in the Zenoh attachment (little-endian), and
//! the value's bytes as the payload, in the layout of the topic file: little-endian too, as
//! `shm` builds only for little-endian targets (x86-64, aarch64).

/// `SHMB` + format version 3.
const MAGIC: [u8; 8] = *b"SHMB\x03\0\0\0";
/// Bytes of a header.
pub(crate) const LEN: usize = 56;

/// The sample data of a value sent over Zenoh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// Schema hash of the value's type.
    pub(crate) hash: u64,
    /// Its sequence number on the exporting machine.
    pub(crate) seq: u64,
    /// When it was published there, in ns since the Unix epoch on that machine's clock
    /// (`CLOCK_REALTIME`: the one clock two machines can share, through NTP or PTP).
    pub(crate) published_unix_ns: u64,
    /// Values published there before it that the exporting bridge never read.
    pub(crate) missed: u64,
    /// Which export it comes from (random per export: a bridge restarted, a file recreated, a
    /// machine rebooted start a new one). Sequence numbers are ordered within one export.
    pub(crate) export: u64,
    /// The slot count (`buffer_num`) of the topic there, which the importing side gives its
    /// copy (a reader of every value needs the ring it was promised).
    pub(crate) slots: u32,
}

impl Header {
    pub(crate) fn encode(&self) -> [u8; LEN] {
        let mut out = [0u8; LEN];
        out[..8].copy_from_slice(&MAGIC);
        for (i, word) in [
            self.hash,
            self.seq,
            self.published_unix_ns,
            self.missed,
            self.export,
        ]
        .into_iter()
        .enumerate()
        {
            out[8 + i * 8..16 + i * 8].copy_from_slice(&word.to_le_bytes());
        }
        out[48..52].copy_from_slice(&self.slots.to_le_bytes());
        out
    }

    /// The header of these bytes; for the header of another version of the bridge, that
    /// version.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Header, NotAHeader> {
        if bytes.len() < 8 || bytes[..4] != MAGIC[..4] {
            return Err(NotAHeader::Foreign);
        }
        if bytes[4..8] != MAGIC[4..8] || bytes.len() != LEN {
            return Err(NotAHeader::Version(bytes[4]));
        }
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[8 + i * 8..16 + i * 8]);
            u64::from_le_bytes(w)
        };
        let mut slots = [0u8; 4];
        slots.copy_from_slice(&bytes[48..52]);
        Ok(Header {
            hash: word(0),
            seq: word(1),
            published_unix_ns: word(2),
            missed: word(3),
            export: word(4),
            slots: u32::from_le_bytes(slots),
        })
    }
}

/// Why bytes are not a [`Header`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotAHeader {
    /// Not from a bridge at all.
    Foreign,
    /// From a bridge of this wire format version.
    Version(u8),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_and_foreign_bytes_are_refused() {
        let h = Header {
            hash: 0x85cc_1e74_da34_a4b0,
            seq: 7,
            published_unix_ns: 1_796_000_000_123_456_789,
            missed: 2,
            export: 0x1234_5678_9abc_def0,
            slots: 32,
        };
        assert_eq!(Header::decode(&h.encode()), Ok(h));
        assert_eq!(
            Header::decode(&h.encode()[..LEN - 1]),
            Err(NotAHeader::Version(3))
        );
        let mut other = h.encode();
        other[4] = 2;
        assert_eq!(Header::decode(&other), Err(NotAHeader::Version(2)));
        assert_eq!(Header::decode(b"hello"), Err(NotAHeader::Foreign));
    }
}

//! Publish times across machines. A topic file stamps values with `CLOCK_MONOTONIC`, which
//! counts from each machine's boot and means nothing elsewhere; the wire carries wall-clock time
//! (`CLOCK_REALTIME`), which machines keep in step with NTP or PTP. The importing side turns it
//! back into an age and stamps its copy that long before now, so that `Sample::published`,
//! `age()` and `max_age` mean the same on both sides of a bridge, as far as the two clocks
//! agree. A value stamped ahead of the importer's clock is taken as published when it arrives.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use shm::Timestamp;

/// Now, in ns since the Unix epoch.
pub(crate) fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A local publish time as ns since the Unix epoch.
pub(crate) fn unix_of(published: Timestamp) -> u64 {
    let age = u64::try_from(published.elapsed().as_nanos()).unwrap_or(u64::MAX);
    unix_now_ns().saturating_sub(age)
}

/// When a value published at `unix_ns` (another machine's wall clock) was published, on this
/// machine's monotonic clock, and how far that clock is ahead of this one's, if it is.
pub(crate) fn local_of(unix_ns: u64) -> (Timestamp, Option<Duration>) {
    let now = unix_now_ns();
    let ahead = unix_ns.checked_sub(now).filter(|d| *d > 0);
    let age = now.saturating_sub(unix_ns);
    (
        Timestamp::ago(Duration::from_nanos(age)),
        ahead.map(Duration::from_nanos),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publish_time_crosses_as_an_age() {
        let published = Timestamp::ago(Duration::from_secs(3));
        let (local, ahead) = local_of(unix_of(published));
        assert_eq!(ahead, None);
        let off = local.as_nanos().abs_diff(published.as_nanos());
        assert!(off < 1_000_000_000, "{off} ns apart, for an age of 3 s");
        // Ahead of this clock by a minute: stamped now, and said so.
        let (local, ahead) = local_of(unix_now_ns() + 60_000_000_000);
        assert!(local.elapsed() < Duration::from_secs(1));
        assert!(ahead.is_some_and(|d| d > Duration::from_secs(59)));
    }
}

//! Concurrency stress across processes: one writer publishing checksummed payloads as fast as
//! it can, two readers in other processes verifying every value they read. Any torn read (a
//! value mixed from two publishes) fails the checksum; any older value after a newer one is an
//! inversion. Both must be zero, over millions of reads. (`make stress` runs the same for
//! minutes, plus a loop of killed publishers.)

use shm_integration::process::helper_exe;
use shm_integration::stress::soak;

/// How long each size runs. Five sizes keep the whole test well under a minute.
const MILLIS: u64 = 2500;

#[test]
fn no_torn_reads_and_no_inversions_under_contention() {
    let helper = helper_exe();
    let mut total_reads = 0;
    let mut total_retries = 0;
    for kind in ["s8", "s64", "s1k", "s64k", "svar"] {
        let (wrote, reports) = soak(&helper, kind, 2, MILLIS);
        eprintln!("{kind}: wrote {wrote}; readers: {reports:?}");
        for r in reports {
            assert_eq!(r.torn, 0, "{kind}: torn reads: {r:?}");
            assert_eq!(r.inversions, 0, "{kind}: order inversions: {r:?}");
            assert_eq!(
                r.mislabeled, 0,
                "{kind}: value and sequence disagree: {r:?}"
            );
            // The readers really raced a moving writer.
            assert!(
                r.distinct > 100,
                "{kind}: only {} distinct values: {r:?}",
                r.distinct
            );
            total_reads += r.reads;
            total_retries += r.retries;
        }
    }
    eprintln!("total reads {total_reads}, retried reads {total_retries}");
    assert!(total_reads > 3_000_000, "only {total_reads} reads");
}

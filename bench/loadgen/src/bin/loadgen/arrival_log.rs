//! Every packet the poll clock names, in one log for all subscribers.
//!
//! Why: recording into each subscriber's own record (its lock, a bit in its set of ids
//! received, the tail of its arrival list) touched three cold allocations per subscriber
//! per read: a fifth of the generator's CPU at 1600 subscribers (docs/benchmarks.md,
//! "Runs AI and AJ"). Appending to one log touches memory that is already in cache. The
//! step moves each entry into its subscriber's record after the run ([`Self::merge_into`]).

use crate::peer::Record;
use std::sync::Mutex;

/// Entries per chunk: the log grows a chunk at a time, never copying what it holds.
const CHUNK: usize = 1 << 16;

/// One named packet: which subscriber (its index in the step), which ledger packet, and
/// its forwarding delay in µs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Arrival {
    pub(crate) subscriber: u32,
    pub(crate) id: u32,
    pub(crate) delay_us: u32,
}

#[derive(Debug, Default)]
pub(crate) struct ArrivalLog {
    chunks: Mutex<Vec<Vec<Arrival>>>,
}

impl ArrivalLog {
    /// Appends `arrivals`, in the order they came.
    pub(crate) fn extend(&self, arrivals: impl IntoIterator<Item = Arrival>) {
        let mut chunks = self.chunks.lock().unwrap_or_else(|p| p.into_inner());
        for arrival in arrivals {
            match chunks.last_mut() {
                Some(chunk) if chunk.len() < CHUNK => chunk.push(arrival),
                _ => {
                    let mut chunk = Vec::with_capacity(CHUNK);
                    chunk.push(arrival);
                    chunks.push(chunk);
                }
            }
        }
    }

    /// Heap bytes the log holds: the measurement's output, not a subscriber's cost.
    pub(crate) fn heap_bytes(&self) -> usize {
        let chunks = self.chunks.lock().unwrap_or_else(|p| p.into_inner());
        chunks.capacity() * std::mem::size_of::<Vec<Arrival>>()
            + chunks.len() * CHUNK * std::mem::size_of::<Arrival>()
    }

    /// Every entry, in order.
    #[cfg(test)]
    pub(crate) fn entries(&self) -> Vec<Arrival> {
        let chunks = self.chunks.lock().unwrap_or_else(|p| p.into_inner());
        chunks.iter().flatten().copied().collect()
    }

    /// Moves each entry into `records[subscriber]` as if the subscriber had recorded it
    /// itself (after what it recorded through str0m); an entry for no record is dropped.
    pub(crate) fn merge_into(&self, records: &mut [Record]) {
        let chunks = std::mem::take(&mut *self.chunks.lock().unwrap_or_else(|p| p.into_inner()));
        for arrival in chunks.into_iter().flatten() {
            if let Some(record) = records.get_mut(arrival.subscriber as usize) {
                record.add_arrival(arrival.id, arrival.delay_us);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrival(subscriber: u32, id: u32) -> Arrival {
        Arrival {
            subscriber,
            id,
            delay_us: id * 10,
        }
    }

    #[test]
    fn entries_reach_their_subscribers_records_in_order_across_chunks() {
        let log = ArrivalLog::default();
        // More than a chunk, two subscribers interleaved, one entry for no one.
        let total = CHUNK as u32 + 10;
        log.extend((0..total).map(|id| arrival(id % 2, id)));
        log.extend([arrival(7, 1), arrival(1, 1)]);
        assert_eq!(log.heap_bytes() / std::mem::size_of::<Arrival>() / CHUNK, 2);
        let mut records = vec![Record::default(), Record::default()];
        records[1].add_arrival(3, 5);
        log.merge_into(&mut records);
        let even: Vec<(u32, u32)> = (0..total).step_by(2).map(|id| (id, id * 10)).collect();
        assert_eq!(records[0].arrivals, even);
        assert_eq!(records[1].arrivals[0], (3, 5), "str0m's come first");
        // Its 3, the odd ids but the 3 already in.
        assert_eq!(records[1].arrivals.len(), (total as usize) / 2);
        assert_eq!(records[1].duplicates, 2, "3 and the late 1 were already in");
        assert!(records[1].received.contains(total as usize - 1));
    }
}

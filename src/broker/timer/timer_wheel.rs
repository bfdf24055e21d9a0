//! `TimerWheel`: one slot per `precision` of time across the longest delay, each holding the
//! head of its chain of records in the [`TimerLog`](super::timer_log::TimerLog); mirrors
//! Java's `TimerWheel`.
//!
//! Java keeps the wheel in a memory-mapped file; ours is a plain array, rebuilt at start by
//! replaying the timer log. Its size is set by the configuration (3 days at 1 s is 262,800
//! slots, about 6 MiB), never by how many messages wait.

/// The head of one slot's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    /// The slot's time (a multiple of the precision); a slot holding another time is empty
    /// for this one (left over from a turn of the wheel already delivered).
    time_ms: i64,
    /// The newest record due at `time_ms`.
    last_pos: i64,
    /// Messages due at `time_ms` (recall markers not counted).
    count: u32,
}

const EMPTY: Slot = Slot {
    time_ms: i64::MIN,
    last_pos: -1,
    count: 0,
};

/// The wheel.
pub(crate) struct TimerWheel {
    slots: Vec<Slot>,
    precision_ms: i64,
}

impl TimerWheel {
    /// A wheel of `slot_count` slots of `precision_ms` each.
    pub(crate) fn new(slot_count: usize, precision_ms: i64) -> TimerWheel {
        TimerWheel {
            slots: vec![EMPTY; slot_count.max(1)],
            precision_ms,
        }
    }

    /// How far ahead of the slot being delivered a due time may be linked.
    pub(crate) fn span_ms(&self) -> i64 {
        self.slots.len() as i64 * self.precision_ms
    }

    fn index(&self, time_ms: i64) -> usize {
        (time_ms.div_euclid(self.precision_ms)).rem_euclid(self.slots.len() as i64) as usize
    }

    /// The newest record due at `time_ms` and how many messages are, or `None`.
    pub(crate) fn head(&self, time_ms: i64) -> Option<(i64, u32)> {
        let slot = self.slots[self.index(time_ms)];
        (slot.time_ms == time_ms && slot.last_pos >= 0).then_some((slot.last_pos, slot.count))
    }

    /// Makes the record at `pos` the newest due at `time_ms`; returns the one it follows in
    /// the chain (-1 for the first).
    pub(crate) fn link(&mut self, time_ms: i64, pos: u64, is_message: bool) -> i64 {
        let index = self.index(time_ms);
        let slot = &mut self.slots[index];
        if slot.time_ms != time_ms {
            *slot = Slot { time_ms, ..EMPTY };
        }
        let prev = slot.last_pos;
        slot.last_pos = pos as i64;
        slot.count += u32::from(is_message);
        prev
    }

    /// Empties the slot of `time_ms` once it is delivered.
    pub(crate) fn clear(&mut self, time_ms: i64) {
        let index = self.index(time_ms);
        if self.slots[index].time_ms == time_ms {
            self.slots[index] = EMPTY;
        }
    }

    /// Messages due at or after `from_ms` (what the timer still holds).
    pub(crate) fn pending(&self, from_ms: i64) -> u64 {
        self.slots
            .iter()
            .filter(|s| s.time_ms >= from_ms && s.last_pos >= 0)
            .map(|s| u64::from(s.count))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_per_slot_and_turns_of_the_wheel() {
        let mut wheel = TimerWheel::new(4, 1000);
        assert_eq!(wheel.span_ms(), 4000);
        assert_eq!(wheel.link(5000, 0, true), -1);
        assert_eq!(wheel.link(5000, 32, true), 0);
        assert_eq!(wheel.link(6000, 64, false), -1);
        assert_eq!(wheel.head(5000), Some((32, 2)));
        assert_eq!(wheel.head(6000), Some((64, 0)));
        // 9000 shares 5000's slot one turn later: a fresh chain.
        assert_eq!(wheel.head(9000), None);
        assert_eq!(wheel.link(9000, 96, true), -1);
        assert_eq!(wheel.head(5000), None);
        assert_eq!(wheel.pending(0), 1);
        wheel.clear(9000);
        assert_eq!(wheel.head(9000), None);
        // Times before the epoch still land in a slot.
        assert_eq!(wheel.link(-1000, 128, true), -1);
        assert_eq!(wheel.head(-1000), Some((128, 1)));
    }
}

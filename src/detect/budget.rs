//! A per-request work budget ("fuel"). Size limits bound each piece of input, but work multiplies:
//! every argument may be a payload to decode, every word is parsed, every substitution is a script
//! of its own, a pod has many containers with commands, probes and hooks. Every analysis stage
//! spends from one budget per evaluation, so the total work of one request is bounded whatever
//! its shape; running out is reported as an analysis limit, which denies.

use std::cell::Cell;

/// Units are bytes of text handed to a parser or decoder, plus a fixed cost per command.
#[derive(Debug)]
pub struct Budget {
    total: u64,
    remaining: Cell<u64>,
    exhausted: Cell<bool>,
}

/// What one analysed command costs beyond its text: matching it against every catalogue.
pub const COMMAND_COST: usize = 64;

impl Budget {
    pub fn new(units: u64) -> Budget {
        Budget {
            total: units,
            remaining: Cell::new(units),
            exhausted: Cell::new(false),
        }
    }

    /// Spends `units` if they are left; otherwise spends nothing, marks the budget exhausted and
    /// returns false, and the caller skips the work.
    pub fn spend(&self, units: usize) -> bool {
        let units = units as u64;
        let left = self.remaining.get();
        if units > left {
            self.exhausted.set(true);
            return false;
        }
        self.remaining.set(left - units);
        true
    }

    /// Whether some work was refused.
    pub fn exhausted(&self) -> bool {
        self.exhausted.get()
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn spent(&self) -> u64 {
        self.total - self.remaining.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_it_cannot_cover_and_remembers() {
        let b = Budget::new(100);
        assert!(b.spend(60));
        assert!(!b.exhausted());
        assert!(!b.spend(41), "41 of the 40 left");
        assert!(b.exhausted());
        assert_eq!(b.spent(), 60, "a refused spend costs nothing");
        assert!(b.spend(40));
        assert_eq!(b.spent(), 100);
    }
}

//! Counting what one receiver got: each sender's messages once, in order, none missing.

/// One receiver's count, per sender.
#[derive(Debug, Clone)]
pub struct Tally {
    per_sender: Vec<SenderTally>,
    messages: u32,
}

#[derive(Debug, Clone, Default)]
struct SenderTally {
    /// A bit per sequence number seen.
    seen: Vec<u64>,
    /// The highest sequence number seen so far, plus one.
    next: u32,
}

/// Totals over receivers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub received: u64,
    pub duplicates: u64,
    /// Messages that arrived after a later one from the same sender.
    pub out_of_order: u64,
    /// Stamps that name no sender or number this run sent.
    pub foreign: u64,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.received += other.received;
        self.duplicates += other.duplicates;
        self.out_of_order += other.out_of_order;
        self.foreign += other.foreign;
    }
}

impl Tally {
    pub fn new(senders: u32, messages: u32) -> Tally {
        let words = (messages as usize).div_ceil(64);
        let per_sender = (0..senders)
            .map(|_| SenderTally {
                seen: vec![0; words],
                next: 0,
            })
            .collect();
        Tally { per_sender, messages }
    }

    /// Records one arrival and says how it counted.
    pub fn record(&mut self, sender: u32, seq: u32, counts: &mut Counts) {
        let Some(tally) = self.per_sender.get_mut(sender as usize).filter(|_| seq < self.messages) else {
            counts.foreign += 1;
            return;
        };
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if tally.seen[word] & (1 << bit) != 0 {
            counts.duplicates += 1;
            return;
        }
        tally.seen[word] |= 1 << bit;
        counts.received += 1;
        if seq < tally.next {
            counts.out_of_order += 1;
        } else {
            tally.next = seq + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_loss_duplicates_and_order() {
        let cases: &[(&[(u32, u32)], Counts)] = &[
            (
                &[(0, 0), (0, 1), (1, 0), (1, 1)],
                Counts {
                    received: 4,
                    ..Counts::default()
                },
            ),
            (
                &[(0, 0), (0, 0), (0, 1)],
                Counts {
                    received: 2,
                    duplicates: 1,
                    ..Counts::default()
                },
            ),
            (
                &[(0, 1), (0, 0)],
                Counts {
                    received: 2,
                    out_of_order: 1,
                    ..Counts::default()
                },
            ),
            (
                &[(0, 2), (1, 0), (0, 0)],
                Counts {
                    received: 3,
                    out_of_order: 1,
                    ..Counts::default()
                },
            ),
            (
                &[(2, 0), (0, 9)],
                Counts {
                    foreign: 2,
                    ..Counts::default()
                },
            ),
            (
                &[(1, 1)],
                Counts {
                    received: 1,
                    ..Counts::default()
                },
            ),
        ];
        for (arrivals, want) in cases {
            let mut tally = Tally::new(2, 3);
            let mut counts = Counts::default();
            for &(sender, seq) in *arrivals {
                tally.record(sender, seq, &mut counts);
            }
            assert_eq!(counts, *want, "{arrivals:?}");
        }
    }
}

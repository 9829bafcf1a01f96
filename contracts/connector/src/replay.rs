//! Exactly-once delivery with bounded storage.
//!
//! Every message from the locker carries `nsn`, its position in the channel (0, 1, 2, …). The
//! receiver keeps a watermark `next_in` (every `nsn` below it was delivered) and the set of
//! messages delivered ahead of it, at most `window` positions ahead. Delivering `next_in`
//! advances the watermark over every contiguous entry of the set, deleting them. So the set
//! never holds more than `window - 1` entries (about 53 bytes each, paid by the connector), and
//! nothing grows with the number of messages. A message more than `window` ahead is refused
//! until the gap closes (the relayer delivers the oldest first; proofs do not expire because
//! any earlier block is provable against a later trusted block).

use crate::Connector;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    /// May be delivered now.
    Open,
    Delivered,
    /// Too far ahead of the watermark: retry after the older messages.
    BeyondWindow,
}

impl Connector {
    pub(crate) fn seen(&self, nsn: u64) -> Seen {
        if nsn < self.next_in {
            Seen::Delivered
        } else if nsn - self.next_in >= u64::from(self.window) {
            Seen::BeyondWindow
        } else if nsn == self.next_in || self.ahead == 0 {
            Seen::Open
        } else if self.delivered.contains(&(self.channel, nsn)) {
            Seen::Delivered
        } else {
            Seen::Open
        }
    }

    /// Record `nsn` as delivered. The caller checked `seen(nsn) == Open`.
    pub(crate) fn mark_delivered(&mut self, nsn: u64) {
        if nsn != self.next_in {
            self.delivered.insert((self.channel, nsn));
            self.ahead += 1;
            return;
        }
        self.next_in += 1;
        // Close the gap: consume contiguous entries (at most `ahead`, bounded by the window).
        while self.ahead > 0 && self.delivered.remove(&(self.channel, self.next_in)) {
            self.ahead -= 1;
            self.next_in += 1;
        }
    }
}

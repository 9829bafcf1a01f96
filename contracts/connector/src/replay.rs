//! Exactly-once delivery with bounded storage, per channel.
//!
//! Every message from a locker carries `nsn`, its position in that channel (0, 1, 2, …). The
//! receiver keeps, per channel, a watermark `next_in` (every `nsn` below it was delivered) and
//! the set of messages delivered ahead of it, at most `window` positions ahead. Delivering
//! `next_in` advances the watermark over every contiguous entry of the set, deleting them. So a
//! channel never holds more than `window - 1` entries (about 57 bytes each, paid by the
//! connector), and nothing grows with the number of messages. A message more than `window`
//! ahead is refused until the gap closes (the relayer delivers the oldest first; proofs do not
//! expire because any earlier block is provable against a later trusted block).

use crate::{Channel, Connector};
use near_sdk::store::LookupSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    /// May be delivered now.
    Open,
    Delivered,
    /// Too far ahead of the watermark: retry after the older messages.
    BeyondWindow,
}

pub(crate) fn seen(
    channel: &Channel,
    delivered: &LookupSet<(u32, u64)>,
    window: u32,
    nsn: u64,
) -> Seen {
    if nsn < channel.next_in {
        Seen::Delivered
    } else if nsn - channel.next_in >= u64::from(window) {
        Seen::BeyondWindow
    } else if nsn == channel.next_in || channel.ahead == 0 {
        Seen::Open
    } else if delivered.contains(&(channel.id, nsn)) {
        Seen::Delivered
    } else {
        Seen::Open
    }
}

/// Record `nsn` as delivered on `channel`. The caller checked `seen(..) == Open`.
pub(crate) fn mark_delivered(
    channel: &mut Channel,
    delivered: &mut LookupSet<(u32, u64)>,
    nsn: u64,
) {
    if nsn != channel.next_in {
        delivered.insert((channel.id, nsn));
        channel.ahead += 1;
        return;
    }
    channel.next_in += 1;
    // Close the gap: consume contiguous entries (at most `ahead`, bounded by the window).
    while channel.ahead > 0 && delivered.remove(&(channel.id, channel.next_in)) {
        channel.ahead -= 1;
        channel.next_in += 1;
    }
}

impl Connector {
    /// Mark `nsn` of channel `id` delivered (the channel is open: the caller selected from it).
    pub(crate) fn mark_delivered(&mut self, id: u32, nsn: u64) {
        let Connector {
            current,
            retired,
            delivered,
            ..
        } = self;
        if let Some(channel) = current
            .iter_mut()
            .chain(retired.iter_mut())
            .find(|c| c.id == id)
        {
            mark_delivered(channel, delivered, nsn);
        }
    }

    /// Delete a channel's entries ahead of its watermark (at most `window` probes).
    pub(crate) fn forget_window(&mut self, channel: &Channel) {
        let mut left = channel.ahead;
        let mut nsn = channel.next_in;
        let end = channel.next_in.saturating_add(u64::from(self.window));
        while left > 0 && nsn < end {
            if self.delivered.remove(&(channel.id, nsn)) {
                left -= 1;
            }
            nsn += 1;
        }
    }

    /// Whether the current locker's message `nsn` was delivered here.
    pub(crate) fn is_delivered_current(&self, nsn: u64) -> bool {
        self.current
            .as_ref()
            .is_some_and(|c| seen(c, &self.delivered, self.window, nsn) == Seen::Delivered)
    }
}

//! Channels. A channel is this connector's conversation with one locker (the connector on the
//! other chain): its own outbound sequence numbers and its own inbound replay window. Every
//! stored record (a sent two-way xCall message, a received xCall request, a sent Calimero call)
//! names the channel it belongs to.
//!
//! - **Active**: the current locker's channel. Everything new goes out on it.
//! - **Retired** (`set_locker` replaced its locker): nothing new goes out on it; from its locker
//!   only responses to records of this channel are accepted (a request it still sends is refused
//!   and answered with a failure on it); requests received on it are still executed and answered
//!   on it, to its locker, with its sequence numbers. At most [`MAX_RETIRED_CHANNELS`] at once.
//! - **Dead** (`declare_channel_dead`, an explicit `Dao` decision, logged as `channel_dead`):
//!   nothing from its locker is accepted any more and nothing is sent on it. What was pending on it
//!   ends here: a two-way message sent on it may be rolled back (`execute_rollback`), a Calimero
//!   call sent on it ends with a failure callback (`abandon_cross_call`), a request received on it
//!   expires unexecuted (`execute_call`), with every deposit returned. This is the only way a
//!   message that may have executed on the other chain is rolled back here: the admin declares
//!   that the other side will never answer.
//!
//! The replay state of an open channel is at most `window` entries (`replay`); declaring a
//! channel dead deletes them.

use crate::{Connector, ConnectorError, ConnectorEvent, ConnectorExt, Role, MAX_RETIRED_CHANNELS};
use near_plugins::{access_control_any, AccessControllable};
use near_sdk::{env, near, require, AccountId};

/// One locker's channel.
#[near(serializers = [borsh])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    pub id: u32,
    pub locker: AccountId,
    /// Next sequence number sent to the locker.
    pub next_out: u64,
    /// Watermark: every message from the locker below it was delivered.
    pub next_in: u64,
    /// Messages delivered ahead of the watermark.
    pub ahead: u32,
}

impl Channel {
    pub(crate) fn new(id: u32, locker: AccountId) -> Self {
        Channel {
            id,
            locker,
            next_out: 0,
            next_in: 0,
            ahead: 0,
        }
    }
}

#[near(serializers = [json])]
#[serde(rename_all = "snake_case")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelStatus {
    Active,
    Retired,
    Dead,
}

impl Connector {
    pub(crate) fn channel_status(&self, id: u32) -> ChannelStatus {
        if self.current.as_ref().is_some_and(|c| c.id == id) {
            ChannelStatus::Active
        } else if self.retired.iter().any(|c| c.id == id) {
            ChannelStatus::Retired
        } else {
            ChannelStatus::Dead
        }
    }

    /// The open channel (active or retired) whose locker is `executor`.
    pub(crate) fn channel_of_executor(&self, executor: &str) -> Result<&Channel, ConnectorError> {
        if self.current.is_none() && self.retired.is_empty() {
            return Err(ConnectorError::LockerNotSet);
        }
        self.current
            .iter()
            .chain(self.retired.iter())
            .find(|c| c.locker.as_str() == executor)
            .ok_or(ConnectorError::WrongExecutor)
    }

    pub(crate) fn channel_mut(&mut self, id: u32) -> Option<&mut Channel> {
        self.current
            .iter_mut()
            .chain(self.retired.iter_mut())
            .find(|c| c.id == id)
    }

    /// Take the next outbound sequence number of channel `id`: `(locker, nsn)`, or `None` when
    /// the channel is dead (nothing is sent on it).
    pub(crate) fn take_nsn(&mut self, id: u32) -> Option<(AccountId, u64)> {
        let channel = self.channel_mut(id)?;
        let nsn = channel.next_out;
        channel.next_out += 1;
        Some((channel.locker.clone(), nsn))
    }

    /// The current channel's id and the next sequence number on it (for new messages).
    pub(crate) fn take_current_nsn(&mut self) -> (u32, AccountId, u64) {
        let channel = self
            .current
            .as_mut()
            .unwrap_or_else(|| ConnectorError::LockerNotSet.panic());
        let nsn = channel.next_out;
        channel.next_out += 1;
        (channel.id, channel.locker.clone(), nsn)
    }
}

#[near]
impl Connector {
    /// Set the connector of the other chain (`Dao`). The current channel is retired (see the
    /// module documentation) and a new one starts, both sequence counters at 0. A locker once
    /// replaced can never be set again. Refused while [`MAX_RETIRED_CHANNELS`] retired channels
    /// are open: declare one dead first.
    #[access_control_any(roles(Role::Dao))]
    pub fn set_locker(&mut self, locker: AccountId) {
        require!(
            self.current.as_ref().map(|c| &c.locker) != Some(&locker)
                && !self.retired_lockers.contains(&locker),
            ConnectorError::LockerReused.as_str()
        );
        if self.current.is_some() {
            require!(
                self.retired.len() < MAX_RETIRED_CHANNELS,
                ConnectorError::TooManyChannels.as_str()
            );
        }
        let id = self.next_channel;
        self.next_channel += 1;
        if let Some(old) = self
            .current
            .replace(crate::Channel::new(id, locker.clone()))
        {
            self.retired_lockers.push(old.locker.clone());
            self.retired.push(old);
        }
        ConnectorEvent::LockerSet {
            locker,
            channel: id,
            by: env::predecessor_account_id(),
        }
        .emit();
    }

    /// Declare a retired channel dead (`Dao`): its locker will never answer. Nothing from it is
    /// accepted from now on, its replay state is deleted, and what was pending on it may be ended
    /// (see the module documentation). Logged as `channel_dead`. Irreversible.
    #[access_control_any(roles(Role::Dao))]
    pub fn declare_channel_dead(&mut self, channel: u32) {
        let Some(i) = self.retired.iter().position(|c| c.id == channel) else {
            ConnectorError::ChannelNotRetired.panic()
        };
        let dead = self.retired.remove(i);
        self.forget_window(&dead);
        ConnectorEvent::ChannelDead {
            channel,
            locker: dead.locker,
            by: env::predecessor_account_id(),
        }
        .emit();
    }
}

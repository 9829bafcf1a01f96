//! The key pool of one chain: several access keys of the relayer, one nonce lane
//! ([`TxSender`]) per key.
//!
//! The first key signs light client updates and nothing else (the **relay lane**); the others
//! sign deliveries (**delivery lanes**), each delivery on the lane with the fewest transactions
//! in flight. The relay and the deliveries therefore never share a nonce, and a nonce problem
//! on one lane (another process used the key, a transaction was dropped) re-synchronises that
//! lane alone ([`crate::tx`]). With a single key (an old configuration) relay and deliveries
//! share it, with a warning.
//!
//! **Least privilege.** The relayer needs only function-call keys: `add_light_client_block` on
//! the light client for the relay lane; `verify_and_forward` on the light client (fast path) or
//! the connector's four delivery methods for the delivery lanes. [`KeyPool::check_permissions`]
//! reads every key's permission from the chain and reports a key that cannot call what its lane
//! needs, and every full-access key (a relayer host should hold none).

use crate::rpc::{AccessKeyInfo, BlockRef, RpcClient};
use crate::signer::TxSigner;
use crate::tx::{TxOptions, TxSender};
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// What a lane is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaneRole {
    Relay,
    Delivery,
}

impl LaneRole {
    pub fn as_str(&self) -> &'static str {
        match self {
            LaneRole::Relay => "relay",
            LaneRole::Delivery => "delivery",
        }
    }
}

/// What one key may do, as the chain says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permission {
    FullAccess,
    /// Calls to `receiver` of `methods` (any method when empty), without deposit.
    FunctionCall {
        receiver: String,
        methods: Vec<String>,
    },
}

impl Permission {
    pub fn from_view(ak: &AccessKeyInfo) -> Option<Self> {
        if ak.is_full_access() {
            return Some(Permission::FullAccess);
        }
        let fc = ak.permission.get("FunctionCall")?;
        Some(Permission::FunctionCall {
            receiver: fc.get("receiver_id")?.as_str()?.to_string(),
            methods: fc
                .get("method_names")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|m| m.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// Whether this key may call `method` on `receiver` (with a deposit when `deposit`).
    pub fn allows(&self, receiver: &str, method: &str, deposit: bool) -> bool {
        match self {
            Permission::FullAccess => true,
            Permission::FunctionCall {
                receiver: r,
                methods,
            } => {
                !deposit
                    && r == receiver
                    && (methods.is_empty() || methods.iter().any(|m| m == method))
            }
        }
    }
}

/// The calls a lane must be able to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneNeeds {
    pub receiver: String,
    pub methods: Vec<String>,
}

pub struct Lane {
    pub role: LaneRole,
    pub sender: Arc<TxSender>,
    /// Known once [`KeyPool::check_permissions`] ran.
    pub permission: Mutex<Option<Permission>>,
}

/// The lanes of one chain.
pub struct KeyPool {
    chain: String,
    lanes: Vec<Lane>,
}

impl KeyPool {
    /// Lanes for `signers` on `rpc`: the first signs light client updates, the others
    /// deliveries (with one signer, it does both).
    pub fn new(chain: &str, rpc: &RpcClient, signers: Vec<TxSigner>, opts: TxOptions) -> Self {
        let n = signers.len();
        let lanes = signers
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let role = if i == 0 && n > 1 {
                    LaneRole::Relay
                } else {
                    LaneRole::Delivery
                };
                let label = format!("{chain}/{}{i}", role.as_str());
                Lane {
                    role,
                    sender: Arc::new(
                        TxSender::new(rpc.clone(), Arc::new(s), opts.clone()).with_label(label),
                    ),
                    permission: Mutex::new(None),
                }
            })
            .collect();
        KeyPool {
            chain: chain.to_string(),
            lanes,
        }
    }

    pub fn chain(&self) -> &str {
        &self.chain
    }

    pub fn lanes(&self) -> &[Lane] {
        &self.lanes
    }

    /// Whether relay and deliveries share one key (a single key configured).
    pub fn shared(&self) -> bool {
        self.lanes.len() == 1
    }

    /// The lane that signs light client updates.
    pub fn relay_lane(&self) -> Arc<TxSender> {
        self.lanes
            .iter()
            .find(|l| l.role == LaneRole::Relay)
            .unwrap_or(&self.lanes[0])
            .sender
            .clone()
    }

    /// The delivery lane with the fewest transactions in flight among those allowed to call
    /// `method` on `receiver` (with a deposit when `deposit`). Lanes whose permission is not
    /// known yet are used only when no lane is known to be allowed: the chain has the last
    /// word.
    pub fn delivery_lane(
        &self,
        receiver: &str,
        method: &str,
        deposit: bool,
    ) -> Option<Arc<TxSender>> {
        let lanes = self.lanes.iter().filter(|l| l.role == LaneRole::Delivery);
        let allowed = |l: &&Lane| {
            l.permission
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .map(|p| p.allows(receiver, method, deposit))
        };
        lanes
            .clone()
            .filter(|l| allowed(l) == Some(true))
            .min_by_key(|l| l.sender.in_flight())
            .or_else(|| {
                lanes
                    .filter(|l| allowed(l).is_none())
                    .min_by_key(|l| l.sender.in_flight())
            })
            .map(|l| l.sender.clone())
    }

    /// Read every key's permission from the chain and check it against what its lane needs.
    /// Returns the problems found (a key that cannot do its job, a full-access key); an RPC
    /// error leaves the permissions unknown.
    pub async fn check_permissions(
        &self,
        relay: &LaneNeeds,
        delivery: &LaneNeeds,
    ) -> Result<Vec<String>, crate::rpc::RpcError> {
        let mut problems = Vec::new();
        for lane in &self.lanes {
            let signer = lane.sender.signer();
            let ak = lane
                .sender
                .rpc()
                .view_access_key(
                    signer.account_id().as_str(),
                    &signer.public_key().to_string(),
                    BlockRef::Final,
                )
                .await?;
            let Some(p) = Permission::from_view(&ak) else {
                problems.push(format!(
                    "{}: key {} has a permission this build cannot read: {}",
                    lane.sender.label(),
                    signer.public_key(),
                    ak.permission
                ));
                continue;
            };
            let mut needs = vec![];
            if lane.role == LaneRole::Relay || self.shared() {
                needs.push(relay);
            }
            if lane.role == LaneRole::Delivery {
                needs.push(delivery);
            }
            for need in needs {
                for m in &need.methods {
                    if !p.allows(&need.receiver, m, false) {
                        problems.push(format!(
                            "{}: key {} of {} may not call {}.{m} (permission {p:?})",
                            lane.sender.label(),
                            signer.public_key(),
                            signer.account_id(),
                            need.receiver
                        ));
                    }
                }
            }
            if p == Permission::FullAccess {
                problems.push(format!(
                    "{}: key {} of {} is a FULL-ACCESS key: a relayer needs only function-call keys (xsc deploy creates them); whoever takes this host can spend the account",
                    lane.sender.label(),
                    signer.public_key(),
                    signer.account_id()
                ));
            }
            *lane.permission.lock().unwrap_or_else(|p| p.into_inner()) = Some(p);
        }
        Ok(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::RpcClientConfig;
    use serde_json::json;

    fn pool(n: usize) -> KeyPool {
        let rpc = RpcClient::new(RpcClientConfig::new("http://127.0.0.1:9")).unwrap();
        let signers = (0..n)
            .map(|i| TxSigner::from_seed("relayer.test.near", &format!("k{i}")).unwrap())
            .collect();
        KeyPool::new("b", &rpc, signers, TxOptions::default())
    }

    #[test]
    fn the_first_key_relays_and_the_others_deliver() {
        let p = pool(3);
        assert!(!p.shared());
        let roles: Vec<_> = p.lanes().iter().map(|l| l.role).collect();
        assert_eq!(
            roles,
            vec![LaneRole::Relay, LaneRole::Delivery, LaneRole::Delivery]
        );
        let relay = p.relay_lane();
        assert_eq!(relay.label(), "b/relay0");
        for _ in 0..5 {
            let d = p
                .delivery_lane("lc.b", "verify_and_forward", false)
                .unwrap();
            assert!(
                !Arc::ptr_eq(&d, &relay),
                "a delivery never signs on the relay lane"
            );
        }
        // One key: it does both, and says so.
        let one = pool(1);
        assert!(one.shared());
        assert!(Arc::ptr_eq(
            &one.relay_lane(),
            &one.delivery_lane("lc.b", "verify_and_forward", false)
                .unwrap()
        ));
    }

    #[test]
    fn permissions_decide_which_lane_may_deliver() {
        let p = pool(3);
        let fc = |receiver: &str, methods: &[&str]| Permission::FunctionCall {
            receiver: receiver.into(),
            methods: methods.iter().map(|m| m.to_string()).collect(),
        };
        *p.lanes()[1].permission.lock().unwrap() = Some(fc("lc.b", &["verify_and_forward"]));
        *p.lanes()[2].permission.lock().unwrap() = Some(Permission::FullAccess);
        let pick =
            |m: &str, r: &str, dep: bool| p.delivery_lane(r, m, dep).map(|l| l.label().to_string());
        assert!(pick("verify_and_forward", "lc.b", false).is_some());
        // Only the full-access key may attach a deposit or call the connector.
        assert_eq!(
            pick("verify_and_forward", "lc.b", true).as_deref(),
            Some("b/delivery2")
        );
        assert_eq!(
            pick("cross_call_execute", "connector.b", false).as_deref(),
            Some("b/delivery2")
        );
        *p.lanes()[2].permission.lock().unwrap() = Some(fc("lc.b", &[]));
        assert_eq!(pick("verify_and_forward", "lc.b", true), None);
    }

    #[test]
    fn permissions_parse_from_the_rpc_view() {
        let ak = |perm: Value| AccessKeyInfo {
            nonce: 1,
            block_height: None,
            block_hash: None,
            permission: perm,
        };
        assert_eq!(
            Permission::from_view(&ak(json!("FullAccess"))),
            Some(Permission::FullAccess)
        );
        let p = Permission::from_view(&ak(json!({"FunctionCall": {"allowance": null,
            "receiver_id": "lc.b", "method_names": ["add_light_client_block"]}})))
        .unwrap();
        assert!(p.allows("lc.b", "add_light_client_block", false));
        assert!(
            !p.allows("lc.b", "add_light_client_block", true),
            "no deposit on a function-call key"
        );
        assert!(!p.allows("lc.b", "verify_and_forward", false));
        assert!(!p.allows("connector.b", "add_light_client_block", false));
        let any = Permission::from_view(&ak(
            json!({"FunctionCall": {"receiver_id": "lc.b", "method_names": []}}),
        ))
        .unwrap();
        assert!(any.allows("lc.b", "anything", false));
        assert_eq!(Permission::from_view(&ak(json!({"Weird": {}}))), None);
    }
}

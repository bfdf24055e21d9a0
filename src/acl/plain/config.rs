//! The account table: Java's `plain_acl.yml`, written as JSON with the same field names.

use std::collections::HashMap;

use serde::Deserialize;

use super::permission::{parse_permission, DENY};
use super::remote_address::RemoteAddressStrategy;

/// Retry topics name a group's resources (`%RETRY%<group>`).
pub(crate) use crate::protocol::mix_all::RETRY_GROUP_TOPIC_PREFIX;

/// Java refuses keys this short or shorter (`AclConstants.ACCESS_KEY_MIN_LENGTH`).
const KEY_MIN_LENGTH: usize = 6;

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlainAclFile {
    #[serde(default)]
    global_white_remote_addresses: Vec<String>,
    #[serde(default)]
    accounts: Vec<PlainAccessConfig>,
}

/// One account as written (Java's `PlainAccessConfig`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlainAccessConfig {
    access_key: Option<String>,
    secret_key: Option<String>,
    #[serde(default)]
    white_remote_address: Option<String>,
    #[serde(default)]
    admin: bool,
    #[serde(default)]
    default_topic_perm: Option<String>,
    #[serde(default)]
    default_group_perm: Option<String>,
    #[serde(default)]
    topic_perms: Vec<String>,
    #[serde(default)]
    group_perms: Vec<String>,
}

/// One account, ready to check requests against (Java's owned `PlainAccessResource`).
#[derive(Debug)]
pub(crate) struct Account {
    pub(crate) access_key: String,
    pub(crate) secret_key: String,
    pub(crate) white_remote_address: RemoteAddressStrategy,
    pub(crate) admin: bool,
    pub(crate) default_topic_perm: u8,
    pub(crate) default_group_perm: u8,
    /// Topic, or `%RETRY%<group>` for a group → permission.
    pub(crate) resource_perms: HashMap<String, u8>,
}

/// The whole table.
#[derive(Debug)]
pub(crate) struct AclTable {
    pub(crate) global_white_remote_addresses: Vec<RemoteAddressStrategy>,
    pub(crate) accounts: HashMap<String, Account>,
}

impl AclTable {
    /// Parses the JSON account table; `Err` says what is wrong, naming the account.
    pub(crate) fn parse(json: &[u8]) -> Result<AclTable, String> {
        let file: PlainAclFile =
            serde_json::from_slice(json).map_err(|e| format!("not an ACL table: {e}"))?;
        let global_white_remote_addresses = file
            .global_white_remote_addresses
            .iter()
            .map(|pattern| RemoteAddressStrategy::parse(pattern))
            .collect::<Result<_, _>>()?;
        let mut accounts = HashMap::new();
        for config in file.accounts {
            let account = Account::build(config)?;
            if accounts.contains_key(&account.access_key) {
                return Err(format!(
                    "the accessKey {} is defined twice",
                    account.access_key
                ));
            }
            accounts.insert(account.access_key.clone(), account);
        }
        Ok(AclTable {
            global_white_remote_addresses,
            accounts,
        })
    }
}

impl Account {
    /// `buildPlainAccessResource`, with `checkPlainAccessConfig`'s key checks.
    fn build(config: PlainAccessConfig) -> Result<Account, String> {
        let (Some(access_key), Some(secret_key)) = (config.access_key, config.secret_key) else {
            return Err("an account needs both accessKey and secretKey".into());
        };
        if access_key.len() <= KEY_MIN_LENGTH || secret_key.len() <= KEY_MIN_LENGTH {
            // Java's wording, without printing the secret.
            return Err(format!(
                "The accessKey={access_key} and secretKey cannot be null and length should \
                 longer than {KEY_MIN_LENGTH}"
            ));
        }
        let mut resource_perms = HashMap::new();
        for (entries, is_topic) in [(&config.group_perms, false), (&config.topic_perms, true)] {
            for entry in entries {
                let Some((name, perm)) = entry.split_once('=') else {
                    return Err(format!(
                        "Parse resource permission failed for {}:{entry} (account {access_key})",
                        if is_topic { "topic" } else { "group" }
                    ));
                };
                let name = name.trim();
                let resource = if is_topic {
                    name.to_string()
                } else {
                    format!("{RETRY_GROUP_TOPIC_PREFIX}{name}")
                };
                let perm = parse_permission(Some(perm));
                if perm_is_not_deny_text(perm, entry) {
                    return Err(format!(
                        "Parse resource permission error for {entry} (account {access_key}): \
                         the expected permissions are 'SUB' or 'PUB' or 'SUB|PUB' or 'PUB|SUB'"
                    ));
                }
                resource_perms.insert(resource, perm);
            }
        }
        let white_remote_address =
            RemoteAddressStrategy::parse(config.white_remote_address.as_deref().unwrap_or(""))?;
        Ok(Account {
            access_key,
            secret_key,
            white_remote_address,
            admin: config.admin,
            default_topic_perm: parse_permission(config.default_topic_perm.as_deref()),
            default_group_perm: parse_permission(config.default_group_perm.as_deref()),
            resource_perms,
        })
    }
}

/// True when `entry`'s permission parsed to DENY without saying DENY: a typo such as
/// `T=PUBB`, which Java's `checkResourcePerms` refuses rather than silently deny.
fn perm_is_not_deny_text(perm: u8, entry: &str) -> bool {
    perm == DENY
        && entry
            .split_once('=')
            .is_some_and(|(_, text)| text.trim() != "DENY")
}

#[cfg(test)]
mod tests {
    use super::super::permission::{PUB, SUB};
    use super::*;

    #[test]
    fn java_field_names_and_group_resources() {
        let table = AclTable::parse(
            br#"{
              "globalWhiteRemoteAddresses": ["10.10.103.*"],
              "accounts": [{
                "accessKey": "RocketMQ", "secretKey": "12345678",
                "whiteRemoteAddress": "", "admin": false,
                "defaultTopicPerm": "DENY", "defaultGroupPerm": "SUB",
                "topicPerms": ["topicA=DENY", "topicB=PUB|SUB"],
                "groupPerms": ["groupB=PUB|SUB"]
              }]
            }"#,
        )
        .unwrap();
        assert_eq!(table.global_white_remote_addresses.len(), 1);
        let account = &table.accounts["RocketMQ"];
        assert_eq!(account.default_topic_perm, DENY);
        assert_eq!(account.default_group_perm, SUB);
        assert_eq!(account.resource_perms["topicA"], DENY);
        assert_eq!(account.resource_perms["topicB"], PUB | SUB);
        assert_eq!(account.resource_perms["%RETRY%groupB"], PUB | SUB);
    }

    #[test]
    fn bad_tables_are_refused_with_a_reason() {
        let short = AclTable::parse(br#"{"accounts":[{"accessKey":"ak","secretKey":"12345678"}]}"#)
            .unwrap_err();
        assert!(short.contains("length should longer than 6"), "{short}");
        let typo = AclTable::parse(
            br#"{"accounts":[{"accessKey":"RocketMQ","secretKey":"12345678","topicPerms":["T=PUBB"]}]}"#,
        )
        .unwrap_err();
        assert!(typo.contains("T=PUBB"), "{typo}");
        assert!(AclTable::parse(b"accounts: []").is_err());
    }
}

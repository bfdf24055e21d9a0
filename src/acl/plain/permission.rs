//! Permissions of an account on topics and groups (Java's `Permission`).

use crate::protocol::codes::request_code;

/// Refused, whatever else is set.
pub(crate) const DENY: u8 = 1;
/// Either PUB or SUB will do (unused by requests today; kept as Java has it).
pub(crate) const ANY: u8 = 1 << 1;
/// May send to the topic.
pub(crate) const PUB: u8 = 1 << 2;
/// May consume from the topic, or as the group.
pub(crate) const SUB: u8 = 1 << 3;

/// Request codes only an admin account may send (`Permission.ADMIN_CODE`).
const ADMIN_CODES: [i32; 5] = [
    request_code::UPDATE_AND_CREATE_TOPIC,
    request_code::UPDATE_BROKER_CONFIG,
    request_code::DELETE_TOPIC_IN_BROKER,
    request_code::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
    request_code::DELETE_SUBSCRIPTIONGROUP,
];

/// Whether `owned` grants `needed` (`Permission.checkPermission`).
pub(crate) fn check_permission(needed: u8, owned: u8) -> bool {
    if owned & DENY != 0 {
        return false;
    }
    if needed & ANY != 0 {
        return owned & (PUB | SUB) != 0;
    }
    needed & owned != 0
}

/// `PUB`, `SUB`, `PUB|SUB`, `SUB|PUB`, `DENY`; anything else denies (`parsePermFromString`).
pub(crate) fn parse_permission(text: Option<&str>) -> u8 {
    match text.map(str::trim) {
        Some("PUB") => PUB,
        Some("SUB") => SUB,
        Some("PUB|SUB") | Some("SUB|PUB") => PUB | SUB,
        _ => DENY,
    }
}

/// Whether `code` needs an admin account (`needAdminPerm`).
pub(crate) fn needs_admin(code: i32) -> bool {
    ADMIN_CODES.contains(&code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_wins_and_pub_does_not_grant_sub() {
        assert!(check_permission(PUB, PUB | SUB));
        assert!(!check_permission(SUB, PUB));
        assert!(!check_permission(PUB, DENY | PUB));
        assert!(check_permission(ANY, SUB));
        assert_eq!(parse_permission(Some(" SUB|PUB ")), PUB | SUB);
        assert_eq!(parse_permission(Some("WRITE")), DENY);
        assert_eq!(parse_permission(None), DENY);
        assert!(needs_admin(request_code::UPDATE_AND_CREATE_TOPIC));
        assert!(!needs_admin(request_code::SEND_MESSAGE_V2));
    }
}

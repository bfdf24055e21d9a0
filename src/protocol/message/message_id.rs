//! Message ids: the client's unique id (`UNIQ_KEY`, Java's `MessageClientIDSetter`) and the
//! broker's offset message id (`MessageDecoder.createMessageId` / `decodeMessageId`).
//!
//! ```text
//! unique id  ip (4 or 16) | u16 pid | i32 salt | i32 ms since the month began | u16 counter
//! offset id  store ip (4 or 16) | i32 port | i64 commit log offset
//! ```
//! Both are upper-case hex: 32 characters for IPv4, 56 for IPv6.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};

use crate::common::clock::now_millis;
use crate::protocol::error::BodyError;
use crate::protocol::util_all::{bytes_to_hex, hex_to_bytes};

const MS_PER_DAY: i64 = 86_400_000;

/// The offset message id of a stored message (`MessageDecoder.createMessageId`): store host
/// address and port, then the commit log offset, as upper-case hex (32 chars for IPv4).
pub fn create_offset_message_id(store_addr: SocketAddr, commit_log_offset: i64) -> String {
    let mut bytes = Vec::with_capacity(28);
    push_ip(&mut bytes, store_addr.ip());
    bytes.extend_from_slice(&i32::from(store_addr.port()).to_be_bytes());
    bytes.extend_from_slice(&commit_log_offset.to_be_bytes());
    bytes_to_hex(&bytes)
}

/// Splits an offset message id into store address and commit log offset
/// (`MessageDecoder.decodeMessageId`); 32 hex chars is IPv4, 56 is IPv6.
pub fn decode_offset_message_id(msg_id: &str) -> Result<(SocketAddr, i64), BodyError> {
    const FIELD: &str = "offset message id";
    let invalid = || BodyError::InvalidValue {
        field: FIELD,
        value: msg_id.to_string(),
    };
    let bytes = hex_to_bytes(msg_id, FIELD)?;
    let (ip, rest) = split_ip(&bytes).ok_or_else(invalid)?;
    let (port, offset) = match rest {
        [p0, p1, p2, p3, o @ ..] => (i32::from_be_bytes([*p0, *p1, *p2, *p3]), o),
        _ => return Err(invalid()),
    };
    let port = u16::try_from(port).map_err(|_| invalid())?;
    let offset: [u8; 8] = offset.try_into().map_err(|_| invalid())?;
    Ok((SocketAddr::new(ip, port), i64::from_be_bytes(offset)))
}

/// Generates client unique message ids (`UNIQ_KEY`); mirrors Java's `MessageClientIDSetter`.
///
/// Thread-safe: the counter is atomic and the time part is computed per call. Java's fixed
/// part ends with the class loader's hash code; here it is a random salt per generator. The
/// month starts at 00:00 UTC (Java uses the JVM's time zone, so ids made by a Java client in
/// another zone read back hours off in [`nearly_time_from_unique_id`]).
#[derive(Debug)]
pub struct MessageClientIdGenerator {
    fixed_hex: String,
    counter: AtomicU16,
}

impl MessageClientIdGenerator {
    /// A generator for this process: `ip` (use a fake one, [`create_fake_ip`], if the host
    /// has none), the process id truncated to 16 bits as Java does, and a random salt.
    pub fn new(ip: IpAddr) -> Self {
        // Java writes (short) pid: the low 16 bits.
        let pid = (std::process::id() & 0xFFFF) as u16;
        Self::with_parts(ip, pid, random_salt())
    }

    /// A generator with every fixed part given, for tests and reproducible ids.
    pub fn with_parts(ip: IpAddr, pid: u16, salt: i32) -> Self {
        let mut fixed = Vec::with_capacity(22);
        push_ip(&mut fixed, ip);
        fixed.extend_from_slice(&pid.to_be_bytes());
        fixed.extend_from_slice(&salt.to_be_bytes());
        MessageClientIdGenerator {
            fixed_hex: bytes_to_hex(&fixed),
            counter: AtomicU16::new(0),
        }
    }

    /// The next id (`createUniqID`), stamped with the current time.
    pub fn next(&self) -> String {
        self.next_at(now_millis())
    }

    /// The next id stamped as if the time were `now_ms` (ms since the Unix epoch).
    pub fn next_at(&self, now_ms: i64) -> String {
        // Java: (int) (current - startTime), 0 when slightly negative; never negative here.
        let since_month = now_ms.saturating_sub(month_start_millis(now_ms)) as i32;
        let count = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut id = String::with_capacity(self.fixed_hex.len() + 12);
        id.push_str(&self.fixed_hex);
        id.push_str(&bytes_to_hex(&since_month.to_be_bytes()));
        id.push_str(&bytes_to_hex(&count.to_be_bytes()));
        id
    }
}

/// A stand-in IPv4 address from the low 4 bytes of the time (`createFakeIP`), for hosts with
/// no usable address.
pub fn create_fake_ip(now_ms: i64) -> Ipv4Addr {
    let b = now_ms.to_be_bytes();
    Ipv4Addr::new(b[4], b[5], b[6], b[7])
}

/// The IP address inside a unique id (`getIPFromID`).
pub fn ip_from_unique_id(unique_id: &str) -> Result<IpAddr, BodyError> {
    let bytes = unique_id_bytes(unique_id)?;
    split_ip(&bytes)
        .map(|(ip, _)| ip)
        .ok_or_else(|| invalid_unique_id(unique_id))
}

/// The low 16 bits of the producer's process id inside a unique id (`getPidFromID`).
pub fn pid_from_unique_id(unique_id: &str) -> Result<u16, BodyError> {
    let bytes = unique_id_bytes(unique_id)?;
    let (_, rest) = split_ip(&bytes).ok_or_else(|| invalid_unique_id(unique_id))?;
    match rest {
        [p0, p1, ..] => Ok(u16::from_be_bytes([*p0, *p1])),
        _ => Err(invalid_unique_id(unique_id)),
    }
}

/// When a unique id was made, to the millisecond (`getNearlyTimeFromID`): its offset is added
/// to the start of the month of `now_ms`, or of the month before if that lies in the future.
pub fn nearly_time_from_unique_id(unique_id: &str, now_ms: i64) -> Result<i64, BodyError> {
    let bytes = unique_id_bytes(unique_id)?;
    let (_, rest) = split_ip(&bytes).ok_or_else(|| invalid_unique_id(unique_id))?;
    let span = match rest {
        [_, _, _, _, _, _, t0, t1, t2, t3, _, _] => {
            i64::from(u32::from_be_bytes([*t0, *t1, *t2, *t3]))
        }
        _ => return Err(invalid_unique_id(unique_id)),
    };
    let mut month_start = month_start_millis(now_ms);
    if month_start + span >= now_ms {
        month_start = previous_month_start_millis(month_start);
    }
    Ok(month_start + span)
}

fn unique_id_bytes(unique_id: &str) -> Result<Vec<u8>, BodyError> {
    let bytes = hex_to_bytes(unique_id, "unique message id")?;
    if bytes.len() == 16 || bytes.len() == 28 {
        Ok(bytes)
    } else {
        Err(invalid_unique_id(unique_id))
    }
}

fn invalid_unique_id(unique_id: &str) -> BodyError {
    BodyError::InvalidValue {
        field: "unique message id",
        value: unique_id.to_string(),
    }
}

fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => out.extend_from_slice(&v4.octets()),
        IpAddr::V6(v6) => out.extend_from_slice(&v6.octets()),
    }
}

/// Splits an id's bytes into its IP and the rest: 28 or more bytes means IPv6, as in Java
/// (the ids are 16 bytes with IPv4, 28 with IPv6).
fn split_ip(bytes: &[u8]) -> Option<(IpAddr, &[u8])> {
    if bytes.len() >= 28 {
        let (ip, rest) = bytes.split_at(16);
        let octets: [u8; 16] = ip.try_into().ok()?;
        Some((IpAddr::V6(Ipv6Addr::from(octets)), rest))
    } else if bytes.len() >= 4 {
        let (ip, rest) = bytes.split_at(4);
        let octets: [u8; 4] = ip.try_into().ok()?;
        Some((IpAddr::V4(Ipv4Addr::from(octets)), rest))
    } else {
        None
    }
}

fn random_salt() -> i32 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_i64(now_millis());
    hasher.write_u32(std::process::id());
    hasher.finish() as i32
}

/// 00:00 UTC on the first day of the month containing `ms`.
fn month_start_millis(ms: i64) -> i64 {
    let (year, month, _) = civil_from_days(ms.div_euclid(MS_PER_DAY));
    days_from_civil(year, month, 1) * MS_PER_DAY
}

/// 00:00 UTC on the first day of the month before the one starting at `month_start`.
fn previous_month_start_millis(month_start: i64) -> i64 {
    let (year, month, _) = civil_from_days(month_start.div_euclid(MS_PER_DAY));
    let (year, month) = if month == 1 {
        (year - 1, 12)
    } else {
        (year, month - 1)
    };
    days_from_civil(year, month, 1) * MS_PER_DAY
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = i64::from((month + 9) % 12); // March = 0
    let day_of_year = (153 * month_index + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The (year, month, day) of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // March = 0
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The UNIQ_KEY and bornTimestamp (g) of vector java-4.9.8/010, made by a Java 4.9.8
    /// producer on fd00::2 in a JVM running in UTC.
    const JAVA_UNIQ_KEY: &str = "FD00000000000000000000000000000233755FFD2B276A9974430000";
    const JAVA_BORN_TIMESTAMP: i64 = 1_795_279_641_668;

    #[test]
    fn offset_id_matches_vector_022() {
        let addr: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        assert_eq!(
            create_offset_message_id(addr, 0x8C0),
            "7F00000100002A9F00000000000008C0"
        );
        assert_eq!(
            decode_offset_message_id("7F00000100002A9F00000000000008C0"),
            Ok((addr, 0x8C0))
        );
        // Vector 115's id, lower case accepted too.
        assert_eq!(
            decode_offset_message_id("7f00000100002a9f00000000000015e9"),
            Ok((addr, 0x15E9))
        );
    }

    #[test]
    fn offset_id_ipv6_round_trips() {
        let addr: SocketAddr = "[fd00::2]:10911".parse().unwrap();
        let id = create_offset_message_id(addr, i64::MAX);
        assert_eq!(id.len(), 56);
        assert_eq!(decode_offset_message_id(&id), Ok((addr, i64::MAX)));
    }

    #[test]
    fn bad_offset_ids_are_errors() {
        for bad in [
            "",
            "7F000001",
            "7F00000100002A9F00000000000008C",    // odd length
            "7F00000100002A9F00000000000008C0AA", // 17 bytes
            "7F000001FFFFFFFF00000000000008C0",   // port -1
            "7F00000100012A9F00000000000008C0",   // port 76447
            "ZZ00000100002A9F00000000000008C0",
        ] {
            assert!(decode_offset_message_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn generator_reproduces_a_java_id() {
        let ip: IpAddr = "fd00::2".parse().unwrap();
        let generator = MessageClientIdGenerator::with_parts(ip, 0x3375, 0x5FFD_2B27);
        // Java made the id 1 ms before it stamped the born timestamp.
        assert_eq!(generator.next_at(JAVA_BORN_TIMESTAMP - 1), JAVA_UNIQ_KEY);
        assert!(generator.next_at(JAVA_BORN_TIMESTAMP).ends_with("0001"));
    }

    #[test]
    fn unique_id_parts_read_back() {
        assert_eq!(
            ip_from_unique_id(JAVA_UNIQ_KEY),
            Ok("fd00::2".parse().unwrap())
        );
        assert_eq!(pid_from_unique_id(JAVA_UNIQ_KEY), Ok(0x3375));
        assert_eq!(
            nearly_time_from_unique_id(JAVA_UNIQ_KEY, JAVA_BORN_TIMESTAMP),
            Ok(JAVA_BORN_TIMESTAMP - 1)
        );
        let v4 = MessageClientIdGenerator::with_parts("10.1.2.3".parse().unwrap(), 7, -1);
        let id = v4.next_at(JAVA_BORN_TIMESTAMP);
        assert_eq!(id.len(), 32);
        assert_eq!(&id[..16], "0A0102030007FFFF");
        assert_eq!(ip_from_unique_id(&id), Ok("10.1.2.3".parse().unwrap()));
        assert_eq!(pid_from_unique_id(&id), Ok(7));
        assert!(ip_from_unique_id("0A01").is_err());
        assert!(nearly_time_from_unique_id("nothex", 0).is_err());
    }

    #[test]
    fn nearly_time_looks_back_a_month_for_future_offsets() {
        // Made on 2026-10-31 23:00 UTC, read on 2026-11-01 01:00 UTC.
        let made = days_from_civil(2026, 10, 31) * MS_PER_DAY + 23 * 3_600_000;
        let now = days_from_civil(2026, 11, 1) * MS_PER_DAY + 3_600_000;
        let id =
            MessageClientIdGenerator::with_parts("1.2.3.4".parse().unwrap(), 1, 1).next_at(made);
        assert_eq!(nearly_time_from_unique_id(&id, now), Ok(made));
        // Across a year boundary.
        let made = days_from_civil(2026, 12, 31) * MS_PER_DAY;
        let now = days_from_civil(2027, 1, 1) * MS_PER_DAY + 1;
        let id =
            MessageClientIdGenerator::with_parts("1.2.3.4".parse().unwrap(), 1, 1).next_at(made);
        assert_eq!(nearly_time_from_unique_id(&id, now), Ok(made));
    }

    #[test]
    fn calendar_helpers() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        // The Java producer's month began 2026-11-01 00:00 UTC.
        assert_eq!(
            month_start_millis(JAVA_BORN_TIMESTAMP),
            days_from_civil(2026, 11, 1) * MS_PER_DAY
        );
        assert_eq!(
            previous_month_start_millis(days_from_civil(2026, 1, 1) * MS_PER_DAY),
            days_from_civil(2025, 12, 1) * MS_PER_DAY
        );
    }

    #[test]
    fn generator_is_thread_safe_and_unique() {
        let generator =
            std::sync::Arc::new(MessageClientIdGenerator::new("127.0.0.1".parse().unwrap()));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let g = generator.clone();
                std::thread::spawn(move || (0..1000).map(|_| g.next()).collect::<Vec<_>>())
            })
            .collect();
        let mut all: Vec<String> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let total = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), total);
        assert_eq!(
            create_fake_ip(0x0102_0304_0506_0708),
            Ipv4Addr::new(5, 6, 7, 8)
        );
    }
}

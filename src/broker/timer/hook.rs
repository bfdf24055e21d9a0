//! What the put path does with a timer message before storing it: Java 5.3.3's
//! `HookUtils.checkIfTimerMessage` and `transformTimerMessage`.
//!
//! A message carrying `TIMER_DELAY_SEC`, `TIMER_DELAY_MS` or `TIMER_DELIVER_MS` (in that order
//! of precedence) is due at that time. When that is still ahead it is stored in the timer
//! topic `rmq_sys_wheel_timer`, queue 0, with its real topic and queue in `REAL_TOPIC` /
//! `REAL_QID` and its due time, rounded down to the wheel's precision, in `TIMER_OUT_MS`;
//! the timer store delivers it to the real topic then. A due time already past is stored as
//! an ordinary message. A delay level wins over the timer properties, which are then dropped.

use crate::protocol::message::message_const::{
    PROPERTY_DELAY_TIME_LEVEL, PROPERTY_REAL_QUEUE_ID, PROPERTY_REAL_TOPIC,
    PROPERTY_TIMER_DELAY_MS, PROPERTY_TIMER_DELAY_SEC, PROPERTY_TIMER_DELIVER_MS,
    PROPERTY_TIMER_DEL_UNIQKEY, PROPERTY_TIMER_OUT_MS,
};
use crate::protocol::message::sys_flag::{
    TRANSACTION_COMMIT_TYPE, TRANSACTION_NOT_TYPE, TRANSACTION_ROLLBACK_TYPE,
};
use crate::protocol::message::MessageExt;

/// The topic timer messages wait in (`TimerMessageStore.TIMER_TOPIC`).
pub(crate) const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";

/// The settings the put path needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerSettings {
    /// `timerWheelEnable`: without it a timer message is refused.
    pub(crate) enabled: bool,
    /// `timerPrecisionMs`: due times are rounded down to a multiple of it.
    pub(crate) precision_ms: i64,
    /// `timerMaxDelaySec`: how far ahead a message may be due.
    pub(crate) max_delay_sec: i64,
}

/// Why a timer message was refused (Java's `PutMessageStatus` values for them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimerRefusal {
    /// `WHEEL_TIMER_NOT_ENABLE`: answered SYSTEM_ERROR.
    NotEnabled,
    /// `WHEEL_TIMER_MSG_ILLEGAL`: a due time that is not a number, too far ahead, or a
    /// recall marker for a time already past. Answered MESSAGE_ILLEGAL.
    Illegal,
}

impl TimerRefusal {
    /// Java's remark for the refusal (`SendMessageProcessor.handlePutMessageResult`).
    pub(crate) fn remark(self, settings: &TimerSettings) -> String {
        match self {
            TimerRefusal::NotEnabled => format!(
                "accurate timer message is not enabled, timerWheelEnable is {}",
                settings.enabled
            ),
            TimerRefusal::Illegal => format!(
                "timer message illegal, the delay time should not be bigger than the max delay \
                 {}ms; or if set del msg, the delay time should be bigger than the current time",
                settings.max_delay_sec.saturating_mul(1000)
            ),
        }
    }
}

/// Moves a timer message to the timer topic (`handleScheduleMessage` for timers); leaves
/// anything else as it is. `now_ms` is the broker's clock.
pub(crate) fn transform_timer_message(
    message: &mut MessageExt,
    settings: &TimerSettings,
    now_ms: i64,
) -> Result<(), TimerRefusal> {
    let tran_type = message.sys_flag & TRANSACTION_ROLLBACK_TYPE;
    if tran_type != TRANSACTION_NOT_TYPE && tran_type != TRANSACTION_COMMIT_TYPE {
        return Ok(());
    }
    // A rolled or re-delivered timer message is not timed again.
    if message.topic == TIMER_TOPIC || !is_timer_message(message) {
        return Ok(());
    }
    if !settings.enabled {
        return Err(TimerRefusal::NotEnabled);
    }
    let parse = |key| -> Result<Option<i64>, TimerRefusal> {
        message
            .property(key)
            .map(|v| v.parse::<i64>().map_err(|_| TimerRefusal::Illegal))
            .transpose()
    };
    let deliver_ms = if let Some(sec) = parse(PROPERTY_TIMER_DELAY_SEC)? {
        now_ms.saturating_add(sec.saturating_mul(1000))
    } else if let Some(ms) = parse(PROPERTY_TIMER_DELAY_MS)? {
        now_ms.saturating_add(ms)
    } else {
        parse(PROPERTY_TIMER_DELIVER_MS)?.ok_or(TimerRefusal::Illegal)?
    };
    if deliver_ms <= now_ms {
        // Due already: stored as it is, unless it is a recall marker come too late.
        return if message.property(PROPERTY_TIMER_DEL_UNIQKEY).is_some() {
            Err(TimerRefusal::Illegal)
        } else {
            Ok(())
        };
    }
    if deliver_ms - now_ms > settings.max_delay_sec.saturating_mul(1000) {
        return Err(TimerRefusal::Illegal);
    }
    let out_ms = round_down(deliver_ms, settings.precision_ms);
    let real_topic = std::mem::replace(&mut message.topic, TIMER_TOPIC.to_string());
    message
        .properties
        .insert(PROPERTY_TIMER_OUT_MS, out_ms.to_string());
    message.properties.insert(PROPERTY_REAL_TOPIC, real_topic);
    message
        .properties
        .insert(PROPERTY_REAL_QUEUE_ID, message.queue_id.to_string());
    message.queue_id = 0;
    Ok(())
}

/// `checkIfTimerMessage`: one of the three timer properties, no delay level (whose presence
/// drops them), and not already transformed.
fn is_timer_message(message: &mut MessageExt) -> bool {
    let timer_keys = [
        PROPERTY_TIMER_DELIVER_MS,
        PROPERTY_TIMER_DELAY_SEC,
        PROPERTY_TIMER_DELAY_MS,
    ];
    let level: i32 = message
        .property(PROPERTY_DELAY_TIME_LEVEL)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    if level > 0 {
        for key in timer_keys {
            message.properties.remove(key);
        }
        return false;
    }
    if message.property(PROPERTY_TIMER_OUT_MS).is_some() {
        return false;
    }
    timer_keys.iter().any(|key| message.property(key).is_some())
}

/// The slot a due time falls in: rounded down to the precision, and a time exactly on a
/// slot's start goes to the slot before, so that delivering a slot once it has wholly passed
/// never delivers a message early.
pub(crate) fn round_down(deliver_ms: i64, precision_ms: i64) -> i64 {
    if deliver_ms % precision_ms == 0 {
        deliver_ms - precision_ms
    } else {
        deliver_ms / precision_ms * precision_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: TimerSettings = TimerSettings {
        enabled: true,
        precision_ms: 1000,
        max_delay_sec: 259_200,
    };
    const NOW: i64 = 1_700_000_000_500;

    fn message(props: &[(&'static str, &str)]) -> MessageExt {
        let mut m = MessageExt {
            topic: "Orders".into(),
            queue_id: 3,
            ..MessageExt::default()
        };
        for (k, v) in props {
            m.properties.insert(k, v);
        }
        m
    }

    #[test]
    fn a_future_timer_message_waits_in_the_timer_topic() {
        let mut m = message(&[(PROPERTY_TIMER_DELAY_MS, "10000")]);
        transform_timer_message(&mut m, &SETTINGS, NOW).unwrap();
        assert_eq!((m.topic.as_str(), m.queue_id), (TIMER_TOPIC, 0));
        assert_eq!(m.property(PROPERTY_REAL_TOPIC), Some("Orders"));
        assert_eq!(m.property(PROPERTY_REAL_QUEUE_ID), Some("3"));
        // 1_700_000_010_500 rounded down.
        assert_eq!(m.property(PROPERTY_TIMER_OUT_MS), Some("1700000010000"));
        // Transformed once only.
        let before = m.clone();
        transform_timer_message(&mut m, &SETTINGS, NOW).unwrap();
        assert_eq!(m, before);
    }

    #[test]
    fn precedence_rounding_and_past_times() {
        let mut m = message(&[
            (PROPERTY_TIMER_DELIVER_MS, "1"),
            (PROPERTY_TIMER_DELAY_MS, "1"),
            (PROPERTY_TIMER_DELAY_SEC, "2"),
        ]);
        transform_timer_message(&mut m, &SETTINGS, NOW).unwrap();
        assert_eq!(m.property(PROPERTY_TIMER_OUT_MS), Some("1700000002000"));
        // On a slot boundary: the slot before.
        let mut m = message(&[(PROPERTY_TIMER_DELIVER_MS, "1700000005000")]);
        transform_timer_message(&mut m, &SETTINGS, NOW).unwrap();
        assert_eq!(m.property(PROPERTY_TIMER_OUT_MS), Some("1700000004000"));
        // Due already: an ordinary message.
        let mut m = message(&[(PROPERTY_TIMER_DELIVER_MS, "1700000000000")]);
        transform_timer_message(&mut m, &SETTINGS, NOW).unwrap();
        assert_eq!(m.topic, "Orders");
        assert_eq!(m.property(PROPERTY_TIMER_OUT_MS), None);
    }

    #[test]
    fn refusals_as_java_answers_them() {
        for bad in ["soon", "", "1.5", "99999999999999999999"] {
            let mut m = message(&[(PROPERTY_TIMER_DELAY_SEC, bad)]);
            assert_eq!(
                transform_timer_message(&mut m, &SETTINGS, NOW),
                Err(TimerRefusal::Illegal),
                "{bad:?}"
            );
        }
        let mut far = message(&[(PROPERTY_TIMER_DELAY_SEC, "259201")]);
        assert_eq!(
            transform_timer_message(&mut far, &SETTINGS, NOW),
            Err(TimerRefusal::Illegal)
        );
        let mut edge = message(&[(PROPERTY_TIMER_DELAY_SEC, "259200")]);
        assert_eq!(transform_timer_message(&mut edge, &SETTINGS, NOW), Ok(()));
        // A negative delay is due already: stored as it is, as Java does.
        let mut negative = message(&[(PROPERTY_TIMER_DELAY_MS, "-5000")]);
        assert_eq!(
            transform_timer_message(&mut negative, &SETTINGS, NOW),
            Ok(())
        );
        assert_eq!(negative.topic, "Orders");
        let mut late_recall = message(&[
            (PROPERTY_TIMER_DELIVER_MS, "1000"),
            (PROPERTY_TIMER_DEL_UNIQKEY, "Orders+ID"),
        ]);
        assert_eq!(
            transform_timer_message(&mut late_recall, &SETTINGS, NOW),
            Err(TimerRefusal::Illegal)
        );
        let off = TimerSettings {
            enabled: false,
            ..SETTINGS
        };
        let mut m = message(&[(PROPERTY_TIMER_DELAY_SEC, "5")]);
        assert_eq!(
            transform_timer_message(&mut m, &off, NOW),
            Err(TimerRefusal::NotEnabled)
        );
        assert_eq!(
            TimerRefusal::NotEnabled.remark(&off),
            "accurate timer message is not enabled, timerWheelEnable is false"
        );
        assert!(TimerRefusal::Illegal
            .remark(&SETTINGS)
            .contains("max delay 259200000ms"));
    }

    #[test]
    fn a_delay_level_wins_and_drops_the_timer_properties() {
        let mut m = message(&[
            (PROPERTY_DELAY_TIME_LEVEL, "3"),
            (PROPERTY_TIMER_DELAY_SEC, "5"),
        ]);
        transform_timer_message(&mut m, &SETTINGS, NOW).unwrap();
        assert_eq!(m.topic, "Orders");
        assert_eq!(m.property(PROPERTY_TIMER_DELAY_SEC), None);
        // Half messages are timed only when committed.
        let mut half = message(&[(PROPERTY_TIMER_DELAY_SEC, "5")]);
        half.sys_flag = crate::protocol::message::sys_flag::TRANSACTION_PREPARED_TYPE;
        transform_timer_message(&mut half, &SETTINGS, NOW).unwrap();
        assert_eq!(half.topic, "Orders");
    }
}

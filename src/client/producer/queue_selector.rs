//! `MessageQueueSelector`: the application picks the queue, e.g. by an order id, so that
//! related messages stay in one queue and in order.

use crate::client::shared::message::Message;
use crate::protocol::message::MessageQueue;

/// Chooses a queue for a message from the topic's writable queues; mirrors Java's
/// `MessageQueueSelector`. `arg` is whatever the caller passed to the send (an order id, a
/// shard key). Returning None fails the send.
///
/// Closures `Fn(&[MessageQueue], &Message, &A) -> Option<MessageQueue>` are selectors too.
pub trait MessageQueueSelector<A: ?Sized> {
    /// The queue for `message`.
    fn select(&self, queues: &[MessageQueue], message: &Message, arg: &A) -> Option<MessageQueue>;
}

impl<A: ?Sized, F> MessageQueueSelector<A> for F
where
    F: Fn(&[MessageQueue], &Message, &A) -> Option<MessageQueue>,
{
    fn select(&self, queues: &[MessageQueue], message: &Message, arg: &A) -> Option<MessageQueue> {
        self(queues, message, arg)
    }
}

/// A value with Java's `Object.hashCode` for its Java equivalent, so that a key maps to the
/// same queue as in a Java producer using `SelectMessageQueueByHash`.
pub trait JavaHashCode {
    /// Java's `hashCode()` of the equivalent Java value.
    fn java_hash_code(&self) -> i32;
}

impl JavaHashCode for str {
    /// `String.hashCode`: `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16 units, wrapping.
    fn java_hash_code(&self) -> i32 {
        self.encode_utf16().fold(0i32, |h, unit| {
            h.wrapping_mul(31).wrapping_add(i32::from(unit))
        })
    }
}

impl JavaHashCode for String {
    fn java_hash_code(&self) -> i32 {
        self.as_str().java_hash_code()
    }
}

impl JavaHashCode for i32 {
    /// `Integer.hashCode`: the value itself.
    fn java_hash_code(&self) -> i32 {
        *self
    }
}

impl JavaHashCode for i64 {
    /// `Long.hashCode`: the two halves xor-ed (`(int)(value ^ (value >>> 32))`).
    fn java_hash_code(&self) -> i32 {
        (*self ^ ((*self as u64) >> 32) as i64) as i32
    }
}

impl JavaHashCode for u64 {
    /// A Java `long` holding the same 64 bits (an order id above `i64::MAX` wraps, as it
    /// would in Java).
    fn java_hash_code(&self) -> i32 {
        (*self as i64).java_hash_code()
    }
}

impl JavaHashCode for usize {
    /// As the `u64` of the same value.
    fn java_hash_code(&self) -> i32 {
        (*self as u64).java_hash_code()
    }
}

impl JavaHashCode for u32 {
    /// A Java `long` of the same value (a Java program holds a `u32` id in a `long`).
    fn java_hash_code(&self) -> i32 {
        i64::from(*self).java_hash_code()
    }
}

impl JavaHashCode for u16 {
    /// A Java `int` of the same value.
    fn java_hash_code(&self) -> i32 {
        i32::from(*self)
    }
}

impl JavaHashCode for u8 {
    /// A Java `int` of the same value.
    fn java_hash_code(&self) -> i32 {
        i32::from(*self)
    }
}

impl JavaHashCode for i16 {
    /// `Short.hashCode`: the value.
    fn java_hash_code(&self) -> i32 {
        i32::from(*self)
    }
}

impl JavaHashCode for i8 {
    /// `Byte.hashCode`: the value.
    fn java_hash_code(&self) -> i32 {
        i32::from(*self)
    }
}

impl<T: JavaHashCode + ?Sized> JavaHashCode for &T {
    fn java_hash_code(&self) -> i32 {
        (**self).java_hash_code()
    }
}

/// Picks `queues[|hash(arg) % n|]`; mirrors Java's `SelectMessageQueueByHash`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SelectMessageQueueByHash;

impl<A: JavaHashCode + ?Sized> MessageQueueSelector<A> for SelectMessageQueueByHash {
    fn select(&self, queues: &[MessageQueue], _message: &Message, arg: &A) -> Option<MessageQueue> {
        let count = i32::try_from(queues.len()).ok().filter(|n| *n > 0)?;
        let index = (arg.java_hash_code() % count).unsigned_abs() as usize;
        queues.get(index).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(n: i32) -> Vec<MessageQueue> {
        (0..n).map(|i| MessageQueue::new("T", "b", i)).collect()
    }

    #[test]
    fn java_hash_codes() {
        assert_eq!("".java_hash_code(), 0);
        assert_eq!("a".java_hash_code(), 97);
        assert_eq!("hello".java_hash_code(), 99_162_322);
        // Overflows wrap as in Java: "polygenelubricants".hashCode() == Integer.MIN_VALUE.
        assert_eq!("polygenelubricants".java_hash_code(), i32::MIN);
        assert_eq!(7i32.java_hash_code(), 7);
        assert_eq!((-1i64).java_hash_code(), 0);
        assert_eq!((1i64 << 32).java_hash_code(), 1);
        // Long.hashCode uses the unsigned shift: (-2L).hashCode() == 1.
        assert_eq!((-2i64).java_hash_code(), 1);
        assert_eq!(i64::MIN.java_hash_code(), i32::MIN);
        // Unsigned ids hash as the Java long of the same bits.
        assert_eq!(7u64.java_hash_code(), 7);
        assert_eq!(u64::MAX.java_hash_code(), (-1i64).java_hash_code());
        assert_eq!(
            123_456_789_012u64.java_hash_code(),
            123_456_789_012i64.java_hash_code()
        );
        assert_eq!(
            4_000_000_000u32.java_hash_code(),
            4_000_000_000i64.java_hash_code()
        );
        assert_eq!(9u8.java_hash_code(), 9);
    }

    #[test]
    fn hash_selector_is_stable_and_handles_negative_hashes() {
        let message = Message::new("T", "x");
        let qs = queues(4);
        let pick = |key: &str| {
            SelectMessageQueueByHash
                .select(&qs, &message, key)
                .unwrap()
                .queue_id
        };
        assert_eq!(pick("order-1"), pick("order-1"));
        // "hello" = 99162322, % 4 = 2.
        assert_eq!(pick("hello"), 2);
        // i32::MIN % 4 = 0; -7 % 4 = -3 -> 3 (Math.abs).
        assert_eq!(pick("polygenelubricants"), 0);
        assert_eq!(
            SelectMessageQueueByHash
                .select(&qs, &message, &-7i32)
                .unwrap()
                .queue_id,
            3
        );
        assert!(SelectMessageQueueByHash
            .select(&[], &message, "k")
            .is_none());
        // A closure is a selector.
        let last = |qs: &[MessageQueue], _: &Message, _: &()| qs.last().cloned();
        assert_eq!(last.select(&qs, &message, &()).unwrap().queue_id, 3);
    }
}

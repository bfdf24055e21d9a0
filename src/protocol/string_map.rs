//! `StringMap`: the ordered string map behind a command's ext fields and a message's properties.

use std::str::FromStr;

use super::error::HeaderError;

/// A string → string map in insertion order.
///
/// Order is kept so that what was decoded re-encodes byte for byte (Java writes its `HashMap`
/// order into binary headers and property strings). These maps hold a handful of entries, so
/// a scan beats hashing. Setting an existing key replaces its value in place.
///
/// Keys and values live in one string, each key followed by its value, and an entry is three
/// offsets: decoding a header allocates nothing per field, and a map costs its text plus 24
/// bytes per entry, whatever a peer sends.
#[derive(Clone, Default)]
pub struct StringMap {
    /// Each entry's key then its value; replaced or removed ones leave text behind, dropped
    /// when it outgrows the live text.
    text: String,
    entries: Vec<Entry>,
}

/// Where one entry's key and value sit in the map's text.
#[derive(Debug, Clone, Copy)]
struct Entry {
    start: usize,
    key_end: usize,
    value_end: usize,
}

impl StringMap {
    /// An empty map.
    pub fn new() -> Self {
        StringMap::default()
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn key_of(&self, e: &Entry) -> &str {
        &self.text[e.start..e.key_end]
    }

    fn value_of(&self, e: &Entry) -> &str {
        &self.text[e.key_end..e.value_end]
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|e| self.key_of(e) == key)
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.position(key).map(|i| self.value_of(&self.entries[i]))
    }

    /// Sets `key` to `value`, replacing an earlier value in place.
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) {
        let (key, value) = (key.as_ref(), value.as_ref());
        match self.position(key) {
            Some(i) => {
                let entry = self.append(key, value);
                self.entries[i] = entry;
                self.compact_if_sparse();
            }
            None => self.push_unchecked(key, value),
        }
    }

    /// Appends an entry without looking for its key: decoders push every field, then call
    /// [`StringMap::dedup`] once.
    pub(crate) fn push_unchecked(&mut self, key: &str, value: &str) {
        let entry = self.append(key, value);
        self.entries.push(entry);
    }

    fn append(&mut self, key: &str, value: &str) -> Entry {
        let start = self.text.len();
        self.text.push_str(key);
        let key_end = self.text.len();
        self.text.push_str(value);
        Entry {
            start,
            key_end,
            value_end: self.text.len(),
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.position(key)?;
        let entry = self.entries.remove(i);
        let value = self.value_of(&entry).to_string();
        self.compact_if_sparse();
        Some(value)
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|e| (self.key_of(e), self.value_of(e)))
    }

    /// Rewrites the text without what replaced and removed entries left, once that is more
    /// than half of it: repeated inserts of one key cannot grow the map without bound.
    fn compact_if_sparse(&mut self) {
        let live: usize = self.entries.iter().map(|e| e.value_end - e.start).sum();
        if self.text.len() <= 64 || live * 2 >= self.text.len() {
            return;
        }
        let old = std::mem::replace(&mut self.text, String::with_capacity(live));
        for e in &mut self.entries {
            let start = self.text.len();
            self.text.push_str(&old[e.start..e.value_end]);
            e.key_end = start + (e.key_end - e.start);
            e.value_end = self.text.len();
            e.start = start;
        }
    }

    /// Resolves repeated keys as repeated `insert`s would: each keeps its first position and
    /// its last value. O(n log n), and no key is copied (a hostile header may repeat many).
    pub(crate) fn dedup(&mut self) {
        const PAIRWISE_UP_TO: usize = 32;
        let n = self.entries.len();
        if n <= PAIRWISE_UP_TO {
            // The common case, a real header: no allocation at all.
            let mut duplicate: u32 = 0;
            for i in 0..n {
                if duplicate & (1 << i) != 0 {
                    continue;
                }
                for j in i + 1..n {
                    if self.key_of(&self.entries[j]) == self.key_of(&self.entries[i]) {
                        duplicate |= 1 << j;
                        self.take_value(i, j);
                    }
                }
            }
            if duplicate != 0 {
                self.remove_entries(|i| duplicate & (1 << i) != 0);
            }
            return;
        }
        // Sorting indices by key (ties by position) makes each run of equal keys adjacent.
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_unstable_by(|&a, &b| {
            self.key_of(&self.entries[a as usize])
                .cmp(self.key_of(&self.entries[b as usize]))
                .then(a.cmp(&b))
        });
        let mut duplicate = vec![false; n];
        let mut run_start = 0;
        for k in 1..=n {
            let run_ends = k == n
                || self.key_of(&self.entries[order[k] as usize])
                    != self.key_of(&self.entries[order[run_start] as usize]);
            if run_ends {
                if k - run_start > 1 {
                    let first = order[run_start] as usize;
                    self.take_value(first, order[k - 1] as usize);
                    for &later in &order[run_start + 1..k] {
                        duplicate[later as usize] = true;
                    }
                }
                run_start = k;
            }
        }
        if duplicate.contains(&true) {
            self.remove_entries(|i| duplicate[i]);
        }
    }

    /// Drops the entries whose index `gone` names, keeping the others' order.
    fn remove_entries(&mut self, gone: impl Fn(usize) -> bool) {
        let mut index = 0;
        self.entries.retain(|_| {
            let keep = !gone(index);
            index += 1;
            keep
        });
        self.compact_if_sparse();
    }

    /// Entry `to` takes the value of entry `from` (same key); `from` is about to go.
    fn take_value(&mut self, to: usize, from: usize) {
        let from = self.entries[from];
        let entry = &mut self.entries[to];
        // The key stays where it is; the value is the other entry's text. Both entries'
        // text is one key then one value, so the key is re-pointed to the other copy.
        let key_len = entry.key_end - entry.start;
        *entry = Entry {
            start: from.key_end - key_len,
            key_end: from.key_end,
            value_end: from.value_end,
        };
    }

    /// Reads a required field and parses it, naming the field when it is missing or invalid.
    pub fn required<T: FromStr>(&self, field: &'static str) -> Result<T, HeaderError> {
        self.optional(field)?
            .ok_or(HeaderError::MissingField(field))
    }

    /// Reads an optional field and parses it; an unparsable value is still an error.
    pub fn optional<T: FromStr>(&self, field: &'static str) -> Result<Option<T>, HeaderError> {
        match self.get(field) {
            None => Ok(None),
            Some(text) => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| HeaderError::InvalidField {
                    field,
                    value: text.to_string(),
                }),
        }
    }

    /// Sets `key` to the text of `value` when it is `Some`; Java omits null fields.
    pub fn insert_opt<T: ToString>(&mut self, key: &str, value: Option<&T>) {
        if let Some(v) = value {
            self.insert(key, v.to_string());
        }
    }
}

impl PartialEq for StringMap {
    /// Same entries in the same order.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for StringMap {}

impl std::fmt::Debug for StringMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for StringMap {
    /// Collects entries in O(n log n) (decoders use this: a hostile frame may carry many
    /// keys, and inserting them one by one would be quadratic). A repeated key keeps its
    /// first position and its last value, as repeated `insert`s would.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = StringMap::new();
        for (k, v) in iter {
            map.push_unchecked(k.as_ref(), v.as_ref());
        }
        map.dedup();
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replaces_in_place_and_keeps_order() {
        let mut f = StringMap::new();
        f.insert("b", "1");
        f.insert("a", "2");
        f.insert("b", "3");
        let pairs: Vec<_> = f.iter().collect();
        assert_eq!(pairs, vec![("b", "3"), ("a", "2")]);
        assert_eq!(f.remove("b").as_deref(), Some("3"));
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn collecting_keeps_first_position_and_last_value() {
        let f: StringMap = [("a", "1"), ("b", "2"), ("a", "3")].into_iter().collect();
        assert_eq!(f.iter().collect::<Vec<_>>(), vec![("a", "3"), ("b", "2")]);
        // The sorted path (more than 32 entries) agrees with repeated inserts.
        let keys: Vec<String> = (0..200).map(|i| format!("k{}", (i * 7) % 53)).collect();
        let pairs: Vec<(String, String)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), i.to_string()))
            .collect();
        let mut inserted = StringMap::new();
        for (k, v) in &pairs {
            inserted.insert(k, v);
        }
        let collected: StringMap = pairs.into_iter().collect();
        assert_eq!(collected, inserted);
        assert_eq!(collected.len(), 53);
    }

    #[test]
    fn typed_reads_name_the_field() {
        let f: StringMap = [("queueId", "3"), ("bad", "x")].into_iter().collect();
        assert_eq!(f.required::<i32>("queueId"), Ok(3));
        assert_eq!(
            f.required::<i32>("topic"),
            Err(HeaderError::MissingField("topic"))
        );
        assert_eq!(f.optional::<i32>("topic"), Ok(None));
        assert_eq!(
            f.required::<i32>("bad"),
            Err(HeaderError::InvalidField {
                field: "bad",
                value: "x".into()
            })
        );
        assert_eq!(
            HeaderError::MissingField("topic").to_string(),
            "the custom field <topic> is null"
        );
    }

    #[test]
    fn replacing_values_over_and_over_keeps_the_text_small() {
        let mut f = StringMap::new();
        f.insert("keep", "this");
        for i in 0..10_000 {
            f.insert("k", format!("value number {i}"));
        }
        assert_eq!(f.get("k"), Some("value number 9999"));
        assert_eq!(f.get("keep"), Some("this"));
        assert!(f.text.len() < 200, "{}", f.text.len());
        assert_eq!(f.remove("keep").as_deref(), Some("this"));
        assert_eq!(
            f.iter().collect::<Vec<_>>(),
            vec![("k", "value number 9999")]
        );
        assert_eq!(format!("{f:?}"), r#"{"k": "value number 9999"}"#);
    }
}

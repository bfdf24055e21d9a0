//! `StringMap`: the ordered string map behind a command's ext fields and a message's properties.

use std::collections::HashMap;
use std::str::FromStr;

use super::error::HeaderError;

/// A string → string map in insertion order.
///
/// Order is kept so that what was decoded re-encodes byte for byte (Java writes its `HashMap`
/// order into binary headers and property strings). These maps hold a handful of entries, so
/// a vector beats hashing. Setting an existing key replaces its value in place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StringMap {
    entries: Vec<(String, String)>,
}

impl StringMap {
    /// An empty map.
    pub fn new() -> Self {
        StringMap {
            entries: Vec::new(),
        }
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `key` to `value`, replacing an earlier value in place.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let pos = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(pos).1)
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
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

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for StringMap {
    /// Collects entries in linear time (decoders use this: a hostile frame may carry a million
    /// keys, and inserting them one by one would be quadratic). A repeated key keeps its first
    /// position and its last value, as repeated `insert`s would.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut entries: Vec<(String, String)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (k, v) in iter {
            let (k, v) = (k.into(), v.into());
            match index.get(&k) {
                Some(&i) => entries[i].1 = v,
                None => {
                    index.insert(k.clone(), entries.len());
                    entries.push((k, v));
                }
            }
        }
        StringMap { entries }
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
}

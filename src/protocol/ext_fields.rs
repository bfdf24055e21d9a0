//! `ExtFields`: the string map a command carries its custom header in.

/// The `extFields` map of a command (Java's `HashMap<String, String> extFields`), in insertion
/// order so that a decoded binary header re-encodes byte for byte.
pub type ExtFields = super::string_map::StringMap;

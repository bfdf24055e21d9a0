//! `LanguageCode`: which client implementation wrote a command.

use std::fmt;

/// The language of the peer that wrote a command; mirrors Java's `LanguageCode`.
///
/// JSON headers carry the name (`"JAVA"`), binary headers the byte (`0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LanguageCode {
    /// Java (code 0); the default, understood by every broker version.
    Java,
    /// C++ (code 1).
    Cpp,
    /// .NET (code 2).
    Dotnet,
    /// Python (code 3).
    Python,
    /// Delphi (code 4).
    Delphi,
    /// Erlang (code 5).
    Erlang,
    /// Ruby (code 6).
    Ruby,
    /// Any other language (code 7); also what unknown names and bytes decode to.
    Other,
    /// HTTP (code 8).
    Http,
    /// Go (code 9).
    Go,
    /// PHP (code 10).
    Php,
    /// OMS (code 11).
    Oms,
    /// Rust (code 12); unknown to 4.9.0–4.9.3 brokers, so not our default.
    Rust,
    /// Node.js (code 13).
    NodeJs,
}

const ALL: [(LanguageCode, u8, &str); 14] = [
    (LanguageCode::Java, 0, "JAVA"),
    (LanguageCode::Cpp, 1, "CPP"),
    (LanguageCode::Dotnet, 2, "DOTNET"),
    (LanguageCode::Python, 3, "PYTHON"),
    (LanguageCode::Delphi, 4, "DELPHI"),
    (LanguageCode::Erlang, 5, "ERLANG"),
    (LanguageCode::Ruby, 6, "RUBY"),
    (LanguageCode::Other, 7, "OTHER"),
    (LanguageCode::Http, 8, "HTTP"),
    (LanguageCode::Go, 9, "GO"),
    (LanguageCode::Php, 10, "PHP"),
    (LanguageCode::Oms, 11, "OMS"),
    (LanguageCode::Rust, 12, "RUST"),
    (LanguageCode::NodeJs, 13, "NODE_JS"),
];

impl LanguageCode {
    /// The byte written in the ROCKETMQ binary header.
    pub fn code(self) -> u8 {
        ALL.iter()
            .find(|(l, _, _)| *l == self)
            .map_or(7, |(_, c, _)| *c)
    }

    /// The name written in the JSON header.
    pub fn name(self) -> &'static str {
        ALL.iter()
            .find(|(l, _, _)| *l == self)
            .map_or("OTHER", |(_, _, n)| n)
    }

    /// The language for a binary-header byte; unknown bytes read as [`LanguageCode::Other`].
    pub fn from_code(code: u8) -> LanguageCode {
        ALL.iter()
            .find(|(_, c, _)| *c == code)
            .map_or(LanguageCode::Other, |(l, _, _)| *l)
    }

    /// The language for a JSON-header name; unknown names read as [`LanguageCode::Other`].
    pub fn from_name(name: &str) -> LanguageCode {
        ALL.iter()
            .find(|(_, _, n)| *n == name)
            .map_or(LanguageCode::Other, |(l, _, _)| *l)
    }
}

impl fmt::Display for LanguageCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        for (lang, code, name) in ALL {
            assert_eq!(LanguageCode::from_code(code), lang);
            assert_eq!(LanguageCode::from_name(name), lang);
            assert_eq!(lang.code(), code);
            assert_eq!(lang.name(), name);
        }
        assert_eq!(LanguageCode::from_code(200), LanguageCode::Other);
        assert_eq!(LanguageCode::from_name("COBOL"), LanguageCode::Other);
    }
}

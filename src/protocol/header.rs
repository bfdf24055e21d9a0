//! `CommandCustomHeader`: typed request and response headers carried in ext fields.

use super::error::HeaderError;
use super::ext_fields::ExtFields;

/// A typed header that travels as a command's ext fields; mirrors Java's `CommandCustomHeader`.
///
/// Java flattens every non-null field to its string form and reflects it back, failing with
/// "the custom field <x> is null" for a missing required field. Here each header writes and
/// reads its fields explicitly, with [`ExtFields::required`] and [`ExtFields::optional`] doing
/// the parsing and naming the field on error.
pub trait CommandCustomHeader: Sized {
    /// Writes every present field into `fields`.
    fn write_to(&self, fields: &mut ExtFields);

    /// Reads the header from `fields`, failing on a missing required or unparsable field.
    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header in the shape of Java's `GetRouteInfoRequestHeader`.
    #[derive(Debug, PartialEq)]
    struct RouteHeader {
        topic: String,
        accept_standard_json_only: Option<bool>,
    }

    impl CommandCustomHeader for RouteHeader {
        fn write_to(&self, fields: &mut ExtFields) {
            fields.insert("topic", self.topic.clone());
            fields.insert_opt(
                "acceptStandardJsonOnly",
                self.accept_standard_json_only.as_ref(),
            );
        }

        fn read_from(fields: &ExtFields) -> Result<Self, HeaderError> {
            Ok(RouteHeader {
                topic: fields.required("topic")?,
                accept_standard_json_only: fields.optional("acceptStandardJsonOnly")?,
            })
        }
    }

    #[test]
    fn header_round_trips_and_omits_none() {
        let h = RouteHeader {
            topic: "T".into(),
            accept_standard_json_only: None,
        };
        let mut f = ExtFields::new();
        h.write_to(&mut f);
        assert_eq!(f.len(), 1);
        assert_eq!(RouteHeader::read_from(&f), Ok(h));

        let err = RouteHeader::read_from(&ExtFields::new()).unwrap_err();
        assert_eq!(err.to_string(), "the custom field <topic> is null");
    }
}

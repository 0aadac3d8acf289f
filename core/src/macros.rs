//! Boilerplate shared by the string-backed value types: accessors, `Display`,
//! conversions and the serde bridge (`try_from = "String"`, `into = "String"`).

/// Implements `as_str`, `AsRef<str>`, `Display`, `FromStr`, `TryFrom<String>`
/// and `From<Type> for String` for a tuple struct wrapping a normalized `String`
/// that has a `parse(&str) -> Result<Self, Error>` constructor.
macro_rules! string_value {
    ($type:ident, $error:ty) => {
        impl $type {
            /// The normalized text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::convert::AsRef<str> for $type {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $type {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ::std::str::FromStr for $type {
            type Err = $error;

            fn from_str(input: &str) -> Result<Self, Self::Err> {
                Self::parse(input)
            }
        }

        impl ::std::convert::TryFrom<String> for $type {
            type Error = $error;

            fn try_from(input: String) -> Result<Self, Self::Error> {
                Self::parse(&input)
            }
        }

        impl ::std::convert::From<$type> for String {
            fn from(value: $type) -> String {
                value.0
            }
        }
    };
}

pub(crate) use string_value;

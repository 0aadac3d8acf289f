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

/// Declares a closed set of words stored as text in SQL (a `check (x in (…))` column): a
/// `Copy` enum whose serde form is its SQL text, with `ALL`, `as_str`, `parse` (an
/// [`crate::run::UnknownValue`] for any other text) and `Display` (the SQL text).
macro_rules! sql_enum {
    (
        $(#[$meta:meta])*
        pub enum $type:ident as $what:literal {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            ::serde::Serialize, ::serde::Deserialize,
        )]
        pub enum $type {
            $( $(#[$variant_meta])* #[serde(rename = $text)] $variant, )+
        }

        impl $type {
            /// Every value, in declaration order.
            pub const ALL: &'static [$type] = &[$($type::$variant),+];

            /// Its text in SQL (and on the wire).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($type::$variant => $text,)+
                }
            }

            /// The value whose SQL text is `text`, exactly.
            pub fn parse(text: &str) -> Result<$type, $crate::run::UnknownValue> {
                match text {
                    $($text => Ok($type::$variant),)+
                    _ => Err($crate::run::UnknownValue {
                        what: $what,
                        value: text.to_owned(),
                    }),
                }
            }
        }

        impl ::std::fmt::Display for $type {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use sql_enum;
